//! The conformance suites a backend must pass (feature `conformance`): the
//! promises of [`EventStore`](crate::EventStore),
//! [`Tracker`](crate::Tracker) and
//! [`ReactorStore`](crate::reactor::ReactorStore), written once and
//! generic over the store. The memory store and PostgreSQL run them; a
//! backend written anywhere else runs them the same way.
//!
//! [`store_conformance_suite!`] and [`reactor_conformance_suite!`] expand
//! to one `#[tokio::test]` per case, each with a fresh store from the
//! expression given (a future, evaluated once per test). A backend's test
//! file, say `tests/conformance.rs`:
//!
//! ```text
//! //! The conformance suites against MyStore.
//!
//! async fn fresh() -> my_store::MyStore {
//!     my_store::MyStore::connect_to_a_fresh_database().await
//! }
//!
//! eventstore_core::backend::conformance::store_conformance_suite!(fresh());
//! eventstore_core::backend::conformance::reactor_conformance_suite!(fresh());
//! ```
//!
//! A store that keeps time with tokio's clock (as the memory store does)
//! can also run the reactor suite on tokio's paused clock, where leases,
//! backoffs and polls take no real time:
//! `reactor_conformance_suite!(paused: fresh())`.
//!
//! What the testing crate needs: `eventstore-core` under that name, with
//! the feature, as a dev-dependency
//! (`eventstore-core = { version = "...", features = ["conformance"] }`).
//! The generated tests reach tokio (with its test utilities, for the paused
//! clock) through `eventstore_core`, so the crate needs no tokio of its
//! own. A failing case panics with a message that names what broke.
//!
//! Besides the cases, the helpers they use are public for a backend's own
//! tests: [`eventually`](eventually::eventually) for what a background
//! task will do, [`Faulty`](faulty::Faulty) for injected faults, the
//! [`Recorder`](reactor::recorder::Recorder) reactor and
//! [`Running`](reactor::running::Running) runners, and the
//! [`Account`](account::Account) aggregate the cases run commands on.

pub mod account;
pub mod approval;
pub mod eventually;
pub mod faulty;
pub mod profile;
pub mod reactor;
pub mod store;

/// The store suite: one test per case of [`store`], for the store that
/// the expression given (a future) yields.
///
/// ```text
/// eventstore_core::backend::conformance::store_conformance_suite!(async { MyStore::new() });
/// ```
pub use crate::__store_conformance_suite as store_conformance_suite;

/// The reactor suite: one test per case of [`reactor`], for the store
/// that the expression given (a future) yields; with `paused:` first, on
/// tokio's paused clock.
///
/// ```text
/// eventstore_core::backend::conformance::reactor_conformance_suite!(async { MyStore::new() });
/// eventstore_core::backend::conformance::reactor_conformance_suite!(paused: async { MyStore::new() });
/// ```
pub use crate::__reactor_conformance_suite as reactor_conformance_suite;

/// One `#[tokio::test]` per case named `module::case` in the suite module
/// `$suite`, on the runtime `$runtime`, each with a fresh store.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_cases {
    ($suite:ident $runtime:tt $make_store:expr; $module:ident :: $case:ident, $($rest:tt)*) => {
        $crate::__conformance_cases!(@one $suite $runtime $make_store; $module $case);
        $crate::__conformance_cases!($suite $runtime $make_store; $($rest)*);
    };
    ($suite:ident $runtime:tt $make_store:expr;) => {};
    (@one $suite:ident ($($runtime:tt)*) $make_store:expr; $module:ident $case:ident) => {
        #[$crate::__private::tokio::test(crate = "::eventstore_core::__private::tokio", $($runtime)*)]
        async fn $case() {
            let store = $make_store.await;
            $crate::backend::conformance::$suite::$module::$case(store).await;
        }
    };
}
