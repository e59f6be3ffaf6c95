//! The store suite with deadlines in a JetStream key-value bucket (events,
//! keys and snapshots from memory): its deadline and saga cases are those
//! that reach the bucket.

eventstore_core::backend::conformance::store_conformance_suite!(
    eventstore_tests::nats_kv::fresh_store()
);
