//! What the integration tests of `sagas-examples` share.

/// `DATABASE_URL`, or a panic that says how to provide PostgreSQL.
pub(crate) fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| {
            panic!(
                "this test needs PostgreSQL: set DATABASE_URL, for example \
                 DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo test --workspace \
                 (`.ci/run` starts the local server and sets it)"
            )
        })
}
