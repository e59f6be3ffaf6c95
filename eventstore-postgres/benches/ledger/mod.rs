//! The event families the schema bench reads, and the rows it writes.
//!
//! `Plain` and `Chained` read the same rows: their `Entry` is identical,
//! only `Chained` registers an upcaster chain (typed, raw and events
//! upcasters, an old kind name, a retired kind) for its other kind,
//! `Opened`. `Versioned` and `VersionedRaw` read `Entry` at version 2, the
//! rows of version 1 through a typed upcaster and a raw one.

use eventstore_core::backend::NewEvent;
use eventstore_core::schema::{Decoded, RawEvent, UpcastError};
use eventstore_core::{Aggregate, Event, EventBody};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The stream of current-version `Entry` rows (schema version 1), of the
/// aggregate kind `Ledger`.
pub(crate) const CURRENT: &str = "current";
/// The stream of `Entry` rows written at schema version 1 in their old
/// shape, of the aggregate kind `Book`.
pub(crate) const V1: &str = "v1";
/// The stream of `Entry` rows written at schema version 2, of the
/// aggregate kind `Book`.
pub(crate) const V2: &str = "v2";

/// An entry, as every family reads it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The amount, in cents.
    pub(crate) amount_cents: u64,
    /// What it was for.
    pub(crate) memo: String,
}

/// An entry as version 1 wrote it: whole units, and a note.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub(crate) struct EntryV1 {
    /// The amount, in whole units.
    pub(crate) amount: u64,
    /// What it was for.
    pub(crate) note: String,
}

impl From<EntryV1> for Entry {
    fn from(v1: EntryV1) -> Self {
        Self {
            amount_cents: v1.amount * 100,
            memo: v1.note,
        }
    }
}

/// The ledger was opened.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub(crate) struct Opened {
    /// Who holds it.
    pub(crate) holder: String,
    /// How far it may go below zero, in cents.
    pub(crate) limit_cents: u64,
}

/// `Opened` at version 3: the holder was still the owner.
#[derive(Deserialize, Debug)]
pub(crate) struct OpenedV3 {
    /// Who holds it.
    pub(crate) owner: String,
    /// How far it may go below zero, in cents.
    pub(crate) limit_cents: u64,
}

impl From<OpenedV3> for Opened {
    fn from(v3: OpenedV3) -> Self {
        Self {
            holder: v3.owner,
            limit_cents: v3.limit_cents,
        }
    }
}

/// The events of [`PlainLedger`]: no upcasters at all.
#[derive(Event, Debug, Clone, PartialEq)]
pub(crate) enum PlainEvent {
    /// See [`Entry`].
    Entry(Entry),
    /// See [`Opened`].
    Opened(Opened),
}

/// The events of [`ChainedLedger`]: `Entry` as in [`PlainEvent`], and a
/// chain of every sort of upcaster for `Opened`.
#[derive(Event, Debug, Clone, PartialEq)]
#[event(retired(kind = "Closed", events = closed_dropped))]
pub(crate) enum ChainedEvent {
    /// See [`Entry`].
    Entry(Entry),
    /// See [`Opened`]; once stored as `LedgerOpened`.
    #[event(
        version = 4,
        aliases = ["LedgerOpened"],
        upcast(from = 1, events = opened_v1),
        upcast(from = 2, raw = opened_v2),
        upcast(from = 3, typed = OpenedV3)
    )]
    Opened(Opened),
}

/// Version 1 of `Opened` had no limit: it reads as version 2 with none.
fn opened_v1(event: RawEvent) -> Result<Vec<RawEvent>, UpcastError> {
    let mut body = event.body;
    body["limit"] = 0.into();
    Ok(vec![RawEvent::new(event.kind, 2, body)])
}

/// Version 2 counted the limit in whole units.
fn opened_v2(mut body: Value) -> Result<Value, UpcastError> {
    let limit = body["limit"]
        .as_u64()
        .ok_or_else(|| UpcastError::new("no limit"))?;
    body["limit_cents"] = (limit * 100).into();
    Ok(body)
}

/// `Closed` is no longer an event: its rows read as none.
fn closed_dropped(_: RawEvent) -> Result<Vec<RawEvent>, UpcastError> {
    Ok(Vec::new())
}

/// The events of [`VersionedBook`]: `Entry` at version 2, version 1
/// through a typed upcaster.
#[derive(Event, Debug, Clone, PartialEq)]
pub(crate) enum VersionedEvent {
    /// See [`Entry`] and [`EntryV1`].
    #[event(version = 2, upcast(from = 1, typed = EntryV1))]
    Entry(Entry),
}

/// The events of [`VersionedRawBook`]: `Entry` at version 2, version 1
/// through a raw upcaster.
#[derive(Event, Debug, Clone, PartialEq)]
pub(crate) enum VersionedRawEvent {
    /// See [`Entry`]; version 1 as [`entry_v1`] reads it.
    #[event(version = 2, upcast(from = 1, raw = entry_v1))]
    Entry(Entry),
}

/// Version 1 of `Entry`, as JSON: `amount` in whole units becomes
/// `amount_cents`, `note` becomes `memo`.
fn entry_v1(mut body: Value) -> Result<Value, UpcastError> {
    let object = body
        .as_object_mut()
        .ok_or_else(|| UpcastError::new("not an object"))?;
    let amount = object
        .remove("amount")
        .and_then(|amount| amount.as_u64())
        .ok_or_else(|| UpcastError::new("no amount"))?;
    let note = object
        .remove("note")
        .ok_or_else(|| UpcastError::new("no note"))?;
    object.insert("amount_cents".to_owned(), (amount * 100).into());
    object.insert("memo".to_owned(), note);
    Ok(body)
}

/// What a ledger folded: the same for every family that reads the same
/// entries.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    /// Entries folded.
    pub(crate) entries: u64,
    /// Their amounts, in cents.
    pub(crate) cents: u64,
    /// The bytes of their memos.
    pub(crate) memo_bytes: u64,
}

impl Tally {
    /// Counts `entry`.
    fn add(&mut self, entry: &Entry) {
        self.entries += 1;
        self.cents += entry.amount_cents;
        self.memo_bytes += entry.memo.len() as u64;
    }

    /// The tally of the first `events` entries the bench writes.
    pub(crate) fn of(events: u64) -> Self {
        let mut tally = Self::default();
        for n in 0..events {
            tally.add(&entry(n));
        }
        tally
    }
}

/// An aggregate whose state is a [`Tally`].
pub(crate) trait Tallied: Aggregate {
    /// What it folded.
    fn tally(&self) -> Tally;
}

/// Folds [`PlainEvent`]s.
#[derive(Aggregate, Serialize, Deserialize, Debug, Default)]
#[aggregate(kind = "Ledger", event = PlainEvent)]
pub(crate) struct PlainLedger {
    tally: Tally,
}

impl PlainEventHandler for PlainLedger {
    fn on_entry(&mut self, e: &Entry) {
        self.tally.add(e);
    }
    fn on_opened(&mut self, _: &Opened) {}
}

/// Folds [`ChainedEvent`]s.
#[derive(Aggregate, Serialize, Deserialize, Debug, Default)]
#[aggregate(kind = "Ledger", event = ChainedEvent)]
pub(crate) struct ChainedLedger {
    tally: Tally,
}

impl ChainedEventHandler for ChainedLedger {
    fn on_entry(&mut self, e: &Entry) {
        self.tally.add(e);
    }
    fn on_opened(&mut self, _: &Opened) {}
}

/// Folds [`VersionedEvent`]s.
#[derive(Aggregate, Serialize, Deserialize, Debug, Default)]
#[aggregate(kind = "Book", event = VersionedEvent)]
pub(crate) struct VersionedBook {
    tally: Tally,
}

impl VersionedEventHandler for VersionedBook {
    fn on_entry(&mut self, e: &Entry) {
        self.tally.add(e);
    }
}

/// Folds [`VersionedRawEvent`]s.
#[derive(Aggregate, Serialize, Deserialize, Debug, Default)]
#[aggregate(kind = "Book", event = VersionedRawEvent)]
pub(crate) struct VersionedRawBook {
    tally: Tally,
}

impl VersionedRawEventHandler for VersionedRawBook {
    fn on_entry(&mut self, e: &Entry) {
        self.tally.add(e);
    }
}

impl Tallied for PlainLedger {
    fn tally(&self) -> Tally {
        self.tally
    }
}

impl Tallied for ChainedLedger {
    fn tally(&self) -> Tally {
        self.tally
    }
}

impl Tallied for VersionedBook {
    fn tally(&self) -> Tally {
        self.tally
    }
}

impl Tallied for VersionedRawBook {
    fn tally(&self) -> Tally {
        self.tally
    }
}

/// The `n`th entry the bench writes.
pub(crate) fn entry(n: u64) -> Entry {
    Entry {
        amount_cents: (n % 997 + 1) * 100,
        memo: format!("invoice {n}, paid by bank transfer"),
    }
}

/// The `n`th entry as version 1 wrote it: it reads as [`entry`]`(n)`.
fn entry_v1_body(n: u64) -> Value {
    let current = entry(n);
    json!({ "amount": current.amount_cents / 100, "note": current.memo })
}

/// The `n`th row of `stream` ([`CURRENT`], [`V1`] or [`V2`]).
pub(crate) fn row(stream: &str, n: u64) -> NewEvent {
    match stream {
        CURRENT => NewEvent::encode(&PlainEvent::from(entry(n))),
        V1 => NewEvent::new("Entry", &entry_v1_body(n)).map(|row| row.schema_version(1)),
        V2 => NewEvent::encode(&VersionedEvent::from(entry(n))),
        other => panic!("no stream {other}"),
    }
    .expect("an entry encodes")
}

/// The aggregate kind of `stream`.
pub(crate) fn aggregate_kind(stream: &str) -> &'static str {
    if stream == CURRENT { "Ledger" } else { "Book" }
}

/// Checks that the families read what they claim: `Chained` reads old
/// `Opened` rows of every version and name, and drops `Closed`; the v1
/// and v2 rows of `Entry` read alike in both versioned families.
pub(crate) fn check_families() {
    let body = |value: Value| EventBody::try_from(&value).expect("an object");
    let opened = Opened {
        holder: "Ada".to_owned(),
        limit_cents: 500,
    };
    let old = [
        ("LedgerOpened", 1, json!({ "owner": "Ada" })),
        ("Opened", 2, json!({ "owner": "Ada", "limit": 5 })),
        ("Opened", 3, json!({ "owner": "Ada", "limit_cents": 500 })),
    ];
    for (kind, version, value) in old {
        let decoded = ChainedEvent::from_stored(kind, version, &body(value)).expect("decodes");
        let expected = if version == 1 {
            Opened {
                limit_cents: 0,
                ..opened.clone()
            }
        } else {
            opened.clone()
        };
        assert_eq!(decoded, Decoded::One(expected.into()), "{kind} v{version}");
    }
    let closed = ChainedEvent::from_stored("Closed", 1, &body(json!({}))).expect("decodes");
    assert!(closed.is_empty(), "Closed rows read as no event");
    for n in [0, 1, 996, 9_999] {
        let v1 = row(V1, n);
        let typed = VersionedEvent::from_stored("Entry", 1, &v1.body).expect("typed v1");
        let raw = VersionedRawEvent::from_stored("Entry", 1, &v1.body).expect("raw v1");
        assert_eq!(typed, Decoded::One(entry(n).into()));
        assert_eq!(raw, Decoded::One(entry(n).into()));
    }
}
