//! `load_long` and `load_snapshot`: how long loading one aggregate takes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use acci_core::EventStore;
use acci_core::prelude::*;
use acci_postgres::PgEventStore;
use serde_json::json;

use super::append::{deposits, expected, stream};
use super::{accounts, aggregate, open, tenant};
use crate::domain::Deposit;
use crate::raw;
use crate::report::{Bound, Check, Latencies, Measurement, Report, System};
use crate::setup::BenchDatabase;
use crate::{Config, Error};

/// Loads per system; the figure is the median.
const LOADS: usize = 21;
/// Events per append while seeding.
const SEED_BATCH: usize = 1_000;

/// The deposits that take a stream from version `from` to version `to`, in appends of
/// [`SEED_BATCH`]: each the version it follows and its amounts.
fn seed_batches(from: usize, to: usize) -> impl Iterator<Item = (usize, Vec<i64>)> {
    (from..to).step_by(SEED_BATCH).map(move |version| {
        let count = SEED_BATCH.min(to - version);
        (version, (0..count).map(|i| (i % 100 + 1) as i64).collect())
    })
}

/// Appends deposits to an ACCI account at version `from` until it is at version `to`.
async fn seed_acci(store: &PgEventStore, id: &str, from: usize, to: usize) -> Result<(), Error> {
    let stream = stream(id)?;
    for (version, amounts) in seed_batches(from, to) {
        store
            .append(&stream, expected(version as u64), deposits(&amounts)?, None)
            .await?;
    }
    Ok(())
}

pub(crate) async fn long(
    database: &BenchDatabase,
    config: &Config,
    events: usize,
    report: &mut Report,
) -> Result<(), Error> {
    const NAME: &str = "load_long";
    let pool = database.app_pool(2).await?;
    let store = Arc::new(config.store(pool.clone()));
    let repository = accounts(&store);
    // Both opened (version 1), then filled with the same deposits.
    open(&repository, "long").await?;
    seed_acci(&store, "long", 1, events).await?;
    raw::open(&pool, "long").await?;
    for (version, amounts) in seed_batches(1, events) {
        raw::append_deposits(&pool, "long", version as i64 + 1, &amounts).await?;
    }

    let id = aggregate("long")?;
    let raw_stream = raw::stream_id("long");
    let (mut raw_latencies, mut acci_latencies) = (Latencies::default(), Latencies::default());
    // One untimed load each first: both start with warm caches and prepared statements.
    for i in 0..=LOADS.max(config.rounds) {
        let started = Instant::now();
        let (raw_state, raw_version) = raw::load(&pool, &raw_stream).await?;
        let raw_took = started.elapsed();
        let started = Instant::now();
        let loaded = repository.load(&tenant(), &id).await?;
        let acci_took = started.elapsed();
        if loaded.version != raw_version as u64 || loaded.state.balance != raw_state.balance {
            return Err(format!(
                "{NAME}: ACCI loaded version {} balance {}, the baseline version {raw_version} balance {}",
                loaded.version, loaded.state.balance, raw_state.balance
            )
            .into());
        }
        if i > 0 {
            raw_latencies.push(raw_took);
            acci_latencies.push(acci_took);
        }
    }
    let (raw_median, acci_median) = (
        raw_latencies.percentile(50.0),
        acci_latencies.percentile(50.0),
    );
    for (system, latencies) in [(System::Raw, raw_latencies), (System::Acci, acci_latencies)] {
        let loads = latencies.len();
        let elapsed = latencies.percentile(50.0) * loads as u32;
        let mut measurement = Measurement::new(NAME, system, (events * loads) as u64, elapsed);
        measurement.latencies = latencies;
        measurement
            .extra
            .insert("events_per_load".into(), json!(events));
        measurement.extra.insert("loads".into(), json!(loads));
        report.measured(measurement);
    }
    report.check(Check::new(
        NAME,
        "acci/raw load time (median)",
        acci_median.as_secs_f64() / raw_median.as_secs_f64(),
        Bound::AtMost(1.25),
    ));
    Ok(())
}

pub(crate) async fn from_snapshot(
    database: &BenchDatabase,
    config: &Config,
    big: usize,
    small: usize,
    report: &mut Report,
) -> Result<(), Error> {
    const NAME: &str = "load_snapshot";
    /// Events stored after the snapshot, fewer than `snapshot_every`.
    const TAIL: usize = 50;
    let pool = database.app_pool(2).await?;
    let store = Arc::new(config.store(pool.clone()));
    let repository = accounts(&store);
    for (id, events) in [("big", big), ("small", small)] {
        open(&repository, id).await?;
        seed_acci(&store, id, 1, events).await?;
        // This command loads every event, finds no snapshot and takes one.
        let outcome = repository
            .execute(Command::new(
                tenant(),
                aggregate(id)?,
                Deposit { amount: 1 },
            ))
            .await?;
        if outcome.snapshot_taken.is_none() {
            return Err(format!("{NAME}: no snapshot was taken of `{id}`").into());
        }
        seed_acci(&store, id, outcome.version as usize, events + 1 + TAIL).await?;
    }

    let mut latencies = [Latencies::default(), Latencies::default()];
    for i in 0..=LOADS.max(config.rounds) {
        for (slot, (id, events)) in [("big", big), ("small", small)].into_iter().enumerate() {
            let started = Instant::now();
            let loaded = repository.load(&tenant(), &aggregate(id)?).await?;
            let took = started.elapsed();
            if loaded.snapshot_version.is_none() || loaded.version != (events + 1 + TAIL) as u64 {
                return Err(format!(
                    "{NAME}: `{id}` loaded at version {} from snapshot {:?}",
                    loaded.version, loaded.snapshot_version
                )
                .into());
            }
            if i > 0 {
                latencies[slot].push(took);
            }
        }
    }
    let medians = [latencies[0].percentile(50.0), latencies[1].percentile(50.0)];
    for (events, latencies) in [big, small].into_iter().zip(latencies) {
        let loads = latencies.len() as u32;
        let elapsed: Duration = latencies.percentile(50.0) * loads;
        let mut measurement = Measurement::new(NAME, System::Acci, u64::from(loads), elapsed);
        measurement.latencies = latencies;
        measurement
            .extra
            .insert("aggregate_events".into(), json!(events + 1 + TAIL));
        measurement
            .extra
            .insert("events_after_snapshot".into(), json!(TAIL));
        report.measured(measurement);
    }
    report.check(Check::new(
        NAME,
        format!("load time {big} events / {small} events"),
        medians[0].as_secs_f64() / medians[1].as_secs_f64(),
        Bound::AtMost(1.5),
    ));
    Ok(())
}
