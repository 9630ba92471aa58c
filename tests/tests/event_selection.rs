//! Projections select events by aggregate type and event type: two aggregates that both
//! record an `Opened` are told apart, in memory and on PostgreSQL.

// The domain types below exist for the tests; documenting each would add only noise.
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use acci_core::prelude::*;
use acci_core::projection::InMemoryProjection;
use acci_core::{LogPosition, NewEvent, StreamId};
use acci_postgres::ProjectionRunner;
use acci_tests::pg::{READER_LOGIN, TestDatabase};
pub mod account {
    use acci_core::prelude::*;
    use serde::{Deserialize, Serialize};

    #[event(name = "Opened")]
    pub struct Opened {
        pub owner: String,
    }

    #[derive(Aggregate, Debug, Default, Serialize, Deserialize)]
    #[aggregate(name = "Account", events(Opened))]
    pub struct Account {
        open: bool,
    }

    impl Apply<Opened> for Account {
        fn apply(&mut self, _: &Opened) {
            self.open = true;
        }
    }
}

pub mod loan {
    use acci_core::prelude::*;
    use serde::{Deserialize, Serialize};

    /// Stored under the same name as the account's, with another shape.
    #[event(name = "Opened")]
    pub struct Opened {
        pub principal: i64,
    }

    #[derive(Aggregate, Debug, Default, Serialize, Deserialize)]
    #[aggregate(name = "Loan", events(Opened))]
    pub struct Loan {
        principal: i64,
    }

    impl Apply<Opened> for Loan {
        fn apply(&mut self, event: &Opened) {
            self.principal = event.principal;
        }
    }
}

/// The owners of accounts: a projection of the account's `Opened` only.
#[projection(
    table = "account_owners",
    aggregates(account::Account),
    events(account::Opened)
)]
pub struct AccountOwner {
    #[projection(key)]
    pub account_id: String,
    pub owner: String,
}

impl PartialEq for AccountOwner {
    fn eq(&self, other: &Self) -> bool {
        (&self.account_id, &self.owner) == (&other.account_id, &other.owner)
    }
}

impl Project<account::Opened> for AccountOwner {
    fn project(row: &mut Option<Self>, event: &Recorded<account::Opened>) {
        *row = Some(AccountOwner {
            account_id: event.stream.aggregate_id.to_string(),
            owner: event.data.owner.clone(),
        });
    }
}

/// Opens account `a-1` and loan `l-1`; returns where the second append ended.
async fn open_both<S: EventStore + ?Sized>(store: &S) -> LogPosition {
    let tenant = TenantId::new("t1").unwrap();
    let mut last = LogPosition::START;
    let opened = [
        (
            "Account",
            "a-1",
            NewEvent::from_event(
                &account::Opened {
                    owner: "Ada".into(),
                },
                Metadata::new(),
            ),
        ),
        (
            "Loan",
            "l-1",
            NewEvent::from_event(&loan::Opened { principal: 1_000 }, Metadata::new()),
        ),
    ];
    for (aggregate_type, id, event) in opened {
        let stream = StreamId::new(
            tenant.clone(),
            aggregate_type,
            AggregateId::new(id).unwrap(),
        )
        .unwrap();
        match store
            .append(
                &stream,
                ExpectedVersion::NoStream,
                vec![event.unwrap()],
                None,
            )
            .await
            .unwrap()
        {
            acci_core::AppendOutcome::Appended(appended) => last = appended.last_position,
            other => panic!("{other:?}"),
        }
    }
    last
}

#[test]
fn the_projection_lists_each_event_with_its_aggregate() {
    assert_eq!(
        AccountOwner::EVENTS,
        [acci_core::EventKind::of::<account::Account, account::Opened>()]
    );
    assert_eq!(AccountOwner::EVENTS[0].to_string(), "Account/Opened");
}

#[tokio::test]
async fn in_memory_a_projection_of_one_aggregate_does_not_see_the_others_opened() {
    let store = InMemoryEventStore::new();
    open_both(&store).await;
    let owners = InMemoryProjection::<AccountOwner>::new();
    assert_eq!(
        owners.catch_up(&store).await.unwrap(),
        1,
        "the loan's `Opened` is not read, let alone decoded as an account's"
    );
    assert_eq!(
        owners.rows(Some(&TenantId::new("t1").unwrap())),
        [AccountOwner {
            account_id: "a-1".into(),
            owner: "Ada".into()
        }]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_a_projection_of_one_aggregate_does_not_see_the_others_opened() {
    let db = TestDatabase::create().await;
    let store = db.store().await;
    let last = open_both(&store).await;
    let runner = ProjectionRunner::<AccountOwner>::new(db.pool_as(Some(READER_LOGIN), 4).await);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut applied = 0;
    while !runner.wait_for(last, Duration::ZERO).await.unwrap() {
        assert!(Instant::now() < deadline, "the log did not reach {last}");
        applied += runner.catch_up().await.unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(applied, 1);
    assert!(runner.dead_letters().await.unwrap().is_empty());
    let status = runner.status().await.unwrap();
    assert_eq!((status.events_applied, status.lag_events), (1, 0));
    let owners: Vec<(String, String)> =
        sqlx::query_as("SELECT account_id, owner FROM read_models.account_owners")
            .fetch_all(&db.pool_as(None, 1).await)
            .await
            .unwrap();
    assert_eq!(owners, [("a-1".to_owned(), "Ada".to_owned())]);
}
