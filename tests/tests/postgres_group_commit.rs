//! Group commit on PostgreSQL: appends that queue while another is in flight travel as one
//! call, each with its own outcome.
//!
//! To form a batch on purpose, a test holds one stream's advisory lock from outside (the
//! lock `event_store.append` waits for), so that an append to that stream stays in flight;
//! appends made meanwhile queue behind it, on a current-thread runtime where each spawned
//! append has queued once the test task has yielded. The batch sizes come from the
//! `acci_append_batch_size` histogram, captured on that runtime.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use acci_core::observability::names::APPEND_BATCH_SIZE;
use acci_core::{
    AppendOutcome, CommandId, EventId, EventStore, ExpectedVersion, LogPosition, NewEvent, ReadAll,
    StoreError, StreamId, TenantScope,
};
use acci_postgres::{GroupCommit, PgEventStore};
use acci_tests::capture::capture;
use acci_tests::events::{counted, stream};
use acci_tests::pg::{APP_LOGIN, TestDatabase};
use sqlx::{Connection, Executor, PgConnection};
use tokio::task::JoinHandle;

const TENANT: &str = "t-group";

/// The test's store with group commit on `max_batch` and one call in flight at most.
async fn store(db: &TestDatabase, max_batch: usize) -> PgEventStore {
    db.store()
        .await
        .with_group_commit(GroupCommit {
            max_batch,
            max_in_flight: 1,
        })
        .unwrap()
}

/// A stream of the test's tenant.
fn account(id: &str) -> StreamId {
    stream(TENANT, id)
}

/// An admin session holding the lock of the stream `blocker` of the test's tenant.
async fn hold_lock(db: &TestDatabase) -> PgConnection {
    let mut conn = PgConnection::connect_with(&db.options(None)).await.unwrap();
    sqlx::query("SELECT pg_advisory_lock(event_store.stream_lock_key($1, 'Account', 'blocker'))")
        .bind(TENANT)
        .execute(&mut conn)
        .await
        .unwrap();
    conn
}

/// Waits until `count` sessions of the database wait for a lock of `kind` (`advisory`,
/// `transactionid`).
async fn until_waiting(admin: &mut PgConnection, db: &TestDatabase, kind: &str, count: i64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = $1 AND wait_event_type = 'Lock' AND wait_event = $2",
        )
        .bind(db.name())
        .bind(kind)
        .fetch_one(&mut *admin)
        .await
        .unwrap();
        if waiting >= count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no session waits for a {kind} lock"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Starts an append to `blocker` that stays in flight while `admin` holds its lock, and
/// waits until it does.
async fn blocked_append(
    db: &TestDatabase,
    store: &PgEventStore,
    admin: &mut PgConnection,
) -> JoinHandle<Result<AppendOutcome, StoreError>> {
    let blocked = spawn_append(store, account("blocker"), ExpectedVersion::Any, None);
    until_waiting(admin, db, "advisory", 1).await;
    blocked
}

fn spawn_append(
    store: &PgEventStore,
    stream: StreamId,
    expected: ExpectedVersion,
    command_id: Option<CommandId>,
) -> JoinHandle<Result<AppendOutcome, StoreError>> {
    spawn_events(store, stream, expected, vec![counted(1)], command_id)
}

fn spawn_events(
    store: &PgEventStore,
    stream: StreamId,
    expected: ExpectedVersion,
    events: Vec<NewEvent>,
    command_id: Option<CommandId>,
) -> JoinHandle<Result<AppendOutcome, StoreError>> {
    let store = store.clone();
    tokio::spawn(async move { store.append(&stream, expected, events, command_id).await })
}

/// Lets every spawned task run up to its first wait: each queued append is in the queue.
async fn let_them_queue() {
    for _ in 0..3 {
        tokio::task::yield_now().await;
    }
}

/// Lets the blocked append go, and returns its outcome.
async fn release(
    mut admin: PgConnection,
    blocked: JoinHandle<Result<AppendOutcome, StoreError>>,
) -> AppendOutcome {
    admin
        .execute("SELECT pg_advisory_unlock_all()")
        .await
        .unwrap();
    blocked.await.unwrap().unwrap()
}

fn appended(outcome: &AppendOutcome) -> (u64, u64) {
    match outcome {
        AppendOutcome::Appended(a) => (a.first_sequence, a.last_sequence),
        other => panic!("not appended: {other:?}"),
    }
}

fn sorted(mut sizes: Vec<f64>) -> Vec<f64> {
    sizes.sort_by(f64::total_cmp);
    sizes
}

/// More than 64 appends to as many streams in one batch: each appended with its own
/// sequence numbers, in one call (no subtransaction per stream, so no stall past 64),
/// and one stream's conflict fails only its own append.
#[test]
fn a_batch_of_a_hundred_streams_answers_each_and_a_conflict_fails_only_its_own() {
    let (_, _, metrics) = capture(|| async {
        let db = TestDatabase::create().await;
        let store = store(&db, 200).await;
        store
            .append(
                &account("taken"),
                ExpectedVersion::NoStream,
                vec![counted(0)],
                None,
            )
            .await
            .unwrap();
        let mut admin = hold_lock(&db).await;
        let blocked = blocked_append(&db, &store, &mut admin).await;

        let many: Vec<_> = (0..100)
            .map(|i| {
                spawn_append(
                    &store,
                    account(&format!("s-{i}")),
                    ExpectedVersion::NoStream,
                    None,
                )
            })
            .collect();
        let conflicting = spawn_append(&store, account("taken"), ExpectedVersion::NoStream, None);
        let_them_queue().await;
        release(admin, blocked).await;

        for (i, append) in many.into_iter().enumerate() {
            let outcome = append.await.unwrap().unwrap();
            assert_eq!(appended(&outcome), (1, 1), "s-{i}");
            let events = store.load(&account(&format!("s-{i}")), 1).await.unwrap();
            assert_eq!(events.len(), 1, "s-{i}");
        }
        match conflicting.await.unwrap() {
            Err(StoreError::Conflict(conflict)) => {
                assert_eq!(conflict.stream, account("taken"));
                assert_eq!(conflict.expected, ExpectedVersion::NoStream);
                assert_eq!(conflict.actual, 1);
            }
            other => panic!("expected a conflict: {other:?}"),
        }
        assert_eq!(store.load(&account("taken"), 1).await.unwrap().len(), 1);
    });
    // The seed and the blocked append alone, then the 101 queued ones in one call.
    assert_eq!(
        sorted(metrics.histogram(APPEND_BATCH_SIZE, &[])),
        vec![1.0, 1.0, 101.0]
    );
}

/// A batch carries at most `max_batch` appends; the rest go in the next ones.
#[test]
fn a_batch_carries_at_most_max_batch_appends() {
    let (_, _, metrics) = capture(|| async {
        let db = TestDatabase::create().await;
        let store = store(&db, 4).await;
        let mut admin = hold_lock(&db).await;
        let blocked = blocked_append(&db, &store, &mut admin).await;
        let queued: Vec<_> = (0..10)
            .map(|i| {
                spawn_append(
                    &store,
                    account(&format!("b-{i}")),
                    ExpectedVersion::Any,
                    None,
                )
            })
            .collect();
        let_them_queue().await;
        release(admin, blocked).await;
        for append in queued {
            assert_eq!(appended(&append.await.unwrap().unwrap()), (1, 1));
        }
    });
    assert_eq!(
        sorted(metrics.histogram(APPEND_BATCH_SIZE, &[])),
        vec![1.0, 2.0, 4.0, 4.0]
    );
}

/// A client that appends one call after the other never finds another in flight: every
/// call runs at once, alone, in its own task.
#[test]
fn a_lone_client_appends_alone_every_time() {
    let (_, _, metrics) = capture(|| async {
        let db = TestDatabase::create().await;
        let store = store(&db, 64).await;
        for n in 0..20 {
            store
                .append(
                    &account("lone"),
                    ExpectedVersion::Exactly(n),
                    vec![counted(n)],
                    None,
                )
                .await
                .unwrap();
        }
    });
    assert_eq!(metrics.histogram(APPEND_BATCH_SIZE, &[]), vec![1.0; 20]);
}

/// Two appends to one stream in one batch: the second sees the first's events, and the
/// log orders them as the stream does.
#[test]
fn appends_to_one_stream_in_a_batch_follow_each_other() {
    let (_, _, metrics) = capture(|| async {
        let db = TestDatabase::create().await;
        let store = store(&db, 64).await;
        let mut admin = hold_lock(&db).await;
        let blocked = blocked_append(&db, &store, &mut admin).await;
        let first = spawn_events(
            &store,
            account("twice"),
            ExpectedVersion::NoStream,
            vec![counted(1), counted(2)],
            None,
        );
        let second = spawn_append(&store, account("twice"), ExpectedVersion::Exactly(2), None);
        let third = spawn_append(&store, account("twice"), ExpectedVersion::Any, None);
        let stale = spawn_append(&store, account("twice"), ExpectedVersion::Exactly(2), None);
        let_them_queue().await;
        release(admin, blocked).await;

        assert_eq!(appended(&first.await.unwrap().unwrap()), (1, 2));
        assert_eq!(appended(&second.await.unwrap().unwrap()), (3, 3));
        assert_eq!(appended(&third.await.unwrap().unwrap()), (4, 4));
        match stale.await.unwrap() {
            Err(StoreError::Conflict(conflict)) => assert_eq!(conflict.actual, 4),
            other => panic!("expected a conflict: {other:?}"),
        }
        let events = store.load(&account("twice"), 1).await.unwrap();
        let sequences: Vec<u64> = events.iter().map(|e| e.sequence).collect();
        assert_eq!(sequences, [1, 2, 3, 4]);
        assert!(events.windows(2).all(|w| w[0].position < w[1].position));
    });
    assert_eq!(
        sorted(metrics.histogram(APPEND_BATCH_SIZE, &[])),
        vec![1.0, 4.0]
    );
}

/// A command id is honoured per command: sent twice in one batch (for two streams, or
/// for one), it appends once, and the second answers with the first's record.
#[test]
fn a_command_id_twice_in_a_batch_appends_once() {
    let (_, _, metrics) = capture(|| async {
        let db = TestDatabase::create().await;
        let store = store(&db, 64).await;
        let (across, within) = (CommandId::new(), CommandId::new());
        let mut admin = hold_lock(&db).await;
        let blocked = blocked_append(&db, &store, &mut admin).await;
        let first = spawn_append(
            &store,
            account("c-1"),
            ExpectedVersion::NoStream,
            Some(across),
        );
        let other_stream = spawn_append(
            &store,
            account("c-2"),
            ExpectedVersion::NoStream,
            Some(across),
        );
        let once = spawn_append(
            &store,
            account("c-3"),
            ExpectedVersion::NoStream,
            Some(within),
        );
        let again = spawn_append(
            &store,
            account("c-3"),
            ExpectedVersion::Exactly(1),
            Some(within),
        );
        let_them_queue().await;
        release(admin, blocked).await;

        let first = first.await.unwrap().unwrap();
        assert_eq!(appended(&first), (1, 1));
        match other_stream.await.unwrap().unwrap() {
            AppendOutcome::AlreadyApplied(record) => {
                assert_eq!(record.command_id, across);
                assert_eq!(record.stream, account("c-1"));
                assert_eq!((record.first_sequence, record.last_sequence), (1, 1));
                assert_eq!(record.events.len(), 1);
                let AppendOutcome::Appended(first) = first else {
                    unreachable!()
                };
                assert_eq!(record.last_position, first.last_position);
            }
            other => panic!("expected the first's record: {other:?}"),
        }
        assert_eq!(appended(&once.await.unwrap().unwrap()), (1, 1));
        match again.await.unwrap().unwrap() {
            AppendOutcome::AlreadyApplied(record) => {
                assert_eq!(record.stream, account("c-3"));
                assert_eq!(record.last_sequence, 1);
            }
            other => panic!("expected the first's record: {other:?}"),
        }
        assert!(store.load(&account("c-2"), 1).await.unwrap().is_empty());
        assert_eq!(store.load(&account("c-3"), 1).await.unwrap().len(), 1);
        let recorded = store
            .find_command(&account("c-1").tenant, across)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(recorded.stream, account("c-1"));
    });
    assert_eq!(
        sorted(metrics.histogram(APPEND_BATCH_SIZE, &[])),
        vec![1.0, 4.0]
    );
}

/// An append that fails outright (an event id already stored) fails the batch's call;
/// each append is then sent alone, so the good ones append and the bad one gets its own
/// error.
#[test]
fn a_duplicate_event_id_in_a_batch_fails_only_its_own_append() {
    let (_, _, metrics) = capture(|| async {
        let db = TestDatabase::create().await;
        let store = store(&db, 64).await;
        let reused = EventId::new();
        let mut event = counted(0);
        event.event_id = reused;
        store
            .append(
                &account("first"),
                ExpectedVersion::NoStream,
                vec![event.clone()],
                None,
            )
            .await
            .unwrap();
        let mut admin = hold_lock(&db).await;
        let blocked = blocked_append(&db, &store, &mut admin).await;
        let before = spawn_append(&store, account("good-1"), ExpectedVersion::NoStream, None);
        let bad = spawn_events(
            &store,
            account("bad"),
            ExpectedVersion::NoStream,
            vec![counted(1), event],
            Some(CommandId::new()),
        );
        let after = spawn_append(&store, account("good-2"), ExpectedVersion::NoStream, None);
        let_them_queue().await;
        release(admin, blocked).await;

        assert_eq!(appended(&before.await.unwrap().unwrap()), (1, 1));
        assert_eq!(appended(&after.await.unwrap().unwrap()), (1, 1));
        match bad.await.unwrap() {
            Err(StoreError::DuplicateEventId(id)) => assert_eq!(id, reused),
            other => panic!("expected a duplicate event id: {other:?}"),
        }
        assert!(store.load(&account("bad"), 1).await.unwrap().is_empty());
        assert_eq!(store.load(&account("good-1"), 1).await.unwrap().len(), 1);
        assert_eq!(store.load(&account("good-2"), 1).await.unwrap().len(), 1);
    });
    assert_eq!(
        sorted(metrics.histogram(APPEND_BATCH_SIZE, &[])),
        vec![1.0, 1.0, 3.0]
    );
}

/// A writer that bypasses the store takes a sequence number a batch is inserting: the
/// batch's call fails with the unique violation and stores nothing; sent again alone,
/// the append that expected no stream meets a conflict, the one for any version appends
/// after the intruder, and the others append as if nothing had happened.
#[test]
fn a_racing_raw_insert_fails_only_the_appends_of_its_stream() {
    capture(|| async {
        let db = TestDatabase::create().await;
        let store = store(&db, 64).await;
        let mut admin = hold_lock(&db).await;
        let blocked = blocked_append(&db, &store, &mut admin).await;
        let good = spawn_append(&store, account("good"), ExpectedVersion::NoStream, None);
        let expecting = spawn_append(&store, account("raced"), ExpectedVersion::NoStream, None);
        let any = spawn_append(&store, account("raced-any"), ExpectedVersion::Any, None);
        let_them_queue().await;

        // The intruder's rows, uncommitted, before the batch runs: the batch reads both
        // streams empty and waits at the unique index for the intruder's transaction.
        let mut intruder = PgConnection::connect_with(&db.options(None)).await.unwrap();
        let mut tx = intruder.begin().await.unwrap();
        for id in ["raced", "raced-any"] {
            sqlx::query(
                "INSERT INTO event_store.events (event_id, tenant_id, aggregate_type, \
                 aggregate_id, sequence, event_type, schema_version, data, metadata) \
                 VALUES (gen_random_uuid(), $1, 'Account', $2, 1, 'Intruded', 1, '{}', '{}')",
            )
            .bind(TENANT)
            .bind(id)
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        let blocked_outcome = {
            admin
                .execute("SELECT pg_advisory_unlock_all()")
                .await
                .unwrap();
            blocked.await.unwrap().unwrap()
        };
        appended(&blocked_outcome);
        until_waiting(&mut admin, &db, "transactionid", 1).await;
        tx.commit().await.unwrap();

        assert_eq!(appended(&good.await.unwrap().unwrap()), (1, 1));
        match expecting.await.unwrap() {
            Err(StoreError::Conflict(conflict)) => assert_eq!(conflict.actual, 1),
            other => panic!("expected a conflict: {other:?}"),
        }
        assert_eq!(appended(&any.await.unwrap().unwrap()), (2, 2));
        let raced = store.load(&account("raced"), 1).await.unwrap();
        assert_eq!(raced.len(), 1);
        assert_eq!(raced[0].event_type, "Intruded");
    });
}

/// A caller whose future is dropped while its append is in flight still hands over: the
/// appends queued behind it go in the next batch. A queued append whose caller has gone
/// before its batch formed is not sent.
#[test]
fn dropping_a_caller_never_strands_the_queue() {
    capture(|| async {
        let db = TestDatabase::create().await;
        let store = store(&db, 64).await;
        let mut admin = hold_lock(&db).await;
        let blocked = blocked_append(&db, &store, &mut admin).await;
        let queued: Vec<_> = (0..3)
            .map(|i| {
                spawn_append(
                    &store,
                    account(&format!("q-{i}")),
                    ExpectedVersion::Any,
                    None,
                )
            })
            .collect();
        let abandoned = spawn_append(&store, account("abandoned"), ExpectedVersion::Any, None);
        let_them_queue().await;
        abandoned.abort();
        assert!(abandoned.await.unwrap_err().is_cancelled());
        // The in-flight caller gives up while the lock is still held.
        blocked.abort();
        assert!(blocked.await.unwrap_err().is_cancelled());

        for append in queued {
            assert_eq!(appended(&append.await.unwrap().unwrap()), (1, 1));
        }
        assert!(
            store
                .load(&account("abandoned"), 1)
                .await
                .unwrap()
                .is_empty()
        );
        admin
            .execute("SELECT pg_advisory_unlock_all()")
            .await
            .unwrap();
        // And the store goes on.
        store
            .append(
                &account("after"),
                ExpectedVersion::NoStream,
                vec![counted(1)],
                None,
            )
            .await
            .unwrap();
    });
}

/// Many clients appending to shared streams at once, batched: every event is stored
/// once, each stream without gaps, and the global log, read afterwards, lists each
/// stream's events in the stream's order.
#[test]
fn the_global_log_agrees_with_every_stream_under_batched_appends() {
    const CLIENTS: usize = 16;
    const APPENDS: usize = 25;
    const STREAMS: usize = 6;
    let (_, _, metrics) = capture(|| async {
        let db = TestDatabase::create().await;
        let store = db
            .store()
            .await
            .with_group_commit(GroupCommit {
                max_batch: 8,
                max_in_flight: 2,
            })
            .unwrap();
        let clients: Vec<_> = (0..CLIENTS)
            .map(|client| {
                let store = store.clone();
                tokio::spawn(async move {
                    for n in 0..APPENDS {
                        let id = format!("shared-{}", (client + n) % STREAMS);
                        let events = vec![counted(n as u64); 1 + n % 3]
                            .into_iter()
                            .map(|mut e| {
                                e.event_id = EventId::new();
                                e
                            })
                            .collect();
                        store
                            .append(&account(&id), ExpectedVersion::Any, events, None)
                            .await
                            .unwrap();
                    }
                })
            })
            .collect();
        for client in clients {
            client.await.unwrap();
        }

        let expected: usize = CLIENTS * (0..APPENDS).map(|n| 1 + n % 3).sum::<usize>();
        let mut log = Vec::new();
        let mut after = LogPosition::START;
        // The readable horizon is the server's: a transaction open in another test's
        // database holds it back for a moment, so read until every event has come.
        let deadline = Instant::now() + Duration::from_secs(120);
        while log.len() < expected {
            let batch = store
                .read_all(
                    &ReadAll::new(TenantScope::Tenant(account("x").tenant))
                        .after(after)
                        .limit(100),
                )
                .await
                .unwrap();
            if batch.events.is_empty() {
                assert!(
                    Instant::now() < deadline,
                    "the log shows {} events",
                    log.len()
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            after = batch.next;
            log.extend(batch.events);
        }
        assert_eq!(log.len(), expected);
        let mut last: HashMap<String, u64> = HashMap::new();
        for event in &log {
            let seen = last
                .entry(event.stream.aggregate_id.to_string())
                .or_insert(0);
            assert_eq!(
                event.sequence,
                *seen + 1,
                "{} out of order in the log",
                event.stream.aggregate_id
            );
            *seen = event.sequence;
        }
        assert_eq!(last.len(), STREAMS);
    });
    let sizes = metrics.histogram(APPEND_BATCH_SIZE, &[]);
    assert_eq!(sizes.iter().sum::<f64>(), (CLIENTS * APPENDS) as f64);
    assert!(sizes.iter().all(|s| (1.0..=8.0).contains(s)), "{sizes:?}");
    assert!(sizes.iter().any(|s| *s > 1.0), "no batch formed: {sizes:?}");
}

/// Options the store cannot work with are refused before any I/O.
#[tokio::test]
async fn group_commit_options_are_checked() {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .connect_lazy("postgres://nobody@127.0.0.1:1/none")
        .unwrap();
    let store = PgEventStore::from_pool(pool);
    assert_eq!(store.group_commit(), Some(GroupCommit::default()));
    assert_eq!(store.clone().without_group_commit().group_commit(), None);
    for (options, what) in [
        (
            GroupCommit {
                max_batch: 0,
                max_in_flight: 1,
            },
            "max_batch",
        ),
        (
            GroupCommit {
                max_batch: GroupCommit::MAX_BATCH + 1,
                max_in_flight: 1,
            },
            "max_batch",
        ),
        (
            GroupCommit {
                max_batch: 8,
                max_in_flight: 0,
            },
            "max_in_flight",
        ),
    ] {
        let error = store.clone().with_group_commit(options).unwrap_err();
        assert!(error.what.contains(what), "{error}");
    }
}

/// `event_store.append_batch` refuses, with SQLSTATE `AC001`, what the Rust API refuses,
/// before it takes a lock or writes.
#[tokio::test]
async fn the_batch_function_refuses_malformed_batches() {
    let db = TestDatabase::create().await;
    let pool = db.pool_as(Some(APP_LOGIN), 1).await;
    let call = |types: &str,
                ids: &str,
                expected: &str,
                commands: &str,
                counts: &str,
                events: &str| {
        format!(
            "SELECT * FROM pg_catalog.set_config('acci.tenant_id', '{TENANT}', true) AS t(tenant) \
             CROSS JOIN LATERAL event_store.append_batch(t.tenant, {types}, {ids}, {expected}, \
             {commands}, {counts}, {events}, \
             ARRAY['Counted', 'Counted'], ARRAY[1, 1], ARRAY['{{}}', '{{}}']::jsonb[], \
             ARRAY['{{}}', '{{}}']::jsonb[])"
        )
    };
    let two_ids = "ARRAY[gen_random_uuid(), gen_random_uuid()]";
    let cases = [
        // No request.
        call(
            "'{}'::text[]",
            "'{}'::text[]",
            "'{}'::bigint[]",
            "'{}'::uuid[]",
            "'{}'::integer[]",
            two_ids,
        ),
        // Request arrays of different lengths.
        call(
            "ARRAY['Account', 'Account']",
            "ARRAY['a']",
            "ARRAY[NULL, NULL]::bigint[]",
            "ARRAY[NULL, NULL]::uuid[]",
            "ARRAY[1, 1]",
            two_ids,
        ),
        // A missing aggregate id.
        call(
            "ARRAY['Account', 'Account']",
            "ARRAY['a', NULL]",
            "ARRAY[NULL, NULL]::bigint[]",
            "ARRAY[NULL, NULL]::uuid[]",
            "ARRAY[1, 1]",
            two_ids,
        ),
        // A request of no events.
        call(
            "ARRAY['Account', 'Account']",
            "ARRAY['a', 'b']",
            "ARRAY[NULL, NULL]::bigint[]",
            "ARRAY[NULL, NULL]::uuid[]",
            "ARRAY[2, 0]",
            two_ids,
        ),
        // Counts that do not add up to the events.
        call(
            "ARRAY['Account', 'Account']",
            "ARRAY['a', 'b']",
            "ARRAY[NULL, NULL]::bigint[]",
            "ARRAY[NULL, NULL]::uuid[]",
            "ARRAY[1, 2]",
            two_ids,
        ),
        // An expected version below 0.
        call(
            "ARRAY['Account', 'Account']",
            "ARRAY['a', 'b']",
            "ARRAY[NULL, -1]::bigint[]",
            "ARRAY[NULL, NULL]::uuid[]",
            "ARRAY[1, 1]",
            two_ids,
        ),
    ];
    for case in cases {
        match sqlx::query(&case).fetch_all(&pool).await {
            Err(sqlx::Error::Database(error)) => {
                assert_eq!(error.code().as_deref(), Some("AC001"), "{case}: {error}")
            }
            other => panic!("{case}: {other:?}"),
        }
    }
    let admin = db.pool_as(None, 1).await;
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM event_store.events")
        .fetch_one(&admin)
        .await
        .unwrap();
    assert_eq!(stored, 0);
}
