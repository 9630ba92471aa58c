//! What the relay costs against a plain confirmed-publishing loop, per broker, and how long
//! an event takes from its commit to a consumer.
//!
//! ```text
//! cargo run --release -p acci-bench --bin relay-cost -- [--broker memory|rabbitmq|nats|all]
//!     [--events N] [--streams N] [--window N] [--latency-events N] [--rate PER_SECOND]
//! ```
//!
//! For each broker, on a database of its own (on the server of `DATABASE_URL`), the
//! program seeds `--events` events (20,000 unless told) over `--streams` streams (100),
//! then publishes the same messages twice, in an order that alternates from broker to
//! broker:
//!
//! - `raw`: the client library's own confirmed publishing, written by hand: the messages
//!   prepared in memory beforehand (no database read), up to `--window` (256)
//!   confirmations outstanding, all awaited;
//! - `acci`: a fresh relay (`catch_up`) over the log: reading it, building each message,
//!   the same window (with its default of one message in flight per stream, which keeps
//!   each stream's order through a republish, and once with the per-stream limit lifted
//!   to the window), saving its checkpoint.
//!
//! Then a relay runs live (`run`, woken by the store's notifications) while
//! `--latency-events` (1,000) one-event appends are committed at `--rate` (200) a second
//! to 16 streams; a subscriber through the same broker takes each one, and the time from
//! the append's return to the delivery is one latency sample (p50, p99).
//!
//! `memory` is the in-memory broker: there both loops do the same trait calls, so its
//! ratio is what the relay adds over any publisher.

use std::process::ExitCode;
use std::time::Duration;

use acci_bench::Error;
use acci_bench::brokers::target::{Broker, Target};
use acci_bench::relay;
use acci_bench::report::{Bound, Check, Measurement, Report, System};
use acci_bench::setup::BenchDatabase;
use acci_core::publish::DefaultSubject;
use acci_postgres::DEFAULT_DATABASE_URL;

/// The relay's share of the plain loop's throughput it must reach.
const TARGET: f64 = 0.8;

struct Options {
    brokers: Vec<Broker>,
    events: usize,
    streams: usize,
    window: usize,
    latency_events: usize,
    rate: f64,
}

fn options() -> Result<Options, Error> {
    let mut options = Options {
        brokers: vec![Broker::Memory, Broker::RabbitMq, Broker::Nats],
        events: 20_000,
        streams: 100,
        window: 256,
        latency_events: 1_000,
        rate: 200.0,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--broker" => {
                options.brokers = match value()?.as_str() {
                    "memory" => vec![Broker::Memory],
                    "rabbitmq" => vec![Broker::RabbitMq],
                    "nats" => vec![Broker::Nats],
                    "all" => vec![Broker::Memory, Broker::RabbitMq, Broker::Nats],
                    other => {
                        return Err(format!(
                            "unknown broker `{other}`; one of memory, rabbitmq, nats, all"
                        )
                        .into());
                    }
                }
            }
            "--events" => options.events = value()?.parse()?,
            "--streams" => options.streams = value()?.parse()?,
            "--window" => options.window = value()?.parse()?,
            "--latency-events" => options.latency_events = value()?.parse()?,
            "--rate" => options.rate = value()?.parse()?,
            other => {
                return Err(format!(
                    "unknown argument `{other}`; options: --broker NAME, --events N, \
                     --streams N, --window N, --latency-events N, --rate PER_SECOND"
                )
                .into());
            }
        }
    }
    for (what, value) in [
        ("--events", options.events),
        ("--streams", options.streams),
        ("--window", options.window),
        ("--latency-events", options.latency_events),
    ] {
        if value == 0 {
            return Err(format!("{what} is 0; it must be at least 1").into());
        }
    }
    if !(options.rate.is_finite() && options.rate > 0.0) {
        return Err(format!("--rate is {}; it must be a positive number", options.rate).into());
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(report) if report.checks.iter().all(Check::met) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(2),
        Err(error) => {
            eprintln!("relay-cost: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<Report, Error> {
    let options = options()?;
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned());
    let mut report = Report::default();
    for (turn, broker) in options.brokers.iter().enumerate() {
        let database = BenchDatabase::create(&url).await?;
        let outcome = measure(&database, *broker, &options, turn % 2 == 1, &mut report).await;
        database.drop().await?;
        outcome?;
    }
    println!("{}", report.table());
    Ok(report)
}

/// Both loops on one broker, the relay's latency after them.
async fn measure(
    database: &BenchDatabase,
    broker: Broker,
    options: &Options,
    relay_first: bool,
    report: &mut Report,
) -> Result<(), Error> {
    let pool = database.owner_pool(4).await?;
    relay::seed(&pool, options.events, options.streams).await?;
    let messages = relay::messages(&pool, &DefaultSubject::default()).await?;
    let n = messages.len() as u64;
    let scenario = format!("relay_{}", broker.name());
    let target = Target::new(broker).await?;

    let mut raw = None;
    let mut acci = None;
    let mut unlimited = None;
    for step in 0..2 {
        if (step == 0) == relay_first {
            let per_stream = relay::options(options.window, 1);
            acci = Some(target.relay(&pool, "relay.bench", per_stream, n).await?);
            let lifted = relay::options(options.window, options.window);
            unlimited = Some(target.relay(&pool, "relay.unlimited", lifted, n).await?);
        } else {
            raw = Some(target.raw(&messages, options.window).await?);
        }
    }
    let (raw, acci, unlimited) = (
        raw.expect("measured"),
        acci.expect("measured"),
        unlimited.expect("measured"),
    );
    report.measured(Measurement::new(&scenario, System::Raw, n, raw));
    report.measured(Measurement::new(&scenario, System::Acci, n, acci));
    let mut lifted = Measurement::new(
        &format!("{scenario}_per_stream_{}", options.window),
        System::Acci,
        n,
        unlimited,
    );
    lifted
        .extra
        .insert("per_stream".into(), options.window.into());
    report.measured(lifted);
    let ratio = raw.as_secs_f64() / acci.as_secs_f64();
    // In memory the loop costs next to nothing: the ratio shows the relay's own cost,
    // not a target.
    let bound = match broker {
        Broker::Memory => Bound::Reported,
        _ => Bound::AtLeast(TARGET),
    };
    report.check(Check::new(&scenario, "acci/raw throughput", ratio, bound));
    let ratio = raw.as_secs_f64() / unlimited.as_secs_f64();
    report.check(Check::new(
        &scenario,
        "acci/raw, per-stream limit lifted",
        ratio,
        Bound::Reported,
    ));

    // The latency on a log of its own, so the live relay starts with nothing behind it.
    sqlx::query("TRUNCATE event_store.events")
        .execute(&pool)
        .await?;
    let latencies = target
        .latency(
            database,
            options.window,
            options.latency_events,
            options.rate,
        )
        .await?;
    let mut live = Measurement::new(
        &format!("{scenario}_latency"),
        System::Acci,
        latencies.len() as u64,
        Duration::ZERO,
    );
    let p50 = latencies.percentile(50.0);
    let p99 = latencies.percentile(99.0);
    live.latencies = latencies;
    report.measured(live);
    report.check(Check::new(
        &scenario,
        "commit to consumer p50 (ms)",
        p50.as_secs_f64() * 1e3,
        Bound::Reported,
    ));
    report.check(Check::new(
        &scenario,
        "commit to consumer p99 (ms)",
        p99.as_secs_f64() * 1e3,
        Bound::Reported,
    ));
    target.teardown().await
}
