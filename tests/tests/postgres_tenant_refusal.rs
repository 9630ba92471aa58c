//! The typed refusal of a call for another tenant: in Rust, by a bound store before any
//! I/O; in the database, with both tenants named for the store's error mapping.

use acci_core::{
    CommandId, EventStore, ExpectedVersion, ReadAll, StoreError, TenantId, TenantScope,
};
use acci_tests::events::{counted, stream};
use acci_tests::pg::{APP_LOGIN, TestDatabase};
use serde_json::json;
use sqlx::{Executor, PgConnection};

/// Tenant B's stream `acc`, appended with a command id, which comes back.
async fn seed_tenant_b(db: &TestDatabase) -> CommandId {
    let command = CommandId::new();
    db.store()
        .await
        .append(
            &stream("tenant-b", "acc"),
            ExpectedVersion::NoStream,
            vec![counted(1)],
            Some(command),
        )
        .await
        .unwrap();
    command
}

/// A connection as `login`, bound to tenant A for the whole session.
async fn bound_to_a(db: &TestDatabase, login: &str) -> PgConnection {
    let pool = db.pool_as(Some(login), 1).await;
    let mut conn = pool.acquire().await.unwrap().detach();
    conn.execute("SELECT set_config('acci.tenant_id', 'tenant-a', false)")
        .await
        .unwrap();
    conn
}

/// The Rust side of the binding: a store bound to tenant A refuses, before it sends
/// anything, every call for tenant B or for every tenant; and it serves A.
#[tokio::test]
async fn a_bound_store_refuses_another_tenant_and_serves_its_own() {
    let db = TestDatabase::create().await;
    let command = seed_tenant_b(&db).await;
    let a = TenantId::new("tenant-a").unwrap();
    let store = db.store().await.for_tenant(a.clone());
    let b = stream("tenant-b", "acc");
    let wrong = |result: Result<(), StoreError>| match result {
        Err(StoreError::WrongTenant { bound, asked }) => {
            assert_eq!(bound.as_deref(), Some("tenant-a"));
            asked
        }
        other => panic!("expected WrongTenant, got {other:?}"),
    };
    let b_asked = Some("tenant-b".to_owned());
    assert_eq!(
        wrong(
            store
                .append(&b, ExpectedVersion::Any, vec![counted(9)], None)
                .await
                .map(drop)
        ),
        b_asked
    );
    assert_eq!(wrong(store.load(&b, 1).await.map(drop)), b_asked);
    assert_eq!(
        wrong(store.load_aggregate(&b, None).await.map(drop)),
        b_asked
    );
    assert_eq!(wrong(store.load_snapshot(&b).await.map(drop)), b_asked);
    assert_eq!(
        wrong(
            store
                .find_command(&TenantId::new("tenant-b").unwrap(), command)
                .await
                .map(drop)
        ),
        b_asked
    );
    assert_eq!(
        wrong(
            store
                .read_all(&ReadAll::new(TenantScope::AllTenants))
                .await
                .map(drop)
        ),
        None
    );
    let own = stream("tenant-a", "acc");
    store
        .append(&own, ExpectedVersion::NoStream, vec![counted(1)], None)
        .await
        .unwrap();
    assert_eq!(store.load(&own, 1).await.unwrap().len(), 1);
}

/// The database's refusal names both tenants, in its message and, for the store's error
/// mapping (to `StoreError::WrongTenant`, unit-tested in acci-postgres), in its detail.
#[tokio::test]
async fn the_databases_refusal_names_both_tenants() {
    let db = TestDatabase::create().await;
    let mut conn = bound_to_a(&db, APP_LOGIN).await;
    let error = sqlx::query("SELECT event_store.require_tenant('tenant-b')")
        .execute(&mut conn)
        .await
        .unwrap_err();
    let db_error = error.as_database_error().unwrap();
    assert_eq!(db_error.code().as_deref(), Some("AC002"));
    let pg = db_error.downcast_ref::<sqlx::postgres::PgDatabaseError>();
    let detail: serde_json::Value = serde_json::from_str(pg.detail().unwrap()).unwrap();
    assert_eq!(detail, json!({ "bound": "tenant-a", "asked": "tenant-b" }));
    assert!(
        db_error
            .message()
            .contains("bound to tenant 'tenant-a', not to tenant 'tenant-b'"),
        "{}",
        db_error.message()
    );
}
