//! [`SimStore`]: the in-memory store, with a yield point before every call.

use std::future::Future;
use std::time::SystemTime;

use eventstore_core::backend::{
    AppendOutcome, AppendRequest, DeadlineSummary, DeadlinesAt, LoadedStream, Partition,
    PendingDeadline, RecordedOutcome, RefusalOutcome, RefusalRequest, Snapshot, StreamEvent,
};
use eventstore_core::{
    DeadlineStore, Error, EventStore, ForgetRequest, Forgotten, MemoryStore, RecordedEvent,
};

use super::control::{Control, Verdict};

/// What the store does with a refusal recorded under an idempotency key
/// ([`EventStore::record_refusal`]).
///
/// Under [`Kept`](Self::Kept), [`SimStore`] delegates it to the
/// [`MemoryStore`]; under [`Forgotten`](Self::Forgotten) it returns
/// "recorded" without storing anything, so that every later command with
/// that key decides again, as before refusals were recorded (issue 16,
/// item 1). That keeps the simulation's negative control running the old
/// behaviour on a store that remembers refusals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Refusals {
    /// Recorded refusals are kept, as the store keeps them.
    #[default]
    Kept,
    /// Recorded refusals are acknowledged and dropped.
    Forgotten,
}

/// A [`MemoryStore`] whose every call first yields to the simulation's
/// scheduler: there the scheduler may run another task, stall this one,
/// crash it (drop its future, so the call never happens), fail the call
/// before it reaches the store, or make it and lose its reply. Otherwise
/// it delegates, one store call per call, so each call stays atomic.
#[derive(Debug, Clone)]
pub struct SimStore {
    inner: MemoryStore,
    control: Control,
    refusals: Refusals,
}

impl SimStore {
    pub(crate) fn new(inner: MemoryStore, control: Control, refusals: Refusals) -> Self {
        Self {
            inner,
            control,
            refusals,
        }
    }

    /// What it does with recorded refusals.
    #[must_use]
    pub fn refusals(&self) -> Refusals {
        self.refusals
    }

    pub(crate) fn control(&self) -> &Control {
        &self.control
    }

    /// The store underneath, without yield points.
    #[must_use]
    pub fn inner(&self) -> &MemoryStore {
        &self.inner
    }

    /// Yields, then makes the call `call` with `make` as the scheduler's
    /// verdict says, recording the reply as `reply` shows it.
    async fn call<T, F>(
        &self,
        call: String,
        make: F,
        reply: fn(&T) -> String,
    ) -> eventstore_core::Result<T>
    where
        F: Future<Output = eventstore_core::Result<T>> + Send,
    {
        let verdict = self.control.yield_before(&call).await;
        if verdict == Verdict::Fail {
            self.control.made(&call, "failed (injected)");
            return Err(Error::transient("the simulation failed this call", call));
        }
        let result = make.await;
        let shown = match &result {
            Ok(value) => reply(value),
            Err(error) => describe_error(error),
        };
        if verdict == Verdict::LoseReply {
            self.control
                .made(&call, &format!("{shown}, reply lost (injected)"));
            return Err(Error::transient(
                "the simulation lost the reply of this call",
                call,
            ));
        }
        self.control.made(&call, &shown);
        result
    }
}

/// What a key recorded, as the interleaving shows it.
fn describe_key(recorded: Option<&RecordedOutcome>) -> String {
    match recorded {
        None => "key unused".to_owned(),
        Some(RecordedOutcome::Applied) => "key applied".to_owned(),
        Some(RecordedOutcome::Rejected(_)) => "key rejected".to_owned(),
    }
}

fn describe_error(error: &Error) -> String {
    match error {
        Error::Conflict { .. } => "conflict".to_owned(),
        Error::StreamMoved {
            aggregate_kind,
            aggregate_id,
            version,
        } => format!("refused: {aggregate_kind}/{aggregate_id} moved past v{version}"),
        other => format!("error: {other}"),
    }
}

impl EventStore for SimStore {
    async fn append(&self, request: AppendRequest) -> eventstore_core::Result<AppendOutcome> {
        let kinds: Vec<&str> = request.events.iter().map(|e| e.kind.as_str()).collect();
        let mut call = format!(
            "append {}/{}@v{} {}",
            request.aggregate_kind,
            request.aggregate_id,
            request.expected_version,
            kinds.join(",")
        );
        if let Some(key) = &request.idempotency_key {
            call.push_str(&format!(" [{key}]"));
        }
        if let Some(guard) = &request.unless_moved {
            call.push_str(&format!(
                " unless {}/{} past v{}",
                guard.aggregate_kind, guard.aggregate_id, guard.version
            ));
        }
        let reply = |outcome: &AppendOutcome| match outcome {
            AppendOutcome::Committed(events) => match events.last() {
                Some(last) => format!("ok, v{}", last.version),
                None => "nothing to write".to_owned(),
            },
            AppendOutcome::AlreadyApplied => "already applied".to_owned(),
            AppendOutcome::AlreadyRejected(_) => "already rejected".to_owned(),
        };
        self.call(call, self.inner.append(request), reply).await
    }

    async fn load(
        &self,
        aggregate_kind: &str,
        aggregate_id: &str,
        after_version: u64,
    ) -> eventstore_core::Result<Vec<RecordedEvent>> {
        let call = format!("load {aggregate_kind}/{aggregate_id} after v{after_version}");
        let make = self.inner.load(aggregate_kind, aggregate_id, after_version);
        self.call(call, make, |events| format!("{} events", events.len()))
            .await
    }

    async fn load_page(
        &self,
        aggregate_kind: &str,
        aggregate_id: &str,
        after_version: u64,
        limit: usize,
    ) -> eventstore_core::Result<Vec<StreamEvent>> {
        let call = format!("read {aggregate_kind}/{aggregate_id} after v{after_version}");
        let make = self
            .inner
            .load_page(aggregate_kind, aggregate_id, after_version, limit);
        self.call(call, make, |events| format!("{} events", events.len()))
            .await
    }

    async fn load_snapshot(
        &self,
        aggregate_kind: &str,
        aggregate_id: &str,
    ) -> eventstore_core::Result<Option<Snapshot>> {
        let call = format!("load snapshot {aggregate_kind}/{aggregate_id}");
        let make = self.inner.load_snapshot(aggregate_kind, aggregate_id);
        let reply = |snapshot: &Option<Snapshot>| match snapshot {
            Some(snapshot) => format!("v{}", snapshot.version),
            None => "none".to_owned(),
        };
        self.call(call, make, reply).await
    }

    async fn save_snapshot(&self, snapshot: Snapshot) -> eventstore_core::Result<()> {
        let call = format!(
            "save snapshot {}/{}@v{}",
            snapshot.aggregate_kind, snapshot.aggregate_id, snapshot.version
        );
        self.call(call, self.inner.save_snapshot(snapshot), |_| {
            "ok".to_owned()
        })
        .await
    }

    async fn idempotency_key_outcome(
        &self,
        aggregate_kind: &str,
        aggregate_id: &str,
        key: &str,
    ) -> eventstore_core::Result<Option<RecordedOutcome>> {
        let call = format!("key {aggregate_kind}/{aggregate_id} [{key}]");
        let make = self
            .inner
            .idempotency_key_outcome(aggregate_kind, aggregate_id, key);
        self.call(call, make, |recorded| describe_key(recorded.as_ref()))
            .await
    }

    async fn record_refusal(
        &self,
        request: RefusalRequest,
    ) -> eventstore_core::Result<RefusalOutcome> {
        let call = format!(
            "refuse {}/{}@v{} [{}]",
            request.aggregate_kind, request.aggregate_id, request.version, request.idempotency_key
        );
        let reply = |outcome: &RefusalOutcome| match outcome {
            RefusalOutcome::Recorded => "recorded".to_owned(),
            RefusalOutcome::AlreadyDecided(recorded) => describe_key(Some(recorded)),
            RefusalOutcome::StreamMoved => "stream moved".to_owned(),
        };
        match self.refusals {
            Refusals::Kept => {
                self.call(call, self.inner.record_refusal(request), reply)
                    .await
            }
            Refusals::Forgotten => {
                let dropped = async { Ok(RefusalOutcome::Recorded) };
                self.call(call, dropped, reply).await
            }
        }
    }

    async fn forget(&self, request: &ForgetRequest) -> eventstore_core::Result<Forgotten> {
        let call = format!("forget {}/{}", request.aggregate_kind, request.aggregate_id);
        let reply = |forgotten: &Forgotten| format!("{} rows", forgotten.total());
        self.call(call, self.inner.forget(request), reply).await
    }

    async fn load_stream(
        &self,
        aggregate_kind: &str,
        aggregate_id: &str,
        idempotency_key: Option<&str>,
        limit: usize,
    ) -> eventstore_core::Result<LoadedStream> {
        let mut call = format!("load {aggregate_kind}/{aggregate_id}");
        if let Some(key) = idempotency_key {
            call.push_str(&format!(" [{key}]"));
        }
        // the memory store's own, in one atomic read, not the default's three
        let make = self
            .inner
            .load_stream(aggregate_kind, aggregate_id, idempotency_key, limit);
        let reply = |stream: &LoadedStream| match &stream.key_outcome {
            Some(recorded) => describe_key(Some(recorded)),
            None => format!("v{}", stream.events.last().map_or(0, |e| e.version)),
        };
        self.call(call, make, reply).await
    }
}

/// Deadlines through the same yield points: the simulation's sagas keep
/// and fire them like any other store call.
impl DeadlineStore for SimStore {
    async fn sync_deadlines(&self, at: DeadlinesAt) -> eventstore_core::Result<()> {
        let names: Vec<String> = at
            .deadlines
            .iter()
            .map(|d| format!("{}@{}", d.name(), d.due_micros()))
            .collect();
        let call = format!(
            "keep deadlines {}/{}@v{} [{}]",
            at.saga_kind,
            at.saga_id,
            at.version,
            names.join(",")
        );
        self.call(call, self.inner.sync_deadlines(at), |()| "ok".to_owned())
            .await
    }

    async fn due_deadlines(
        &self,
        saga_kind: &str,
        partition: Option<Partition>,
        now: SystemTime,
        limit: usize,
    ) -> eventstore_core::Result<Vec<PendingDeadline>> {
        let call = format!("due deadlines {saga_kind}");
        let make = self.inner.due_deadlines(saga_kind, partition, now, limit);
        let reply = |due: &Vec<PendingDeadline>| format!("{} due", due.len());
        self.call(call, make, reply).await
    }

    async fn next_deadline(
        &self,
        saga_kind: &str,
        partition: Option<Partition>,
    ) -> eventstore_core::Result<Option<SystemTime>> {
        let call = format!("next deadline {saga_kind}");
        let make = self.inner.next_deadline(saga_kind, partition);
        let reply = |next: &Option<SystemTime>| match next {
            Some(_) => "one pending".to_owned(),
            None => "none pending".to_owned(),
        };
        self.call(call, make, reply).await
    }

    async fn remove_deadline(&self, pending: &PendingDeadline) -> eventstore_core::Result<()> {
        let call = format!(
            "remove deadline {}/{} {}",
            pending.saga_kind,
            pending.saga_id,
            pending.deadline.name()
        );
        self.call(call, self.inner.remove_deadline(pending), |()| {
            "ok".to_owned()
        })
        .await
    }

    async fn deadline_summary(
        &self,
        saga_kind: &str,
        now: SystemTime,
        limit: usize,
    ) -> eventstore_core::Result<DeadlineSummary> {
        let call = format!("deadline summary {saga_kind}");
        let make = self.inner.deadline_summary(saga_kind, now, limit);
        let reply = |summary: &DeadlineSummary| format!("{} pending", summary.pending);
        self.call(call, make, reply).await
    }
}

#[cfg(test)]
mod tests {
    use std::task::Poll;

    use eventstore_core::{Options, Repository};
    use sagas_examples::account::Account;

    use super::*;
    use crate::simulation::executor::{TaskFuture, poll_once};

    /// Opens `a1` through a store whose first call gets `verdict`; returns
    /// the call it stopped before, what the open ended with, and how many
    /// events the store holds then.
    fn open_with(verdict: Verdict) -> (Option<String>, Result<u64, String>, usize) {
        let control = Control::default();
        let store = SimStore::new(MemoryStore::new(), control.clone(), Refusals::Kept);
        let repo = Repository::new(store.clone());
        let mut open: TaskFuture<'_> = Box::pin(async move {
            let open = |a: &Account| a.open("Ada", 5);
            let outcome = repo
                .execute("a1", Options::default().expect_new(), open)
                .await;
            outcome.map(|_| 0).map_err(|e| e.to_string())
        });
        assert!(
            poll_once(&mut open).is_pending(),
            "it yields before the append"
        );
        let (waiting_at, made) = control.take_poll();
        assert!(made.is_empty(), "nothing is called before the yield");
        control.set_verdict(verdict);
        let Poll::Ready(ended) = poll_once(&mut open) else {
            panic!("one call only, then it ends");
        };
        (waiting_at, ended, store.inner().all_events().len())
    }

    #[test]
    fn a_call_waits_for_the_scheduler_then_proceeds_fails_or_loses_its_reply() {
        let (waiting_at, ended, stored) = open_with(Verdict::Proceed);
        assert_eq!(waiting_at.as_deref(), Some("append Account/a1@v0 Opened"));
        assert_eq!((ended, stored), (Ok(0), 1));

        let (_, ended, stored) = open_with(Verdict::Fail);
        let failed = "the simulation failed this call".to_owned();
        assert_eq!((ended, stored), (Err(failed), 0), "nothing written");

        let (_, ended, stored) = open_with(Verdict::LoseReply);
        let lost = "the simulation lost the reply of this call".to_owned();
        assert_eq!((ended, stored), (Err(lost), 1), "written, reply lost");
    }
}
