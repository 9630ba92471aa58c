//! The second program of the publishing pair: consumes the bank's events from RabbitMQ
//! and keeps a ledger in its own database, each message processed once however often it
//! is delivered (see `acci_examples::ledger`).
//!
//! ```text
//! cargo run -p acci-examples --bin bank-service -- --database-url postgres://…/bank \
//!     --migrate --publish-to amqp://guest:guest@127.0.0.1:5672/%2f
//! cargo run -p acci-examples --bin bank-ledger -- --database-url postgres://…/ledger --migrate
//! ```
//!
//! Options: `--database-url URL` (or `LEDGER_DATABASE_URL`; the ledger's own database),
//! `--migrate` (create the inbox and the ledger's table first), `--broker-url URL`
//! (default `amqp://guest:guest@127.0.0.1:5672/%2f`), `--exchange NAME` (default
//! `bank`), `--queue NAME` (default `bank-ledger`), `--until-idle SECONDS` (stop after
//! that long without a message and print the ledger; without it, run until Ctrl-C).

use std::time::Duration;

use acci_core::publish::{DefaultSubject, Subscriber};
use acci_examples::ledger::Ledger;
use acci_examples::service::SUBJECT_PREFIX;
use acci_postgres::PgEventStore;
use acci_postgres::subscribe::{EventHandler, Inbox};
use acci_rabbitmq::{RabbitOptions, RabbitSubscriber};

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Args {
    database_url: String,
    migrate: bool,
    broker_url: String,
    exchange: String,
    queue: String,
    until_idle: Option<Duration>,
}

fn args() -> Result<Args, Error> {
    let mut args = Args {
        database_url: std::env::var("LEDGER_DATABASE_URL").unwrap_or_default(),
        migrate: false,
        broker_url: "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned(),
        exchange: "bank".to_owned(),
        queue: "bank-ledger".to_owned(),
        until_idle: None,
    };
    let mut given = std::env::args().skip(1);
    while let Some(arg) = given.next() {
        let mut value = || given.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--database-url" => args.database_url = value()?,
            "--migrate" => args.migrate = true,
            "--broker-url" => args.broker_url = value()?,
            "--exchange" => args.exchange = value()?,
            "--queue" => args.queue = value()?,
            "--until-idle" => {
                args.until_idle = Some(Duration::from_secs_f64(value()?.parse()?));
            }
            other => {
                return Err(format!(
                    "unknown argument `{other}`; options: --database-url URL, --migrate, \
                     --broker-url URL, --exchange NAME, --queue NAME, --until-idle SECONDS"
                )
                .into());
            }
        }
    }
    if args.database_url.is_empty() {
        return Err(
            "the ledger needs a database of its own: --database-url URL \
                    (or LEDGER_DATABASE_URL)"
                .into(),
        );
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args = args()?;
    let store = PgEventStore::connect(&args.database_url).await?;
    if args.migrate {
        store.migrate().await?;
    }
    let pool = store.pool().clone();
    Ledger::setup(&pool).await?;
    // Without an idle limit, `next` waits as long as it takes; Ctrl-C ends the program.
    let idle = args.until_idle.unwrap_or(Duration::from_secs(3600));
    let mut subscriber = RabbitSubscriber::connect(
        RabbitOptions::new(&args.broker_url, &args.exchange),
        &args.queue,
        64,
    )
    .await?
    .with_subject(DefaultSubject::new(SUBJECT_PREFIX))
    .with_idle_timeout(idle);
    // The queue is bound before the first event is published to it: the relay parks a
    // message no queue takes.
    subscriber.subscribe(None, Ledger::EVENTS).await?;
    println!(
        "ready: queue {} bound to exchange {}",
        args.queue, args.exchange
    );
    let inbox = Inbox::new(pool.clone());
    let mut processed = 0;
    loop {
        tokio::select! {
            result = inbox.consume(&Ledger, &mut subscriber) => {
                processed += result?;
                if args.until_idle.is_some() {
                    break;
                }
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    println!("processed {processed} messages");
    for account in Ledger::accounts(&pool).await? {
        println!(
            "{}/{}: {} cents after {} movements (owner {}, sequence {})",
            account.tenant,
            account.account_id,
            account.balance,
            account.movements,
            account.owner,
            account.last_sequence
        );
    }
    Ok(())
}
