//! The bank domain as an HTTP service; see `acci_examples::service` for its routes.
//!
//! ```text
//! cargo run -p acci-examples --bin bank-service                       # in-memory store
//! cargo run -p acci-examples --bin bank-service -- \
//!     --database-url postgres://bank_app@127.0.0.1:5432/bank          # PostgreSQL
//! ```
//!
//! Options: `--listen ADDR` (default `127.0.0.1:8080`), `--database-url URL` (or
//! `DATABASE_URL`; the in-memory store without either), `--runner-url URL` (the
//! projection runner's role; default the database URL), `--migrate` with `--owner-url URL`
//! (run the migrations at start-up as the schema's owner), `--blocked-user NAME`
//! (repeatable), `--sample-every SECONDS`, `--wait-timeout SECONDS`, `--publish-to
//! AMQP_URL` with `--exchange NAME` (publish the events to RabbitMQ; see `bank-ledger`).

use std::time::Duration;

use acci_examples::service::{Config, run};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(config()?).await
}

fn config() -> Result<Config, Error> {
    let mut config = Config {
        database_url: std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()),
        ..Config::default()
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--listen" => config.listen = value()?.parse()?,
            "--database-url" => config.database_url = Some(value()?),
            "--runner-url" => config.runner_url = Some(value()?),
            "--owner-url" => config.owner_url = Some(value()?),
            "--migrate" => config.migrate = true,
            "--blocked-user" => config.blocked_users.push(value()?),
            "--sample-every" => config.sample_every = Duration::from_secs_f64(value()?.parse()?),
            "--wait-timeout" => config.wait_timeout = Duration::from_secs_f64(value()?.parse()?),
            "--memory" => config.database_url = None,
            "--publish-to" => config.publish_url = Some(value()?),
            "--exchange" => config.exchange = value()?,
            other => {
                return Err(format!(
                    "unknown argument `{other}`; options: --listen ADDR, --database-url URL, \
                     --runner-url URL, --migrate, --owner-url URL, --blocked-user NAME, \
                     --sample-every SECONDS, --wait-timeout SECONDS, --memory, \
                     --publish-to AMQP_URL, --exchange NAME"
                )
                .into());
            }
        }
    }
    Ok(config)
}
