//! What the `relay-cost` program measures, for any broker: the relay's throughput against
//! a plain confirmed-publishing loop over the same messages, and the latency from a
//! commit to the consumer that receives the event.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use acci_core::publish::{DefaultSubject, OutgoingMessage, Publisher, Subscriber};
use acci_core::{
    AggregateId, EventId, EventKind, EventStore, ExpectedVersion, Metadata, NewEvent, ReadAll,
    StreamId, TenantId, TenantScope,
};
use acci_postgres::PgEventStore;
use acci_postgres::relay::{Relay, RelayOptions};
use sqlx::PgPool;

use crate::Error;
use crate::report::Latencies;

/// The tenant the relay benchmark's events belong to.
pub const TENANT: &str = "bench";

/// The kind of every event the benchmark writes, for subscribing.
pub const KIND: EventKind = EventKind::new("Account", "Deposited");

/// Writes `events` deposits spread round robin over `streams` accounts, in SQL (seeding
/// is not what is measured), numbered by their `amount` from 0.
pub async fn seed(pool: &PgPool, events: usize, streams: usize) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO event_store.events (event_id, tenant_id, aggregate_type, aggregate_id, sequence, \
                                         event_type, schema_version, data, metadata) \
         SELECT gen_random_uuid(), $3, 'Account', 'acc-' || (g % $2), g / $2 + 1, 'Deposited', 1, \
                jsonb_build_object('amount', g), '{}'::jsonb \
           FROM generate_series(0, $1::bigint - 1) g",
    )
    .bind(events as i64)
    .bind(streams as i64)
    .bind(TENANT)
    .execute(pool)
    .await?;
    Ok(())
}

/// The messages the relay would publish for the whole log, in log order: what the
/// baseline loop publishes. Read with a role that sees every tenant.
pub async fn messages(pool: &PgPool, rule: &DefaultSubject) -> Result<Vec<OutgoingMessage>, Error> {
    let store = PgEventStore::from_pool(pool.clone());
    let mut request = ReadAll::new(TenantScope::AllTenants);
    let mut messages = Vec::new();
    loop {
        let batch = store.read_all(&request).await?;
        if batch.events.is_empty() {
            return Ok(messages);
        }
        for event in &batch.events {
            messages.push(OutgoingMessage::from_event(event, rule)?);
        }
        request.after = batch.next;
    }
}

/// Relay options for a run: `window` messages unconfirmed at most, `per_stream` of one
/// stream; the rest as deployed.
pub fn options(window: usize, per_stream: usize) -> RelayOptions {
    RelayOptions {
        window,
        per_stream,
        batch_size: 1_000,
        ..RelayOptions::default()
    }
}

/// Publishes the whole log through a fresh relay named `name` and returns how long it
/// took until every event was confirmed (`catch_up`, checkpoint saves included).
pub async fn relay_throughput<P: Publisher>(
    pool: &PgPool,
    name: &'static str,
    publisher: P,
    options: RelayOptions,
    expected: u64,
) -> Result<Duration, Error> {
    let relay = Relay::new(pool.clone(), name, publisher)?
        .with_options(options)?
        .with_subject(DefaultSubject::default());
    let started = Instant::now();
    let mut confirmed = 0;
    while confirmed < expected {
        let now = relay.catch_up().await?;
        if now == 0 && started.elapsed() > Duration::from_secs(120) {
            return Err(format!("the relay confirmed {confirmed} of {expected} in 120 s").into());
        }
        confirmed += now;
    }
    Ok(started.elapsed())
}

/// Commits `events` one-event appends at about `rate` a second while `relay` runs, and
/// returns each event's time from the append's return (its commit) to its delivery at
/// `subscriber`, which must be subscribed to [`KIND`] already.
pub async fn commit_to_consumer<P: Publisher, S: Subscriber + 'static>(
    store: Arc<PgEventStore>,
    relay: Relay<P>,
    mut subscriber: S,
    events: usize,
    rate: f64,
) -> Result<Latencies, Error> {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(async move {
        let _ = relay
            .run(async {
                let _ = stopped.await;
            })
            .await;
    });
    // Arrival times by event number; matched with the commit times at the end, since an
    // event may arrive before its append has returned to the writer.
    let consumer = tokio::spawn(async move {
        let mut arrived = HashMap::with_capacity(events);
        while arrived.len() < events {
            let Some(delivery) = subscriber.next().await.map_err(|e| e.to_string())? else {
                return Err(format!(
                    "the subscription ended after {} events",
                    arrived.len()
                ));
            };
            let at = Instant::now();
            let payload: serde_json::Value = serde_json::from_slice(&delivery.message.payload)
                .map_err(|e| format!("a payload that is not JSON: {e}"))?;
            subscriber.ack(&delivery).await.map_err(|e| e.to_string())?;
            if let Some(n) = payload["amount"].as_u64() {
                arrived.entry(n).or_insert(at);
            }
        }
        Ok::<_, String>(arrived)
    });
    let tenant = TenantId::new(TENANT)?;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let mut committed = Vec::with_capacity(events);
    let mut next = Instant::now();
    for n in 0..events {
        let id = AggregateId::new(format!("live-{}", n % 16))?;
        let stream = StreamId::new(tenant.clone(), "Account", id)?;
        let event = NewEvent {
            event_id: EventId::new(),
            event_type: "Deposited".into(),
            schema_version: 1,
            payload: serde_json::json!({ "amount": n }),
            metadata: Metadata::default(),
        };
        store
            .append(&stream, ExpectedVersion::Any, vec![event], None)
            .await?;
        committed.push(Instant::now());
        next += interval;
        tokio::time::sleep_until(next.into()).await;
    }
    let arrived = tokio::time::timeout(Duration::from_secs(60), consumer)
        .await
        .map_err(|_| "the consumer did not receive every event within 60 s")???;
    let _ = stop.send(());
    let _ = running.await;
    let mut latencies = Latencies::default();
    for (n, sent) in committed.iter().enumerate() {
        let at = arrived[&(n as u64)];
        latencies.push(at.saturating_duration_since(*sent));
    }
    Ok(latencies)
}
