//! Writes the Rust API refuses, sent as raw SQL: the database refuses each of them too,
//! with a clear error, so no writer can store an event the readers cannot read. Calls
//! through the functions run as the application role, bound to the tenant they name;
//! direct inserts run as the owner, past the functions, and meet the table constraints.

use acci_core::{EventStore, ReadAll, TenantScope};
use acci_tests::pg::{APP_LOGIN, TestDatabase};
use sqlx::{Executor, PgConnection};

/// A call of `event_store.append` for tenant `t1`, stream `Account/acc`, with these
/// arrays (SQL text) of types, schema versions, payloads and metadata, and one fresh
/// event id per type.
fn append(types: &str, versions: &str, data: &str, metadata: &str) -> String {
    append_to(
        "'Account'",
        "'acc'",
        "NULL",
        types,
        versions,
        data,
        metadata,
    )
}

fn append_to(
    aggregate_type: &str,
    aggregate_id: &str,
    expected: &str,
    types: &str,
    versions: &str,
    data: &str,
    metadata: &str,
) -> String {
    format!(
        "SELECT * FROM event_store.append(current_setting('acci.tenant_id'), {aggregate_type}, \
         {aggregate_id}, {expected}, NULL, \
         ARRAY(SELECT gen_random_uuid() FROM unnest({types}::text[])), \
         {types}::text[], {versions}::int[], {data}::jsonb[], {metadata}::jsonb[])"
    )
}

/// A JSON object nested `levels` deep, as SQL text.
fn nested(levels: usize) -> String {
    format!("{}1{}", "{\"a\":".repeat(levels), "}".repeat(levels))
}

async fn bind(conn: &mut PgConnection, tenant: &str) {
    sqlx::query("SELECT set_config('acci.tenant_id', $1, false)")
        .bind(tenant)
        .execute(&mut *conn)
        .await
        .unwrap();
}

/// Each poison case of the issue and of the Rust API's rules, refused by the database
/// with the SQLSTATE and the constraint (or message) named here; a well-formed call of
/// the same shape is stored, and the all-tenant log reads cleanly afterwards.
#[tokio::test]
async fn raw_sql_writes_of_malformed_events_are_refused() {
    let db = TestDatabase::create().await;
    let pool = db.pool_as(Some(APP_LOGIN), 1).await;
    let mut conn = pool.acquire().await.unwrap().detach();
    bind(&mut conn, "t1").await;

    let one = |metadata: &str| {
        append(
            "ARRAY['Counted']",
            "ARRAY[1]",
            "ARRAY['{}']",
            &format!("ARRAY['{metadata}']"),
        )
    };
    let deep_payload = nested(65);
    let deep_metadata = format!("{{\"entries\": {}}}", nested(64));
    let long_id = "x".repeat(1025);
    let long_tenant = "t".repeat(257);
    // (what, tenant bound, statement, SQLSTATE, constraint or message fragment)
    let cases: Vec<(&str, &str, String, &str, &str)> = vec![
        (
            "a correlation id that is a number",
            "t1",
            one(r#"{"correlation_id": 42}"#),
            "23514",
            "events_metadata_shape",
        ),
        (
            "a correlation id that is null",
            "t1",
            one(r#"{"correlation_id": null}"#),
            "23514",
            "events_metadata_shape",
        ),
        (
            "a causation id that is no uuid",
            "t1",
            one(r#"{"causation_id": "tuesday"}"#),
            "23514",
            "events_metadata_shape",
        ),
        (
            "a user id that is a number",
            "t1",
            one(r#"{"user_id": 7}"#),
            "23514",
            "events_metadata_shape",
        ),
        (
            "entries that are an array",
            "t1",
            one(r#"{"entries": []}"#),
            "23514",
            "events_metadata_shape",
        ),
        (
            "metadata that is an array",
            "t1",
            append("ARRAY['Counted']", "ARRAY[1]", "ARRAY['{}']", "ARRAY['[]']"),
            "23514",
            "events_metadata_check",
        ),
        (
            "an empty tenant id",
            "",
            one("{}"),
            "AC002",
            "bound to tenant (none)",
        ),
        (
            "a tenant id with a newline",
            "t\n1",
            one("{}"),
            "23514",
            "events_tenant_id_shape",
        ),
        (
            "a tenant id of 257 bytes",
            &long_tenant,
            one("{}"),
            "23514",
            "events_tenant_id_shape",
        ),
        (
            "an aggregate type with a newline",
            "t1",
            append_to(
                "E'Acc\\nount'",
                "'acc'",
                "NULL",
                "ARRAY['Counted']",
                "ARRAY[1]",
                "ARRAY['{}']",
                "ARRAY['{}']",
            ),
            "23514",
            "events_aggregate_type_shape",
        ),
        (
            "an empty aggregate id",
            "t1",
            append_to(
                "'Account'",
                "''",
                "NULL",
                "ARRAY['Counted']",
                "ARRAY[1]",
                "ARRAY['{}']",
                "ARRAY['{}']",
            ),
            "23514",
            "events_aggregate_id_shape",
        ),
        (
            "an aggregate id of 1025 bytes",
            "t1",
            append_to(
                "'Account'",
                &format!("'{long_id}'"),
                "NULL",
                "ARRAY['Counted']",
                "ARRAY[1]",
                "ARRAY['{}']",
                "ARRAY['{}']",
            ),
            "23514",
            "events_aggregate_id_shape",
        ),
        (
            "an empty event type",
            "t1",
            append("ARRAY['']", "ARRAY[1]", "ARRAY['{}']", "ARRAY['{}']"),
            "23514",
            "events_event_type_shape",
        ),
        (
            "an event type with a tab",
            "t1",
            append(
                "ARRAY[E'Coun\\tted']",
                "ARRAY[1]",
                "ARRAY['{}']",
                "ARRAY['{}']",
            ),
            "23514",
            "events_event_type_shape",
        ),
        (
            "empty arrays",
            "t1",
            append("ARRAY[]", "ARRAY[]", "ARRAY[]", "ARRAY[]"),
            "AC001",
            "event list: has 0 events",
        ),
        (
            "NULL arrays",
            "t1",
            append("NULL", "NULL", "NULL", "NULL"),
            "AC001",
            "event list: has 0 events",
        ),
        (
            "arrays of different lengths",
            "t1",
            append(
                "ARRAY['Counted', 'Counted']",
                "ARRAY[1, 1]",
                "ARRAY['{}']",
                "ARRAY['{}', '{}']",
            ),
            "AC001",
            "differ in length",
        ),
        (
            "schema version 0",
            "t1",
            append("ARRAY['Counted']", "ARRAY[0]", "ARRAY['{}']", "ARRAY['{}']"),
            "23514",
            "events_schema_version_check",
        ),
        (
            "a payload that is not an object",
            "t1",
            append(
                "ARRAY['Counted']",
                "ARRAY[1]",
                "ARRAY['[1]']",
                "ARRAY['{}']",
            ),
            "23514",
            "events_data_check",
        ),
        (
            "a payload 65 levels deep",
            "t1",
            append(
                "ARRAY['Counted']",
                "ARRAY[1]",
                &format!("ARRAY['{deep_payload}']"),
                "ARRAY['{}']",
            ),
            "AC001",
            "payload of event 0 nests deeper than 64 levels",
        ),
        (
            "metadata 65 levels deep",
            "t1",
            append(
                "ARRAY['Counted']",
                "ARRAY[1]",
                "ARRAY['{}']",
                &format!("ARRAY['{deep_metadata}']"),
            ),
            "AC001",
            "metadata of event 0 nests deeper than 64 levels",
        ),
        (
            "an expected version below 0",
            "t1",
            append_to(
                "'Account'",
                "'acc'",
                "-1",
                "ARRAY['Counted']",
                "ARRAY[1]",
                "ARRAY['{}']",
                "ARRAY['{}']",
            ),
            "AC001",
            "expected version: is -1",
        ),
        (
            "10,001 events",
            "t1",
            append(
                "array_fill('Counted'::text, ARRAY[10001])",
                "array_fill(1, ARRAY[10001])",
                "array_fill('{}'::jsonb, ARRAY[10001])",
                "array_fill('{}'::jsonb, ARRAY[10001])",
            ),
            "AC001",
            "has 10001 events",
        ),
        (
            "a snapshot state 65 levels deep",
            "t1",
            format!("SELECT snapshots.save('t1', 'Account', 'acc', 1, 1, '{deep_payload}', now())"),
            "AC001",
            "snapshot state 0 nests deeper than 64 levels",
        ),
    ];
    for (what, tenant, statement, code, fragment) in &cases {
        bind(&mut conn, tenant).await;
        match conn.execute(statement.as_str()).await {
            Err(sqlx::Error::Database(e)) => {
                assert_eq!(e.code().as_deref(), Some(*code), "{what}: {}", e.message());
                let said = format!("{} {}", e.constraint().unwrap_or_default(), e.message());
                assert!(said.contains(fragment), "{what}: {said}");
            }
            other => panic!("{what}: expected a refusal, got {other:?}"),
        }
    }

    // The same call, well formed, is stored: the refusals were about the input.
    bind(&mut conn, "t1").await;
    let stored = one(
        r#"{"correlation_id": "0190a5a0-0000-7000-8000-000000000001", "user_id": "u", "entries": {"k": [1]}}"#,
    );
    conn.execute(stored.as_str()).await.unwrap();
    conn.execute(
        format!(
            "SELECT snapshots.save('t1', 'Account', 'acc', 1, 1, '{}', now())",
            nested(64)
        )
        .as_str(),
    )
    .await
    .unwrap();

    let admin = db.pool_as(None, 1).await;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM event_store.events")
        .fetch_one(&admin)
        .await
        .unwrap();
    assert_eq!(count, 1, "only the well-formed event is stored");
    let commands: i64 = sqlx::query_scalar("SELECT count(*) FROM event_store.commands")
        .fetch_one(&admin)
        .await
        .unwrap();
    assert_eq!(commands, 0, "no command record without events");

    // Every reader reads what was stored.
    let log = db
        .store()
        .await
        .read_all(&ReadAll::new(TenantScope::AllTenants))
        .await
        .unwrap();
    assert!(log.events.len() <= 1);
}

/// The owner, writing past the functions, meets the same row rules as constraints.
#[tokio::test]
async fn direct_inserts_of_malformed_rows_meet_the_table_constraints() {
    let db = TestDatabase::create().await;
    let admin = db.pool_as(None, 1).await;
    let event = |tenant: &str, aggregate_type: &str, metadata: &str| {
        format!(
            "INSERT INTO event_store.events (event_id, tenant_id, aggregate_type, aggregate_id, \
             sequence, event_type, schema_version, data, metadata) VALUES (gen_random_uuid(), \
             {tenant}, {aggregate_type}, 'acc', 1, 'Counted', 1, '{{}}', '{metadata}')"
        )
    };
    for (statement, constraint) in [
        (event("''", "'Account'", "{}"), "events_tenant_id_shape"),
        (event("'t1'", "E'Acc\\nount'", "{}"), "events_aggregate_type_shape"),
        (event("'t1'", "'Account'", r#"{"correlation_id": 42}"#), "events_metadata_shape"),
        (
            "INSERT INTO event_store.commands (tenant_id, command_id, aggregate_type, aggregate_id, \
             first_sequence, last_sequence, last_transaction_id, last_position) \
             VALUES ('t1', gen_random_uuid(), 'Account', 'acc', 1, 0, '1', 1)"
                .to_owned(),
            "commands_sequences",
        ),
        (
            "INSERT INTO snapshots.aggregate_snapshots VALUES (E't\\u0085', 'Account', 'acc', 1, 1, '{}', now())"
                .to_owned(),
            "aggregate_snapshots_tenant_id_shape",
        ),
    ] {
        match admin.execute(statement.as_str()).await {
            Err(sqlx::Error::Database(e)) => {
                assert_eq!(e.code().as_deref(), Some("23514"), "{statement}: {}", e.message());
                assert_eq!(e.constraint(), Some(constraint), "{statement}");
            }
            other => panic!("{statement}: expected a check violation, got {other:?}"),
        }
    }
}
