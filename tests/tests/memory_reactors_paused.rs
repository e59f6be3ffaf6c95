//! The reactor runtime suite against the in-memory store on tokio's paused
//! clock: leases, backoffs and polls take no real time, and every run
//! interleaves the same way.

eventstore_core::backend::conformance::reactor_conformance_suite!(paused: async { eventstore_core::MemoryStore::new() });
