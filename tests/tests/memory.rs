//! The store conformance suite against the in-memory store.

eventstore_core::backend::conformance::store_conformance_suite!(async {
    eventstore_core::MemoryStore::new()
});
