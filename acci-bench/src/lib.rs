//! ACCI's benchmark program and the domain it runs.
//!
//! The program measures every scenario of `docs/performance.md` on PostgreSQL against a
//! baseline written by hand with plain sqlx, in the same run and on the same database,
//! and prints one JSON line per measurement and a table of the targets at the end:
//!
//! ```text
//! cargo run --release -p acci-bench -- --scenario all
//! ```
//!
//! The criterion benches (`cargo bench -p acci-bench`) measure the in-process hot paths,
//! `cargo run --release -p acci-bench --bin macro-cost` what the macros cost to
//! compile, the `command-cost` program, run under callgrind, the instructions one
//! command costs in the client process, and `relay-cost` the relay against each broker's
//! own confirmed publishing. All of them use the bank-account [`domain`].

pub mod brokers;
pub mod domain;
pub mod instrument;
pub mod raw;
pub mod relay;
pub mod report;
pub mod scenarios;
pub mod setup;

use report::Report;
use scenarios::Scenario;
use setup::BenchDatabase;

/// The program's error: every failure ends the run with its message.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// What to run, and how big.
#[derive(Debug, Clone)]
pub struct Config {
    /// The server; each scenario creates a database of its own there.
    pub database_url: String,
    /// The scenarios, in order.
    pub scenarios: Vec<Scenario>,
    /// Multiplies every size (1.0: the sizes of `docs/performance.md`); smaller for a
    /// quick look, whose figures mean little.
    pub scale: f64,
    /// How many rounds each scenario's systems take turns in.
    pub rounds: usize,
    /// The benchmark program, which `catchup` starts again for each rebuild so that
    /// each has a process (and a peak memory) of its own; `None`: this process's own.
    pub program: Option<std::path::PathBuf>,
    /// Whether a metrics recorder and a tracing subscriber are installed
    /// ([`instrument::install`]), to measure what the instrumentation costs.
    pub instrumented: bool,
    /// The group commit of ACCI's store; `None`: off, to measure what it buys.
    pub group_commit: Option<acci_postgres::GroupCommit>,
}

impl Config {
    /// Every scenario at full size against `database_url`.
    pub fn new(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            scenarios: Scenario::ALL.to_vec(),
            scale: 1.0,
            rounds: 4,
            program: None,
            instrumented: false,
            group_commit: Some(acci_postgres::GroupCommit::default()),
        }
    }

    /// ACCI's store on `pool`, with the configured group commit.
    pub fn store(&self, pool: sqlx::PgPool) -> acci_postgres::PgEventStore {
        let store = acci_postgres::PgEventStore::from_pool(pool);
        match self.group_commit {
            Some(options) => store
                .with_group_commit(options)
                .expect("options checked when parsed"),
            None => store.without_group_commit(),
        }
    }

    /// `full` scaled, at least 1.
    pub fn scaled(&self, full: usize) -> usize {
        ((full as f64 * self.scale).round() as usize).max(1)
    }
}

/// Runs the configured scenarios, each on a fresh database that is dropped afterwards,
/// and returns what they measured. The JSON lines are printed as they come.
pub async fn run(config: &Config) -> Result<Report, Error> {
    let mut report = Report::default();
    for scenario in &config.scenarios {
        let database = BenchDatabase::create(&config.database_url).await?;
        let result = scenario.run(&database, config, &mut report).await;
        let dropped = database.drop().await;
        result.map_err(|e| format!("scenario {}: {e}", scenario.name()))?;
        dropped?;
    }
    Ok(report)
}
