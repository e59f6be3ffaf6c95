//! The reactor runtime suite against the in-memory store.

eventstore_core::backend::conformance::reactor_conformance_suite!(async {
    eventstore_core::MemoryStore::new()
});
