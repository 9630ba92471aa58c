//! The tenant boundary inside PostgreSQL, tried as the application role: every table of
//! every ACCI schema and every function the role may execute, found in the catalog (so a
//! new table or function is covered without touching this file), refuses another
//! tenant's rows; no function changes the session's tenant.

use std::collections::BTreeSet;

use acci_core::{CommandId, EventStore, ExpectedVersion, Snapshot, TenantId};
use acci_tests::events::{counted, stream};
use acci_tests::pg::{APP_LOGIN, READER_LOGIN, TestDatabase};
use serde_json::json;
use sqlx::{Executor, PgConnection, Row};

/// The schemas ACCI creates; every table and function in them is tried.
const SCHEMAS: &[&str] = &[
    "event_store",
    "snapshots",
    "projections",
    "read_models",
    "read_models_rebuild",
    "read_models_retired",
];

/// Functions the application role may execute that take no tenant, and why that is safe.
const FUNCTIONS_WITHOUT_TENANT: &[(&str, &str)] = &[
    (
        "event_store.taken_event_ids",
        // Event ids are unique across tenants: the store needs to tell a taken id from
        // other failures. It answers only with ids the caller sent.
        "answers only with ids the caller sent",
    ),
    (
        "event_store.heartbeat",
        // The health check's proof that the store takes writes: one row per instance,
        // in a table of its own.
        "writes and reads no tenant's data",
    ),
    (
        "projections.log_lag",
        // The health check's lag against the log's head: a count and a time over every
        // tenant's events, nothing of their content.
        "answers only a count and a time",
    ),
];

/// Tables without a `tenant_id` column that the application role may still read.
///
/// `projections.checkpoints` holds one row per projection, not per tenant: the
/// application reads its positions (to wait for its own writes) but not `last_error`,
/// whose text may quote a tenant's event (the column grant in the baseline migration;
/// `postgres_projection.rs` shows the refusal). Every other table must refuse another
/// tenant's rows, or, without a `tenant_id` column, not be readable by the application
/// role at all.
const READABLE_WITHOUT_TENANT: &[&str] = &["projections.checkpoints"];

/// Tenant B's events, command record and snapshot, and a dead letter of B's, so that
/// every table has a row of B's to hide.
async fn seed_tenant_b(db: &TestDatabase) -> CommandId {
    let store = db.store().await;
    let b = stream("tenant-b", "acc");
    let command = CommandId::new();
    store
        .append(
            &b,
            ExpectedVersion::NoStream,
            vec![counted(1), counted(2)],
            Some(command),
        )
        .await
        .unwrap();
    store
        .save_snapshot(
            &b,
            Snapshot {
                version: 2,
                state_version: 1,
                state: json!({ "balance": 1155 }),
                taken_at: chrono::Utc::now(),
            },
        )
        .await
        .unwrap();
    let admin = db.pool_as(None, 1).await;
    admin
        .execute(
            "INSERT INTO projections.dead_letters (projection, event_id, tenant_id, aggregate_type, \
             aggregate_id, sequence, transaction_id, position, event_type, error, attempts) \
             SELECT 'balances', event_id, tenant_id, aggregate_type, aggregate_id, sequence, \
             transaction_id, position, event_type, 'boom', 1 FROM event_store.events LIMIT 1",
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

/// The SQLSTATE of a failed statement; panics if it succeeded with rows.
fn refusal(what: &str, result: Result<Vec<sqlx::postgres::PgRow>, sqlx::Error>) -> String {
    match result {
        Err(sqlx::Error::Database(db)) => db.code().unwrap_or_default().into_owned(),
        Err(other) => panic!("{what}: {other}"),
        Ok(rows) => panic!(
            "{what}: answered with {} rows instead of a refusal",
            rows.len()
        ),
    }
}

/// Every function in the ACCI schemas the application role may execute: name, and its
/// arguments as (name, type).
async fn executable_functions(db: &TestDatabase) -> Vec<(String, Vec<(String, String)>)> {
    let admin = db.pool_as(None, 1).await;
    let rows = sqlx::query(
        "SELECT n.nspname || '.' || p.proname AS name,
                coalesce(p.proargnames[1:p.pronargs], '{}') AS arg_names,
                ARRAY(SELECT format_type(t, NULL) FROM unnest(p.proargtypes::oid[]) t) AS arg_types
           FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
          WHERE n.nspname = ANY ($1)
            AND has_function_privilege($2, p.oid, 'EXECUTE')
          ORDER BY 1",
    )
    .bind(SCHEMAS)
    .bind(APP_LOGIN)
    .fetch_all(&admin)
    .await
    .unwrap();
    rows.iter()
        .map(|row| {
            let names: Vec<String> = row.get("arg_names");
            let types: Vec<String> = row.get("arg_types");
            (row.get("name"), names.into_iter().zip(types).collect())
        })
        .collect()
}

/// Every function the application role may execute, called for tenant B in a session
/// bound to tenant A, is refused with SQLSTATE `AC002` and returns no row; the forged
/// writes of the issue (`append`, `snapshots.save` for B) change nothing of B's.
#[tokio::test]
async fn every_function_refuses_another_tenant() {
    let db = TestDatabase::create().await;
    seed_tenant_b(&db).await;
    let admin = db.pool_as(None, 1).await;
    let before: (i64, String) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM event_store.events), \
                (SELECT state::text FROM snapshots.aggregate_snapshots)",
    )
    .fetch_one(&admin)
    .await
    .unwrap();

    let functions = executable_functions(&db).await;
    assert!(
        functions.len() >= 8,
        "the catalog query found the store's functions: {functions:?}"
    );
    let mut without_tenant = BTreeSet::new();
    for login in [APP_LOGIN, READER_LOGIN] {
        let mut conn = bound_to_a(&db, login).await;
        for (name, args) in &functions {
            if !args.iter().any(|(arg, _)| arg == "p_tenant") {
                without_tenant.insert(name.clone());
                continue;
            }
            // Tenant B where the function takes its tenant; every other argument NULL,
            // or a well-formed value where the function would stop at it first.
            let values: Vec<String> = args
                .iter()
                .map(|(arg, ty)| match (arg.as_str(), ty.as_str()) {
                    ("p_tenant", _) => "'tenant-b'".to_owned(),
                    ("p_aggregate_type", _) => "'Account'".to_owned(),
                    ("p_aggregate_id", _) => "'acc'".to_owned(),
                    ("p_event_ids", _) => "ARRAY[gen_random_uuid()]".to_owned(),
                    ("p_event_types", _) => "ARRAY['Forged']".to_owned(),
                    ("p_schema_versions", _) => "ARRAY[1]".to_owned(),
                    ("p_data", _) => "ARRAY['{}'::jsonb]".to_owned(),
                    ("p_metadata", _) => "ARRAY['{}'::jsonb]".to_owned(),
                    ("p_version", _) => "1".to_owned(),
                    ("p_state_version", _) => "1".to_owned(),
                    ("p_state", _) => "'{\"balance\": 999999999}'::jsonb".to_owned(),
                    ("p_taken_at", _) => "now()".to_owned(),
                    ("p_from", _) => "1".to_owned(),
                    ("p_to", _) => "1000".to_owned(),
                    ("p_after_transaction", _) => "'0'::xid8".to_owned(),
                    ("p_after_position", _) => "0".to_owned(),
                    ("p_limit", _) => "100".to_owned(),
                    (_, ty) => format!("NULL::{ty}"),
                })
                .collect();
            let call = format!("SELECT * FROM {name}({})", values.join(", "));
            let code = refusal(
                &format!("{login}: {call}"),
                sqlx::query(&call).fetch_all(&mut conn).await,
            );
            assert_eq!(code, "AC002", "{login}: {call}");
        }
        // The session's binding is what it was.
        let bound: String = sqlx::query_scalar("SELECT current_setting('acci.tenant_id')")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(bound, "tenant-a");
    }
    let expected: BTreeSet<String> = FUNCTIONS_WITHOUT_TENANT
        .iter()
        .map(|(name, _)| (*name).to_owned())
        .collect();
    assert_eq!(
        without_tenant, expected,
        "a function the application may execute takes no tenant: give it one, or say why it \
         needs none in FUNCTIONS_WITHOUT_TENANT"
    );

    let after: (i64, String) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM event_store.events), \
                (SELECT state::text FROM snapshots.aggregate_snapshots)",
    )
    .fetch_one(&admin)
    .await
    .unwrap();
    assert_eq!(
        before, after,
        "tenant B's events and snapshot are untouched"
    );

    // B's own store still loads B's true state.
    let store = db
        .store()
        .await
        .for_tenant(TenantId::new("tenant-b").unwrap());
    let snapshot = store
        .load_snapshot(&stream("tenant-b", "acc"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(snapshot.state, json!({ "balance": 1155 }));
}

/// No function of the store sets a configuration parameter; after a log read in a
/// transaction the session still sees only its own tenant's rows.
#[tokio::test]
async fn no_function_changes_the_sessions_tenant() {
    let db = TestDatabase::create().await;
    seed_tenant_b(&db).await;
    let store = db.store().await;
    store
        .append(
            &stream("tenant-a", "acc"),
            ExpectedVersion::NoStream,
            vec![counted(1)],
            None,
        )
        .await
        .unwrap();

    let admin = db.pool_as(None, 1).await;
    // Each body without its string literals: messages and hints may name set_config.
    let setters: Vec<String> = sqlx::query_scalar(
        r#"SELECT n.nspname || '.' || p.proname FROM pg_proc p
             JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = ANY ($1)
              AND regexp_replace(p.prosrc, '''([^'']|'''')*''', '', 'g')
                  ~* 'set_config|\mSET\s+(LOCAL\s+|SESSION\s+)?acci'"#,
    )
    .bind(SCHEMAS)
    .fetch_all(&admin)
    .await
    .unwrap();
    assert!(
        setters.is_empty(),
        "functions that set the tenant: {setters:?}"
    );

    for login in [APP_LOGIN, READER_LOGIN] {
        let mut conn = bound_to_a(&db, login).await;
        conn.execute("BEGIN").await.unwrap();
        let code = refusal(
            "read_log for tenant B",
            sqlx::query("SELECT * FROM event_store.read_log('tenant-b', '0', 0, 100, NULL, NULL)")
                .fetch_all(&mut conn)
                .await,
        );
        assert_eq!(code, "AC002");
        conn.execute("ROLLBACK; BEGIN").await.unwrap();
        let own: Vec<Option<String>> = sqlx::query_scalar(
            "SELECT tenant_id FROM event_store.read_log('tenant-a', '0', 0, 100, NULL, NULL)",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap();
        assert!(own.iter().flatten().all(|t| t == "tenant-a"), "{own:?}");
        let visible: i64 = sqlx::query_scalar("SELECT count(*) FROM event_store.events")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(visible, 1, "{login}: only tenant A's row after read_log");
        conn.execute("COMMIT").await.unwrap();

        // Every tenant: the application role is refused for its role, the reader until
        // it sets the switch itself.
        let all = "SELECT * FROM event_store.read_log(NULL, '0', 0, 100, NULL, NULL)";
        let code = refusal(all, sqlx::query(all).fetch_all(&mut conn).await);
        let expected = if login == APP_LOGIN { "42501" } else { "AC002" };
        assert_eq!(code, expected, "{login}: {all}");
    }
}

/// Every table of every ACCI schema, as the application role bound to tenant A:
/// another tenant's rows cannot be read, inserted, updated or deleted.
#[tokio::test]
async fn every_table_refuses_another_tenants_rows() {
    let db = TestDatabase::create().await;
    seed_tenant_b(&db).await;
    let admin = db.pool_as(None, 1).await;
    let tables: Vec<(String, bool)> = sqlx::query_as(
        "SELECT format('%I.%I', n.nspname, c.relname), \
                EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid \
                         AND a.attname = 'tenant_id' AND NOT a.attisdropped) \
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
          WHERE n.nspname = ANY ($1) AND c.relkind IN ('r', 'p') ORDER BY 1",
    )
    .bind(SCHEMAS)
    .fetch_all(&admin)
    .await
    .unwrap();
    assert!(
        tables.iter().any(|(t, _)| t == "event_store.events"),
        "{tables:?}"
    );

    let mut conn = bound_to_a(&db, APP_LOGIN).await;
    for (table, has_tenant) in &tables {
        if READABLE_WITHOUT_TENANT.contains(&table.as_str()) {
            continue;
        }
        if !has_tenant {
            // Bookkeeping without tenants (the migration records): not the
            // application's to read or write at all.
            let rights: bool = sqlx::query_scalar(
                "SELECT has_table_privilege($1, $2, 'SELECT, INSERT, UPDATE, DELETE')",
            )
            .bind(APP_LOGIN)
            .bind(table)
            .fetch_one(&admin)
            .await
            .unwrap();
            assert!(
                !rights,
                "{table} has no tenant_id, yet the application may use it"
            );
            continue;
        }
        let stored: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM {table} WHERE tenant_id = 'tenant-b'"
        ))
        .fetch_one(&admin)
        .await
        .unwrap();
        let seen = sqlx::query_scalar::<_, i64>(&format!(
            "SELECT count(*) FROM {table} WHERE tenant_id = 'tenant-b'"
        ))
        .fetch_one(&mut conn)
        .await;
        match seen {
            Ok(seen) => assert_eq!(seen, 0, "{table}: tenant B's rows are visible"),
            Err(sqlx::Error::Database(e)) => assert_eq!(e.code().as_deref(), Some("42501")),
            Err(other) => panic!("{table}: {other}"),
        }
        for write in [
            format!("INSERT INTO {table} (tenant_id) VALUES ('tenant-b')"),
            format!("UPDATE {table} SET tenant_id = tenant_id WHERE tenant_id = 'tenant-b'"),
            format!("DELETE FROM {table} WHERE tenant_id = 'tenant-b'"),
        ] {
            match conn.execute(write.as_str()).await {
                Err(sqlx::Error::Database(e)) => {
                    assert_eq!(
                        e.code().as_deref(),
                        Some("42501"),
                        "{write}: {}",
                        e.message()
                    )
                }
                Ok(done) => assert_eq!(done.rows_affected(), 0, "{write}"),
                Err(other) => panic!("{write}: {other}"),
            }
        }
        let still: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM {table} WHERE tenant_id = 'tenant-b'"
        ))
        .fetch_one(&admin)
        .await
        .unwrap();
        assert_eq!(stored, still, "{table}: tenant B's rows changed");
    }
}
