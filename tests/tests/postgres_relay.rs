//! The relay against real PostgreSQL and the in-memory broker: thousands of events over
//! many streams and tenants arrive complete and in order per stream, through failures,
//! stalls, refusals, a killed relay and a takeover.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use acci_core::publish::{InMemoryPublisher, OutgoingMessage, PublishError};
use acci_core::{EventStore, ExpectedVersion, StreamId};
use acci_postgres::relay::{Relay, RelayOptions};
use acci_tests::events::{counted, stream};
use acci_tests::pg::{READER_LOGIN, TestDatabase};
use acci_tests::relay::{self, fill, head};

const RELAY: &str = "relay.test";

/// Checks what a consumer deduplicating by message id sees: every stream's events, each
/// once, in order, each message under its event's id. Returns how many messages were
/// repeats.
fn assert_delivered(kept: &[OutgoingMessage], expected: &BTreeMap<StreamId, u64>) -> usize {
    let incoming: Vec<_> = kept.iter().map(OutgoingMessage::to_incoming).collect();
    for (message, received) in kept.iter().zip(&incoming) {
        let event = received.decode_stored().unwrap();
        assert_eq!(event.event_id.to_string(), message.message_id);
    }
    relay::assert_delivered(&incoming, expected)
}

fn options() -> RelayOptions {
    RelayOptions {
        window: 32,
        confirm_timeout: Duration::from_millis(300),
        retry_backoff: Duration::from_millis(10),
        poll_interval: Duration::from_millis(50),
        standby_interval: Duration::from_millis(50),
        ..RelayOptions::default()
    }
}

async fn relay(db: &TestDatabase, publisher: &InMemoryPublisher) -> Relay<InMemoryPublisher> {
    Relay::new(
        db.pool_as(Some(READER_LOGIN), 4).await,
        RELAY,
        publisher.clone(),
    )
    .unwrap()
    .with_options(options())
    .unwrap()
}

/// Runs `catch_up` until the relay's checkpoint reaches the last event (a long
/// transaction anywhere on the server holds the readable horizon back meanwhile);
/// returns how many it confirmed.
async fn drain(relay: &Relay<InMemoryPublisher>, db: &TestDatabase) -> u64 {
    let last = head(db).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut confirmed = 0;
    loop {
        confirmed += relay.catch_up().await.unwrap();
        if relay.checkpoint().await.unwrap().is_some_and(|c| c >= last) {
            return confirmed;
        }
        assert!(Instant::now() < deadline, "the relay did not reach {last}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `done` holds, for at most 30 seconds.
async fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_events_arrive_complete_and_in_order_per_stream() {
    let db = TestDatabase::create().await;
    let expected = fill(&db.store().await, 4, 25, 30).await;
    let publisher = InMemoryPublisher::new();
    let relay = relay(&db, &publisher).await;

    assert_eq!(drain(&relay, &db).await, 3_000);
    assert_eq!(assert_delivered(&publisher.kept(), &expected), 0);
    assert!(relay.checkpoint().await.unwrap() >= Some(head(&db).await));
    assert_eq!(relay.catch_up().await.unwrap(), 0, "nothing twice");
    assert_eq!(relay.sample_lag().await.unwrap().lag_events, 0);
    assert_eq!(publisher.kept_count(), 3_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_failing_mid_window_gets_everything_again_from_the_first_unconfirmed() {
    let db = TestDatabase::create().await;
    let expected = fill(&db.store().await, 3, 10, 40).await;
    let publisher = InMemoryPublisher::new();
    publisher.fail_at(100, PublishError::Connection("reset by peer".into()));
    publisher.nack_at(250, PublishError::Nacked("internal error".into()));
    publisher.nack_at(251, PublishError::Nacked("internal error".into()));
    publisher.fail_at(900, PublishError::Connection("reset by peer".into()));
    let relay = relay(&db, &publisher).await;

    assert_eq!(drain(&relay, &db).await, 1_200);
    let repeats = assert_delivered(&publisher.kept(), &expected);
    assert!(publisher.attempts() > 1_200, "published again");
    assert!(
        repeats <= 3 * 32,
        "at most a window again per failure: {repeats}"
    );
    assert!(relay.checkpoint().await.unwrap() >= Some(head(&db).await));
    assert!(relay.dead_letters().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmation_that_never_comes_times_out_and_the_message_goes_again() {
    let db = TestDatabase::create().await;
    let expected = fill(&db.store().await, 2, 5, 20).await;
    let publisher = InMemoryPublisher::new();
    publisher.stall_at(50);
    let relay = relay(&db, &publisher).await;

    assert_eq!(drain(&relay, &db).await, 200);
    let kept = publisher.kept();
    assert!(assert_delivered(&kept, &expected) >= 1);
    let stalled = &kept[49];
    let copies = kept
        .iter()
        .filter(|m| m.message_id == stalled.message_id)
        .count();
    assert_eq!(
        copies, 2,
        "the stalled message, and once more after the timeout"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_message_is_parked_and_the_relay_goes_on() {
    let db = TestDatabase::create().await;
    let mut expected = fill(&db.store().await, 2, 5, 10).await;
    let publisher = InMemoryPublisher::new();
    let poisoned = stream("tenant-1", "account.3");
    publisher.refuse_if(|message| {
        let refused = message.header("acci-aggregate-id") == Some("account.3")
            && message.header("acci-tenant") == Some("tenant-1")
            && message.header("acci-sequence") == Some("4");
        refused.then_some(PublishError::TooLarge {
            size: 2_000_000,
            limit: 1_000_000,
        })
    });
    let relay = relay(&db, &publisher).await;

    assert_eq!(drain(&relay, &db).await, 99);
    let letters = relay.dead_letters().await.unwrap();
    assert_eq!(letters.len(), 1);
    assert!(
        letters[0].error.contains("2000000 bytes"),
        "{}",
        letters[0].error
    );
    assert!(relay.checkpoint().await.unwrap() >= Some(head(&db).await));
    // The consumer sees the poisoned stream without its fourth event, in order.
    let kept = publisher.kept();
    let sequences: Vec<u64> = kept
        .iter()
        .map(|m| m.to_incoming().decode_stored().unwrap())
        .filter(|e| e.stream == poisoned)
        .map(|e| e.sequence)
        .collect();
    assert_eq!(sequences, vec![1, 2, 3, 5, 6, 7, 8, 9, 10]);
    expected.remove(&poisoned);
    let others: Vec<_> = kept
        .into_iter()
        .filter(|m| {
            m.header("acci-aggregate-id") != Some("account.3")
                || m.header("acci-tenant") != Some("tenant-1")
        })
        .collect();
    assert_eq!(assert_delivered(&others, &expected), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_killed_mid_window_loses_nothing_and_repeats_only_the_unconfirmed() {
    let db = TestDatabase::create().await;
    let expected = fill(&db.store().await, 2, 20, 10).await;
    let publisher = InMemoryPublisher::new();
    let first = relay(&db, &publisher).await;
    // A hundred go through; the window after them stays open.
    publisher.hold_after(100);
    let task = tokio::spawn({
        let first = first.clone();
        async move { first.run(std::future::pending()).await }
    });
    until("a full window in flight", || publisher.in_flight() == 32).await;
    // Waiting for the window, the relay saves its checkpoint over everything confirmed
    // before it.
    let confirmed = publisher.kept()[99].position;
    let deadline = Instant::now() + Duration::from_secs(30);
    while first.checkpoint().await.unwrap() < Some(confirmed) {
        assert!(
            Instant::now() < deadline,
            "the checkpoint did not move to {confirmed}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    task.abort();
    let _ = task.await;
    let checkpoint = first.checkpoint().await.unwrap().expect("a checkpoint");
    let before_kill = publisher.kept();
    publisher.release_confirmations();

    let second = relay(&db, &publisher).await;
    drain(&second, &db).await;
    let kept = publisher.kept();
    assert_delivered(&kept, &expected);
    // Repeated: only messages the broker had not confirmed to the first relay's
    // checkpoint, and no more than its window.
    let mut once = HashSet::new();
    let repeated: Vec<&OutgoingMessage> = kept
        .iter()
        .filter(|m| !once.insert(m.message_id.clone()))
        .collect();
    assert_eq!(repeated.len(), 32, "the window, once more");
    for message in repeated {
        assert!(message.position > checkpoint, "{message:?} was confirmed");
        assert!(
            before_kill
                .iter()
                .any(|m| m.message_id == message.message_id)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_relay_of_a_name_is_active_and_the_other_takes_over() {
    let db = TestDatabase::create().await;
    let store = db.store().await;
    let mut expected = fill(&store, 1, 5, 10).await;
    let (a_broker, b_broker) = (InMemoryPublisher::new(), InMemoryPublisher::new());
    let (a, b) = (relay(&db, &a_broker).await, relay(&db, &b_broker).await);
    let (stop_a, a_stopped) = tokio::sync::oneshot::channel::<()>();
    let a_task = tokio::spawn({
        let a = a.clone();
        async move {
            a.run(async {
                let _ = a_stopped.await;
            })
            .await
        }
    });
    until("a published everything", || a_broker.kept_count() == 50).await;
    let b_task = tokio::spawn({
        let b = b.clone();
        async move { b.run(std::future::pending()).await }
    });
    let more = fill(&store, 1, 5, 2).await;
    until("a published the new events", || a_broker.kept_count() == 60).await;
    assert_eq!(b_broker.kept_count(), 0, "the standby publishes nothing");

    stop_a.send(()).unwrap();
    a_task.await.unwrap().unwrap();
    let last = fill(&store, 1, 5, 3).await;
    until("b took over", || b_broker.kept_count() == 15).await;
    for (id, n) in more.into_iter().chain(last) {
        *expected.entry(id).or_insert(0) += n;
    }
    let mut all = a_broker.kept();
    all.extend(b_broker.kept());
    assert_eq!(
        assert_delivered(&all, &expected),
        0,
        "the new relay starts after the checkpoint"
    );
    b_task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_ahead_of_the_checkpoint_is_where_the_relay_starts() {
    let db = TestDatabase::create().await;
    fill(&db.store().await, 1, 4, 10).await;
    let publisher = InMemoryPublisher::remembering();
    // Another relay published the first 25 events and died before its checkpoint moved.
    let earlier = InMemoryPublisher::new();
    drain(&relay(&db, &earlier).await, &db).await;
    let admin = db.pool_as(None, 1).await;
    sqlx::query("DELETE FROM projections.checkpoints WHERE name = $1")
        .bind(RELAY)
        .execute(&admin)
        .await
        .unwrap();
    let published = earlier.kept();
    publisher.set_last_published(Some(published[24].position));

    let relay = relay(&db, &publisher).await;
    assert_eq!(drain(&relay, &db).await, 15);
    let ids: Vec<_> = publisher.kept().into_iter().map(|m| m.message_id).collect();
    let wanted: Vec<_> = published[25..]
        .iter()
        .map(|m| m.message_id.clone())
        .collect();
    assert_eq!(ids, wanted);
    assert!(relay.checkpoint().await.unwrap() >= Some(head(&db).await));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_for_one_tenant_and_some_kinds_publishes_only_those() {
    let db = TestDatabase::create().await;
    let store = db.store().await;
    fill(&store, 3, 2, 5).await;
    let other = stream("tenant-1", "account.0");
    let mut ignored = counted(99);
    ignored.event_type = "Ignored".into();
    store
        .append(&other, ExpectedVersion::Any, vec![ignored], None)
        .await
        .unwrap();
    let publisher = InMemoryPublisher::new();
    let relay = relay(&db, &publisher)
        .await
        .for_tenant(acci_core::TenantId::new("tenant-1").unwrap())
        .with_events([acci_core::EventKind::new("Account", "Counted")])
        .unwrap();
    assert_eq!(drain(&relay, &db).await, 10);
    assert!(
        publisher
            .kept()
            .iter()
            .all(|m| m.subject == "acci.tenant-1.Account.Counted")
    );
    assert!(
        relay.checkpoint().await.unwrap() >= Some(head(&db).await),
        "past the filtered event"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_the_store_cannot_hand_out_is_parked_and_the_relay_goes_on() {
    let db = TestDatabase::create().await;
    let store = db.store().await;
    let mut expected = fill(&store, 1, 3, 4).await;
    // Written past the API: nested deeper than any reader hands out.
    let mut too_deep = serde_json::json!(1);
    for _ in 0..acci_core::MAX_READ_JSON_DEPTH + 10 {
        too_deep = serde_json::json!({ "a": too_deep });
    }
    let bad = stream("tenant-0", "bad");
    sqlx::query(
        "INSERT INTO event_store.events (event_id, tenant_id, aggregate_type, aggregate_id, \
         sequence, event_type, schema_version, data, metadata) \
         VALUES (gen_random_uuid(), $1, $2, $3, 1, 'Counted', 1, $4::text::jsonb, '{}')",
    )
    .bind(bad.tenant.as_str())
    .bind(&*bad.aggregate_type)
    .bind(bad.aggregate_id.as_str())
    .bind(too_deep.to_string())
    .execute(&db.pool_as(None, 1).await)
    .await
    .unwrap();
    for (id, n) in fill(&store, 1, 3, 2).await {
        *expected.entry(id).or_insert(0) += n;
    }
    let publisher = InMemoryPublisher::new();
    let relay = relay(&db, &publisher).await;

    assert_eq!(drain(&relay, &db).await, 18);
    assert_eq!(assert_delivered(&publisher.kept(), &expected), 0);
    let letters = relay.dead_letters().await.unwrap();
    assert_eq!(letters.len(), 1);
    assert!(
        letters[0].error.contains("cannot be read"),
        "{}",
        letters[0].error
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_refused_by_the_client_or_the_subject_rule_is_parked() {
    #[derive(Debug)]
    struct NoTenantTwo;
    impl acci_core::publish::SubjectRule for NoTenantTwo {
        fn subject(&self, event: &acci_core::StoredEvent) -> Result<String, String> {
            match event.stream.tenant.as_str() {
                "tenant-2" => Err("tenant-2 is not routed".into()),
                tenant => Ok(format!("events.{tenant}")),
            }
        }
        fn pattern(&self, _: Option<&acci_core::TenantId>, _: &acci_core::EventKind) -> String {
            "events.*".into()
        }
    }
    let db = TestDatabase::create().await;
    fill(&db.store().await, 3, 2, 3).await;
    let publisher = InMemoryPublisher::new();
    // The client refuses before sending (a header it cannot carry, say).
    publisher.fail_at(2, PublishError::Refused("a header too long".into()));
    let relay = relay(&db, &publisher).await.with_subject(NoTenantTwo);

    assert_eq!(drain(&relay, &db).await, 18 - 6 - 1);
    let letters = relay.dead_letters().await.unwrap();
    assert_eq!(letters.len(), 7);
    assert!(
        letters
            .iter()
            .any(|l| l.error.contains("a header too long"))
    );
    assert_eq!(
        letters
            .iter()
            .filter(|l| l.error.contains("tenant-2 is not routed"))
            .count(),
        6
    );
    // The second event of the log is missing at the consumer; every other of tenants 0
    // and 1 arrives in order.
    let kept = publisher.kept();
    assert!(kept.iter().all(|m| m.subject != "events.tenant-2"));
    let second = letters
        .iter()
        .find(|l| l.error.contains("a header too long"))
        .unwrap();
    let mut seen: BTreeMap<StreamId, Vec<u64>> = BTreeMap::new();
    for message in &kept {
        let event = message.to_incoming().decode_stored().unwrap();
        seen.entry(event.stream).or_default().push(event.sequence);
    }
    let total: usize = seen.values().map(Vec::len).sum();
    assert_eq!(total, 11);
    for sequences in seen.values() {
        assert!(sequences.windows(2).all(|w| w[0] < w[1]), "{sequences:?}");
    }
    assert!(!kept.iter().any(|m| m.position == second.position));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parked_events_go_out_again_once_the_broker_takes_them() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let db = TestDatabase::create().await;
    fill(&db.store().await, 1, 3, 4).await;
    let publisher = InMemoryPublisher::new();
    let refusing = Arc::new(AtomicBool::new(true));
    let flag = Arc::clone(&refusing);
    publisher.refuse_if(move |message| {
        let poisoned = message.header("acci-aggregate-id") == Some("account.1")
            && message.header("acci-sequence") == Some("2");
        (poisoned && flag.load(Ordering::SeqCst))
            .then(|| PublishError::Unroutable(message.subject.clone()))
    });
    let relay = relay(&db, &publisher).await;
    assert_eq!(drain(&relay, &db).await, 11);
    let parked = relay.dead_letters().await.unwrap();
    assert_eq!(parked.len(), 1);

    // Still refused: it stays, with one more attempt and the new error.
    let replayed = relay.replay_dead_letters().await.unwrap();
    assert_eq!((replayed.applied, replayed.still_failing), (0, 1));
    let letters = relay.dead_letters().await.unwrap();
    assert_eq!(letters[0].attempts, parked[0].attempts + 1);
    assert!(
        letters[0].error.contains("no queue or stream"),
        "{}",
        letters[0].error
    );

    // Taken now: published once more, out of the dead letters, the checkpoint unmoved.
    refusing.store(false, Ordering::SeqCst);
    let checkpoint = relay.checkpoint().await.unwrap();
    let replayed = relay.replay_dead_letters().await.unwrap();
    assert_eq!((replayed.applied, replayed.still_failing), (1, 0));
    assert!(relay.dead_letters().await.unwrap().is_empty());
    assert_eq!(relay.checkpoint().await.unwrap(), checkpoint);
    let kept = publisher.kept();
    assert_eq!(kept.len(), 12);
    let last = kept.last().unwrap();
    assert_eq!(last.message_id, parked[0].event_id.to_string());
    assert_eq!(
        relay.replay_dead_letters().await.unwrap(),
        Default::default()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_health_check_watches_a_relay_as_a_projection() {
    use acci_postgres::health::{HealthCheck, ProjectionTarget};

    let db = TestDatabase::create().await;
    let store = db.store().await;
    fill(&store, 1, 2, 3).await;
    let publisher = InMemoryPublisher::new();
    let relay = relay(&db, &publisher)
        .await
        .with_events([acci_core::EventKind::new("Account", "Counted")])
        .unwrap();
    let lag_of = async |relay: &Relay<InMemoryPublisher>| {
        let check = HealthCheck::new(db.pool_as(None, 1).await, [ProjectionTarget::from(relay)]);
        let report = check.check().await;
        let reading = report
            .checks
            .iter()
            .find_map(|c| c.projection.clone())
            .expect("a reading of the relay");
        assert_eq!(reading.projection, RELAY);
        reading.lag_events
    };
    assert_eq!(drain(&relay, &db).await, 6);
    assert_eq!(lag_of(&relay).await, 0);
    fill(&store, 1, 2, 1).await;
    assert_eq!(lag_of(&relay).await, 2);
}
