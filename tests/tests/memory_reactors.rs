//! The reactor runtime suite against the in-memory store.

eventstore_tests::reactor_conformance_suite!(async { eventstore_core::MemoryStore::new() });
