//! The store conformance suite against PostgreSQL (`DATABASE_URL`), each
//! case in a fresh schema.

eventstore_core::backend::conformance::store_conformance_suite!(
    eventstore_tests::postgres::fresh_store()
);
