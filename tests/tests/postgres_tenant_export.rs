//! Tenant export and import on PostgreSQL: an export is a checked cut of one tenant's
//! events; imported into a fresh database it rebuilds read models equal to the
//! original's; importing twice adds nothing; a damaged or cut-short export adds nothing.

// The domain types below exist for the tests; documenting each would add only noise.
#![allow(missing_docs)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use acci_core::prelude::*;
use acci_core::{EventStore, LogPosition, NewEvent, StoredEvent, StreamId};
use acci_postgres::tenant::{
    EventIds, ImportOptions, Line, TenantError, export_tenant, import_tenant, read_export,
    verify_export,
};
use acci_postgres::{PgEventStore, ProjectionRunner};
use acci_tests::pg::{APP_LOGIN, READER_LOGIN, TestDatabase};
use serde::{Deserialize, Serialize};

#[event]
pub struct Ticked {
    pub by: i64,
}

#[event(name = "Reset", version = 2, no_upcast)]
pub struct Reset {
    pub to: i64,
}

#[derive(Aggregate, Clone, Debug, Default, Serialize, Deserialize)]
#[aggregate(name = "Clock", events(Ticked, Reset))]
pub struct Clock {
    ticks: i64,
}

impl Apply<Ticked> for Clock {
    fn apply(&mut self, e: &Ticked) {
        self.ticks += e.by;
    }
}

impl Apply<Reset> for Clock {
    fn apply(&mut self, e: &Reset) {
        self.ticks = e.to;
    }
}

#[projection(table = "clock_totals", events(Ticked, Reset), aggregates(Clock))]
#[derive(Debug, Clone, PartialEq)]
pub struct ClockTotals {
    #[projection(key)]
    pub clock: String,
    pub ticks: i64,
    pub events: i64,
}

fn row<'r>(row: &'r mut Option<ClockTotals>, stream: &StreamId) -> &'r mut ClockTotals {
    row.get_or_insert_with(|| ClockTotals {
        clock: stream.aggregate_id.to_string(),
        ticks: 0,
        events: 0,
    })
}

impl Project<Ticked> for ClockTotals {
    fn project(r: &mut Option<Self>, e: &Recorded<Ticked>) {
        let r = row(r, &e.stream);
        r.ticks += e.data.by;
        r.events += 1;
    }
}

impl Project<Reset> for ClockTotals {
    fn project(r: &mut Option<Self>, e: &Recorded<Reset>) {
        let r = row(r, &e.stream);
        r.ticks = e.data.to;
        r.events += 1;
    }
}

fn tenant(name: &str) -> TenantId {
    TenantId::new(name).unwrap()
}

/// 300 events of `acme` over 7 clocks and 50 of `globex`, interleaved in the log.
async fn fill(store: &PgEventStore) -> u64 {
    let mut acme = 0;
    for i in 0..350u64 {
        let (who, clock) = if i % 7 == 6 {
            ("globex", "g".to_owned())
        } else {
            ("acme", format!("c-{}", i % 7))
        };
        let stream =
            StreamId::new(tenant(who), "Clock", AggregateId::new(&clock).unwrap()).unwrap();
        let event: ClockEvent = if i % 25 == 0 {
            Reset { to: 5 }.into()
        } else {
            Ticked { by: i as i64 }.into()
        };
        let event = NewEvent::from_enum(&event, Metadata::new().with_user_id("ada")).unwrap();
        store
            .append(&stream, ExpectedVersion::Any, vec![event], None)
            .await
            .unwrap();
        if who == "acme" {
            acme += 1;
        }
    }
    acme
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "acci-export-{name}-{}.jsonl",
        uuid::Uuid::new_v4().simple()
    ))
}

async fn export(db: &TestDatabase, who: &str) -> PathBuf {
    let path = temp(who);
    let file = tokio::fs::File::create(&path).await.unwrap();
    export_tenant(&db.pool_as(Some(APP_LOGIN), 2).await, &tenant(who), file)
        .await
        .unwrap();
    path
}

/// The projection's rows of `who`, after its runner caught up with the whole log.
async fn totals(db: &TestDatabase, who: &str) -> Vec<serde_json::Value> {
    let runner = ProjectionRunner::<ClockTotals>::new(db.pool_as(Some(READER_LOGIN), 2).await);
    let head: Option<(String, i64)> = sqlx::query_as(
        "SELECT transaction_id::text, position FROM event_store.events ORDER BY transaction_id DESC, position DESC LIMIT 1",
    )
    .fetch_optional(&db.pool_as(None, 1).await)
    .await
    .unwrap();
    let head = head.map(|(c, p)| LogPosition {
        commit: c.parse().unwrap(),
        position: p as u64,
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        runner.catch_up().await.unwrap();
        match head {
            Some(head) if !runner.wait_for(head, Duration::ZERO).await.unwrap() => {
                assert!(Instant::now() < deadline, "the runner did not reach {head}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            _ => break,
        }
    }
    let rows: Vec<(serde_json::Value,)> = sqlx::query_as(&format!(
        "SELECT jsonb_build_object('clock', clock, 'ticks', ticks, 'events', events) \
         FROM read_models.clock_totals WHERE \"{}\" = $1 ORDER BY clock",
        acci_core::projection::TENANT_COLUMN
    ))
    .bind(who)
    .fetch_all(&db.pool_as(None, 1).await)
    .await
    .unwrap();
    rows.into_iter().map(|(v,)| v).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_imported_into_a_fresh_database_rebuilds_equal_read_models() {
    let source = TestDatabase::create().await;
    let expected = fill(&source.store().await).await;
    let path = export(&source, "acme").await;

    // The file: a header with the catalogue, acme's events in order, a trailer.
    let text = tokio::fs::read_to_string(&path).await.unwrap();
    let lines: Vec<Line> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let Line::Header(header) = &lines[0] else {
        panic!("a header first")
    };
    assert_eq!(header.tenant, "acme");
    let kinds: Vec<_> = header
        .catalog
        .iter()
        .map(|c| (c.event_type.as_str(), c.schema_version, c.events))
        .collect();
    assert_eq!(kinds.iter().map(|k| k.2).sum::<u64>(), expected);
    assert!(
        kinds.iter().any(|k| k.0 == "Reset" && k.1 == 2),
        "{kinds:?}"
    );
    let events: Vec<_> = lines
        .iter()
        .filter_map(|l| match l {
            Line::Event(e) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(events.len() as u64, expected);
    assert!(
        events.windows(2).all(|w| w[0].position < w[1].position),
        "global order"
    );
    assert!(
        events
            .iter()
            .all(|e| e.metadata.user_id.as_deref() == Some("ada"))
    );
    let Some(Line::Trailer(trailer)) = lines.last() else {
        panic!("a trailer last")
    };
    assert_eq!(trailer.events, expected);
    assert_eq!(read_export(&path).await.unwrap().1, trailer.clone());

    let target = TestDatabase::create().await;
    let store = PgEventStore::from_pool(target.pool_as(Some(APP_LOGIN), 4).await);
    let first = import_tenant(&store, &path, &ImportOptions::default())
        .await
        .unwrap();
    assert_eq!(
        (first.appended, first.present, first.streams),
        (expected, 0, 6)
    );
    let again = import_tenant(&store, &path, &ImportOptions::default())
        .await
        .unwrap();
    assert_eq!(
        (again.appended, again.present),
        (0, expected),
        "importing twice adds nothing"
    );

    // Streams, sequences and ids kept; read models rebuilt equal.
    let stream = StreamId::new(tenant("acme"), "Clock", AggregateId::new("c-3").unwrap()).unwrap();
    let original = source.store().await.load(&stream, 1).await.unwrap();
    let imported = store.load(&stream, 1).await.unwrap();
    let shape = |events: &[StoredEvent]| {
        events
            .iter()
            .map(|e| (e.event_id, e.sequence, e.data.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(shape(&imported), shape(&original));
    assert_eq!(totals(&target, "acme").await, totals(&source, "acme").await);
    assert!(totals(&target, "globex").await.is_empty());

    // The export against both stores: equal; against a store that lost an event and
    // changed another, the two differences named.
    for db in [&source, &target] {
        let store = PgEventStore::from_pool(db.pool_as(Some(APP_LOGIN), 2).await);
        let verified = verify_export(&store, &path, None, EventIds::Keep)
            .await
            .unwrap();
        assert!(verified.is_equal(), "{:?}", verified.differences);
        assert_eq!(verified.matching, expected);
    }
    let admin = target.pool_as(None, 1).await;
    sqlx::query("ALTER TABLE event_store.events DISABLE TRIGGER USER")
        .execute(&admin)
        .await
        .unwrap();
    sqlx::query("DELETE FROM event_store.events WHERE aggregate_id = 'c-3' AND sequence = 2")
        .execute(&admin)
        .await
        .unwrap();
    sqlx::query("UPDATE event_store.events SET data = '{\"by\": -1}' WHERE aggregate_id = 'c-4' AND sequence = 3")
        .execute(&admin).await.unwrap();
    let verified = verify_export(&store, &path, None, EventIds::Keep)
        .await
        .unwrap();
    assert_eq!((verified.matching, verified.differing), (expected - 2, 2));
    let listed = verified.differences.join("\n");
    assert!(
        listed.contains("c-3 sequence 2: missing from the store"),
        "{listed}"
    );
    assert!(
        listed.contains("c-4 sequence 3: the payload differs"),
        "{listed}"
    );
    let _ = std::fs::remove_file(&path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_another_tenant_in_the_same_database_the_ids_are_derived() {
    let db = TestDatabase::create().await;
    let expected = fill(&db.store().await).await;
    let path = export(&db, "acme").await;
    let store = PgEventStore::from_pool(db.pool_as(Some(APP_LOGIN), 4).await);
    let keep = ImportOptions {
        tenant: Some(tenant("acme-copy")),
        ..ImportOptions::default()
    };
    let error = import_tenant(&store, &path, &keep).await.unwrap_err();
    assert!(error.to_string().contains("EventIds::Derive"), "{error}");
    // The refused stream's append added nothing; now with derived ids, then once more.
    let derive = ImportOptions {
        event_ids: EventIds::Derive,
        ..keep
    };
    let first = import_tenant(&store, &path, &derive).await.unwrap();
    assert_eq!(first.appended + first.present, expected);
    let again = import_tenant(&store, &path, &derive).await.unwrap();
    assert_eq!((again.appended, again.present), (0, expected));
    let verified = verify_export(&store, &path, Some(&tenant("acme-copy")), EventIds::Derive)
        .await
        .unwrap();
    assert!(
        verified.is_equal() && verified.matching == expected,
        "{verified:?}"
    );
    let copy = totals(&db, "acme-copy").await;
    assert_eq!(copy, totals(&db, "acme").await);
    let _ = std::fs::remove_file(&path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_or_cut_short_export_adds_nothing() {
    let source = TestDatabase::create().await;
    fill(&source.store().await).await;
    let path = export(&source, "acme").await;
    let text = tokio::fs::read_to_string(&path).await.unwrap();
    let target = TestDatabase::create().await;
    let store = PgEventStore::from_pool(target.pool_as(Some(APP_LOGIN), 2).await);

    let damaged = temp("damaged");
    tokio::fs::write(&damaged, text.replacen("\"by\":8", "\"by\":9", 1))
        .await
        .unwrap();
    let cut = temp("cut");
    let kept: Vec<&str> = text.lines().collect();
    tokio::fs::write(&cut, kept[..kept.len() - 40].join("\n") + "\n")
        .await
        .unwrap();
    let foreign = temp("foreign");
    tokio::fs::write(
        &foreign,
        text.replacen("acci-tenant-export", "something-else", 1),
    )
    .await
    .unwrap();
    for (file, says) in [
        (&damaged, "SHA-256"),
        (&cut, "cut short"),
        (&foreign, "the format is `something-else`"),
    ] {
        let error = import_tenant(&store, file, &ImportOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(error, TenantError::Format { .. }), "{error}");
        assert!(error.to_string().contains(says), "{error}");
        let _ = std::fs::remove_file(file);
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM event_store.events")
        .fetch_one(&target.pool_as(None, 1).await)
        .await
        .unwrap();
    assert_eq!(count, 0, "nothing was appended");
    let _ = Arc::new(());
    let _ = std::fs::remove_file(&path);
}
