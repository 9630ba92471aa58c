//! The in-memory projection: the read-model semantics without a database, for tests.

// The domain types below exist for the tests; documenting each would add only noise.
#![allow(missing_docs)]

use std::sync::Arc;

use acci_core::prelude::*;
use acci_core::projection::{InMemoryProjection, InMemoryReadModels, ProjectionError};
use acci_core::query::{QueryError, ReadModels};
use acci_core::{NewEvent, StreamId};

#[event]
pub struct Joined {
    pub name: String,
}

#[event]
pub struct Left {}

/// One row per member, deleted when the member leaves.
#[projection(table = "members", events(Joined, Left))]
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

impl Project<Left> for Member {
    fn project(row: &mut Option<Self>, _: &Recorded<Left>) {
        *row = None;
    }
}

/// One row per tenant, keyed by the tenant instead of the aggregate id.
#[projection(table = "tenant_sizes", events(Joined, Left))]
pub struct TenantSize {
    #[projection(key)]
    pub tenant: String,
    pub members: i64,
}

fn by_tenant<E>(event: &Recorded<E>) -> Result<String, ProjectionError> {
    Ok(event.stream.tenant.to_string())
}

impl ProjectKey<Joined> for TenantSize {
    fn key(event: &Recorded<Joined>) -> Result<String, ProjectionError> {
        by_tenant(event)
    }
}

impl Project<Joined> for TenantSize {
    fn project(row: &mut Option<Self>, event: &Recorded<Joined>) {
        row.get_or_insert_with(|| TenantSize {
            tenant: event.stream.tenant.to_string(),
            members: 0,
        })
        .members += 1;
    }
}

impl ProjectKey<Left> for TenantSize {
    fn key(event: &Recorded<Left>) -> Result<String, ProjectionError> {
        by_tenant(event)
    }
}

impl Project<Left> for TenantSize {
    fn project(row: &mut Option<Self>, _: &Recorded<Left>) {
        if let Some(row) = row {
            row.members -= 1;
        }
    }
}

/// Joins per member id across all tenants: a global read model, whose rows belong to no
/// tenant, so the same id in two tenants is one row.
#[projection(global, table = "joins_by_id", events(Joined))]
pub struct JoinsById {
    #[projection(key)]
    pub member_id: String,
    pub joins: i64,
}

impl Project<Joined> for JoinsById {
    fn project(row: &mut Option<Self>, event: &Recorded<Joined>) {
        row.get_or_insert_with(|| JoinsById {
            member_id: event.stream.aggregate_id.to_string(),
            joins: 0,
        })
        .joins += 1;
    }
}

fn tenant(id: &str) -> TenantId {
    TenantId::new(id).unwrap()
}

async fn append<E: acci_core::Event>(
    store: &InMemoryEventStore,
    tenant: &str,
    id: &str,
    event: &E,
) {
    let stream = StreamId::new(
        TenantId::new(tenant).unwrap(),
        "Membership",
        AggregateId::new(id).unwrap(),
    )
    .unwrap();
    let event = NewEvent::from_event(event, Metadata::new()).unwrap();
    store
        .append(&stream, ExpectedVersion::Any, vec![event], None)
        .await
        .unwrap();
}

#[tokio::test]
async fn rows_follow_the_events_in_batches_and_resume_from_the_checkpoint() {
    let store = Arc::new(InMemoryEventStore::new());
    let members = InMemoryProjection::<Member>::new().with_batch_size(2);
    let sizes = InMemoryProjection::<TenantSize>::new();
    for (tenant, id, name) in [("t1", "m1", "Ada"), ("t1", "m2", "Bob"), ("t2", "m3", "Cy")] {
        append(&store, tenant, id, &Joined { name: name.into() }).await;
    }
    assert_eq!(members.catch_up(&*store).await.unwrap(), 3);
    assert_eq!(sizes.catch_up(&*store).await.unwrap(), 3);
    let (t1, t2) = (tenant("t1"), tenant("t2"));
    assert_eq!(
        members.get(Some(&t1), &"m2".to_owned()).unwrap().name,
        "Bob"
    );
    assert!(members.get(Some(&t2), &"m2".to_owned()).is_none());
    assert_eq!(sizes.get(Some(&t1), &"t1".to_owned()).unwrap().members, 2);

    append(&store, "t1", "m1", &Left {}).await;
    assert_eq!(
        members.catch_up(&*store).await.unwrap(),
        1,
        "only what came after the checkpoint"
    );
    assert_eq!(sizes.catch_up(&*store).await.unwrap(), 1);
    assert!(
        members.get(Some(&t1), &"m1".to_owned()).is_none(),
        "a row set to None is deleted"
    );
    assert_eq!(members.rows(Some(&t1)).len(), 1);
    assert_eq!(members.rows(Some(&t2)).len(), 1);
    assert_eq!(sizes.get(Some(&t1), &"t1".to_owned()).unwrap().members, 1);
    let status = members.status();
    assert_eq!((status.name, status.events_applied), ("members", 4));
    assert_eq!(members.catch_up(&*store).await.unwrap(), 0);
}

#[tokio::test]
async fn each_tenant_has_its_own_row_per_key_unless_the_read_model_is_global() {
    let store = InMemoryEventStore::new();
    append(&store, "t1", "m1", &Joined { name: "Ada".into() }).await;
    append(&store, "t2", "m1", &Joined { name: "Eve".into() }).await;
    let members = Arc::new(InMemoryProjection::<Member>::new());
    let joins = Arc::new(InMemoryProjection::<JoinsById>::new());
    members.catch_up(&store).await.unwrap();
    joins.catch_up(&store).await.unwrap();
    let models = InMemoryReadModels::new();
    models.register(Arc::clone(&members));
    models.register(Arc::clone(&joins));

    let (t1, t2) = (tenant("t1"), tenant("t2"));
    assert_eq!(
        Member::require(&models, &t1, "m1").await.unwrap().name,
        "Ada"
    );
    assert_eq!(
        Member::require(&models, &t2, "m1").await.unwrap().name,
        "Eve"
    );
    let found = Member::find_by_name(&models, &t1, "Eve", 10).await.unwrap();
    assert!(found.is_empty(), "t1 never finds t2's row");
    assert_eq!(Member::page(&models, &t2, None, 10).await.unwrap().len(), 1);
    // The global read model: one row for both, found without a tenant.
    assert_eq!(JoinsById::require(&models, "m1").await.unwrap().joins, 2);
    assert!(matches!(
        models.get::<Member>(None, &"m1".to_owned()).await,
        Err(QueryError::Validation(v)) if v.to_string().contains("tenant-scoped")
    ));
    assert!(matches!(
        models.get::<JoinsById>(Some(&t1), &"m1".to_owned()).await,
        Err(QueryError::Validation(v)) if v.to_string().contains("global")
    ));
}

#[tokio::test]
async fn queries_and_generated_finders_run_on_in_memory_read_models() {
    let store = InMemoryEventStore::new();
    for (id, name) in [("m1", "Ada"), ("m2", "Bob"), ("m3", "Ada")] {
        append(&store, "t1", id, &Joined { name: name.into() }).await;
    }
    let members = Arc::new(InMemoryProjection::<Member>::new());
    members.catch_up(&store).await.unwrap();
    let models = InMemoryReadModels::new();
    let t1 = tenant("t1");
    assert!(matches!(
        Member::find(&models, &t1, "m1").await,
        Err(QueryError::Projection { .. })
    ));
    models.register(Arc::clone(&members));

    assert_eq!(
        Member::require(&models, &t1, "m2").await.unwrap().name,
        "Bob"
    );
    assert!(matches!(
        Member::require(&models, &t1, "m9").await,
        Err(QueryError::NotFound { .. })
    ));
    let adas: Vec<String> = Member::find_by_name(&models, &t1, "Ada", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.member_id)
        .collect();
    assert_eq!(adas, ["m1", "m3"]);
    let page = Member::page(&models, &t1, Some("m1"), 1).await.unwrap();
    assert_eq!(page[0].member_id, "m2");
    assert!(matches!(
        Member::page(&models, &t1, None, 0).await,
        Err(QueryError::Validation(_))
    ));
    // Refused as PostgreSQL's read models refuse it: a NUL that a row cannot hold.
    assert!(matches!(
        Member::find_by_name(&models, &t1, "A\u{0}da", 10).await,
        Err(QueryError::Validation(v)) if v.to_string().contains("U+0000")
    ));
    assert!(matches!(
        Member::find(&models, &t1, "m\u{0}1").await,
        Err(QueryError::Validation(v)) if v.to_string().contains("key of")
    ));
}

/// A row that panics when projected.
#[projection(table = "fragile_names", events(Joined))]
pub struct FragileName {
    #[projection(key)]
    pub member_id: String,
    pub name: String,
}

impl Project<Joined> for FragileName {
    fn project(row: &mut Option<Self>, event: &Recorded<Joined>) {
        assert_ne!(event.data.name, "boom", "a name the projection cannot take");
        *row = Some(FragileName {
            member_id: event.stream.aggregate_id.to_string(),
            name: event.data.name.clone(),
        });
    }
}

/// Events that do not decode (a payload of another shape, a schema version no code
/// knows) and one that makes `project` panic are parked, each with its error; the other
/// events of both tenants are projected and the next catch-up goes on after them.
#[tokio::test]
async fn events_that_fail_to_project_are_parked_and_the_rest_go_on() {
    let store = InMemoryEventStore::new();
    append(&store, "t1", "m1", &Joined { name: "Ada".into() }).await;
    let stream = StreamId::new(
        TenantId::new("t2").unwrap(),
        "Membership",
        AggregateId::new("m9").unwrap(),
    )
    .unwrap();
    let raw = |version: u32, payload: serde_json::Value| NewEvent {
        event_id: acci_core::EventId::new(),
        event_type: "Joined".into(),
        schema_version: version,
        payload,
        metadata: Metadata::new(),
    };
    store
        .append(
            &stream,
            ExpectedVersion::Any,
            vec![
                raw(1, serde_json::json!({ "nom": "Zed" })),
                raw(7, serde_json::json!({ "name": "Zed" })),
            ],
            None,
        )
        .await
        .unwrap();
    append(
        &store,
        "t2",
        "m2",
        &Joined {
            name: "boom".into(),
        },
    )
    .await;
    append(&store, "t2", "m3", &Joined { name: "Cy".into() }).await;

    let names = InMemoryProjection::<FragileName>::new().with_batch_size(2);
    assert_eq!(names.catch_up(&store).await.unwrap(), 2);
    let names_of = |tenant: &str| -> Vec<String> {
        let tenant = TenantId::new(tenant).unwrap();
        names
            .rows(Some(&tenant))
            .into_iter()
            .map(|r| r.name)
            .collect()
    };
    assert_eq!(names_of("t1"), ["Ada"]);
    assert_eq!(names_of("t2"), ["Cy"]);
    let parked = names.dead_letters();
    assert_eq!(parked.len(), 3, "{parked:#?}");
    assert!(
        parked
            .iter()
            .all(|p| p.event_type.as_deref() == Some("Joined"))
    );
    assert!(parked[2].error.contains("panicked"), "{parked:#?}");
    assert_eq!(names.status().events_parked, 3);
    assert_eq!(names.status().events_applied, 2);

    append(&store, "t1", "m4", &Joined { name: "Dee".into() }).await;
    assert_eq!(names.catch_up(&store).await.unwrap(), 1, "it goes on");
}
