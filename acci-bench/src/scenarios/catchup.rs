//! `catchup`: a `#[projection]` read model rebuilt from the whole log, first at 100,000
//! events, then at 1,000,000, against the baseline's hand-written fold and upsert. The
//! process's peak memory is taken for each, to show it does not grow with the log.

use std::time::{Duration, Instant};

use acci_postgres::{ProjectionRunner, RunnerOptions};
use serde_json::json;
use sqlx::PgPool;

use crate::domain::Balance;
use crate::raw;
use crate::report::{Bound, Check, Measurement, Report, System, peak_rss_bytes};
use crate::setup::BenchDatabase;
use crate::{Config, Error};

const NAME: &str = "catchup";

/// Writes deposits number `from..to` of the log, spread over `keys` accounts, into both
/// stores, in SQL: seeding is not what is measured.
async fn seed(pool: &PgPool, from: usize, to: usize, keys: usize) -> Result<(), Error> {
    const CHUNK: usize = 100_000;
    let mut start = from;
    while start < to {
        let end = (start + CHUNK).min(to);
        sqlx::query(
            "INSERT INTO event_store.events (event_id, tenant_id, aggregate_type, aggregate_id, sequence, \
                                             event_type, schema_version, data, metadata) \
             SELECT gen_random_uuid(), 'bench', 'Account', 'acc-' || (g % $3), g / $3 + 1, 'Deposited', 1, \
                    jsonb_build_object('amount', g % 100 + 1), '{}'::jsonb \
               FROM generate_series($1::bigint, $2::bigint - 1) g",
        )
        .bind(start as i64)
        .bind(end as i64)
        .bind(keys as i64)
        .execute(pool)
        .await?;
        sqlx::query(
            "INSERT INTO raw.events (event_id, stream_id, sequence, event_type, schema_version, data, metadata) \
             SELECT gen_random_uuid(), 'Account/acc-' || (g % $3), g / $3 + 1, 'Deposited', 1, \
                    jsonb_build_object('amount', g % 100 + 1), '{}'::jsonb \
               FROM generate_series($1::bigint, $2::bigint - 1) g",
        )
        .bind(start as i64)
        .bind(end as i64)
        .bind(keys as i64)
        .execute(pool)
        .await?;
        start = end;
    }
    sqlx::query("ANALYZE event_store.events")
        .execute(pool)
        .await?;
    sqlx::query("ANALYZE raw.events").execute(pool).await?;
    Ok(())
}

pub(crate) async fn run(
    database: &BenchDatabase,
    config: &Config,
    big: usize,
    small: usize,
    keys: usize,
    report: &mut Report,
) -> Result<(), Error> {
    let pool = database.owner_pool(2).await?;
    let batch = RunnerOptions::default().batch_size;

    let mut peaks = Vec::new();
    let mut rates = Vec::new();
    let mut seeded = 0;
    for events in [small, big] {
        seed(&pool, seeded, events, keys).await?;
        seeded = events;

        // Each rebuild runs in a process of its own, so its peak memory is its own and
        // not what the scenarios before it left behind.
        let raw = in_child(config, database, System::Raw, batch).await?;
        let acci = in_child(config, database, System::Acci, batch).await?;
        let (applied, raw_took, raw_peak) = (raw.applied, raw.elapsed, raw.peak_rss_bytes);
        let (rebuilt, acci_took, acci_peak) = (acci.applied, acci.elapsed, acci.peak_rss_bytes);

        if applied != events as u64 || rebuilt != events as u64 {
            // Fewer for ACCI means its global log saw fewer: it stops below the oldest
            // transaction still open anywhere on the server, which another program held.
            return Err(format!(
                "{NAME}: {events} events in the log, the baseline applied {applied}, ACCI {rebuilt} \
                 (if ACCI applied fewer: a transaction left open on the server holds the global \
                 log back; PgEventStore::log_horizon_holder names it)"
            )
            .into());
        }
        let acci_totals: (i64, i64) = sqlx::query_as(
            "SELECT sum(balance)::bigint, sum(movements)::bigint FROM read_models.bench_balances",
        )
        .fetch_one(&pool)
        .await?;
        let raw_totals: (i64, i64) =
            sqlx::query_as("SELECT sum(balance)::bigint, sum(movements)::bigint FROM raw.balances")
                .fetch_one(&pool)
                .await?;
        if acci_totals != raw_totals {
            return Err(format!(
                "{NAME}: the read model sums to {acci_totals:?}, the baseline's to {raw_totals:?}"
            )
            .into());
        }

        for (system, took, peak) in [
            (System::Raw, raw_took, raw_peak),
            (System::Acci, acci_took, acci_peak),
        ] {
            let mut measurement = Measurement::new(NAME, system, events as u64, took);
            measurement.peak_rss_bytes = peak;
            measurement.extra.insert("keys".into(), json!(keys));
            measurement.extra.insert("batch".into(), json!(batch));
            report.measured(measurement);
        }
        rates.push((
            events as f64 / raw_took.as_secs_f64(),
            events as f64 / acci_took.as_secs_f64(),
        ));
        peaks.push(acci_peak);
    }

    let (raw_rate, acci_rate) = rates[1];
    report.check(Check::new(
        NAME,
        format!("acci/raw throughput at {big} events"),
        acci_rate / raw_rate,
        Bound::AtLeast(0.5),
    ));
    report.check(Check::new(
        NAME,
        format!("acci events/s at {big} events"),
        acci_rate,
        Bound::AtLeast(50_000.0),
    ));
    if let [Some(small_peak), Some(big_peak)] = peaks[..] {
        report.check(Check::new(
            NAME,
            format!("peak memory {big} / {small} events"),
            big_peak as f64 / small_peak as f64,
            Bound::AtMost(1.2),
        ));
    }
    Ok(())
}

/// What one rebuild did, as its process reports it.
#[derive(Debug, Clone, Copy)]
pub struct Rebuilt {
    /// Events applied.
    pub applied: u64,
    /// How long the rebuild took, process start excluded.
    pub elapsed: Duration,
    /// The process's peak resident memory.
    pub peak_rss_bytes: Option<u64>,
}

/// The program's own flag for a rebuild in a process of its own.
pub const CHILD_FLAG: &str = "--rebuild-in-child";

async fn in_child(
    config: &Config,
    database: &BenchDatabase,
    system: System,
    batch: usize,
) -> Result<Rebuilt, Error> {
    let program = match &config.program {
        Some(program) => program.clone(),
        None => std::env::current_exe()?,
    };
    let output = tokio::process::Command::new(program)
        .args([
            CHILD_FLAG,
            database.url(),
            database.name(),
            system.label(),
            &batch.to_string(),
        ])
        .output()
        .await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "{NAME}: the {} rebuild process failed ({}): {}",
            system.label(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )
        .into());
    }
    let line: serde_json::Value = serde_json::from_str(stdout.trim())
        .map_err(|e| format!("{NAME}: the rebuild process said `{}`: {e}", stdout.trim()))?;
    let field = |name: &str| {
        line[name]
            .as_u64()
            .ok_or_else(|| format!("{NAME}: no `{name}` in `{line}`"))
    };
    Ok(Rebuilt {
        applied: field("applied")?,
        elapsed: Duration::from_nanos(field("nanos")?),
        peak_rss_bytes: line["peak_rss_bytes"].as_u64(),
    })
}

/// The child's side: rebuilds the read model of `system` on database `name` and prints
/// one JSON line with what it did.
pub async fn rebuild_in_child(
    url: &str,
    name: &str,
    system: &str,
    batch: &str,
) -> Result<String, Error> {
    let database = BenchDatabase::attach(url, name)?;
    let batch: usize = batch.parse()?;
    let pool = database.owner_pool(2).await?;
    let started = Instant::now();
    let applied = match system {
        "raw" => raw::catch_up(&pool, batch).await?,
        "acci" => {
            let runner =
                ProjectionRunner::<Balance>::new(pool.clone()).with_options(RunnerOptions {
                    batch_size: batch,
                    ..RunnerOptions::default()
                })?;
            runner.rebuild().await?
        }
        other => return Err(format!("no system `{other}` to rebuild").into()),
    };
    let elapsed = started.elapsed();
    pool.close().await;
    Ok(json!({
        "applied": applied,
        "nanos": elapsed.as_nanos() as u64,
        "peak_rss_bytes": peak_rss_bytes(),
    })
    .to_string())
}
