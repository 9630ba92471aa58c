//! How fast a `#[projection]` read model catches up on PostgreSQL, against a baseline
//! measured in the same run: reading the same log in batches and writing each batch's
//! rows with one hand-written multi-row upsert.
//!
//! ```text
//! cargo run --release -p acci-examples --bin pg-catchup-rate [-- --events N --keys K]
//! ```
//!
//! It creates a database of its own on the server of `DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and drops it at the end.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::{Duration, Instant};

use acci_core::prelude::*;
use acci_core::projection::ProjectionError;
use acci_core::{ReadAll, TenantScope};
use acci_postgres::{DEFAULT_DATABASE_URL, PgEventStore, ProjectionRunner, RunnerOptions};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, Executor, PgConnection};

type Error = Box<dyn std::error::Error + Send + Sync>;

const BATCH: usize = 1_000;

/// Money was paid in.
#[event]
pub struct Deposited {
    /// The amount.
    pub amount: i64,
}

/// One row per account.
#[projection(table = "bench_balances", events(Deposited))]
pub struct BenchBalance {
    /// The account.
    #[projection(key)]
    pub account: String,
    /// Its total.
    pub total: i64,
    /// Its number of deposits.
    pub deposits: i64,
}

impl Project<Deposited> for BenchBalance {
    fn key(event: &Recorded<Deposited>) -> Result<String, ProjectionError> {
        Ok(event.stream.aggregate_id.to_string())
    }

    fn project(row: &mut Option<Self>, event: &Recorded<Deposited>) {
        let row = row.get_or_insert_with(|| BenchBalance {
            account: event.stream.aggregate_id.to_string(),
            total: 0,
            deposits: 0,
        });
        row.total += event.data.amount;
        row.deposits += 1;
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (events, keys) = parse_args()?;
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned());
    let admin = PgConnectOptions::from_str(&url)?;
    let name = format!("acci_bench_{}", uuid::Uuid::new_v4().simple());
    let mut conn = PgConnection::connect_with(&admin).await?;
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await?;
    let result = run(admin.clone().database(&name), events, keys).await;
    conn.execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str())
        .await?;
    result
}

async fn run(options: PgConnectOptions, events: usize, keys: usize) -> Result<(), Error> {
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await?;
    let store = PgEventStore::from_pool(pool.clone());
    store.migrate().await?;
    let started = Instant::now();
    // The log, written in bulk: `events` deposits spread over `keys` accounts.
    sqlx::query(
        "INSERT INTO event_store.events (event_id, tenant_id, aggregate_type, aggregate_id, sequence, event_type, \
                                         schema_version, data, metadata) \
         SELECT gen_random_uuid(), 'bench', 'Account', 'account-' || (g % $2), g / $2 + 1, 'Deposited', 1, \
                jsonb_build_object('amount', g % 100), '{}'::jsonb \
           FROM generate_series(0, $1 - 1) g",
    )
    .bind(events as i64)
    .bind(keys as i64)
    .execute(&pool)
    .await?;
    sqlx::query("ANALYZE event_store.events")
        .execute(&pool)
        .await?;
    println!(
        "{events} events over {keys} keys written in {:.1} s\n",
        started.elapsed().as_secs_f64()
    );

    let baseline = baseline(&pool, &store).await?;
    report(
        "baseline: read a batch, one multi-row upsert",
        events,
        baseline,
        None,
    );

    let runner = ProjectionRunner::<BenchBalance>::new(pool.clone()).with_options(RunnerOptions {
        batch_size: BATCH,
        ..RunnerOptions::default()
    });
    let started = Instant::now();
    let applied = runner.catch_up().await?;
    let acci = started.elapsed();
    assert_eq!(applied as usize, events, "the runner applied every event");
    report(
        "ACCI: ProjectionRunner::catch_up",
        events,
        acci,
        Some(baseline),
    );

    let totals: (i64, i64) = sqlx::query_as(
        "SELECT sum(total)::bigint, sum(deposits)::bigint FROM read_models.bench_balances",
    )
    .fetch_one(&pool)
    .await?;
    let expected: (i64, i64) =
        sqlx::query_as("SELECT sum(total)::bigint, sum(deposits)::bigint FROM raw_balances")
            .fetch_one(&pool)
            .await?;
    assert_eq!(
        totals, expected,
        "the read model equals the baseline's fold"
    );
    assert_eq!(totals.1 as usize, events);
    Ok(())
}

/// The same work by hand: read the log in batches, fold each batch in memory, write the
/// touched rows with one upsert, commit with a checkpoint.
async fn baseline(pool: &sqlx::PgPool, store: &PgEventStore) -> Result<Duration, Error> {
    sqlx::query("CREATE TABLE raw_balances (account text PRIMARY KEY, total bigint NOT NULL, deposits bigint NOT NULL)")
        .execute(pool)
        .await?;
    sqlx::query("CREATE TABLE raw_checkpoint (position bigint NOT NULL)")
        .execute(pool)
        .await?;
    sqlx::query("INSERT INTO raw_checkpoint VALUES (0)")
        .execute(pool)
        .await?;
    let started = Instant::now();
    let mut request = ReadAll::new(TenantScope::AllTenants)
        .limit(BATCH)
        .event_types(["Deposited"]);
    loop {
        let batch = store.read_all(&request).await?;
        if batch.events.is_empty() {
            break;
        }
        let mut touched: HashMap<String, (i64, i64)> = HashMap::new();
        for event in &batch.events {
            let amount = event.data["amount"].as_i64().unwrap_or(0);
            let row = touched
                .entry(event.stream.aggregate_id.to_string())
                .or_default();
            row.0 += amount;
            row.1 += 1;
        }
        let (accounts, (totals, counts)): (Vec<String>, (Vec<i64>, Vec<i64>)) =
            touched.into_iter().unzip();
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO raw_balances SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[]) \
             ON CONFLICT (account) DO UPDATE SET total = raw_balances.total + EXCLUDED.total, \
                 deposits = raw_balances.deposits + EXCLUDED.deposits",
        )
        .bind(&accounts)
        .bind(&totals)
        .bind(&counts)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE raw_checkpoint SET position = $1")
            .bind(batch.next.position as i64)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        request = request.after(batch.next);
    }
    Ok(started.elapsed())
}

fn report(what: &str, events: usize, took: Duration, baseline: Option<Duration>) {
    let rate = events as f64 / took.as_secs_f64();
    let ratio = baseline.map_or_else(String::new, |b| {
        format!("  ({:.2} x baseline)", b.as_secs_f64() / took.as_secs_f64())
    });
    println!(
        "{what:<48} {rate:>9.0} events/s in {:>6.2} s{ratio}",
        took.as_secs_f64()
    );
}

fn parse_args() -> Result<(usize, usize), Error> {
    let (mut events, mut keys) = (100_000, 10_000);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value =
            || -> Result<usize, Error> { Ok(args.next().ok_or("a number must follow")?.parse()?) };
        match arg.as_str() {
            "--events" => events = value()?,
            "--keys" => keys = value()?,
            other => {
                return Err(format!("unknown argument `{other}`; use --events N --keys K").into());
            }
        }
    }
    Ok((events.max(1), keys.max(1)))
}
