//! Temporal queries: an aggregate as of a version and as of a time, from the snapshot
//! when it lies at or below the point asked for; the whole log as of a position, on the
//! in-memory store and on PostgreSQL.

// The domain types below exist for the tests; documenting each would add only noise.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use acci_core::prelude::*;
use acci_core::{
    AsOf, EventStore, InMemoryEventStore, LogCut, LogPosition, StoreError, TenantScope,
};
use acci_tests::pg::TestDatabase;
use serde::{Deserialize, Serialize};

#[event]
pub struct Counted {
    pub n: u64,
}

#[derive(Aggregate, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[aggregate(name = "Tally", events(Counted), snapshot_every = 4)]
pub struct Tally {
    seen: Vec<u64>,
}

impl Apply<Counted> for Tally {
    fn apply(&mut self, event: &Counted) {
        self.seen.push(event.n);
    }
}

#[derive(Debug, thiserror::Error)]
#[error("never")]
pub struct Never;

pub struct Count(u64);

impl Handle<Count> for Tally {
    type Error = Never;
    fn handle(&self, command: &Count) -> Result<Vec<TallyEvent>, Never> {
        Ok(vec![Counted { n: command.0 }.into()])
    }
}

fn tenant(name: &str) -> TenantId {
    TenantId::new(name).unwrap()
}

fn id(name: &str) -> AggregateId {
    AggregateId::new(name).unwrap()
}

/// Ten events on `t-1`; the snapshot is taken at version 8. Returns each event's
/// recorded time and log position, by version.
async fn ten<S: EventStore + 'static>(
    tallies: &Repository<Tally, S>,
) -> Vec<(chrono::DateTime<chrono::Utc>, LogPosition)> {
    for n in 1..=10 {
        let command = Command::new(tenant("acme"), id("t-1"), Count(n));
        tallies.execute(command).await.unwrap();
        // Apart in time, so that each event has a moment of its own.
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    let stream = tallies.stream(&tenant("acme"), &id("t-1")).unwrap();
    let events = tallies.store().load(&stream, 1).await.unwrap();
    assert_eq!(
        tallies
            .store()
            .load_snapshot(&stream)
            .await
            .unwrap()
            .unwrap()
            .version,
        8
    );
    events.iter().map(|e| (e.recorded_at, e.position)).collect()
}

async fn as_of_versions_and_times<S: EventStore + 'static>(store: S) {
    let tallies = Repository::<Tally, _>::new(Arc::new(store));
    let recorded = ten(&tallies).await;
    let (acme, t1) = (tenant("acme"), id("t-1"));
    for version in 0..=12u64 {
        let loaded = tallies
            .load_as_of(&acme, &t1, AsOf::Version(version))
            .await
            .unwrap();
        let upto = version.min(10);
        assert_eq!(
            loaded.state.seen,
            (1..=upto).collect::<Vec<_>>(),
            "as of version {version}"
        );
        assert_eq!(loaded.version, upto);
        // The snapshot at 8 serves every point at or after it, and none before.
        let expected = (version >= 8).then_some(8);
        assert_eq!(loaded.snapshot_version, expected, "as of version {version}");
        assert_eq!(loaded.events_applied as u64, upto - expected.unwrap_or(0));
    }
    for (index, (moment, _)) in recorded.iter().enumerate() {
        let version = index as u64 + 1;
        let loaded = tallies
            .load_as_of(&acme, &t1, AsOf::Time(*moment))
            .await
            .unwrap();
        assert_eq!(
            loaded.version, version,
            "as of the moment of event {version}"
        );
        assert_eq!(loaded.snapshot_version, (version >= 8).then_some(8));
        let just_before = *moment - chrono::Duration::microseconds(1);
        let loaded = tallies
            .load_as_of(&acme, &t1, AsOf::Time(just_before))
            .await
            .unwrap();
        assert_eq!(loaded.version, version - 1, "just before event {version}");
    }
    let now = tallies.load(&acme, &t1).await.unwrap();
    let as_of_now = tallies
        .load_as_of(&acme, &t1, AsOf::Time(chrono::Utc::now()))
        .await
        .unwrap();
    assert_eq!(as_of_now.state, now.state);
    // A stream that does not exist is the default state at version 0.
    let none = tallies
        .load_as_of(&acme, &id("t-9"), AsOf::Version(3))
        .await
        .unwrap();
    assert_eq!((none.version, none.state), (0, Tally::default()));
}

async fn a_cut_of_the_log<S: EventStore + 'static>(store: S) {
    let tallies = Repository::<Tally, _>::new(Arc::new(store));
    for n in 1..=6 {
        for (who, what) in [("acme", "a"), ("globex", "b")] {
            let command = Command::new(tenant(who), id(what), Count(n));
            tallies.execute(command).await.unwrap();
        }
    }
    let store = tallies.store();
    // Other tests' transactions on the server may hold the readable horizon a moment.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let all = loop {
        let all = store
            .read_all(&acci_core::ReadAll::new(TenantScope::AllTenants))
            .await
            .unwrap()
            .events;
        if all.len() == 12 {
            break all;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} of 12 readable",
            all.len()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let cut = all[6].position;
    let read = |scope: TenantScope, limit: usize| {
        let store = Arc::clone(store);
        async move {
            let mut reader = LogCut::new(&*store, scope, cut).with_batch(limit).unwrap();
            let mut events = Vec::new();
            while let Some(batch) = reader.next_batch().await.unwrap() {
                events.extend(batch);
            }
            events
        }
    };
    let before = read(TenantScope::AllTenants, 2).await;
    assert_eq!(
        before,
        all[..7].to_vec(),
        "every event up to the cut, in log order"
    );
    // Events committed after it do not change it.
    for n in 7..=9 {
        tallies
            .execute(Command::new(tenant("acme"), id("a"), Count(n)))
            .await
            .unwrap();
    }
    assert_eq!(read(TenantScope::AllTenants, 1000).await, before);
    let acme: Vec<_> = before
        .iter()
        .filter(|e| e.stream.tenant.as_str() == "acme")
        .cloned()
        .collect();
    assert_eq!(read(TenantScope::Tenant(tenant("acme")), 3).await, acme);

    // A cut past the readable end (a transaction that has not even begun) is an
    // error, not a shorter cut.
    let beyond = LogPosition {
        commit: cut.commit + 1_000_000_000,
        position: 0,
    };
    let mut reader = LogCut::new(&**store, TenantScope::AllTenants, beyond);
    let error = loop {
        match reader.next_batch().await {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("a cut past the log's end read to its end"),
            Err(error) => break error,
        }
    };
    assert!(matches!(&error, StoreError::Validation(_)), "{error}");
    assert!(
        error.to_string().contains("past the log's readable end"),
        "{error}"
    );
    assert!(
        LogCut::new(&**store, TenantScope::AllTenants, cut)
            .with_batch(0)
            .is_err()
    );
}

#[tokio::test]
async fn in_memory_an_aggregate_as_of_a_version_and_a_time() {
    as_of_versions_and_times(InMemoryEventStore::new()).await;
}

#[tokio::test]
async fn in_memory_the_log_as_of_a_position() {
    a_cut_of_the_log(InMemoryEventStore::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_an_aggregate_as_of_a_version_and_a_time() {
    let db = TestDatabase::create().await;
    as_of_versions_and_times(db.store().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_log_as_of_a_position() {
    let db = TestDatabase::create().await;
    a_cut_of_the_log(db.store().await).await;
}
