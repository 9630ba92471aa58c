//! How many events per second 16 concurrent writers append through ACCI on PostgreSQL,
//! one event per command, against a baseline of plain single-row INSERTs measured in the
//! same run on the same server.
//!
//! ```text
//! cargo run --release -p acci-examples --bin pg-append-rate [-- --commands N]
//! ```
//!
//! It creates a database of its own on the server of `DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), connects as a role under row-level
//! security as an application would, and drops the database at the end.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use acci_core::prelude::*;
use acci_examples::bank::{BankAccount, Deposit, Open};
use acci_postgres::{DEFAULT_DATABASE_URL, PgEventStore};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, Executor, PgConnection};

type Error = Box<dyn std::error::Error + Send + Sync>;

const WRITERS: usize = 16;
const LOGIN: &str = "acci_bench_app";

#[tokio::main]
async fn main() -> Result<(), Error> {
    let commands = parse_commands()?;
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned());
    let admin = PgConnectOptions::from_str(&url)?;
    let name = format!("acci_bench_{}", uuid::Uuid::new_v4().simple());
    let mut conn = PgConnection::connect_with(&admin).await?;
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await?;

    let result = run(&admin.clone().database(&name), commands).await;

    conn.execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str())
        .await?;
    result
}

async fn run(admin: &PgConnectOptions, commands: usize) -> Result<(), Error> {
    let owner = PgEventStore::from_pool(
        PgPoolOptions::new()
            .max_connections(1)
            .connect_with(admin.clone())
            .await?,
    );
    owner.migrate().await?;
    owner
        .pool()
        .execute(
            format!(
                "DO $$ BEGIN
                     IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{LOGIN}') THEN
                         CREATE ROLE {LOGIN} LOGIN NOBYPASSRLS IN ROLE acci_app;
                     END IF;
                 END $$;
                 CREATE TABLE raw_events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                     event_id uuid NOT NULL UNIQUE, stream text NOT NULL, sequence bigint NOT NULL,
                     data jsonb NOT NULL, UNIQUE (stream, sequence));
                 GRANT INSERT, SELECT ON raw_events TO {LOGIN};"
            )
            .as_str(),
        )
        .await?;
    let pool = PgPoolOptions::new()
        .max_connections(WRITERS as u32)
        .connect_with(admin.clone().username(LOGIN).password(""))
        .await?;
    let per_writer = commands / WRITERS;

    println!(
        "{WRITERS} concurrent writers, {} single-event appends in all\n",
        per_writer * WRITERS
    );

    let raw_pool = pool.clone();
    let raw = timed(per_writer, move |writer, n| {
        let pool = raw_pool.clone();
        async move {
            sqlx::query(
                "INSERT INTO raw_events (event_id, stream, sequence, data) VALUES ($1, $2, $3, $4)",
            )
            .bind(uuid::Uuid::now_v7())
            .bind(format!("account-{writer}"))
            .bind(n as i64 + 1)
            .bind(serde_json::json!({ "amount": 1 }))
            .execute(&pool)
            .await
            .map(|_| ())
            .map_err(Error::from)
        }
    })
    .await?;
    report(
        "baseline: plain INSERT, one row per statement",
        per_writer,
        raw,
        None,
    );

    let store = Arc::new(PgEventStore::from_pool(pool.clone()));
    let accounts = Repository::<BankAccount, _>::new(Arc::clone(&store));
    let tenant = TenantId::new("bench")?;
    for writer in 0..WRITERS {
        let id = AggregateId::new(format!("account-{writer}"))?;
        accounts
            .execute(Command::new(
                tenant.clone(),
                id,
                Open {
                    owner: "bench".into(),
                    currency: "EUR".into(),
                },
            ))
            .await?;
    }
    let acci = deposits(accounts, &tenant, per_writer).await?;
    report(
        "ACCI: Repository::execute (load + decide + append)",
        per_writer,
        acci,
        Some(raw),
    );

    let cached = Repository::<BankAccount, _>::new(Arc::clone(&store))
        .with_cache(std::num::NonZeroUsize::new(1_000).expect("not zero"));
    let with_cache = deposits(cached.clone(), &tenant, per_writer).await?;
    report(
        "ACCI: Repository::execute with the aggregate cache",
        per_writer,
        with_cache,
        Some(raw),
    );
    let stats = cached.cache_stats().expect("a cache");
    println!(
        "{:<55} {:>9.2} ({} hits, {} misses)",
        "  cache hit ratio",
        stats.hit_ratio(),
        stats.hits,
        stats.misses
    );

    let shared_store = Arc::clone(&store);
    let appends = timed(per_writer, move |writer, _| {
        let store = Arc::clone(&shared_store);
        async move {
            let stream = acci_core::StreamId::new(
                TenantId::new("bench")?,
                "Raw",
                AggregateId::new(format!("stream-{writer}"))?,
            )?;
            let event = acci_core::NewEvent::from_event(
                &acci_examples::bank::Deposited { amount: 1 },
                Metadata::new(),
            )?;
            store
                .append(&stream, ExpectedVersion::Any, vec![event], None)
                .await?;
            Ok(())
        }
    })
    .await?;
    report(
        "ACCI: EventStore::append alone",
        per_writer,
        appends,
        Some(raw),
    );
    Ok(())
}

/// Each writer deposits into its own account `per_writer` times, as single-event
/// commands through `accounts`; returns the wall time.
async fn deposits(
    accounts: Repository<BankAccount, PgEventStore>,
    tenant: &TenantId,
    per_writer: usize,
) -> Result<Duration, Error> {
    let tenant = tenant.clone();
    timed(per_writer, move |writer, _| {
        let (accounts, tenant) = (accounts.clone(), tenant.clone());
        async move {
            let id = AggregateId::new(format!("account-{writer}"))?;
            accounts
                .execute(Command::new(tenant, id, Deposit { amount: 1 }))
                .await?;
            Ok(())
        }
    })
    .await
}

/// Runs `per_writer` operations on each of the writers at once; returns the wall time.
async fn timed<F, Fut>(per_writer: usize, operation: F) -> Result<Duration, Error>
where
    F: Fn(usize, usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = Result<(), Error>> + Send,
{
    let started = Instant::now();
    let tasks: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let operation = operation.clone();
            tokio::spawn(async move {
                for n in 0..per_writer {
                    operation(writer, n).await?;
                }
                Ok::<(), Error>(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok(started.elapsed())
}

fn report(what: &str, per_writer: usize, took: Duration, baseline: Option<Duration>) {
    let events = (per_writer * WRITERS) as f64;
    let rate = events / took.as_secs_f64();
    let ratio = baseline.map_or_else(String::new, |b| {
        format!("  ({:.2} x baseline)", b.as_secs_f64() / took.as_secs_f64())
    });
    println!(
        "{what:<55} {rate:>9.0} events/s in {:>6.2} s{ratio}",
        took.as_secs_f64()
    );
}

fn parse_commands() -> Result<usize, Error> {
    let mut args = std::env::args().skip(1);
    let mut commands = 16_000;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--commands" => commands = args.next().ok_or("--commands needs a number")?.parse()?,
            other => return Err(format!("unknown argument `{other}`; use --commands N").into()),
        }
    }
    Ok(commands.max(WRITERS))
}
