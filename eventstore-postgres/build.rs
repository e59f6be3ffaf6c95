//! Rebuilds when a migration changes, so that `sqlx::migrate!` embeds it.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
