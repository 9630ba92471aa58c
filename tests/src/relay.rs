//! What the broker adapters' relay tests share: a consumer that writes one row per
//! event, the events to publish, waiting for a relay, and the check of what arrived.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use acci_core::publish::{IncomingMessage, Publisher};
use acci_core::{EventKind, EventStore, ExpectedVersion, LogPosition, Recorded, StreamId};
use acci_postgres::PgEventStore;
use acci_postgres::projection::HandleError;
use acci_postgres::relay::{Relay, RelayOptions};
use acci_postgres::subscribe::EventHandler;
use sqlx::PgConnection;

use crate::events::{CountedEvent, counted, stream};
use crate::pg::TestDatabase;

/// Writes one row per event into `public.seen`; a second row for one event breaks the
/// primary key, so a test sees any event processed twice.
#[derive(Debug, Clone, Copy)]
pub struct Seen;

#[async_trait::async_trait]
impl EventHandler for Seen {
    type Event = CountedEvent;
    const NAME: &'static str = "seen";
    const EVENTS: &'static [EventKind] = &[EventKind::new("Account", "Counted")];

    async fn handle(
        &self,
        event: &Recorded<CountedEvent>,
        tx: &mut PgConnection,
    ) -> Result<(), HandleError> {
        sqlx::query("INSERT INTO public.seen (stream, sequence) VALUES ($1, $2)")
            .bind(event.stream.to_string())
            .bind(event.sequence as i64)
            .execute(&mut *tx)
            .await?;
        Ok(())
    }
}

/// A database with `public.seen`, which both test logins may write.
pub async fn database() -> TestDatabase {
    let db = TestDatabase::create().await;
    let admin = db.pool_as(None, 1).await;
    for statement in [
        "CREATE TABLE public.seen (stream text, sequence bigint, PRIMARY KEY (stream, sequence))",
        "GRANT SELECT, INSERT ON public.seen TO acci_app, acci_all_tenants",
    ] {
        sqlx::query(statement).execute(&admin).await.unwrap();
    }
    db
}

/// The rows of `public.seen`.
pub async fn rows(db: &TestDatabase) -> u64 {
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM public.seen")
        .fetch_one(&db.pool_as(None, 1).await)
        .await
        .unwrap();
    n as u64
}

/// Appends `per_stream` events to each of `streams` streams of each of `tenants`
/// tenants, round robin; returns how many each stream got.
pub async fn fill(
    store: &PgEventStore,
    tenants: usize,
    streams: usize,
    per_stream: u64,
) -> BTreeMap<StreamId, u64> {
    let mut expected = BTreeMap::new();
    for n in 0..per_stream {
        for t in 0..tenants {
            for s in 0..streams {
                let id = stream(&format!("tenant-{t}"), &format!("account.{s}"));
                store
                    .append(&id, ExpectedVersion::Any, vec![counted(n)], None)
                    .await
                    .unwrap();
                *expected.entry(id).or_insert(0) += 1;
            }
        }
    }
    expected
}

/// How many events `fill` appended.
pub fn total(expected: &BTreeMap<StreamId, u64>) -> u64 {
    expected.values().sum()
}

/// Relay options for tests against a broker: a window of 64, a one-second confirm
/// timeout, short waits.
pub fn options() -> RelayOptions {
    RelayOptions {
        window: 64,
        confirm_timeout: Duration::from_secs(1),
        retry_backoff: Duration::from_millis(10),
        poll_interval: Duration::from_millis(50),
        standby_interval: Duration::from_millis(50),
        ..RelayOptions::default()
    }
}

/// The last position of the log.
pub async fn head(db: &TestDatabase) -> LogPosition {
    let (commit, position): (String, i64) = sqlx::query_as(
        "SELECT transaction_id::text, position FROM event_store.events \
         ORDER BY transaction_id DESC, position DESC LIMIT 1",
    )
    .fetch_one(&db.pool_as(None, 1).await)
    .await
    .unwrap();
    LogPosition {
        commit: commit.parse().unwrap(),
        position: position as u64,
    }
}

/// Waits until the relay's checkpoint reaches the last event, for at most 45 seconds.
pub async fn reached_head<P: Publisher>(relay: &Relay<P>, db: &TestDatabase) {
    let last = head(db).await;
    let deadline = Instant::now() + Duration::from_secs(45);
    while relay.checkpoint().await.unwrap().is_none_or(|c| c < last) {
        assert!(Instant::now() < deadline, "the relay did not reach {last}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs `catch_up` until the checkpoint reaches the last event; returns how many
/// messages the broker confirmed.
pub async fn drain<P: Publisher>(relay: &Relay<P>, db: &TestDatabase) -> u64 {
    let last = head(db).await;
    let deadline = Instant::now() + Duration::from_secs(45);
    let mut confirmed = 0;
    loop {
        // A failed round is retried: the checkpoint is what counts.
        confirmed += relay.catch_up().await.unwrap_or(0);
        if relay.checkpoint().await.unwrap().is_some_and(|c| c >= last) {
            return confirmed;
        }
        assert!(Instant::now() < deadline, "the relay did not reach {last}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Checks what a consumer deduplicating by message id sees: every stream's events,
/// each once, in order; returns how many messages were repeats.
pub fn assert_delivered(messages: &[IncomingMessage], expected: &BTreeMap<StreamId, u64>) -> usize {
    let mut seen = HashSet::new();
    let mut streams: BTreeMap<StreamId, Vec<u64>> = BTreeMap::new();
    for message in messages {
        let event = message.decode_stored().unwrap();
        if seen.insert(event.event_id) {
            streams
                .entry(event.stream)
                .or_default()
                .push(event.sequence);
        }
    }
    assert_eq!(streams.len(), expected.len(), "every stream arrives");
    for (id, count) in expected {
        let wanted: Vec<u64> = (1..=*count).collect();
        assert_eq!(streams[id], wanted, "stream {id}: all, once, in order");
    }
    messages.len() - seen.len()
}
