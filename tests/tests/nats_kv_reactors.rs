//! The reactor runtime suite with its state in JetStream key-value buckets
//! (events from memory), each case in buckets of its own.

eventstore_core::backend::conformance::reactor_conformance_suite!(
    eventstore_tests::nats_kv::fresh_store()
);
