//! The benchmark program: see the crate documentation and `docs/performance.md`.
//!
//! ```text
//! cargo run --release -p acci-bench -- --scenario all [--scale 1.0] [--rounds 4] [--instrumented] [--group-commit off|IN_FLIGHT[:BATCH]]
//! ```

use acci_bench::scenarios::{Scenario, catchup};
use acci_bench::{Config, Error};
use acci_postgres::{DEFAULT_DATABASE_URL, GroupCommit};

const USAGE: &str =
    "usage: acci-bench [--scenario all|NAME[,NAME…]] [--scale F] [--rounds N] [--instrumented]
                  [--group-commit off|IN_FLIGHT[:BATCH]]

Runs ACCI and a hand-written sqlx baseline side by side on the PostgreSQL server of
DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres), each scenario on a
database of its own, and prints one JSON line per measurement and a table at the end.
`query_find` also needs the Redis of REDIS_URL (default redis://127.0.0.1:6379).
--instrumented installs a Prometheus recorder and a tracing subscriber (INFO, into a
sink) first, to compare with a run without. --group-commit sets ACCI's group commit:
off, or how many append calls may be in flight and, after a colon, how many appends a
batch carries at most (default 1:64).";

fn parse(args: impl Iterator<Item = String>) -> Result<Option<Config>, Error> {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned());
    let mut config = Config::new(url);
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .ok_or_else(|| Error::from(format!("{name} needs a value\n\n{USAGE}")))
        };
        match arg.as_str() {
            "--scenario" => {
                let names = value("--scenario")?;
                config.scenarios = if names == "all" {
                    Scenario::ALL.to_vec()
                } else {
                    names
                        .split(',')
                        .map(|name| Scenario::from_name(name.trim()))
                        .collect::<Result<_, _>>()?
                };
            }
            "--scale" => {
                let scale = value("--scale")?;
                config.scale = scale
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0)
                    .ok_or_else(|| format!("--scale `{scale}` is not a positive number"))?;
            }
            "--rounds" => {
                let rounds = value("--rounds")?;
                config.rounds = rounds
                    .parse()
                    .ok()
                    .filter(|r: &usize| *r > 0)
                    .ok_or_else(|| format!("--rounds `{rounds}` is not a positive whole number"))?;
            }
            "--instrumented" => config.instrumented = true,
            "--group-commit" => {
                let setting = value("--group-commit")?;
                config.group_commit = group_commit(&setting)?;
            }
            "--help" | "-h" => {
                println!("{USAGE}");
                return Ok(None);
            }
            other => return Err(format!("unknown argument `{other}`\n\n{USAGE}").into()),
        }
    }
    Ok(Some(config))
}

/// `off`, `IN_FLIGHT` or `IN_FLIGHT:BATCH`.
fn group_commit(setting: &str) -> Result<Option<GroupCommit>, Error> {
    if setting == "off" {
        return Ok(None);
    }
    let bad =
        || format!("--group-commit `{setting}` is not `off`, `IN_FLIGHT` or `IN_FLIGHT:BATCH`");
    let (in_flight, batch) = match setting.split_once(':') {
        Some((in_flight, batch)) => (in_flight, Some(batch)),
        None => (setting, None),
    };
    let mut options = GroupCommit {
        max_in_flight: in_flight.parse().map_err(|_| bad())?,
        ..GroupCommit::default()
    };
    if let Some(batch) = batch {
        options.max_batch = batch.parse().map_err(|_| bad())?;
    }
    options
        .validate()
        .map_err(|e| format!("--group-commit `{setting}`: {e}"))?;
    Ok(Some(options))
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, url, name, system, batch] = &args[..]
        && flag == catchup::CHILD_FLAG
    {
        match catchup::rebuild_in_child(url, name, system, batch).await {
            Ok(line) => println!("{line}"),
            Err(error) => {
                eprintln!("{error}");
                std::process::exit(1);
            }
        }
        return;
    }
    let config = match parse(std::env::args().skip(1)) {
        Ok(Some(config)) => config,
        Ok(None) => return,
        Err(error) => {
            eprintln!("acci-bench: {error}");
            std::process::exit(2);
        }
    };
    if config.instrumented
        && let Err(error) = acci_bench::instrument::install()
    {
        eprintln!("acci-bench: {error}");
        std::process::exit(1);
    }
    match acci_bench::run(&config).await {
        Ok(report) => print!("{}", report.table()),
        Err(error) => {
            eprintln!("acci-bench: {error}");
            std::process::exit(1);
        }
    }
}
