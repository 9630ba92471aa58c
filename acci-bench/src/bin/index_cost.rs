//! What each index of `event_store.events` costs an append, and which of the store's
//! reads use it.
//!
//! ```text
//! cargo run --release -p acci-bench --bin index-cost [-- --appends N --batches N --inserts N --rounds N]
//! ```
//!
//! On a scratch database of its own (on the server of `DATABASE_URL`), with the five
//! indexes of the baseline migration (it builds them itself, whatever the migrations
//! left), the program:
//!
//! 1. times, in each of `--rounds` rounds (9 unless told), for every index and without
//!    each one (six configurations, in another order each round), each on a table seeded
//!    afresh with 200,000 events of 10 tenants and its indexes built after the rows:
//!    `--appends` one-event appends (300) and `--batches` appends of 100 events (30)
//!    through [`PgEventStore`] as the application role, each to one of 200 streams in
//!    turn with the version it expects, and `--inserts` plain multi-row `INSERT`s of 100
//!    events (30) as the owner, which is what the indexes cost without the function
//!    around them. The connections run with `synchronous_commit = off`: the commit's WAL flush is the same
//!    for every set of indexes and varies more than an index costs. The table gives the
//!    medians, what dropping each index saves per call, and each index's bytes per event;
//! 2. takes a census of the readers: each of the store's reads (the statements under
//!    `sql/store/` and `sql/projection/` that read events, and the SQL functions behind
//!    the store's calls), run once against the seeded table, with the indexes it scanned
//!    (`pg_stat_user_indexes`, flushed after each read) and whether it read the events
//!    table whole (`seq_scan`): once with all five indexes, once with the indexes the
//!    migrations leave.
//!
//! Its figures are in `docs/performance.md` ("The index diet").

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use acci_bench::Error;
use acci_bench::setup::BenchDatabase;
use acci_core::{
    AggregateId, CommandId, EventId, EventStore, ExpectedVersion, Metadata, NewEvent, ReadAll,
    StreamId, TenantId, TenantScope,
};
use acci_postgres::{DEFAULT_DATABASE_URL, PgEventStore};
use serde_json::json;
use sqlx::{Executor, PgPool};

/// One index of the events table as the baseline migration creates it.
struct Index {
    name: &'static str,
    drop: &'static str,
    create: &'static str,
}

const INDEXES: &[Index] = &[
    Index {
        name: "events_pkey",
        drop: "ALTER TABLE event_store.events DROP CONSTRAINT IF EXISTS events_pkey",
        create: "ALTER TABLE event_store.events ADD CONSTRAINT events_pkey PRIMARY KEY (position)",
    },
    Index {
        name: "events_event_id_key",
        drop: "ALTER TABLE event_store.events DROP CONSTRAINT IF EXISTS events_event_id_key",
        create: "ALTER TABLE event_store.events ADD CONSTRAINT events_event_id_key UNIQUE (event_id)",
    },
    Index {
        name: "events_stream_sequence_key",
        drop: "ALTER TABLE event_store.events DROP CONSTRAINT IF EXISTS events_stream_sequence_key",
        create: "ALTER TABLE event_store.events ADD CONSTRAINT events_stream_sequence_key \
                 UNIQUE (tenant_id, aggregate_type, aggregate_id, sequence)",
    },
    Index {
        name: "events_log_idx",
        drop: "DROP INDEX IF EXISTS event_store.events_log_idx",
        create: "CREATE INDEX events_log_idx ON event_store.events (transaction_id, position)",
    },
    Index {
        name: "events_tenant_log_idx",
        drop: "DROP INDEX IF EXISTS event_store.events_tenant_log_idx",
        create: "CREATE INDEX events_tenant_log_idx ON event_store.events \
                 (tenant_id, transaction_id, position)",
    },
];

/// The table the appends go into: this many events, of [`TENANTS`] tenants.
const SEED_EVENTS: i64 = 200_000;
const TENANTS: i64 = 10;
/// Streams the measured appends take turns on.
const STREAMS: usize = 200;
const BATCH: usize = 100;
/// An event id as `EventId::new` makes it, for rows written by SQL: time-ordered like a
/// UUIDv7 (milliseconds since the epoch, then random bits), so that the event id index
/// takes them as it takes the store's.
const UUID_V7: &str = "(lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') \
     || substr(md5(random()::text), 1, 20))::uuid";

struct Options {
    appends: usize,
    batches: usize,
    inserts: usize,
    rounds: usize,
}

fn options() -> Result<Options, Error> {
    let mut options = Options {
        appends: 300,
        batches: 30,
        inserts: 30,
        rounds: 9,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args
            .next()
            .ok_or_else(|| format!("{arg} needs a value"))?
            .parse::<usize>()
            .map_err(|e| format!("{arg}: {e}"))?;
        match arg.as_str() {
            "--appends" => options.appends = value.max(1),
            "--batches" => options.batches = value.max(1),
            "--inserts" => options.inserts = value.max(1),
            "--rounds" => options.rounds = value.max(1),
            other => {
                return Err(format!(
                    "unknown option `{other}`; expected --appends, --batches, --inserts, --rounds"
                )
                .into());
            }
        }
    }
    Ok(options)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Error> {
    let options = options()?;
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned());
    let database = BenchDatabase::create(&url).await?;
    let outcome = run(&database, &options).await;
    database.drop().await?;
    outcome
}

async fn run(database: &BenchDatabase, options: &Options) -> Result<(), Error> {
    let owner = database.owner_pool(1).await?;
    let shipped = existing_indexes(&owner).await?;
    let app = database.app_pool(1).await?;
    // The commit's WAL flush is the same with any set of indexes and varies more than
    // an index costs; without waiting for it, the figures are the work that differs.
    // (Session settings of the pools' one connection each, nobody else's.)
    for pool in [&app, &owner] {
        pool.execute("SET synchronous_commit = off").await?;
    }
    let store = PgEventStore::from_pool(app.clone());

    // Which index is dropped (None: none) -> per round, µs per call.
    let configs: Vec<Option<&Index>> = std::iter::once(None)
        .chain(INDEXES.iter().map(Some))
        .collect();
    let mut singles: BTreeMap<Option<&str>, Vec<f64>> = BTreeMap::new();
    let mut batches: BTreeMap<Option<&str>, Vec<f64>> = BTreeMap::new();
    let mut inserts: BTreeMap<Option<&str>, Vec<InsertWork>> = BTreeMap::new();
    let mut sizes: BTreeMap<&str, f64> = BTreeMap::new();
    for round in 0..options.rounds {
        // Each round in another order, so that a change in the machine's load does not
        // fall on one configuration.
        for turn in 0..configs.len() {
            let dropped = configs[(turn + round) % configs.len()];
            // The same rows and freshly built indexes for every configuration, so that
            // they differ in the one index only.
            build(&owner, dropped.map(|index| index.name)).await?;
            let name = dropped.map(|index| index.name);
            let streams: Vec<StreamId> = (0..STREAMS)
                .map(|i| {
                    stream(
                        &format!("tenant-{}", i % TENANTS as usize),
                        &format!("m{round}-{turn}-{i}"),
                    )
                })
                .collect::<Result<_, _>>()?;
            let mut versions = vec![0u64; STREAMS];
            let single = timed(&store, &streams, &mut versions, options.appends, 1).await?;
            let batch = timed(&store, &streams, &mut versions, options.batches, BATCH).await?;
            let insert =
                plain_inserts(&owner, options.inserts, &format!("p{round}-{turn}")).await?;
            singles
                .entry(name)
                .or_default()
                .push(per_call(single, options.appends));
            batches
                .entry(name)
                .or_default()
                .push(per_call(batch, options.batches));
            inserts.entry(name).or_default().push(insert);
            if dropped.is_none() && round == 0 {
                for (index, bytes) in index_sizes(&owner).await? {
                    if let Some(index) = INDEXES.iter().find(|i| i.name == index) {
                        sizes.insert(index.name, bytes);
                    }
                }
            }
        }
        eprintln!("round {} of {} done", round + 1, options.rounds);
    }

    println!(
        "\ninto {SEED_EVENTS} events, synchronous_commit off, medians of {} rounds; per round {} \
         one-event appends and {} appends of {BATCH} (event_store.append as the application role, \
         µs per call as the client sees it), {} plain INSERTs of {BATCH} rows as the owner (the \
         server's execution time in µs, WAL bytes and shared buffers per event)\n",
        options.rounds, options.appends, options.batches, options.inserts
    );
    println!(
        "{:<28} {:>8} {:>7} {:>10} {:>7} {:>8} {:>7} {:>8} {:>7} {:>8} {:>7} {:>8}",
        "without",
        "1-event",
        "saves",
        "100-event",
        "saves",
        "INSERT",
        "saves",
        "WAL B",
        "saves",
        "buffers",
        "saves",
        "size B"
    );
    let all = |figures: &BTreeMap<Option<&str>, Vec<f64>>| median(&figures[&None]);
    let work = |name: Option<&str>, f: fn(&InsertWork) -> f64| {
        median(&inserts[&name].iter().map(f).collect::<Vec<_>>())
    };
    let per_event = BATCH as f64;
    let insert_us = |w: &InsertWork| w.millis * 1000.0;
    let wal = |w: &InsertWork| w.wal_bytes;
    let buffers = |w: &InsertWork| w.buffers;
    println!(
        "{:<28} {:>8.0} {:>7} {:>10.0} {:>7} {:>8.0} {:>7} {:>8.0} {:>7} {:>8.2} {:>7} {:>8}",
        "(nothing: every index)",
        all(&singles),
        "-",
        all(&batches),
        "-",
        work(None, insert_us),
        "-",
        work(None, wal) / per_event,
        "-",
        work(None, buffers) / per_event,
        "-",
        "-"
    );
    for index in INDEXES {
        let key = Some(index.name);
        let (single, batch) = (median(&singles[&key]), median(&batches[&key]));
        println!(
            "{:<28} {:>8.0} {:>7.0} {:>10.0} {:>7.0} {:>8.0} {:>7.0} {:>8.0} {:>7.0} {:>8.2} {:>7.2} {:>8.1}",
            index.name,
            single,
            all(&singles) - single,
            batch,
            all(&batches) - batch,
            work(key, insert_us),
            work(None, insert_us) - work(key, insert_us),
            work(key, wal) / per_event,
            (work(None, wal) - work(key, wal)) / per_event,
            work(key, buffers) / per_event,
            (work(None, buffers) - work(key, buffers)) / per_event,
            sizes.get(index.name).copied().unwrap_or(f64::NAN),
        );
    }
    let records = work(None, |w| w.wal_records) / per_event;
    println!("\n(every index: {records:.1} WAL records per event inserted)");

    println!("\nreaders, with every index:\n");
    build(&owner, None).await?;
    census(database, &owner).await?;
    println!(
        "\nreaders, with the indexes the migrations leave ({}):\n",
        shipped.join(", ")
    );
    build(&owner, None).await?;
    for index in INDEXES {
        if !shipped.iter().any(|name| name == index.name) {
            owner.execute(index.drop).await?;
        }
    }
    census(database, &owner).await?;
    Ok(())
}

fn per_call(took: Duration, calls: usize) -> f64 {
    took.as_secs_f64() * 1e6 / calls as f64
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

async fn existing_indexes(owner: &PgPool) -> Result<Vec<String>, Error> {
    Ok(sqlx::query_scalar(
        "SELECT indexname::text FROM pg_indexes \
          WHERE schemaname = 'event_store' AND tablename = 'events' ORDER BY 1",
    )
    .fetch_all(owner)
    .await?)
}

/// Bytes per event of each index of the events table.
async fn index_sizes(owner: &PgPool) -> Result<Vec<(String, f64)>, Error> {
    Ok(sqlx::query_as(
        "SELECT i.indexrelname::text, \
                pg_relation_size(i.indexrelid)::float8 / greatest(1, (SELECT count(*) FROM event_store.events)) \
           FROM pg_stat_user_indexes i \
          WHERE i.schemaname = 'event_store' AND i.relname = 'events'",
    )
    .fetch_all(owner)
    .await?)
}

/// The seeded table with every index but `without`, each built afresh after the rows.
async fn build(owner: &PgPool, without: Option<&str>) -> Result<(), Error> {
    for index in INDEXES {
        owner.execute(index.drop).await?;
    }
    seed(owner).await?;
    for index in INDEXES.iter().filter(|index| Some(index.name) != without) {
        owner.execute(index.create).await?;
    }
    owner.execute("ANALYZE event_store.events").await?;
    Ok(())
}

/// An empty store, then [`SEED_EVENTS`] events of [`TENANTS`] tenants in streams of 200,
/// interleaved as concurrent writers leave them; analyzed.
async fn seed(owner: &PgPool) -> Result<(), Error> {
    owner
        .execute(
            "TRUNCATE event_store.events, event_store.commands, snapshots.aggregate_snapshots, \
             projections.dead_letters",
        )
        .await?;
    sqlx::query(&format!(
        "INSERT INTO event_store.events (event_id, tenant_id, aggregate_type, aggregate_id, sequence, \
                                         event_type, schema_version, data, metadata) \
         SELECT {UUID_V7}, 'tenant-' || (g % $2), 'Account', 'seed-' || (g % ($1 / 200)), \
                g / ($1 / 200) + 1, 'Deposited', 1, jsonb_build_object('amount', g), '{{}}' \
           FROM generate_series(0, $1 - 1) g"
    ))
    .bind(SEED_EVENTS)
    .bind(TENANTS)
    .execute(owner)
    .await?;
    owner.execute("ANALYZE event_store.events").await?;
    Ok(())
}

fn stream(tenant: &str, id: &str) -> Result<StreamId, Error> {
    Ok(StreamId::new(
        TenantId::new(tenant)?,
        "Account",
        AggregateId::new(id)?,
    )?)
}

fn deposits(count: usize) -> Vec<NewEvent> {
    (0..count)
        .map(|i| NewEvent {
            event_id: EventId::new(),
            event_type: "Deposited".into(),
            schema_version: 1,
            payload: json!({ "amount": i + 1 }),
            metadata: Metadata::default(),
        })
        .collect()
}

/// What a plain multi-row INSERT did, by the server's own account (`EXPLAIN (ANALYZE,
/// BUFFERS, WAL)`): the other sessions on a shared machine do not enter these figures,
/// except the execution time, through the CPU they take.
#[derive(Default, Clone, Copy)]
struct InsertWork {
    /// Milliseconds of execution on the server.
    millis: f64,
    wal_bytes: f64,
    wal_records: f64,
    /// Shared buffers hit, read or dirtied.
    buffers: f64,
}

/// `count` plain multi-row INSERTs of [`BATCH`] events into streams `id`-n, as the owner:
/// what the indexes cost without the function around them; the medians per INSERT.
async fn plain_inserts(owner: &PgPool, count: usize, id: &str) -> Result<InsertWork, Error> {
    let mut work = Vec::with_capacity(count);
    for n in 0..count {
        let plan: serde_json::Value = sqlx::query_scalar(&format!(
            "EXPLAIN (ANALYZE, BUFFERS, WAL, FORMAT JSON) \
             INSERT INTO event_store.events (event_id, tenant_id, aggregate_type, aggregate_id, \
                                             sequence, event_type, schema_version, data, metadata) \
             SELECT {UUID_V7}, 'tenant-0', 'Account', $1, g, 'Deposited', 1, \
                    jsonb_build_object('amount', g), '{{}}' \
               FROM generate_series(1, $2) g"
        ))
        .bind(format!("{id}-{n}"))
        .bind(BATCH as i64)
        .fetch_one(owner)
        .await?;
        let top = &plan[0];
        let node = &top["Plan"];
        let number = |value: &serde_json::Value| value.as_f64().unwrap_or(0.0);
        work.push(InsertWork {
            millis: number(&top["Execution Time"]),
            wal_bytes: number(&node["WAL Bytes"]),
            wal_records: number(&node["WAL Records"]),
            buffers: number(&node["Shared Hit Blocks"])
                + number(&node["Shared Read Blocks"])
                + number(&node["Shared Dirtied Blocks"]),
        });
    }
    let pick = |f: fn(&InsertWork) -> f64| median(&work.iter().map(f).collect::<Vec<_>>());
    Ok(InsertWork {
        millis: pick(|w| w.millis),
        wal_bytes: pick(|w| w.wal_bytes),
        wal_records: pick(|w| w.wal_records),
        buffers: pick(|w| w.buffers),
    })
}

/// `count` appends of `size` events, to the streams in turn; the time spent in them.
async fn timed(
    store: &PgEventStore,
    streams: &[StreamId],
    versions: &mut [u64],
    count: usize,
    size: usize,
) -> Result<Duration, Error> {
    let mut took = Duration::ZERO;
    for i in 0..count {
        let which = i % streams.len();
        let expected = match versions[which] {
            0 => ExpectedVersion::NoStream,
            v => ExpectedVersion::Exactly(v),
        };
        let events = deposits(size);
        let started = Instant::now();
        store
            .append(&streams[which], expected, events, None)
            .await?;
        took += started.elapsed();
        versions[which] += size as u64;
    }
    Ok(took)
}

/// The scan counters: each index's `idx_scan`, and the events table's `seq_scan`.
async fn scans(owner: &PgPool) -> Result<BTreeMap<String, i64>, Error> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT indexrelname::text, idx_scan FROM pg_stat_user_indexes \
          WHERE schemaname IN ('event_store', 'snapshots', 'projections') \
         UNION ALL \
         SELECT '(seq scan of events)', seq_scan FROM pg_stat_user_tables \
          WHERE schemaname = 'event_store' AND relname = 'events'",
    )
    .fetch_all(owner)
    .await?;
    Ok(rows.into_iter().collect())
}

/// Runs each read once and prints what it scanned.
async fn census(database: &BenchDatabase, owner: &PgPool) -> Result<(), Error> {
    // One connection each, so that the flush after a read is that read's backend's.
    let app = database.app_pool(1).await?;
    let store = PgEventStore::from_pool(app.clone());
    let runner = PgEventStore::from_pool(database.owner_pool(1).await?);
    let a = stream("tenant-3", "seed-3")?;
    let command = CommandId::new();
    store
        .append(
            &stream("tenant-3", "census")?,
            ExpectedVersion::NoStream,
            deposits(1),
            Some(command),
        )
        .await?;
    let taken = sqlx::query_scalar::<_, uuid::Uuid>(
        "SELECT event_id FROM event_store.events WHERE tenant_id = 'tenant-3' LIMIT 1",
    )
    .fetch_one(owner)
    .await?;

    let mut before = scans(owner).await?;
    let flush = |pool: PgPool| async move {
        pool.execute("SELECT pg_stat_force_next_flush()")
            .await
            .map(drop)
    };
    flush(app.clone()).await?;
    flush(runner.pool().clone()).await?;

    macro_rules! read {
        ($what:expr, $pool:expr, $call:expr) => {{
            $call;
            flush($pool.clone()).await?;
            let after = scans(owner).await?;
            let used: Vec<String> = after
                .iter()
                .filter(|(name, count)| before.get(*name).is_none_or(|b| *count > b))
                .map(|(name, _)| name.clone())
                .collect();
            println!(
                "{:<64} {}",
                $what,
                if used.is_empty() {
                    "-".to_owned()
                } else {
                    used.join(", ")
                }
            );
            #[allow(unused_assignments)]
            {
                before = after;
            }
        }};
    }

    read!("append, one event (event_store.append)", app, {
        store
            .append(&a, ExpectedVersion::Exactly(200), deposits(1), None)
            .await?;
    });
    read!("append, a repeated command id (find_command)", app, {
        store
            .append(
                &stream("tenant-3", "census")?,
                ExpectedVersion::Any,
                deposits(1),
                Some(command),
            )
            .await?;
    });
    read!("append, a taken event id (taken_event_ids)", app, {
        let mut events = deposits(1);
        events[0].event_id = EventId::from(taken);
        let refused = store.append(&a, ExpectedVersion::Any, events, None).await;
        assert!(refused.is_err(), "a taken event id is refused");
    });
    read!("load a stream (load_stream.sql)", app, {
        store.load(&a, 1).await?;
    });
    read!("load an aggregate (load_aggregate.sql)", app, {
        store.load_aggregate(&a, Some(1)).await?;
    });
    read!("stream version (stream_version.sql)", app, {
        sqlx::query(include_str!(
            "../../../acci-postgres/sql/store/stream_version.sql"
        ))
        .bind(a.tenant.as_str())
        .bind(&*a.aggregate_type)
        .bind(a.aggregate_id.as_str())
        .fetch_all(&app)
        .await?;
    });
    read!("find a command (find_command.sql)", app, {
        store.find_command(&a.tenant, command).await?;
    });
    read!("load a snapshot (load_snapshot.sql)", app, {
        store.load_snapshot(&a).await?;
    });
    read!("read_log, one tenant, from the start", app, {
        store
            .read_all(&ReadAll::new(TenantScope::Tenant(a.tenant.clone())).limit(500))
            .await?;
    });
    read!("read_log, every tenant, from the start", runner.pool(), {
        runner
            .read_all(&ReadAll::new(TenantScope::AllTenants).limit(500))
            .await?;
    });
    read!("projections.log_lag (health)", runner.pool(), {
        sqlx::query("SELECT * FROM projections.log_lag('0'::xid8, 0, 1000, NULL, NULL)")
            .fetch_all(runner.pool())
            .await?;
    });
    read!("lag against the head (lag_head.sql)", runner.pool(), {
        sqlx::query(include_str!(
            "../../../acci-postgres/sql/projection/lag_head.sql"
        ))
        .bind("0")
        .bind(0i64)
        .bind(1000i64)
        .bind(None::<Vec<String>>)
        .bind(None::<Vec<String>>)
        .fetch_all(runner.pool())
        .await?;
    });
    read!("horizon lag (log_horizon_lag.sql)", runner.pool(), {
        sqlx::query(include_str!(
            "../../../acci-postgres/sql/store/log_horizon_lag.sql"
        ))
        .bind(1000i64)
        .fetch_all(runner.pool())
        .await?;
    });
    read!(
        "a dead letter's event (dead_letter_event.sql)",
        runner.pool(),
        {
            sqlx::query(include_str!(
                "../../../acci-postgres/sql/projection/dead_letter_event.sql"
            ))
            .bind(taken)
            .fetch_all(runner.pool())
            .await?;
        }
    );
    read!(
        "parking an unreadable event (dead_letter_park_unreadable.sql)",
        runner.pool(),
        {
            sqlx::query(include_str!(
                "../../../acci-postgres/sql/projection/dead_letter_park_unreadable.sql"
            ))
            .bind("census")
            .bind(taken)
            .bind("unreadable")
            .bind(1i32)
            .execute(runner.pool())
            .await?;
        }
    );
    app.close().await;
    runner.pool().close().await;
    Ok(())
}
