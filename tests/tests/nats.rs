//! The store conformance suite against NATS JetStream (127.0.0.1:4222,
//! `scripts/ensure-nats`), each case with a stream and buckets of its own.

eventstore_core::backend::conformance::store_conformance_suite!(
    eventstore_tests::nats::fresh_store()
);
