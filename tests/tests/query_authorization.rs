//! Access control on the query side: both read models ask the authorizer before they
//! read, on behalf of the caller they are bound to, and each denial is audited.

// The domain types below exist for the tests; documenting each would add only noise.
#![allow(missing_docs)]

use std::sync::Arc;

use acci_core::authorization::{
    Action, Caller, Decision, Denied, QueryAuthorizer, QueryKind, QueryRequest,
};
use acci_core::prelude::*;
use acci_core::projection::{InMemoryProjection, InMemoryReadModels};
use acci_core::query::{QueryError, ReadModels};
use acci_core::testing::InMemoryAuditSink;
use acci_core::{NewEvent, StreamId};
use acci_postgres::PgReadModels;
use uuid::Uuid;

#[event]
pub struct Joined {
    pub name: String,
}

#[projection(table = "members", events(Joined))]
pub struct Member {
    #[projection(key)]
    pub member_id: String,
    #[projection(index)]
    pub name: String,
}

impl Project<Joined> for Member {
    fn project(row: &mut Option<Self>, event: &Recorded<Joined>) {
        *row = Some(Member {
            member_id: event.stream.aggregate_id.to_string(),
            name: event.data.name.clone(),
        });
    }
}

/// Members are readable by key by any user of a tenant; listing and searching them is for
/// `admin` only.
fn policy(request: &QueryRequest<'_>) -> Decision {
    match (request.tenant(), request.user_id(), request.query) {
        (None, _, _) => Decision::deny("no tenant"),
        (_, Some("admin"), _) => Decision::Allow,
        (_, Some(_), QueryKind::Get) => Decision::Allow,
        _ => Decision::deny(format!(
            "only admins may {} `{}`",
            request.query, request.read_model
        )),
    }
}

async fn members() -> Arc<InMemoryProjection<Member>> {
    let store = InMemoryEventStore::new();
    for (id, name) in [("m1", "Ada"), ("m2", "Bob")] {
        let stream = StreamId::new(
            TenantId::new("t1").unwrap(),
            "Club",
            AggregateId::new(id).unwrap(),
        )
        .unwrap();
        let event = NewEvent::from_event(&Joined { name: name.into() }, Metadata::new()).unwrap();
        store
            .append(&stream, ExpectedVersion::Any, vec![event], None)
            .await
            .unwrap();
    }
    let members = Arc::new(InMemoryProjection::new());
    members.catch_up(&store).await.unwrap();
    members
}

/// The tenant of every member here.
fn t1() -> TenantId {
    TenantId::new("t1").unwrap()
}

fn caller(user: &str, correlation: Uuid) -> Caller {
    Caller::new(TenantId::new("t1").unwrap())
        .with_user_id(user)
        .with_correlation_id(correlation)
}

fn denied(query: QueryKind, caller: &Caller, reason: &str) -> Denied {
    Denied {
        action: Action::Query {
            read_model: "members",
            query,
        },
        tenant: caller.tenant.clone(),
        user_id: caller.user_id.clone(),
        correlation_id: caller.correlation_id,
        reason: reason.into(),
    }
}

fn unauthorized<T: std::fmt::Debug>(result: Result<T, QueryError>) -> Denied {
    match result {
        Err(QueryError::Unauthorized(denied)) => *denied,
        other => panic!("expected a denial, got {other:?}"),
    }
}

#[tokio::test]
async fn in_memory_read_models_ask_on_behalf_of_their_caller() {
    let audit = Arc::new(InMemoryAuditSink::new());
    let models = InMemoryReadModels::new()
        .with_authorizer(Arc::new(policy))
        .with_audit(audit.clone());
    models.register(members().await);
    let correlation = Uuid::now_v7();
    let (ada, admin) = (caller("ada", correlation), caller("admin", correlation));
    let as_ada = models.for_caller(ada.clone());
    let as_admin = models.for_caller(admin.clone());

    // Reads by key are for every user; `require` is a read by key.
    assert_eq!(
        Member::require(&as_ada, &t1(), "m2").await.unwrap().name,
        "Bob"
    );
    assert!(Member::find(&as_ada, &t1(), "m9").await.unwrap().is_none());
    assert_eq!(
        Member::page(&as_admin, &t1(), None, 10)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        Member::find_by_name(&as_admin, &t1(), "Ada", 10)
            .await
            .unwrap()[0]
            .member_id,
        "m1"
    );
    assert!(audit.records().is_empty());

    let by_name = QueryKind::FindBy {
        column: "name".into(),
    };
    let refusals = [
        unauthorized(Member::page(&as_ada, &t1(), None, 10).await),
        unauthorized(Member::find_by_name(&as_ada, &t1(), "Ada", 10).await),
        // Asked before the query is checked: an invalid one is refused as well.
        unauthorized(
            as_ada
                .find_by::<Member>(Some(&t1()), "nope", &"x".into(), 0)
                .await,
        ),
        // Unbound read models ask as an anonymous caller.
        unauthorized(Member::find(&models, &t1(), "m1").await),
    ];
    let anonymous = Caller::anonymous();
    let expected = [
        denied(QueryKind::Page, &ada, "only admins may page `members`"),
        denied(
            by_name.clone(),
            &ada,
            "only admins may find_by(name) `members`",
        ),
        denied(
            QueryKind::FindBy {
                column: "nope".into(),
            },
            &ada,
            "only admins may find_by(nope) `members`",
        ),
        denied(QueryKind::Get, &anonymous, "no tenant"),
    ];
    assert_eq!(refusals, expected);
    assert_eq!(audit.denials(), expected);
    assert_eq!(
        expected[1].to_string(),
        "query `find_by(name)` of read model `members` denied for user \"ada\" of tenant \
         \"t1\": only admins may find_by(name) `members`"
    );
}

#[tokio::test]
async fn without_an_authorizer_every_query_is_answered() {
    let models = InMemoryReadModels::new();
    models.register(members().await);
    let as_anyone = models.for_caller(Caller::anonymous());
    assert_eq!(
        Member::page(&as_anyone, &t1(), None, 10)
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(matches!(
        as_anyone.page::<Member>(Some(&t1()), None, 0).await,
        Err(QueryError::Validation(_))
    ));
}

/// Refuses everything, and counts how often it was asked.
#[derive(Default)]
struct Closed(std::sync::atomic::AtomicUsize);

#[async_trait::async_trait]
impl QueryAuthorizer for Closed {
    async fn authorize(&self, _: &QueryRequest<'_>) -> Decision {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Decision::deny("closed")
    }
}

#[tokio::test]
async fn postgres_read_models_ask_before_they_take_a_connection() {
    // A pool that cannot connect: a query that got past the authorizer would fail on it.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_millis(300))
        .connect_lazy("postgres://nobody@127.0.0.1:1/nothing")
        .unwrap();
    let audit = Arc::new(InMemoryAuditSink::new());
    let closed = Arc::new(Closed::default());
    let models = PgReadModels::from_pool(pool.clone())
        .with_authorizer(closed.clone())
        .with_audit(audit.clone());
    let bob = caller("bob", Uuid::nil());
    let as_bob = models.for_caller(bob.clone());

    let refusals = [
        unauthorized(Member::find(&as_bob, &t1(), "m1").await),
        unauthorized(Member::page(&as_bob, &t1(), None, 10).await),
        unauthorized(Member::find_by_name(&as_bob, &t1(), "Bob", 10).await),
    ];
    let by_name = QueryKind::FindBy {
        column: "name".into(),
    };
    let expected = [
        denied(QueryKind::Get, &bob, "closed"),
        denied(QueryKind::Page, &bob, "closed"),
        denied(by_name, &bob, "closed"),
    ];
    assert_eq!(refusals, expected);
    assert_eq!(audit.denials(), expected);
    assert_eq!(closed.0.load(std::sync::atomic::Ordering::Relaxed), 3);
    assert_eq!(pool.size(), 0, "no connection was opened");

    // Allowed, the same query does reach the pool.
    let open = PgReadModels::from_pool(pool).for_caller(bob);
    assert!(matches!(
        Member::find(&open, &t1(), "m1").await,
        Err(QueryError::ReadModel { .. })
    ));
}

/// Asking the query guard is a `Send` future (compiling is the test).
#[test]
fn the_guard_future_is_send() {
    fn boxed<'a, T>(future: std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>) {
        drop(future);
    }
    let guard = acci_core::authorization::QueryGuard::new().for_caller(Caller::anonymous());
    boxed(Box::pin(guard.check::<Member>(QueryKind::Page)));
}
