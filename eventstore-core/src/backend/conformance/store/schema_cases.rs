//! Schema evolution through a store: rows keep the schema version they
//! were written at, old rows load and are delivered as current events,
//! forget erases the personal fields of every stored version, and a
//! snapshot of another state schema is upcast or replayed.

use std::time::Duration;

use serde_json::{Value, json};

use super::fixtures::{append_ok, body, load};
use crate::backend::conformance::eventually::{eventually, snapshot_when};
use crate::backend::conformance::profile::{
    FamilyNameChanged, GivenNameChanged, Profile, ProfileEvent, Registered,
};
use crate::backend::{AppendRequest, NewEvent, Snapshot, StreamEvent};
use crate::{
    Checkpoint, EventFilter, EventStore, ForgetRequest, Options, Outcome, RecordedEvent,
    Repository, Tracker,
};

/// A row as an earlier release wrote it.
fn row(kind: &str, schema_version: u32, value: &Value) -> NewEvent {
    NewEvent::of(kind, body(value)).schema_version(schema_version)
}

/// The history of `p-1` as three releases wrote it, one row per event.
fn old_history() -> Vec<NewEvent> {
    vec![
        row("Registered", 1, &json!({ "name": "Ada Lovelace" })),
        row("EmailSet", 1, &json!({ "email": "ada@example.org" })),
        row("NameChanged", 1, &json!({ "name": "Ada King" })),
        row("EmailChanged", 1, &json!({ "email": "ada@king.example" })),
        row(
            "EmailChanged",
            2,
            &json!({ "address": "countess@example.org" }),
        ),
    ]
}

/// The events the old history reads as today, in order.
fn read_today() -> Vec<ProfileEvent> {
    let email = |a: &str| {
        ProfileEvent::EmailChanged(crate::backend::conformance::profile::EmailChanged {
            address: Some(a.into()),
        })
    };
    vec![
        Registered {
            given_name: Some("Ada".into()),
            family_name: Some("Lovelace".into()),
        }
        .into(),
        email("ada@example.org"),
        GivenNameChanged {
            given_name: Some("Ada".into()),
        }
        .into(),
        FamilyNameChanged {
            family_name: Some("King".into()),
        }
        .into(),
        email("ada@king.example"),
        email("countess@example.org"),
    ]
}

/// The tracker's first page, once it holds `want` events: a read may be
/// held back for a while by other tests' transactions.
async fn read_all<S: Tracker>(store: &S, want: usize) -> Vec<RecordedEvent> {
    let read = async || {
        store
            .read_page(Checkpoint::BEGINNING, &EventFilter::all(), 100)
            .await
            .expect("read_page")
            .events
    };
    let what = format!("the tracker reads {want} events");
    eventually(Duration::from_secs(10), &what, read, |events| {
        events.len() >= want
    })
    .await
}

async fn write_old_history<S: EventStore>(store: &S, id: &str) {
    let mut request = AppendRequest::new("Profile", id.parse().unwrap(), 0);
    for event in old_history() {
        request = request.event(event);
    }
    append_ok(store, request).await;
}

/// Every read gives back the schema version each row was written at:
/// the append's envelopes, a load, a page of the stream and the tracker;
/// a typed event is written at its kind's current version.
pub async fn rows_keep_the_schema_version_they_were_written_at<S: EventStore + Tracker>(store: S) {
    write_old_history(&store, "p-1").await;
    let typed = NewEvent::encode(&ProfileEvent::from(GivenNameChanged {
        given_name: Some("Augusta".into()),
    }))
    .unwrap();
    assert_eq!(typed.schema_version, 1);
    let registered = NewEvent::encode(&ProfileEvent::from(Registered {
        given_name: None,
        family_name: None,
    }))
    .unwrap();
    assert_eq!(registered.schema_version, 2, "Registered is at version 2");
    let committed = append_ok(
        &store,
        AppendRequest::new("Profile", "p-1".parse().unwrap(), 5)
            .event(typed)
            .event(registered),
    )
    .await;
    let expected = [1, 1, 1, 1, 2, 1, 2];
    let committed: Vec<u32> = committed.iter().map(|e| e.schema_version).collect();
    assert_eq!(committed, expected[5..], "the append's envelopes");
    let loaded: Vec<u32> = load(&store, "Profile", "p-1", 0)
        .await
        .iter()
        .map(|e| e.schema_version)
        .collect();
    assert_eq!(loaded, expected, "a load");
    let page: Vec<StreamEvent> = store.load_page("Profile", "p-1", 2, 3).await.unwrap();
    let page: Vec<(u64, u32)> = page.iter().map(|e| (e.version, e.schema_version)).collect();
    assert_eq!(page, [(3, 1), (4, 1), (5, 2)], "a page of the stream");
    let read: Vec<u32> = read_all(&store, 7)
        .await
        .iter()
        .map(|e| e.schema_version)
        .collect();
    assert_eq!(read, expected, "the tracker");

    let zero = store
        .append(
            AppendRequest::new("Profile", "p-2".parse().unwrap(), 0)
                .event(row("EmailChanged", 2, &json!({ "address": "a@b.c" })))
                .event(row("EmailChanged", 0, &json!({ "address": "a@b.c" }))),
        )
        .await;
    assert!(
        matches!(&zero, Err(crate::Error::ZeroSchemaVersion { kind }) if kind == "EmailChanged"),
        "schema version 0 is refused: {zero:?}"
    );
    assert!(
        load(&store, "Profile", "p-2", 0).await.is_empty(),
        "nothing was written"
    );
}

/// A stream written by three releases loads into the state its events
/// fold to today, split rows included, at the stream's own version; the
/// tracker delivers the same events; and a command appends after it.
pub async fn old_rows_load_and_are_delivered_as_current_events<S: EventStore + Tracker>(store: S) {
    write_old_history(&store, "p-1").await;
    let repo = Repository::new(store.clone()).page_size(2);
    let loaded = repo.load::<Profile>("p-1").await.unwrap();
    let mut replayed = Profile::default();
    for event in read_today() {
        crate::Aggregate::apply(&mut replayed, &event);
    }
    assert_eq!(
        loaded.version, 5,
        "five rows: the split row keeps one version"
    );
    assert_eq!(loaded.state, replayed);
    assert_eq!(loaded.state.given_name.as_deref(), Some("Ada"));
    assert_eq!(loaded.state.family_name.as_deref(), Some("King"));
    assert_eq!(loaded.state.changes, 6, "six events, from five rows");

    let mut delivered = Vec::new();
    for event in &read_all(&store, 5).await {
        delivered.extend(event.decode_all::<ProfileEvent>().unwrap());
    }
    assert_eq!(
        delivered,
        read_today(),
        "the tracker's rows read as today's events"
    );

    let outcome = repo
        .execute("p-1", Options::default(), |p: &Profile| {
            p.change_email("ada@new.example")
        })
        .await
        .unwrap();
    assert!(
        matches!(&outcome, Outcome::Done(c) if c.version == 6),
        "{outcome:?}"
    );
    let after = repo.load::<Profile>("p-1").await.unwrap();
    assert_eq!(after.state.email.as_deref(), Some("ada@new.example"));
    assert_eq!(after.state.changes, 7);
}

/// A forget erases the personal fields of each row under the name its
/// version gave them (`name` in v1, `given_name` in v2), under old kind
/// names and in retired kinds too, and the stream still loads.
pub async fn forget_erases_the_personal_fields_of_every_stored_version<S: EventStore>(store: S) {
    write_old_history(&store, "p-1").await;
    append_ok(
        &store,
        AppendRequest::new("Profile", "p-1".parse().unwrap(), 5).event(
            NewEvent::encode(&ProfileEvent::from(Registered {
                given_name: Some("Augusta".into()),
                family_name: Some("Byron".into()),
            }))
            .unwrap(),
        ),
    )
    .await;
    write_old_history(&store, "p-2").await;
    store
        .forget(&ForgetRequest::personal::<Profile>("p-1".parse().unwrap()))
        .await
        .unwrap();
    let rows = load(&store, "Profile", "p-1", 0).await;
    for row in &rows {
        let text = row.body.to_string();
        for secret in ["Ada", "Lovelace", "King", "example", "Augusta", "Byron"] {
            assert!(
                !text.contains(secret),
                "{} v{} (schema {}) still holds {secret:?}: {text}",
                row.kind,
                row.version,
                row.schema_version
            );
        }
    }
    assert_eq!(rows.len(), 6, "every row stays");
    let loaded = Repository::new(store.clone())
        .load::<Profile>("p-1")
        .await
        .unwrap();
    assert_eq!(
        (
            loaded.state.given_name,
            loaded.state.family_name,
            loaded.state.email
        ),
        (None, None, None)
    );
    let other = load(&store, "Profile", "p-2", 0).await;
    assert!(
        other[0].body.to_string().contains("Ada Lovelace"),
        "another profile is untouched"
    );
}

/// A field that only an older version declared personal is erased from
/// the rows of that version, not from those of the current version, where
/// it holds something else (`Verified`'s `method`: a phone number in v1,
/// "sms" or "email" in v2): the current rows keep it, and still decode.
pub async fn forget_spares_a_field_the_current_version_does_not_declare_personal<S: EventStore>(
    store: S,
) {
    append_ok(
        &store,
        AppendRequest::new("Profile", "p-1".parse().unwrap(), 0)
            .event(row("Verified", 1, &json!({ "method": "+44 20 7946 0000" })))
            .event(row(
                "Verified",
                2,
                &json!({ "method": "email", "contact": "ada@example.org" }),
            )),
    )
    .await;
    store
        .forget(&ForgetRequest::personal::<Profile>("p-1".parse().unwrap()))
        .await
        .unwrap();
    let rows: Vec<Value> = load(&store, "Profile", "p-1", 0)
        .await
        .iter()
        .map(|row| row.body.to_value().unwrap())
        .collect();
    assert_eq!(
        rows,
        [
            json!({ "method": null }),
            json!({ "method": "email", "contact": null })
        ]
    );
    let loaded = Repository::new(store.clone()).load::<Profile>("p-1").await;
    assert_eq!(
        loaded.unwrap().version,
        2,
        "the forgotten stream still loads"
    );
}

/// A snapshot of state schema 1 is upcast by `upcast_state` and the newer
/// events folded on it; one of a schema nothing reads is ignored, counted,
/// and the stream replayed; both load the state a replay gives; and a
/// repository that snapshots the kind replaces the snapshot it could not
/// use with one of the current schema.
pub async fn a_snapshot_of_another_state_schema_is_upcast_or_replayed<S: EventStore>(store: S) {
    write_old_history(&store, "p-1").await;
    let repo = Repository::new(store.clone());
    let replayed = repo.load::<Profile>("p-1").await.unwrap();
    // what release 1 snapshotted at version 4: the name in one field
    let old_state = json!({ "name": "Ada King", "email": "ada@king.example", "changes": 5 });
    let snapshot = |schema_version: u32| Snapshot {
        aggregate_kind: "Profile".into(),
        aggregate_id: "p-1".parse().unwrap(),
        version: 4,
        forgets: 0,
        schema_version,
        state: crate::backend::JsonText::from(&old_state),
    };
    store.save_snapshot(snapshot(1)).await.unwrap();
    let upcast = repo.load::<Profile>("p-1").await.unwrap();
    assert_eq!(upcast.state, replayed.state, "upcast from the snapshot");
    assert_eq!(repo.ignored_snapshots(), 0);

    store.save_snapshot(snapshot(7)).await.unwrap();
    let ignored = repo.load::<Profile>("p-1").await.unwrap();
    assert_eq!(
        ignored.state, replayed.state,
        "replayed from the first event"
    );
    assert_eq!(
        repo.ignored_snapshots(),
        1,
        "the ignored snapshot is counted"
    );

    // a repository that snapshots the kind replaces what it could not read
    let snapshotting = Repository::new(store.clone()).snapshot_every(1_000);
    let reloaded = snapshotting.load::<Profile>("p-1").await.unwrap();
    assert_eq!(reloaded.state, replayed.state);
    let replaced = snapshot_when(&store, "Profile", "p-1", |s| s.schema_version == 2).await;
    assert_eq!(
        replaced.version, 5,
        "the replay's state, at the stream's version"
    );
    assert_eq!(
        replaced.state.decode::<Profile>().unwrap(),
        replayed.state,
        "the replacement holds the replayed state"
    );
    let before = snapshotting.ignored_snapshots();
    let again = snapshotting.load::<Profile>("p-1").await.unwrap();
    assert_eq!(again.state, replayed.state);
    assert_eq!(
        snapshotting.ignored_snapshots(),
        before,
        "read, not ignored, now"
    );
}

/// A snapshot of the current state schema that does not decode (the state
/// type changed without a new schema version), taken at the stream's
/// latest version, is replaced by the first load of a repository that
/// snapshots the kind, as one of another schema is: the next loads read
/// the replacement instead of replaying the whole stream again.
pub async fn an_unreadable_snapshot_at_the_head_is_replaced<S: EventStore>(store: S) {
    write_old_history(&store, "p-1").await;
    let repo = Repository::new(store.clone()).snapshot_every(1_000);
    let replayed = repo.load::<Profile>("p-1").await.unwrap();
    let unreadable = json!({ "given_name": 7, "changes": "many" });
    store
        .save_snapshot(Snapshot {
            aggregate_kind: "Profile".into(),
            aggregate_id: "p-1".parse().unwrap(),
            version: 5,
            forgets: 0,
            schema_version: 2,
            state: crate::backend::JsonText::from(&unreadable),
        })
        .await
        .unwrap();
    let loaded = repo.load::<Profile>("p-1").await.unwrap();
    assert_eq!(
        loaded.state, replayed.state,
        "replayed from the first event"
    );
    assert_eq!(repo.ignored_snapshots(), 1);
    let replaced = snapshot_when(&store, "Profile", "p-1", |s| {
        s.state.decode::<Profile>().is_ok()
    })
    .await;
    assert_eq!(
        (replaced.version, replaced.schema_version),
        (5, 2),
        "the replay's state replaces the unreadable one"
    );
    let again = repo.load::<Profile>("p-1").await.unwrap();
    assert_eq!(again.state, replayed.state);
    assert_eq!(repo.ignored_snapshots(), 1, "read, not ignored, now");
}

/// A snapshot of another state schema does not replace a later one: a
/// load that began before the later snapshot was stored (or a release of
/// the other schema running beside this one) would put back an older
/// state, and two releases would overwrite each other's snapshots.
pub async fn an_earlier_snapshot_of_another_schema_does_not_replace_a_later_one<S: EventStore>(
    store: S,
) {
    let snapshot = |version: u64, schema_version: u32| Snapshot {
        aggregate_kind: "Profile".into(),
        aggregate_id: "p-9".parse().unwrap(),
        version,
        forgets: 0,
        schema_version,
        state: crate::backend::JsonText::from(&json!({ "version": version })),
    };
    // saves `saved` in turn and says what the store then keeps
    let kept = async |saved: &[(u64, u32)]| {
        for &(version, schema_version) in saved {
            store
                .save_snapshot(snapshot(version, schema_version))
                .await
                .unwrap();
        }
        let kept = store
            .load_snapshot("Profile", "p-9")
            .await
            .unwrap()
            .unwrap();
        (kept.version, kept.schema_version)
    };
    assert_eq!(
        kept(&[(9, 1), (4, 2)]).await,
        (9, 1),
        "the later snapshot is kept"
    );
    assert_eq!(
        kept(&[(9, 2)]).await,
        (9, 2),
        "one of another schema at the same version replaces it"
    );
}
