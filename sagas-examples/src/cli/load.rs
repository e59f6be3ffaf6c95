//! `sagas load`: starts many transfers and measures how fast the workers
//! settle them.

use std::io::Write;
use std::time::{Duration, Instant};

use eventstore_core::{EventFilter, EventId, Options, Outcome, Tracker};
use serde_json::json;

use super::args::{Database, Output};
use super::{Failure, connect, repository};
use crate::account::Account;
use crate::transfer::{Transfer, TransferEvent};

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    pub(crate) accounts: usize,
    pub(crate) transfers: usize,
    pub(crate) concurrency: usize,
    pub(crate) timeout: u64,
}

/// Settled transfers of this run, by outcome.
#[derive(Debug, Default, Clone, Copy)]
struct Settled {
    completed: usize,
    failed: usize,
    refunded: usize,
}

impl Settled {
    fn total(self) -> usize {
        self.completed + self.failed + self.refunded
    }
}

/// `sagas load`
pub(crate) async fn load(db: &Database, output: Output, plan: Plan) -> Result<(), Failure> {
    if plan.accounts < 2 || plan.transfers == 0 || plan.concurrency == 0 {
        return Err(Failure::Usage(
            "load needs at least 2 accounts, 1 transfer and a concurrency of 1".to_owned(),
        ));
    }
    let store = connect(db).await?;
    let repo = repository(store.clone());
    let run = format!("load-{}", EventId::new());
    let accounts: Vec<String> = (0..plan.accounts)
        .map(|a| format!("{run}-acc-{a}"))
        .collect();
    for id in &accounts {
        let opened = repo
            .execute(id, Options::default().expect_new(), |a: &Account| {
                a.open("Load", 1_000_00)
            })
            .await?;
        if let Outcome::Rejected(error) = opened {
            return Err(Failure::Failed(format!("{id}: {error}")));
        }
    }
    let from_here = store.head().await?;
    let started = Instant::now();
    let mut starters = tokio::task::JoinSet::new();
    for worker in 0..plan.concurrency {
        let (repo, accounts, run) = (repo.clone(), accounts.clone(), run.clone());
        starters.spawn(async move {
            for t in (worker..plan.transfers).step_by(plan.concurrency) {
                let from = &accounts[(t * 7 + 1) % accounts.len()];
                let mut to = &accounts[(t * 13 + 2) % accounts.len()];
                if to == from {
                    to = &accounts[(t * 13 + 3) % accounts.len()];
                }
                let amount = 1_00 + (t as u64 % 50) * 100;
                let id = format!("{run}-tx-{t}");
                let start = |x: &Transfer| x.start(from, to, amount);
                // a run's ids are new: a refusal here is a bug in the generator
                if let Outcome::Rejected(error) = repo
                    .execute(&id, Options::idempotent("start").expect_new(), start)
                    .await?
                {
                    panic!("{id}: {error}");
                }
            }
            Ok::<_, eventstore_core::Error>(())
        });
    }
    while let Some(result) = starters.join_next().await {
        result.map_err(|e| Failure::Failed(format!("a starter panicked: {e}")))??;
    }
    let start_seconds = started.elapsed().as_secs_f64();

    let filter = EventFilter::all().aggregate::<Transfer>();
    let (mut after, mut settled) = (from_here, Settled::default());
    let deadline = started + Duration::from_secs(plan.timeout);
    let mut last_report = Instant::now();
    while settled.total() < plan.transfers {
        if Instant::now() > deadline {
            eprintln!();
            return Err(Failure::Failed(format!(
                "{} of {} transfers settled within {} s; are workers running (sagas worker)?",
                settled.total(),
                plan.transfers,
                plan.timeout
            )));
        }
        // each page goes on from where the last ended, past the account
        // events it looked at
        let page = store.read_page(after, &filter, 1_000).await?;
        after = page.end;
        for recorded in page
            .events
            .iter()
            .filter(|e| e.aggregate_id.starts_with(&run))
        {
            match recorded.decode::<TransferEvent>()? {
                TransferEvent::TransferCompleted(_) => settled.completed += 1,
                TransferEvent::WithdrawalFailed(_) => settled.failed += 1,
                TransferEvent::TransferRefunded(_) => settled.refunded += 1,
                _ => {}
            }
        }
        if page.events.is_empty() && !page.more {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if last_report.elapsed() > Duration::from_millis(500) {
            eprint!(
                "\r{} / {} transfers settled",
                settled.total(),
                plan.transfers
            );
            let _ = std::io::stderr().flush();
            last_report = Instant::now();
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "\r{} / {} transfers settled",
        settled.total(),
        plan.transfers
    );
    let rate = plan.transfers as f64 / seconds;
    if output.json {
        let value = json!({
            "transfers": plan.transfers, "accounts": plan.accounts, "concurrency": plan.concurrency,
            "start_seconds": start_seconds, "settle_seconds": seconds, "settled_per_second": rate,
            "completed": settled.completed, "failed": settled.failed, "refunded": settled.refunded,
        });
        println!("{value}");
    } else {
        println!(
            "{} transfers among {} accounts: started in {start_seconds:.1} s, all settled in {seconds:.1} s: \
             {rate:.0} transfers/s end to end ({} completed, {} refused, {} refunded)",
            plan.transfers, plan.accounts, settled.completed, settled.failed, settled.refunded
        );
    }
    Ok(())
}
