//! The store's own statements run at READ COMMITTED whatever the server's default
//! isolation, so racing appends stay typed conflicts.

// The domain types below exist for the tests; documenting each would add only noise.
#![allow(missing_docs)]

use acci_core::prelude::*;
use acci_core::{EventStore, ExpectedVersion, Metadata, NewEvent, StoreError, StreamId};
use acci_postgres::PgEventStore;
use acci_tests::pg::{APP_LOGIN, TestDatabase};

#[event]
pub struct Counted {
    pub n: i64,
}

/// On a database whose default isolation is SERIALIZABLE, racing appends through a
/// store whose pool was made from `pool_options` are typed conflicts, never a
/// serialization failure or a refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_appends_conflict_under_a_serializable_default() {
    let db = TestDatabase::create().await;
    let admin = db.pool_as(None, 1).await;
    sqlx::query(&format!(
        "ALTER DATABASE \"{}\" SET default_transaction_isolation = 'serializable'",
        db.name()
    ))
    .execute(&admin)
    .await
    .unwrap();
    let plain = db.pool_as(Some(APP_LOGIN), 1).await;
    let default: String = sqlx::query_scalar("SHOW transaction_isolation")
        .fetch_one(&plain)
        .await
        .unwrap();
    assert_eq!(default, "serializable", "the test's premise");

    let pool = PgEventStore::pool_options()
        .max_connections(8)
        .connect_with(db.options(Some(APP_LOGIN)))
        .await
        .unwrap();
    let store = PgEventStore::from_pool(pool);
    let s = StreamId::new(
        TenantId::new("t1").unwrap(),
        "Account",
        AggregateId::new("raced").unwrap(),
    )
    .unwrap();
    let event = || NewEvent::from_event(&Counted { n: 1 }, Metadata::new()).unwrap();
    for round in 0..5u64 {
        let appends = (0..8).map(|_| {
            let (store, s, event) = (store.clone(), s.clone(), event());
            tokio::spawn(async move {
                let expected = if round == 0 {
                    ExpectedVersion::NoStream
                } else {
                    ExpectedVersion::Exactly(round)
                };
                store.append(&s, expected, vec![event], None).await
            })
        });
        let (mut appended, mut conflicts) = (0, 0);
        for append in appends.collect::<Vec<_>>() {
            match append.await.unwrap() {
                Ok(_) => appended += 1,
                Err(StoreError::Conflict(_)) => conflicts += 1,
                Err(other) => panic!("round {round}: expected a conflict, got {other:?}"),
            }
        }
        assert_eq!((appended, conflicts), (1, 7), "round {round}");
    }
}
