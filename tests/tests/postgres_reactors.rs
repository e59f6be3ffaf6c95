//! The reactor runtime suite against PostgreSQL, each case in a fresh schema.

eventstore_tests::reactor_conformance_suite!(eventstore_tests::postgres::fresh_store_with(12));
