//! The benchmark program: see the crate documentation and `docs/performance.md`.
//!
//! ```text
//! cargo run --release -p acci-bench -- --scenario all [--scale 1.0] [--rounds 4] [--instrumented]
//! ```

use acci_bench::scenarios::{Scenario, catchup};
use acci_bench::{Config, Error};
use acci_postgres::DEFAULT_DATABASE_URL;

const USAGE: &str =
    "usage: acci-bench [--scenario all|NAME[,NAME…]] [--scale F] [--rounds N] [--instrumented]

Runs ACCI and a hand-written sqlx baseline side by side on the PostgreSQL server of
DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres), each scenario on a
database of its own, and prints one JSON line per measurement and a table at the end.
`query_find` also needs the Redis of REDIS_URL (default redis://127.0.0.1:6379).
--instrumented installs a Prometheus recorder and a tracing subscriber (INFO, into a
sink) first, to compare with a run without.";

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
            "--help" | "-h" => {
                println!("{USAGE}");
                return Ok(None);
            }
            other => return Err(format!("unknown argument `{other}`\n\n{USAGE}").into()),
        }
    }
    Ok(Some(config))
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, url, name, system, batch] = &args[..] {
        if flag == catchup::CHILD_FLAG {
            match catchup::rebuild_in_child(url, name, system, batch).await {
                Ok(line) => println!("{line}"),
                Err(error) => {
                    eprintln!("{error}");
                    std::process::exit(1);
                }
            }
            return;
        }
    }
    let config = match parse(std::env::args().skip(1)) {
        Ok(Some(config)) => config,
        Ok(None) => return,
        Err(error) => {
            eprintln!("acci-bench: {error}");
            std::process::exit(2);
        }
    };
    if config.instrumented {
        if let Err(error) = acci_bench::instrument::install() {
            eprintln!("acci-bench: {error}");
            std::process::exit(1);
        }
    }
    match acci_bench::run(&config).await {
        Ok(report) => print!("{}", report.table()),
        Err(error) => {
            eprintln!("acci-bench: {error}");
            std::process::exit(1);
        }
    }
}
