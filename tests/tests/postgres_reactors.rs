//! The reactor runtime suite against PostgreSQL, each case in a fresh schema.

eventstore_core::backend::conformance::reactor_conformance_suite!(
    eventstore_tests::postgres::fresh_store_with(12)
);
