//! What one command costs in the client process, without a database.
//!
//! ```text
//! cargo build --release -p acci-bench --bin command-cost
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*command_cost*measured*' \
//!     target/release/command-cost --system acci [--commands N] [--store memory|postgres]
//! ```
//!
//! Runs `--commands` one-event deposits (2,000 unless told) on accounts opened before,
//! spread over [`ACCOUNTS`] accounts so that every load reads a few events, as the
//! `command_*` scenarios do. `--system` picks what runs them:
//!
//! - `acci`: a [`Repository`] over the [`InMemoryEventStore`] (or, with `--store
//!   postgres`, a `PgEventStore` on a database of its own, on the server of
//!   `DATABASE_URL`), no recorder, no subscriber;
//! - `acci-instrumented`: the same with what `acci-bench --instrumented` installs (a
//!   Prometheus recorder and a `tracing` subscriber at `INFO`,
//!   [`acci_bench::instrument::install`]);
//! - `baseline`: the same decide and encode work written by hand: each account's events
//!   kept as JSON text by stream, a load decodes them straight into the typed events and
//!   folds them, the deposit is decided and serialized to JSON text and kept; with
//!   `--store postgres`, `acci-bench`'s hand-written baseline ([`acci_bench::raw`]).
//!
//! With `--store postgres`, what is counted is the client side of each command: the
//! command path, sqlx encoding the statements and decoding the rows, the connection's
//! I/O calls; the server's work is in another process, and time spent waiting for it
//! costs no instructions.
//!
//! Every command is awaited on a current-thread runtime, inside one function,
//! `measured`, so that callgrind can count that function alone (`--toggle-collect`): the
//! opening of the accounts and the start-up are left out. Instructions divided by
//! `--commands` are the client-side cost of one command. Without valgrind the program
//! runs the same work and prints the wall-clock time, which means little on a busy
//! machine.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use acci_bench::domain::{Account, Deposit, Deposited, Open, Opened};
use acci_bench::setup::BenchDatabase;
use acci_core::prelude::*;
use acci_postgres::PgEventStore;

/// Accounts the deposits are spread over.
const ACCOUNTS: usize = 500;

/// Who runs the commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum System {
    Acci,
    AcciInstrumented,
    Baseline,
}

/// Where the events go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Store {
    Memory,
    Postgres,
}

/// What to run.
#[derive(Debug, Clone, Copy)]
struct Options {
    system: System,
    store: Store,
    commands: usize,
}

const USAGE: &str = "usage: command-cost --system acci|acci-instrumented|baseline \
                     [--commands N] [--store memory|postgres]";

fn main() -> ExitCode {
    match parse(std::env::args().skip(1)) {
        Ok(options) => match run(options) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("command-cost: {error}");
                ExitCode::FAILURE
            }
        },
        Err(error) => {
            eprintln!("command-cost: {error}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let (mut system, mut commands, mut store) = (None, 2_000, Store::Memory);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("`{arg}` needs a value"));
        match arg.as_str() {
            "--system" => {
                system = Some(match value()?.as_str() {
                    "acci" => System::Acci,
                    "acci-instrumented" => System::AcciInstrumented,
                    "baseline" => System::Baseline,
                    other => return Err(format!("unknown system `{other}`")),
                });
            }
            "--commands" => {
                commands = value()?.parse().map_err(|e| format!("`--commands`: {e}"))?;
            }
            "--store" => {
                store = match value()?.as_str() {
                    "memory" => Store::Memory,
                    "postgres" => Store::Postgres,
                    other => return Err(format!("unknown store `{other}`")),
                };
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if commands == 0 {
        return Err("`--commands` must be at least 1".into());
    }
    Ok(Options {
        system: system.ok_or("`--system` is required")?,
        store,
        commands,
    })
}

type Error = Box<dyn std::error::Error + Send + Sync>;

fn run(options: Options) -> Result<(), Error> {
    let Options {
        system,
        store,
        commands,
    } = options;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let ids: Vec<String> = (0..ACCOUNTS).map(|i| format!("account-{i}")).collect();
    if system == System::AcciInstrumented {
        acci_bench::instrument::install()?;
    }
    let started = Instant::now();
    let stored = match (system, store) {
        (System::Acci | System::AcciInstrumented, Store::Memory) => {
            let accounts = Repository::<Account, _>::new(Arc::new(InMemoryEventStore::new()));
            runtime.block_on(open_all(&accounts, &ids))?;
            measured_acci(&runtime, &accounts, &ids, commands)?
        }
        (System::Baseline, Store::Memory) => {
            let mut streams = Streams::default();
            for id in &ids {
                streams.open(id)?;
            }
            measured_baseline(&runtime, &mut streams, &ids, commands)?
        }
        (system, Store::Postgres) => {
            let url = std::env::var("DATABASE_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
            let database = runtime.block_on(BenchDatabase::create(&url))?;
            let result = on_postgres(&runtime, &database, system, &ids, commands);
            runtime.block_on(database.drop())?;
            result?
        }
    };
    let took = started.elapsed();
    if stored != commands as u64 {
        return Err(format!("{stored} deposits stored for {commands} commands").into());
    }
    println!(
        "{system:?} on {store:?}: {commands} commands, {:.2} µs each (wall clock, opening included)",
        took.as_secs_f64() * 1e6 / commands as f64
    );
    Ok(())
}

/// Opens every account through `accounts`.
async fn open_all<S: EventStore + ?Sized>(
    accounts: &Repository<Account, S>,
    ids: &[String],
) -> Result<(), Error> {
    for id in ids {
        let open = Open { owner: id.clone() };
        let command = Command::new(tenant(), AggregateId::new(id.as_str())?, open);
        accounts.execute(command).await?;
    }
    Ok(())
}

/// The PostgreSQL runs, on one connection, as `command_seq` makes them.
fn on_postgres(
    runtime: &tokio::runtime::Runtime,
    database: &BenchDatabase,
    system: System,
    ids: &[String],
    commands: usize,
) -> Result<u64, Error> {
    let pool = runtime.block_on(database.app_pool(1))?;
    if system == System::Baseline {
        runtime.block_on(async {
            for id in ids {
                acci_bench::raw::open(&pool, id).await?;
            }
            Ok::<_, Error>(())
        })?;
        return measured_raw(runtime, &pool, ids, commands);
    }
    let accounts = Repository::<Account, _>::new(Arc::new(PgEventStore::from_pool(pool)));
    runtime.block_on(open_all(&accounts, ids))?;
    measured_acci(runtime, &accounts, ids, commands)
}

fn tenant() -> TenantId {
    TenantId::new("bench").expect("a valid tenant")
}

/// The amount of deposit `i`: 1 to 100 cents.
fn amount(i: usize) -> i64 {
    (i % 100 + 1) as i64
}

/// The measured part for ACCI: `commands` deposits through `accounts`, each built as an
/// application builds it. Answers how many were stored.
#[inline(never)]
fn measured_acci<S: EventStore + ?Sized>(
    runtime: &tokio::runtime::Runtime,
    accounts: &Repository<Account, S>,
    ids: &[String],
    commands: usize,
) -> Result<u64, Error> {
    runtime.block_on(async {
        let mut stored = 0;
        for i in 0..commands {
            let id = &ids[i % ids.len()];
            let deposit = Deposit { amount: amount(i) };
            let command = Command::new(tenant(), AggregateId::new(id.as_str())?, deposit);
            let outcome = accounts.execute(command).await?;
            stored += outcome.events.len() as u64;
        }
        Ok(stored)
    })
}

/// The measured part for the baseline: the same deposits, decided and encoded by hand.
#[inline(never)]
fn measured_baseline(
    runtime: &tokio::runtime::Runtime,
    streams: &mut Streams,
    ids: &[String],
    commands: usize,
) -> Result<u64, Error> {
    runtime.block_on(async {
        let mut stored = 0;
        for i in 0..commands {
            streams.deposit(&ids[i % ids.len()], amount(i))?;
            stored += 1;
        }
        Ok(stored)
    })
}

/// The measured part for the hand-written sqlx baseline: the same deposits.
#[inline(never)]
fn measured_raw(
    runtime: &tokio::runtime::Runtime,
    pool: &sqlx::PgPool,
    ids: &[String],
    commands: usize,
) -> Result<u64, Error> {
    runtime.block_on(async {
        let mut stored = 0;
        for i in 0..commands {
            acci_bench::raw::deposit(pool, &ids[i % ids.len()], amount(i)).await?;
            stored += 1;
        }
        Ok(stored)
    })
}

/// One stored event of the baseline: its type and its payload's JSON text.
struct Row {
    event_type: &'static str,
    data: Vec<u8>,
}

/// The baseline's store: every account's events by stream.
#[derive(Default)]
struct Streams(HashMap<String, Vec<Row>>);

impl Streams {
    fn open(&mut self, id: &str) -> Result<(), Error> {
        let opened = Opened {
            owner: id.to_owned(),
            currency: "EUR".into(),
        };
        let row = Row {
            event_type: "AccountOpened",
            data: serde_json::to_vec(&opened)?,
        };
        self.0.insert(acci_bench::raw::stream_id(id), vec![row]);
        Ok(())
    }

    /// Load, decide, encode, keep: what `raw::deposit` does around its two statements.
    fn deposit(&mut self, id: &str, amount: i64) -> Result<(), Error> {
        let stream = acci_bench::raw::stream_id(id);
        let rows = self.0.get_mut(&stream).ok_or("no such account")?;
        let mut account = Account::default();
        for row in rows.iter() {
            let version = if row.event_type == "AccountOpened" {
                2
            } else {
                1
            };
            acci_bench::raw::apply(&mut account, row.event_type, version, &row.data)?;
        }
        if !account.open {
            return Err(format!("account {id} is not open").into());
        }
        let data = serde_json::to_vec(&Deposited { amount })?;
        rows.push(Row {
            event_type: "Deposited",
            data,
        });
        Ok(())
    }
}
