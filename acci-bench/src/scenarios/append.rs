//! `append_batch`: one client appends 100 deposits per call, each call naming the version
//! it expects; the baseline inserts the same rows with one multi-row INSERT.

use std::sync::Arc;
use std::time::{Duration, Instant};

use acci_core::prelude::*;
use acci_core::{EventStore, ExpectedVersion, NewEvent, StreamId};
use serde_json::json;

use super::{aggregate, round_range, tenant};
use crate::domain::{Account, AccountEvent, Deposited};
use crate::raw;
use crate::report::{Bound, Check, Latencies, Measurement, Report, System};
use crate::setup::BenchDatabase;
use crate::{Config, Error};

const NAME: &str = "append_batch";
const BATCH: usize = 100;
const STREAMS: usize = 20;

/// A stream of the ACCI side.
pub(crate) fn stream(id: &str) -> Result<StreamId, Error> {
    Ok(StreamId::new(tenant(), Account::TYPE, aggregate(id)?)?)
}

/// `amounts` as new deposit events.
pub(crate) fn deposits(amounts: &[i64]) -> Result<Vec<NewEvent>, Error> {
    amounts
        .iter()
        .map(|&amount| {
            let event = AccountEvent::from(Deposited { amount });
            Ok(NewEvent::from_enum(&event, Metadata::default())?)
        })
        .collect()
}

/// The expectation for a stream at `version`.
pub(crate) fn expected(version: u64) -> ExpectedVersion {
    if version == 0 {
        ExpectedVersion::NoStream
    } else {
        ExpectedVersion::Exactly(version)
    }
}

pub(crate) async fn run(
    database: &BenchDatabase,
    config: &Config,
    events: usize,
    report: &mut Report,
) -> Result<(), Error> {
    let appends = (events / BATCH).max(1);
    let pool = database.app_pool(1).await?;
    let store = Arc::new(config.store(pool.clone()));
    let amounts: Vec<i64> = (1..=BATCH as i64).collect();

    let (mut raw_time, mut acci_time) = (Duration::ZERO, Duration::ZERO);
    let (mut raw_latencies, mut acci_latencies) = (Latencies::default(), Latencies::default());
    let mut versions = [0_u64; STREAMS];
    for round in 0..config.rounds {
        let ops = round_range(appends, config.rounds, round);
        let started = Instant::now();
        for i in ops.clone() {
            let (slot, call) = (i % STREAMS, i / STREAMS);
            let op = Instant::now();
            raw::append_deposits(
                &pool,
                &format!("batch-{slot}"),
                (call * BATCH) as i64 + 1,
                &amounts,
            )
            .await?;
            raw_latencies.push(op.elapsed());
        }
        raw_time += started.elapsed();

        let started = Instant::now();
        for i in ops {
            let slot = i % STREAMS;
            let op = Instant::now();
            let stream = stream(&format!("batch-{slot}"))?;
            store
                .append(&stream, expected(versions[slot]), deposits(&amounts)?, None)
                .await?;
            versions[slot] += BATCH as u64;
            acci_latencies.push(op.elapsed());
        }
        acci_time += started.elapsed();
    }

    let n = (appends * BATCH) as u64;
    for (system, elapsed, latencies) in [
        (System::Raw, raw_time, raw_latencies),
        (System::Acci, acci_time, acci_latencies),
    ] {
        let mut measurement = Measurement::new(NAME, system, n, elapsed);
        measurement.latencies = latencies;
        measurement.extra.insert("batch".into(), json!(BATCH));
        report.measured(measurement);
    }
    report.check(Check::new(
        NAME,
        "acci/raw throughput",
        raw_time.as_secs_f64() / acci_time.as_secs_f64(),
        Bound::AtLeast(0.9),
    ));
    Ok(())
}
