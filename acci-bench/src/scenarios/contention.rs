//! `contention`: 8 clients send deposits to one account at once. Every command must
//! succeed exactly once: the final version equals the number of commands plus the
//! opening, and the balance their sum.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use acci_core::prelude::*;
use serde_json::json;

use super::{accounts, aggregate, concurrently, open, round_range, tenant};
use crate::domain::Deposit;
use crate::raw;
use crate::report::{Bound, Check, Latencies, Measurement, Report, System};
use crate::setup::BenchDatabase;
use crate::{Config, Error};

const NAME: &str = "contention";
const SYSTEMS: [System; 3] = [System::Raw, System::Acci, System::AcciCached];

/// The best figure of the peers measured on this kind of machine (commands/s, 8 clients
/// on one aggregate), and the target: twice that.
const PEER_BEST: f64 = 190.0;

pub(crate) async fn run(
    database: &BenchDatabase,
    config: &Config,
    clients: usize,
    per_client: usize,
    report: &mut Report,
) -> Result<(), Error> {
    let pool = database.app_pool(clients as u32).await?;
    let store = Arc::new(config.store(pool.clone()));
    // Enough attempts that no command gives up: each conflict means another command
    // got through, so a command waits at most for the others' commands.
    let retry = RetryPolicy::attempts((clients * per_client) as u32 + 1);
    let plain = accounts(&store).with_retry(retry);
    let cached = accounts(&store)
        .with_retry(retry)
        .with_cache(NonZeroUsize::MIN);
    let id = |system: System| format!("contended-{}", system.label().replace('+', "-"));
    raw::open(&pool, &id(System::Raw)).await?;
    open(&plain, &id(System::Acci)).await?;
    open(&plain, &id(System::AcciCached)).await?;

    let conflicts: [Arc<AtomicU64>; 3] = Default::default();
    let mut elapsed = [Duration::ZERO; 3];
    let mut latencies: [Latencies; 3] = Default::default();
    for round in 0..config.rounds {
        let ops = round_range(per_client, config.rounds, round);
        for turn in 0..SYSTEMS.len() {
            let slot = (round + turn) % SYSTEMS.len();
            let (system, conflicts) = (SYSTEMS[slot], Arc::clone(&conflicts[slot]));
            let account = id(system);
            let (took, ops_latencies) = match system {
                System::Raw => {
                    let pool = pool.clone();
                    concurrently(clients, ops.clone(), move |_, _| {
                        let (pool, account, conflicts) =
                            (pool.clone(), account.clone(), Arc::clone(&conflicts));
                        async move {
                            let attempts = raw::deposit(&pool, &account, 1).await?;
                            conflicts.fetch_add(u64::from(attempts - 1), Ordering::Relaxed);
                            Ok(())
                        }
                    })
                    .await?
                }
                _ => {
                    let repository = if system == System::Acci {
                        plain.clone()
                    } else {
                        cached.clone()
                    };
                    concurrently(clients, ops.clone(), move |_, _| {
                        let (repository, account, conflicts) =
                            (repository.clone(), account.clone(), Arc::clone(&conflicts));
                        async move {
                            let command =
                                Command::new(tenant(), aggregate(&account)?, Deposit { amount: 1 });
                            let outcome = repository.execute(command).await?;
                            conflicts.fetch_add(u64::from(outcome.attempts - 1), Ordering::Relaxed);
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

    let commands = (clients * per_client) as u64;
    let repository = accounts(&store);
    for (slot, system) in SYSTEMS.into_iter().enumerate() {
        let (version, balance) = match system {
            System::Raw => {
                let (state, version) = raw::load(&pool, &raw::stream_id(&id(system))).await?;
                (version as u64, state.balance)
            }
            _ => {
                let loaded = repository.load(&tenant(), &aggregate(&id(system))?).await?;
                (loaded.version, loaded.state.balance)
            }
        };
        let exactly_once = version == commands + 1 && balance == commands as i64;
        if !exactly_once {
            return Err(format!(
                "{NAME}: {} ended at version {version} with balance {balance} after {commands} commands",
                system.label()
            )
            .into());
        }
        let mut measurement = Measurement::new(NAME, system, commands, elapsed[slot]);
        measurement.latencies = std::mem::take(&mut latencies[slot]);
        measurement.extra.insert("clients".into(), json!(clients));
        measurement.extra.insert(
            "conflicts".into(),
            json!(conflicts[slot].load(Ordering::Relaxed)),
        );
        measurement
            .extra
            .insert("final_version".into(), json!(version));
        measurement.extra.insert("exactly_once".into(), json!(true));
        report.measured(measurement);
    }
    let rate = |slot: usize| commands as f64 / elapsed[slot].as_secs_f64();
    report.check(Check::new(
        NAME,
        "acci+cache commands/s (2 x best peer)",
        rate(2),
        Bound::AtLeast(2.0 * PEER_BEST),
    ));
    report.check(Check::new(
        NAME,
        "acci+cache/raw throughput",
        rate(2) / rate(0),
        Bound::Reported,
    ));
    Ok(())
}
