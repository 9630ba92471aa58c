//! `migrate()` between releases: a function whose text changed is applied again, one
//! whose signature changed replaces the old one, an unchanged one is left alone; the
//! index diet (migration 2) on a database of the baseline release; and migrating is a
//! `Send` future.

use std::future::Future;
use std::pin::Pin;

use acci_core::{EventStore, ExpectedVersion, Snapshot};
use acci_postgres::{FUNCTIONS, MIGRATIONS, PgEventStore, SqlFunction};
use acci_tests::events::{counted, stream};
use acci_tests::pg::TestDatabase;
use serde_json::json;

/// The store's functions and one more, as a release would ship them.
fn release(extra: SqlFunction) -> Vec<SqlFunction> {
    let mut functions = FUNCTIONS.to_vec();
    functions.push(extra);
    functions
}

/// The `pg_proc` rows called `public.release_note`: signature, result, and the
/// transaction that last wrote the row (it changes whenever the function is replaced).
async fn release_notes(store: &PgEventStore) -> Vec<(String, String, String)> {
    sqlx::query_as(
        "SELECT p.oid::regprocedure::text, pg_get_function_result(p.oid), p.xmin::text \
         FROM pg_proc p WHERE p.proname = 'release_note' ORDER BY p.oid",
    )
    .fetch_all(store.pool())
    .await
    .unwrap()
}

async fn checksum_of(store: &PgEventStore, name: &str) -> String {
    sqlx::query_scalar("SELECT checksum FROM event_store.schema_functions WHERE name = $1")
        .bind(name)
        .fetch_one(store.pool())
        .await
        .unwrap()
}

const NOTE_ONE: SqlFunction = SqlFunction {
    name: "public.release_note",
    sql: "CREATE OR REPLACE FUNCTION public.release_note() RETURNS text LANGUAGE sql AS $$ SELECT 'one' $$;
          REVOKE ALL ON FUNCTION public.release_note() FROM PUBLIC;
          GRANT EXECUTE ON FUNCTION public.release_note() TO acci_app;",
};

const NOTE_TWO: SqlFunction = SqlFunction {
    name: "public.release_note",
    sql: "CREATE OR REPLACE FUNCTION public.release_note() RETURNS text LANGUAGE sql AS $$ SELECT 'two' $$;
          REVOKE ALL ON FUNCTION public.release_note() FROM PUBLIC;
          GRANT EXECUTE ON FUNCTION public.release_note() TO acci_app;",
};

#[tokio::test]
async fn a_changed_function_is_applied_again_and_an_unchanged_one_is_not() {
    let db = TestDatabase::create_empty().await;
    let store = PgEventStore::from_pool(db.pool_as(None, 1).await);

    store
        .migrate_with(MIGRATIONS, &release(NOTE_ONE))
        .await
        .unwrap();
    let note: String = sqlx::query_scalar("SELECT public.release_note()")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(note, "one");
    let first = release_notes(&store).await;
    let append_first = checksum_of(&store, "event_store.append").await;
    let note_first = checksum_of(&store, "public.release_note").await;

    // The same release again: nothing is applied.
    store
        .migrate_with(MIGRATIONS, &release(NOTE_ONE))
        .await
        .unwrap();
    assert_eq!(
        release_notes(&store).await,
        first,
        "an unchanged function is left alone"
    );

    // The next release changes the body.
    store
        .migrate_with(MIGRATIONS, &release(NOTE_TWO))
        .await
        .unwrap();
    let note: String = sqlx::query_scalar("SELECT public.release_note()")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(note, "two");
    let second = release_notes(&store).await;
    assert_eq!(second.len(), 1);
    assert_eq!(
        second[0].0, first[0].0,
        "replaced in place: the same signature"
    );
    assert_ne!(second[0].2, first[0].2, "the pg_proc row was written again");
    assert_ne!(checksum_of(&store, "public.release_note").await, note_first);
    assert_eq!(
        checksum_of(&store, "event_store.append").await,
        append_first,
        "the store's own functions did not change"
    );
    let privileged: bool = sqlx::query_scalar(
        "SELECT has_function_privilege('acci_app', 'public.release_note()', 'EXECUTE') \
         AND NOT has_function_privilege('public', 'public.release_note()', 'EXECUTE')",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert!(privileged, "the file's rights hold");

    // The store's own set, as migrate() applies it, is recorded by name.
    let mut recorded: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM event_store.schema_functions WHERE name <> 'public.release_note'",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    recorded.sort();
    let mut expected: Vec<String> = FUNCTIONS.iter().map(|f| f.name.to_owned()).collect();
    expected.sort();
    assert_eq!(recorded, expected);
}

#[tokio::test]
async fn a_function_whose_signature_changed_replaces_the_old_one() {
    let db = TestDatabase::create_empty().await;
    let store = PgEventStore::from_pool(db.pool_as(None, 1).await);
    let by_integer = SqlFunction {
        name: "public.release_note",
        sql: "CREATE OR REPLACE FUNCTION public.release_note(p integer) RETURNS integer LANGUAGE sql AS $$ SELECT p + 1 $$;
              REVOKE ALL ON FUNCTION public.release_note(integer) FROM PUBLIC;
              GRANT EXECUTE ON FUNCTION public.release_note(integer) TO acci_app;",
    };
    // Another argument type: CREATE OR REPLACE would leave the old function beside it.
    let by_text = SqlFunction {
        name: "public.release_note",
        sql: "CREATE OR REPLACE FUNCTION public.release_note(p text) RETURNS text LANGUAGE sql AS $$ SELECT p || '!' $$;
              REVOKE ALL ON FUNCTION public.release_note(text) FROM PUBLIC;
              GRANT EXECUTE ON FUNCTION public.release_note(text) TO acci_app;",
    };
    // Another return type for the same arguments: CREATE OR REPLACE refuses it.
    let by_text_as_table = SqlFunction {
        name: "public.release_note",
        sql: "CREATE OR REPLACE FUNCTION public.release_note(p text) RETURNS TABLE (note text, length integer)
                  LANGUAGE sql AS $$ SELECT p, length(p) $$;
              REVOKE ALL ON FUNCTION public.release_note(text) FROM PUBLIC;
              GRANT EXECUTE ON FUNCTION public.release_note(text) TO acci_app;",
    };

    store
        .migrate_with(MIGRATIONS, &release(by_integer))
        .await
        .unwrap();
    let n: i32 = sqlx::query_scalar("SELECT public.release_note(41)")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(n, 42);

    store
        .migrate_with(MIGRATIONS, &release(by_text))
        .await
        .unwrap();
    let notes = release_notes(&store).await;
    assert_eq!(notes.len(), 1, "the old function is gone: {notes:?}");
    assert_eq!(notes[0].0, "release_note(text)");
    let note: String = sqlx::query_scalar("SELECT public.release_note('two')")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(note, "two!");

    store
        .migrate_with(MIGRATIONS, &release(by_text_as_table))
        .await
        .unwrap();
    let notes = release_notes(&store).await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0].1, "TABLE(note text, length integer)");
    let (note, length): (String, i32) =
        sqlx::query_as("SELECT note, length FROM public.release_note('three')")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!((note.as_str(), length), ("three", 5));
    let privileged: bool = sqlx::query_scalar(
        "SELECT has_function_privilege('acci_app', 'public.release_note(text)', 'EXECUTE')",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert!(privileged, "the new function has the file's rights");
}

/// A function the database cannot create fails the whole migration: nothing of it stays.
#[tokio::test]
async fn a_function_that_fails_rolls_the_migration_back() {
    let db = TestDatabase::create_empty().await;
    let store = PgEventStore::from_pool(db.pool_as(None, 1).await);
    let broken = SqlFunction {
        name: "public.release_note",
        sql: "CREATE OR REPLACE FUNCTION public.release_note() RETURNS text LANGUAGE sql AS $$ SELECT no_such_column $$;",
    };
    let error = store
        .migrate_with(MIGRATIONS, &release(broken))
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("applying function public.release_note"),
        "{error}"
    );
    let migrated: bool = sqlx::query_scalar("SELECT to_regclass('event_store.events') IS NOT NULL")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert!(!migrated, "the baseline was rolled back with it");
}

/// The functions the baseline release shipped and a later one replaced by statements.
const RELEASED: &[SqlFunction] = &[
    SqlFunction {
        name: "event_store.load_stream",
        sql: include_str!("../fixtures/released/event_store.load_stream.sql"),
    },
    SqlFunction {
        name: "event_store.load_aggregate",
        sql: include_str!("../fixtures/released/event_store.load_aggregate.sql"),
    },
];

/// A database as the baseline release left it (migration 1, its functions, some events
/// and a snapshot) takes migration 2: the released load functions and their records are
/// gone, the events table keeps exactly the four indexes of the diet, the event id is its
/// replica identity, and every event and snapshot loads as before.
#[tokio::test]
async fn the_index_diet_applies_to_a_database_of_the_baseline_release() {
    let db = TestDatabase::create_empty().await;
    let owner = PgEventStore::from_pool(db.pool_as(None, 1).await);
    let mut baseline = FUNCTIONS.to_vec();
    baseline.extend_from_slice(RELEASED);
    owner
        .migrate_with(&MIGRATIONS[..1], &baseline)
        .await
        .unwrap();
    let s = stream("tenant-a", "acc");
    owner
        .append(
            &s,
            ExpectedVersion::NoStream,
            (1..=30).map(counted).collect(),
            None,
        )
        .await
        .unwrap();
    let snapshot = Snapshot {
        version: 20,
        state_version: 7,
        state: json!({ "balance": 20 }),
        taken_at: chrono::Utc::now(),
    };
    owner.save_snapshot(&s, snapshot.clone()).await.unwrap();
    let released_load: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_catalog.set_config('acci.tenant_id', 'tenant-a', true) AS t(tenant) \
         CROSS JOIN LATERAL event_store.load_aggregate(t.tenant, 'Account', 'acc', 7)",
    )
    .fetch_one(owner.pool())
    .await
    .unwrap();
    assert_eq!(
        released_load, 11,
        "the baseline release's load: snapshot and 10 events"
    );

    owner.migrate().await.unwrap();

    let functions: Vec<String> = sqlx::query_scalar(
        "SELECT p.proname::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
          WHERE n.nspname = 'event_store' AND p.proname IN ('load_aggregate', 'load_stream')",
    )
    .fetch_all(owner.pool())
    .await
    .unwrap();
    assert!(functions.is_empty(), "{functions:?}");
    let recorded: Vec<String> =
        sqlx::query_scalar("SELECT name FROM event_store.schema_functions ORDER BY name")
            .fetch_all(owner.pool())
            .await
            .unwrap();
    let mut listed: Vec<String> = FUNCTIONS.iter().map(|f| f.name.to_owned()).collect();
    listed.sort();
    assert_eq!(
        recorded, listed,
        "a record for each listed function, no other"
    );
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT indexname::text FROM pg_indexes \
          WHERE schemaname = 'event_store' AND tablename = 'events' ORDER BY 1",
    )
    .fetch_all(owner.pool())
    .await
    .unwrap();
    assert_eq!(
        indexes,
        [
            "events_event_id_key",
            "events_log_idx",
            "events_stream_sequence_key",
            "events_tenant_log_idx"
        ]
    );
    let identity: String = sqlx::query_scalar(
        "SELECT i.indexrelid::regclass::text FROM pg_index i \
          WHERE i.indrelid = 'event_store.events'::regclass AND i.indisreplident",
    )
    .fetch_one(owner.pool())
    .await
    .unwrap();
    assert_eq!(identity, "event_store.events_event_id_key");

    let load = owner.load_aggregate(&s, Some(7)).await.unwrap();
    assert_eq!(load.snapshot.map(|s| s.state), Some(snapshot.state));
    let sequences: Vec<u64> = load.events.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, (21..=30).collect::<Vec<_>>());
    assert_eq!(owner.load(&s, 1).await.unwrap().len(), 30);
    // Appends go on, positions still unique and increasing.
    owner
        .append(&s, ExpectedVersion::Exactly(30), vec![counted(31)], None)
        .await
        .unwrap();
    let positions: Vec<u64> = owner
        .load(&s, 1)
        .await
        .unwrap()
        .iter()
        .map(|e| e.position.position)
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    // Migrating again finds nothing to do.
    owner.migrate().await.unwrap();
}

#[tokio::test]
async fn migrate_runs_inside_a_spawned_task() {
    let db = TestDatabase::create_empty().await;
    let store = PgEventStore::from_pool(db.pool_as(None, 1).await);
    let spawned = tokio::spawn(async move { store.migrate().await });
    spawned.await.unwrap().unwrap();
}

/// Every public async fn of the store's setup returns a `Send` future (compiling is the
/// test).
#[allow(dead_code)]
fn setup_futures_are_send(store: &PgEventStore) {
    fn boxed<'a, T>(future: Pin<Box<dyn Future<Output = T> + Send + 'a>>) {
        drop(future);
    }
    boxed(Box::pin(store.migrate()));
    boxed(Box::pin(store.migrate_with(MIGRATIONS, FUNCTIONS)));
    boxed(Box::pin(store.log_horizon_holder()));
    boxed(Box::pin(PgEventStore::connect("postgres://localhost/x")));
}
