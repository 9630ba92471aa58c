//! `command_seq` and `command_conc`: one-event commands (load, decide, append). Client `c`
//! serves the accounts `c, c + clients, …`, so commands never race each other; what
//! is measured is the command path itself.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use acci_core::prelude::*;
use serde_json::json;
use sqlx::PgPool;

use super::{accounts, aggregate, concurrently, open, round_range, tenant};
use crate::domain::Deposit;
use crate::raw;
use crate::report::{Bound, Check, Latencies, Measurement, Report, System};
use crate::setup::BenchDatabase;
use crate::{Config, Error};

/// How much work the scenario does.
pub(crate) struct Sizes {
    pub(crate) clients: usize,
    pub(crate) commands: usize,
    pub(crate) accounts: usize,
}

const SYSTEMS: [System; 4] = [System::Raw, System::Acci, System::AcciCached, System::Floor];

fn account_id(system: System, index: usize) -> String {
    let prefix = match system {
        System::Raw => "raw",
        System::Acci => "acci",
        System::AcciCached => "cached",
        System::Floor => "floor",
    };
    format!("{prefix}-{index}")
}

pub(crate) async fn run(
    name: &str,
    database: &BenchDatabase,
    config: &Config,
    sizes: Sizes,
    report: &mut Report,
) -> Result<(), Error> {
    let Sizes {
        clients,
        commands,
        accounts: account_count,
    } = sizes;
    let account_count = account_count.max(clients);
    let per_client = commands / clients;
    let pool = database.app_pool(clients as u32).await?;
    let store = Arc::new(config.store(pool.clone()));
    let plain = accounts(&store);
    let cache_size = NonZeroUsize::new(account_count).expect("at least one account");
    let cached = accounts(&store).with_cache(cache_size);

    for index in 0..account_count {
        raw::open(&pool, &account_id(System::Raw, index)).await?;
        open(&plain, &account_id(System::Acci, index)).await?;
        // Opened without the cache: the measured commands start from a cold cache.
        open(&plain, &account_id(System::AcciCached, index)).await?;
        raw::open(&pool, &account_id(System::Floor, index)).await?;
    }

    let mut elapsed = [Duration::ZERO; SYSTEMS.len()];
    let mut latencies: [Latencies; SYSTEMS.len()] = Default::default();
    for round in 0..config.rounds {
        let ops = round_range(per_client, config.rounds, round);
        // A different system goes first in each round.
        for turn in 0..SYSTEMS.len() {
            let slot = (round + turn) % SYSTEMS.len();
            let system = SYSTEMS[slot];
            let target = move |client: usize, i: usize| {
                let slots = account_count / clients;
                let index = client + clients * (i % slots.max(1));
                (account_id(system, index), (i % 100 + 1) as i64)
            };
            let (took, ops_latencies) = match system {
                System::Raw => {
                    let pool = pool.clone();
                    concurrently(clients, ops.clone(), move |client, i| {
                        let (pool, (id, amount)) = (pool.clone(), target(client, i));
                        async move { raw::deposit(&pool, &id, amount).await.map(drop) }
                    })
                    .await?
                }
                System::Floor => {
                    let pool = pool.clone();
                    concurrently(clients, ops.clone(), move |client, i| {
                        let (pool, (id, amount)) = (pool.clone(), target(client, i));
                        // The account's next sequence number, known without reading:
                        // the opening is 1, and each of the client's passes adds one.
                        let slots = (account_count / clients).max(1);
                        let sequence = 2 + (i / slots) as i64;
                        async move { raw::insert_only(&pool, &id, sequence, amount).await }
                    })
                    .await?
                }
                System::Acci | System::AcciCached => {
                    let repository = if system == System::Acci {
                        plain.clone()
                    } else {
                        cached.clone()
                    };
                    concurrently(clients, ops.clone(), move |client, i| {
                        let (repository, (id, amount)) = (repository.clone(), target(client, i));
                        async move {
                            let command =
                                Command::new(tenant(), aggregate(&id)?, Deposit { amount });
                            repository.execute(command).await?;
                            Ok(())
                        }
                    })
                    .await?
                }
            };
            elapsed[slot] += took;
            latencies[slot].extend(ops_latencies);
        }
    }

    let done = (per_client * clients) as u64;
    let owner = database.owner_pool(1).await?;
    for (slot, system) in SYSTEMS.into_iter().enumerate() {
        let stored = stored_deposits(&owner, system).await?;
        if stored != done {
            return Err(format!(
                "{name}: {} stored {stored} deposits for {done} commands",
                system.label()
            )
            .into());
        }
        let mut measurement = Measurement::new(name, system, done, elapsed[slot]);
        measurement.latencies = std::mem::take(&mut latencies[slot]);
        measurement.extra.insert("clients".into(), json!(clients));
        measurement
            .extra
            .insert("accounts".into(), json!(account_count));
        if system == System::AcciCached {
            let stats = cached.cache_stats().expect("the cache is on");
            measurement
                .extra
                .insert("cache_hit_ratio".into(), json!(stats.hit_ratio()));
        }
        report.measured(measurement);
    }
    let rate = |system: System| {
        let slot = SYSTEMS.iter().position(|s| *s == system).expect("measured");
        done as f64 / elapsed[slot].as_secs_f64()
    };
    let raw_rate = rate(System::Raw);
    // The targets: from one client ACCI keeps level with the careful program, and with
    // the cache gets within a tenth of the floor (what one client can get at all); from
    // many, group commit takes it past the program, and the cache to twice it.
    let (loading, cached) = if clients == 1 {
        (Bound::AtLeast(1.0), Bound::Reported)
    } else {
        (Bound::AtLeast(1.2), Bound::AtLeast(2.0))
    };
    report.check(Check::new(
        name,
        "acci/raw throughput (every command loads)",
        rate(System::Acci) / raw_rate,
        loading,
    ));
    report.check(Check::new(
        name,
        "acci+cache/raw throughput",
        rate(System::AcciCached) / raw_rate,
        cached,
    ));
    report.check(Check::new(
        name,
        "floor/raw throughput (the most any system gets)",
        rate(System::Floor) / raw_rate,
        Bound::Reported,
    ));
    report.check(Check::new(
        name,
        "acci+cache/floor throughput",
        rate(System::AcciCached) / rate(System::Floor),
        if clients == 1 {
            Bound::AtLeast(0.9)
        } else {
            Bound::Reported
        },
    ));
    Ok(())
}

/// How many deposits the system's accounts hold (read as the owner, past row security).
async fn stored_deposits(pool: &PgPool, system: System) -> Result<u64, Error> {
    let pattern = format!("{}-%", account_id(system, 0).trim_end_matches("-0"));
    let count: i64 = match system {
        System::Raw | System::Floor => {
            sqlx::query_scalar(
                "SELECT count(*) FROM raw.events WHERE stream_id LIKE 'Account/' || $1 AND event_type = 'Deposited'",
            )
            .bind(&pattern)
            .fetch_one(pool)
            .await?
        }
        System::Acci | System::AcciCached => {
            sqlx::query_scalar(
                "SELECT count(*) FROM event_store.events WHERE aggregate_id LIKE $1 AND event_type = 'Deposited'",
            )
            .bind(&pattern)
            .fetch_one(pool)
            .await?
        }
    };
    Ok(count as u64)
}
