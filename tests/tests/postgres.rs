//! The store conformance suite against PostgreSQL (`DATABASE_URL`), each
//! case in a fresh schema.

eventstore_tests::store_conformance_suite!(eventstore_tests::postgres::fresh_store());
