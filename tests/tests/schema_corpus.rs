//! The stored corpus: rows of the sample's events exactly as its releases
//! wrote them, for every event kind of every event family of
//! `sagas-examples` at every schema version from 1 to its current one,
//! each with what it must read as today (`tests/corpus/<aggregate>.json`).
//! A row that no longer reads as it did, or a version of a kind with no
//! row, fails, naming the file, kind and version; so does an event family
//! without a file.
//!
//! When an event changes, give it a new version
//! (`#[event(version = N, upcast(from = N - 1, ...))]`), then in its file:
//!
//! 1. leave every row's `kind`, `schema_version` and `body` as they are:
//!    they are what the stores hold; change their `reads_as` to the body
//!    the application reads them as now;
//! 2. add a row `{"kind": ..., "schema_version": N, "body": ..., "reads_as":
//!    ...}` with the body as the new code writes it, and that same body as
//!    `reads_as`.
//!
//! `reads_as` is a body of the row's kind at its current version, or a list
//! of `{"kind": ..., "body": ...}` for a row that an upcaster splits (an
//! empty list for one it drops). A new event family gets a file of its own,
//! checked in each test here. The rows of a file are appended in order to
//! one stream that the aggregate folds: they need not be a history its
//! commands would allow, only one its fold takes (no withdrawal above the
//! balance).

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use eventstore_core::backend::{AppendRequest, NewEvent};
use eventstore_core::schema::Decoded;
use eventstore_core::{
    Aggregate, Checkpoint, Event, EventBody, EventFilter, EventStore, ForgetRequest, MemoryStore,
    RecordedEvent, Repository, Tracker,
};
use eventstore_tests::postgres::fresh_store;
use sagas_examples::account::Account;
use sagas_examples::kmm::KidAccount;
use sagas_examples::transfer::Transfer;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// The corpus of the accounts' events.
const ACCOUNT: &str = "account.json";
/// The corpus of the transfers' events.
const TRANSFER: &str = "transfer.json";
/// The corpus of the kids' accounts' events (the kmm sample).
const KID_ACCOUNT: &str = "kid_account.json";

/// One file of the corpus: the rows of one aggregate kind's events.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Corpus {
    /// The aggregate kind of the stream the rows were written to.
    aggregate_kind: String,
    rows: Vec<Row>,
}

/// A row as a release wrote it, and what it reads as today.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    kind: String,
    schema_version: u32,
    /// The body's text as written.
    body: Box<RawValue>,
    reads_as: ReadsAs,
}

/// What a row reads as.
#[derive(Deserialize)]
#[serde(untagged)]
enum ReadsAs {
    /// The events of a row that an upcaster split (none when it dropped
    /// the row).
    Several(Vec<ReadEvent>),
    /// The body of the one event of the row's kind, at its current version.
    One(Map<String, Value>),
}

/// One of the events a split row reads as.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadEvent {
    kind: String,
    body: Value,
}

/// An event as kind and JSON body, to compare what was read with what
/// should be.
type Read = (String, Value);

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// The file `file` of the corpus, checked to hold `A`'s events.
fn corpus<A: Aggregate>(file: &str) -> Corpus {
    let path = corpus_dir().join(file);
    let text = fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read the corpus {}: {e}", path.display()));
    let corpus: Corpus = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("the corpus {} does not parse: {e}", path.display()));
    assert_eq!(
        corpus.aggregate_kind,
        A::KIND,
        "{file} holds the events of another aggregate"
    );
    corpus
}

impl Row {
    /// Names the row in a message: file, index, kind and version.
    fn name(&self, file: &str, index: usize) -> String {
        format!(
            "{file} row {index} ({} at schema version {})",
            self.kind, self.schema_version
        )
    }

    fn body(&self) -> EventBody {
        EventBody::parse(self.body.get()).expect("a row's body is a JSON object")
    }

    /// The events the row must read as, in order.
    fn expected<E: Event>(&self) -> Vec<Read> {
        match &self.reads_as {
            ReadsAs::One(body) => vec![(
                current_kind::<E>(&self.kind).to_owned(),
                Value::Object(body.clone()),
            )],
            ReadsAs::Several(events) => events
                .iter()
                .map(|e| (e.kind.clone(), e.body.clone()))
                .collect(),
        }
    }
}

/// The current kind that rows stored as `kind` read as: `kind`, unless it
/// is an old name of one.
fn current_kind<E: Event>(kind: &str) -> &str {
    E::ALIASES
        .iter()
        .find(|(old, _)| *old == kind)
        .map_or(kind, |(_, current)| current)
}

/// The events as the application has them, each encoded again.
fn as_read<E: Event>(decoded: Decoded<E>) -> Result<Vec<Read>, String> {
    decoded
        .into_iter()
        .map(|event| {
            let body = event.to_body().map_err(|e| format!("encode: {e}"))?;
            let body = body.to_value().map_err(|e| format!("encode: {e}"))?;
            Ok((event.kind().to_owned(), body))
        })
        .collect()
}

/// What is wrong with the rows of `file`, decoded with `Event::from_stored`.
fn decoding_failures<A: Aggregate>(file: &str) -> Vec<String> {
    let mut failures = Vec::new();
    for (index, row) in corpus::<A>(file).rows.iter().enumerate() {
        let read = A::Event::from_stored(&row.kind, row.schema_version, &row.body())
            .map_err(|e| eventstore_core::ErrorChain(&e).to_string())
            .and_then(as_read);
        match read {
            Ok(read) if read == row.expected::<A::Event>() => {}
            Ok(read) => failures.push(format!(
                "{}: reads as {read:?}, not as {:?}",
                row.name(file, index),
                row.expected::<A::Event>()
            )),
            Err(error) => failures.push(format!(
                "{}: does not decode: {error}",
                row.name(file, index)
            )),
        }
    }
    failures
}

/// The versions, old kind names and upcasters of `A`'s events that no row
/// of `file` shows.
fn missing_rows<A: Aggregate>(file: &str) -> Vec<String> {
    let rows = corpus::<A>(file).rows;
    let has = |kind: &str, version: u32| {
        rows.iter()
            .any(|r| r.kind == kind && r.schema_version == version)
    };
    let mut missing = Vec::new();
    for kind in A::Event::KINDS {
        let current = A::Event::current_version(kind);
        for version in 1..=current {
            let shown = rows
                .iter()
                .any(|r| current_kind::<A::Event>(&r.kind) == *kind && r.schema_version == version);
            if !shown {
                missing.push(format!(
                    "{file}: no row of {kind} at schema version {version} (its current version \
                     is {current})"
                ));
            }
        }
    }
    for upcaster in A::Event::UPCASTERS {
        if !has(upcaster.kind, upcaster.from) {
            missing.push(format!(
                "{file}: no row of {} at schema version {}, which an upcaster reads",
                upcaster.kind, upcaster.from
            ));
        }
    }
    for (old, current) in A::Event::ALIASES {
        if !rows.iter().any(|r| r.kind == *old) {
            missing.push(format!(
                "{file}: no row stored under {old}, the old name of {current}"
            ));
        }
    }
    missing
}

/// The last segment of a type's path.
fn type_name<T>() -> &'static str {
    let path = std::any::type_name::<T>();
    path.rsplit("::").next().unwrap_or(path)
}

/// The enums that `#[derive(..., Event, ...)]` in the sources under `dir`.
fn event_families(dir: &Path, out: &mut BTreeSet<String>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())) {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            event_families(&path, out);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = fs::read_to_string(&path).expect("read a source file");
        let mut lines = text.lines().map(str::trim);
        while let Some(line) = lines.next() {
            let Some(derives) = line
                .strip_prefix("#[derive(")
                .and_then(|l| l.strip_suffix(")]"))
            else {
                continue;
            };
            if !derives.split(',').any(|d| d.trim() == "Event") {
                continue;
            }
            let name = lines
                .by_ref()
                .find_map(|l| l.strip_prefix("pub enum ").or(l.strip_prefix("enum ")))
                .and_then(|rest| rest.split([' ', '{', '<']).next())
                .unwrap_or_else(|| panic!("{}: no enum after {line}", path.display()));
            out.insert(name.to_owned());
        }
    }
}

#[test]
fn every_event_family_of_the_sample_has_a_corpus_file() {
    let sources = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sagas-examples/src");
    let mut found = BTreeSet::new();
    event_families(&sources, &mut found);
    let covered: BTreeSet<String> = [
        type_name::<<Account as Aggregate>::Event>(),
        type_name::<<Transfer as Aggregate>::Event>(),
        type_name::<<KidAccount as Aggregate>::Event>(),
    ]
    .map(str::to_owned)
    .into();
    assert_eq!(
        found,
        covered,
        "every #[derive(Event)] enum of sagas-examples has a file in {} checked here",
        corpus_dir().display()
    );
    let files: BTreeSet<String> = fs::read_dir(corpus_dir())
        .expect("the corpus")
        .map(|e| {
            e.expect("a corpus file")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        files,
        [ACCOUNT, KID_ACCOUNT, TRANSFER].map(str::to_owned).into(),
        "every file of the corpus is checked"
    );
}

#[test]
fn every_row_reads_as_its_current_events() {
    let mut failures = decoding_failures::<Account>(ACCOUNT);
    failures.extend(decoding_failures::<Transfer>(TRANSFER));
    failures.extend(decoding_failures::<KidAccount>(KID_ACCOUNT));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_kind_has_a_row_at_every_version() {
    let mut missing = missing_rows::<Account>(ACCOUNT);
    missing.extend(missing_rows::<Transfer>(TRANSFER));
    missing.extend(missing_rows::<KidAccount>(KID_ACCOUNT));
    assert!(
        missing.is_empty(),
        "add the rows as the release wrote them:\n{}",
        missing.join("\n")
    );
}

/// The stream each file's rows are appended to.
fn stream_of(file: &str) -> String {
    format!("corpus-{}", file.trim_end_matches(".json"))
}

/// How many reads the tracker gets to see the rows appended: PostgreSQL's
/// holds every event back while any write transaction of the cluster is
/// open, and other tests hold some.
const MAX_READS: usize = 600;

/// The events of stream `id` that the tracker reads, once it reads
/// `count` of them, for at most [`MAX_READS`] reads 100 ms apart.
async fn tracked<S: Tracker>(
    store: &S,
    label: &str,
    aggregate_kind: &str,
    id: &str,
    count: usize,
) -> Vec<RecordedEvent> {
    let filter = EventFilter::all().aggregate_kind(aggregate_kind);
    let (mut after, mut read) = (Checkpoint::BEGINNING, Vec::new());
    for _ in 0..MAX_READS {
        let page = store
            .read_page(after, &filter, 100)
            .await
            .unwrap_or_else(|e| panic!("{label}: read the {aggregate_kind} events: {e}"));
        if let Some(unreadable) = page.unreadable.first() {
            panic!("{label}: {}", unreadable.error());
        }
        after = page.end.max(after);
        read.extend(page.events.into_iter().filter(|e| e.aggregate_id == id));
        if read.len() >= count {
            return read;
        }
        if !page.more {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    panic!(
        "{label}: the tracker read {} of the {count} rows of {aggregate_kind} {id}",
        read.len()
    );
}

/// Appends the rows of `file` as stored to a stream of `A`, then loads
/// it, and reads it through the tracker: everything reads as `reads_as`.
async fn reads_back<S, A>(store: &S, label: &str, file: &str)
where
    S: EventStore + Tracker + Clone,
    A: Aggregate + PartialEq + Debug,
{
    let rows = corpus::<A>(file).rows;
    let id = stream_of(file);
    let request = rows.iter().fold(
        AppendRequest::new(A::KIND, id.parse().expect("an id"), 0),
        |request, row| {
            request.event(NewEvent::of(&row.kind, row.body()).schema_version(row.schema_version))
        },
    );
    store
        .append(request)
        .await
        .unwrap_or_else(|e| panic!("{label}: append the rows of {file}: {e}"));

    let mut folded = A::default();
    for (index, row) in rows.iter().enumerate() {
        for (kind, body) in row.expected::<A::Event>() {
            let body = EventBody::try_from(body).expect("reads_as is a JSON object");
            let event = A::Event::from_body(&kind, &body)
                .unwrap_or_else(|e| panic!("{}: reads_as: {kind}: {e}", row.name(file, index)));
            folded.apply(&event);
        }
    }
    let loaded = Repository::new(store.clone())
        .load::<A>(&id)
        .await
        .unwrap_or_else(|e| panic!("{label}: load the stream of {file}: {e}"));
    assert_eq!(
        (&loaded.state, loaded.version),
        (&folded, rows.len() as u64),
        "{label}: the stream of {file} loads as its reads_as fold"
    );

    let recorded = tracked(store, label, A::KIND, &id, rows.len()).await;
    assert_eq!(recorded.len(), rows.len(), "{label}: {file}: {recorded:?}");
    for (index, (row, event)) in rows.iter().zip(&recorded).enumerate() {
        let name = row.name(file, index);
        assert_eq!(
            (event.kind.as_str(), event.schema_version),
            (row.kind.as_str(), row.schema_version),
            "{label}: {name}: the store keeps the kind and schema version"
        );
        let read = event
            .decode_all::<A::Event>()
            .map_err(|e| eventstore_core::ErrorChain(&e).to_string())
            .and_then(as_read);
        assert_eq!(
            read,
            Ok(row.expected::<A::Event>()),
            "{label}: {name}, read through the tracker"
        );
    }
}

/// Forgets the corpus account: each row loses the personal fields of its
/// version, and nothing else; the `Opened` rows of version 1 lose `owner`,
/// those of version 2 `holder`.
async fn forget_erases_every_version<S: EventStore>(store: &S, label: &str) {
    let rows = corpus::<Account>(ACCOUNT).rows;
    let id = stream_of(ACCOUNT);
    store
        .forget(&ForgetRequest::personal::<Account>(
            id.parse().expect("an id"),
        ))
        .await
        .unwrap_or_else(|e| panic!("{label}: forget {id}: {e}"));
    let stored = store
        .load(Account::KIND, &id, 0)
        .await
        .unwrap_or_else(|e| panic!("{label}: load {id}: {e}"));
    assert_eq!(stored.len(), rows.len(), "{label}: {stored:?}");
    let corpus_body = |row: &Row| -> Value { serde_json::from_str(row.body.get()).expect("JSON") };
    for (index, (row, event)) in rows.iter().zip(&stored).enumerate() {
        let mut expected = corpus_body(row);
        for field in <Account as Aggregate>::Event::stored_personal_fields(&row.kind) {
            if let Some(value) = expected.get_mut(field) {
                *value = Value::Null;
            }
        }
        assert_eq!(
            event.body.to_value().expect("a stored body"),
            expected,
            "{label}: {}: the stored body once forgotten",
            row.name(ACCOUNT, index)
        );
    }
    for (version, field) in [(1, "owner"), (2, "holder")] {
        let named: Vec<_> = rows
            .iter()
            .zip(&stored)
            .enumerate()
            .filter(|(_, (row, _))| {
                row.kind == "Opened"
                    && row.schema_version == version
                    && corpus_body(row)[field].is_string()
            })
            .collect();
        assert!(
            !named.is_empty(),
            "{ACCOUNT} has an Opened row at schema version {version} that names its {field}"
        );
        for (index, (row, event)) in named {
            assert_eq!(
                event.body.to_value().expect("a stored body")[field],
                Value::Null,
                "{label}: {}: a forget erases its {field}: {}",
                row.name(ACCOUNT, index),
                event.body
            );
        }
    }
}

/// The corpus appended to `store`, read back, and the account forgotten.
async fn stored_and_read_back<S: EventStore + Tracker + Clone>(store: S, label: &str) {
    reads_back::<S, Account>(&store, label, ACCOUNT).await;
    reads_back::<S, Transfer>(&store, label, TRANSFER).await;
    reads_back::<S, KidAccount>(&store, label, KID_ACCOUNT).await;
    forget_erases_every_version(&store, label).await;
}

#[tokio::test]
async fn the_memory_store_reads_the_corpus_and_forgets_every_version() {
    stored_and_read_back(MemoryStore::new(), "memory").await;
}

#[tokio::test]
async fn postgres_reads_the_corpus_and_forgets_every_version() {
    stored_and_read_back(fresh_store().await, "PostgreSQL").await;
}
