//! Event schema evolution: each stored row keeps the schema version its
//! body was written with, and a row of an older version is brought to the
//! current one by upcasters before it is decoded.
//!
//! Declare them on the event enum with `#[derive(Event)]`:
//!
//! - `#[event(version = N)]` on a variant: its kind's current version
//!   (1 when not given). New rows are written at it.
//! - `upcast(from = V, typed = OldPayload)`: rows at version `V` decode
//!   into `OldPayload`, which converts with `From`/`Into` into the payload
//!   of version `V + 1` (the next typed upcaster's type, or the variant's
//!   payload): the compiler checks the conversion, and a row takes one
//!   JSON pass, as a current one does.
//! - `upcast(from = V, raw = function)`: `fn(serde_json::Value) ->
//!   Result<Value, UpcastError>` rewrites the body of version `V` into
//!   version `V + 1`: renames, defaults, reshapes.
//! - `upcast(from = V, events = function)`: `fn(RawEvent) ->
//!   Result<Vec<RawEvent>, UpcastError>` turns the row into zero, one or
//!   several events of any kinds and versions: splits, merges, drops.
//! - `personal(...)` inside an `upcast(...)`: the personal fields of the
//!   rows at that version, which a forget erases too.
//! - `aliases = ["Old"]` on a variant: rows stored under an old kind name
//!   read as this kind, at their own version.
//! - On the enum, `#[event(retired(kind = "Old", events = function))]`
//!   reads every row of a kind that no variant has any more.
//!
//! A split row keeps its place: every event it becomes has the stored
//! row's stream version, position and id, so a fold or a reactor sees
//! them one after the other, at that one version; the stream's versions
//! are never renumbered.
//!
//! ```
//! use eventstore_core::{Event, EventBody};
//! use eventstore_core::schema::{Decoded, RawEvent, UpcastError};
//! use serde::{Deserialize, Serialize};
//! use serde_json::Value;
//!
//! /// Version 1 of `Opened`, as it was written.
//! #[derive(Deserialize)]
//! pub struct OpenedV1 { pub owner: Option<String>, pub initial_balance: u64 }
//!
//! /// Version 2 named the balance differently.
//! #[derive(Deserialize)]
//! pub struct OpenedV2 { pub owner: Option<String>, pub balance: u64 }
//!
//! #[derive(Serialize, Deserialize, Debug, PartialEq)]
//! pub struct Opened { pub holder: Option<String>, pub opening_balance: u64 }
//!
//! impl From<OpenedV1> for OpenedV2 {
//!     fn from(v1: OpenedV1) -> Self { Self { owner: v1.owner, balance: v1.initial_balance } }
//! }
//! impl From<OpenedV2> for Opened {
//!     fn from(v2: OpenedV2) -> Self { Self { holder: v2.owner, opening_balance: v2.balance } }
//! }
//!
//! #[derive(Serialize, Deserialize, Debug, PartialEq)]
//! pub struct Deposited { pub cents: u64 }
//!
//! /// Version 1 counted whole units in `amount`.
//! fn deposited_v1(mut body: Value) -> Result<Value, UpcastError> {
//!     let amount = body["amount"].as_u64().ok_or_else(|| UpcastError::new("no amount"))?;
//!     body["cents"] = (amount * 100).into();
//!     Ok(body)
//! }
//!
//! /// `Moved` was a withdrawal and a deposit in one event; it is two now.
//! fn split_moved(event: RawEvent) -> Result<Vec<RawEvent>, UpcastError> {
//!     let cents = event.body["cents"].clone();
//!     Ok(vec![
//!         RawEvent::new("Withdrawn", 1, serde_json::json!({ "cents": cents })),
//!         RawEvent::new("Deposited", 2, serde_json::json!({ "cents": cents })),
//!     ])
//! }
//!
//! #[derive(Serialize, Deserialize, Debug, PartialEq)]
//! pub struct Withdrawn { pub cents: u64 }
//!
//! #[derive(Event, Debug, PartialEq)]
//! #[event(retired(kind = "Moved", events = split_moved))]
//! pub enum PurseEvent {
//!     #[event(version = 3, personal(holder),
//!             upcast(from = 1, typed = OpenedV1, personal(owner)),
//!             upcast(from = 2, typed = OpenedV2, personal(owner)))]
//!     Opened(Opened),
//!     #[event(version = 2, aliases = ["Paid"], upcast(from = 1, raw = deposited_v1))]
//!     Deposited(Deposited),
//!     Withdrawn(Withdrawn),
//! }
//!
//! let v1: EventBody = r#"{"owner": "Ada", "initial_balance": 5}"#.parse()?;
//! assert_eq!(
//!     PurseEvent::from_stored("Opened", 1, &v1)?,
//!     Decoded::One(Opened { holder: Some("Ada".into()), opening_balance: 5 }.into()),
//! );
//! let paid: EventBody = r#"{"amount": 2}"#.parse()?;
//! assert_eq!(
//!     PurseEvent::from_stored("Paid", 1, &paid)?,
//!     Decoded::One(Deposited { cents: 200 }.into()),
//! );
//! let moved: EventBody = r#"{"cents": 70}"#.parse()?;
//! let split: Vec<_> = PurseEvent::from_stored("Moved", 1, &moved)?.into_iter().collect();
//! assert_eq!(split, [Withdrawn { cents: 70 }.into(), Deposited { cents: 70 }.into()]);
//! // a forget erases the personal fields of every version
//! assert_eq!(PurseEvent::stored_personal_fields("Opened"), ["holder", "owner"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod check;
mod decoded;
mod upcast;
mod upcaster;

pub use check::{SchemaError, check};
pub use decoded::{Decoded, DecodedIter};
pub(crate) use upcast::renamed;
pub use upcast::{MAX_UPCAST_STEPS, decode_stored};
pub use upcaster::{RawEvent, UpcastError, UpcastStep, Upcaster};
