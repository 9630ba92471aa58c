//! What one command costs in the client process, without a database.
//!
//! ```text
//! cargo build --release -p acci-bench --bin command-cost
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*command_cost*measured*' \
//!     target/release/command-cost --system acci [--commands N]
//! ```
//!
//! Runs `--commands` one-event deposits (2,000 unless told) on accounts opened before,
//! spread over [`ACCOUNTS`] accounts so that every load reads a few events, as the
//! `command_*` scenarios do. `--system` picks what runs them:
//!
//! - `acci`: a [`Repository`] over the [`InMemoryEventStore`], no recorder, no subscriber;
//! - `acci-instrumented`: the same with what `acci-bench --instrumented` installs (a
//!   Prometheus recorder and a `tracing` subscriber at `INFO`,
//!   [`acci_bench::instrument::install`]);
//! - `baseline`: the same decide and encode work written by hand: each account's events
//!   kept as JSON text by stream, a load decodes them straight into the typed events and
//!   folds them, the deposit is decided and serialized to JSON text and kept.
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
use acci_core::prelude::*;

/// Accounts the deposits are spread over.
const ACCOUNTS: usize = 500;

/// Who runs the commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum System {
    Acci,
    AcciInstrumented,
    Baseline,
}

const USAGE: &str =
    "usage: command-cost --system acci|acci-instrumented|baseline [--commands N]";

fn main() -> ExitCode {
    match parse(std::env::args().skip(1)) {
        Ok((system, commands)) => match run(system, commands) {
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

fn parse(mut args: impl Iterator<Item = String>) -> Result<(System, usize), String> {
    let (mut system, mut commands) = (None, 2_000);
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
                commands = value()?
                    .parse()
                    .map_err(|e| format!("`--commands`: {e}"))?;
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok((system.ok_or("`--system` is required")?, commands))
}

type Error = Box<dyn std::error::Error + Send + Sync>;

fn run(system: System, commands: usize) -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    let ids: Vec<String> = (0..ACCOUNTS).map(|i| format!("account-{i}")).collect();
    let started = Instant::now();
    let stored = match system {
        System::Acci | System::AcciInstrumented => {
            if system == System::AcciInstrumented {
                acci_bench::instrument::install()?;
            }
            let store = Arc::new(InMemoryEventStore::new());
            let accounts = Repository::<Account, _>::new(store);
            runtime.block_on(async {
                for id in &ids {
                    let open = Open { owner: id.clone() };
                    let command = Command::new(tenant(), AggregateId::new(id.as_str())?, open);
                    accounts.execute(command).await?;
                }
                Ok::<_, Error>(())
            })?;
            measured_acci(&runtime, &accounts, &ids, commands)?
        }
        System::Baseline => {
            let mut streams = Streams::default();
            for id in &ids {
                streams.open(id)?;
            }
            measured_baseline(&runtime, &mut streams, &ids, commands)?
        }
    };
    let took = started.elapsed();
    if stored != commands as u64 {
        return Err(format!("{stored} deposits stored for {commands} commands").into());
    }
    println!(
        "{system:?}: {commands} commands, {:.2} µs each (wall clock, opening included)",
        took.as_secs_f64() * 1e6 / commands as f64
    );
    Ok(())
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
fn measured_acci(
    runtime: &tokio::runtime::Runtime,
    accounts: &Repository<Account, InMemoryEventStore>,
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
            let version = if row.event_type == "AccountOpened" { 2 } else { 1 };
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
