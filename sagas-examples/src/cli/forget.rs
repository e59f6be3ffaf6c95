//! `sagas forget`: erases an account owner's personal data (GDPR).

use eventstore_core::{AggregateId, EventStore, ForgetRequest};
use serde_json::json;

use super::args::{Database, Output};
use super::{Failure, connect, failed, repository};
use crate::account::{Account, Status};
use crate::table::Table;

/// Erases the personal fields of account `id` (the owner's name) from its
/// events, its snapshots and the parked events' error text, in one
/// transaction. The history stays; a repeat changes nothing. An id that no
/// account has is a failure, so that a mistyped request is not taken for
/// done.
pub(crate) async fn forget(db: &Database, output: Output, id: &AggregateId) -> Result<(), Failure> {
    let store = connect(db).await?;
    let account = repository(store.clone()).load::<Account>(id).await?;
    if account.state.status == Status::New {
        return Err(Failure::Failed(format!("{id}: no such account")));
    }
    let forgotten = store
        .forget(&ForgetRequest::personal::<Account>(id.clone()))
        .await
        .map_err(|e| failed(&e))?;
    if output.json {
        let value = json!({
            "id": id,
            "events": forgotten.events,
            "snapshots": forgotten.snapshots,
            "copies": forgotten.copies,
        });
        println!("{value}");
    } else {
        let mut table = Table::new(["account", "events erased", "snapshots", "parked errors"]);
        table.push([
            id.to_string(),
            forgotten.events.to_string(),
            forgotten.snapshots.to_string(),
            forgotten.copies.to_string(),
        ]);
        print!("{table}");
        println!(
            "{id}: the owner's name is erased from {} of its {} events; the history stays",
            forgotten.events, account.version
        );
    }
    Ok(())
}
