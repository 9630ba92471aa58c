//! The scenarios: each runs ACCI and the raw baseline on the same database, interleaved
//! in rounds so that a change in the machine's load hits both alike.

mod append;
pub mod catchup;
mod command;
mod contention;
mod load;
mod query;

use std::future::Future;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use acci_core::prelude::*;
use acci_postgres::PgEventStore;

use crate::domain::{Account, Open};
use crate::report::{Latencies, Report};
use crate::setup::BenchDatabase;
use crate::{Config, Error};

/// One benchmark scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// One client, one-event commands over a set of accounts.
    CommandSeq,
    /// 16 clients, one-event commands over a set of accounts.
    CommandConc,
    /// 100 events per append.
    AppendBatch,
    /// Loading a 10,000-event aggregate without a snapshot.
    LoadLong,
    /// Loading a 100,000-event aggregate from its snapshot, against a 1,000-event one.
    LoadSnapshot,
    /// 8 clients on one aggregate.
    Contention,
    /// Rebuilding a `#[projection]` read model from 1,000,000 events.
    Catchup,
    /// Finds of read-model rows by key: PostgreSQL, the Redis cache, a hand-written query.
    QueryFind,
}

impl Scenario {
    /// Every scenario, in the order `all` runs them.
    pub const ALL: [Scenario; 8] = [
        Scenario::Catchup,
        Scenario::CommandSeq,
        Scenario::CommandConc,
        Scenario::AppendBatch,
        Scenario::LoadLong,
        Scenario::LoadSnapshot,
        Scenario::Contention,
        Scenario::QueryFind,
    ];

    /// The name on the command line and in the output.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::CommandSeq => "command_seq",
            Scenario::CommandConc => "command_conc",
            Scenario::AppendBatch => "append_batch",
            Scenario::LoadLong => "load_long",
            Scenario::LoadSnapshot => "load_snapshot",
            Scenario::Contention => "contention",
            Scenario::Catchup => "catchup",
            Scenario::QueryFind => "query_find",
        }
    }

    /// The scenario called `name`.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|s| s.name()).collect();
                format!(
                    "unknown scenario `{name}`; the scenarios are `all`, {}",
                    names.join(", ")
                )
                .into()
            })
    }

    /// Runs the scenario on `database`, recording into `report`.
    pub async fn run(
        self,
        database: &BenchDatabase,
        config: &Config,
        report: &mut Report,
    ) -> Result<(), Error> {
        let n = |full: usize| config.scaled(full);
        match self {
            Scenario::CommandSeq => {
                let sizes = command::Sizes {
                    clients: 1,
                    commands: n(2_000),
                    accounts: n(200),
                };
                command::run(self.name(), database, config, sizes, report).await
            }
            Scenario::CommandConc => {
                let sizes = command::Sizes {
                    clients: 16,
                    commands: n(20_000),
                    accounts: n(2_000),
                };
                command::run(self.name(), database, config, sizes, report).await
            }
            Scenario::AppendBatch => append::run(database, config, n(200_000), report).await,
            Scenario::LoadLong => load::long(database, config, n(10_000), report).await,
            Scenario::LoadSnapshot => {
                load::from_snapshot(
                    database,
                    config,
                    n(100_000).max(200),
                    n(1_000).max(100),
                    report,
                )
                .await
            }
            Scenario::Contention => contention::run(database, config, 8, n(200), report).await,
            Scenario::QueryFind => {
                let sizes = query::Sizes {
                    keys: n(10_000).max(50),
                    finds: n(20_000).max(200),
                };
                query::run(database, config, sizes, report).await
            }
            Scenario::Catchup => {
                catchup::run(
                    database,
                    config,
                    n(1_000_000),
                    n(100_000),
                    n(10_000),
                    report,
                )
                .await
            }
        }
    }
}

/// The tenant every ACCI stream of the benchmark belongs to.
pub(crate) fn tenant() -> TenantId {
    TenantId::new("bench").expect("a valid tenant")
}

/// The aggregate id `id`.
pub(crate) fn aggregate(id: &str) -> Result<AggregateId, Error> {
    Ok(AggregateId::new(id)?)
}

/// A repository of accounts over `store`.
pub(crate) fn accounts(store: &Arc<PgEventStore>) -> Repository<Account, PgEventStore> {
    Repository::new(Arc::clone(store))
}

/// Opens account `id` through `repository`.
pub(crate) async fn open(
    repository: &Repository<Account, PgEventStore>,
    id: &str,
) -> Result<(), Error> {
    let open = Open {
        owner: id.to_owned(),
    };
    repository
        .execute(Command::new(tenant(), aggregate(id)?, open))
        .await?;
    Ok(())
}

/// Runs `clients` tasks at once; client `c` does `work(c, i)` for every `i` in `ops`, one
/// after another. Returns the wall-clock time and every operation's latency.
pub(crate) async fn concurrently<F, Fut>(
    clients: usize,
    ops: Range<usize>,
    work: F,
) -> Result<(Duration, Latencies), Error>
where
    F: Fn(usize, usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), Error>> + Send + 'static,
{
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|client| {
            let (work, ops) = (work.clone(), ops.clone());
            tokio::spawn(async move {
                let mut latencies = Latencies::default();
                for i in ops {
                    let op = Instant::now();
                    work(client, i).await?;
                    latencies.push(op.elapsed());
                }
                Ok::<_, Error>(latencies)
            })
        })
        .collect();
    let mut all = Latencies::default();
    for task in tasks {
        all.extend(task.await??);
    }
    Ok((started.elapsed(), all))
}

/// The part of `0..total` that round `round` of `rounds` covers.
pub(crate) fn round_range(total: usize, rounds: usize, round: usize) -> Range<usize> {
    let rounds = rounds.max(1);
    (total * round / rounds)..(total * (round + 1) / rounds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_cover_everything_once() {
        let covered: Vec<usize> = (0..3).flat_map(|r| round_range(10, 3, r)).collect();
        assert_eq!(covered, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn scenarios_are_found_by_name() {
        for scenario in Scenario::ALL {
            assert_eq!(Scenario::from_name(scenario.name()).unwrap(), scenario);
        }
        let error = Scenario::from_name("command").unwrap_err().to_string();
        assert!(error.contains("unknown scenario `command`"), "{error}");
        assert!(error.contains("command_seq"), "{error}");
    }
}
