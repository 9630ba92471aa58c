//! The read-model cache on Redis in front of PostgreSQL: read-through, kept fresh by the
//! projection runner, tenant by tenant, behind the authorizer, and never in the way when
//! Redis is gone.

// The domain types below exist for the tests; documenting each would add only noise.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use acci_core::authorization::{Caller, Decision, QueryRequest};
use acci_core::observability::names::{
    CACHE_OPERATION, READ_CACHE_ERRORS_TOTAL, READ_CACHE_HITS_TOTAL, READ_CACHE_MISSES_TOTAL,
    READ_MODEL,
};
use acci_core::prelude::*;
use acci_core::query::{QueryError, ReadModels};
use acci_core::{AppendOutcome, LogPosition, NewEvent};
use acci_postgres::projection::OBSERVER_TIMEOUT;
use acci_postgres::{PgEventStore, PgReadModels, ProjectionRunner};
use acci_redis::{CacheOptions, CachedReadModels, Lookup, RedisReadModelCache};
use acci_tests::capture::capture;
use acci_tests::events::stream;
use acci_tests::pg::{APP_LOGIN, READER_LOGIN, TestDatabase};
use acci_tests::redis::{TestRedis, redis_url};

#[event]
pub struct Deposited {
    pub amount: i64,
}

#[projection(table = "cached_balances", events(Deposited))]
pub struct Balance {
    #[projection(key)]
    pub account: String,
    pub total: i64,
    pub deposits: i64,
}

impl Project<Deposited> for Balance {
    fn project(row: &mut Option<Self>, event: &Recorded<Deposited>) {
        let row = row.get_or_insert_with(|| Balance {
            account: event.stream.aggregate_id.to_string(),
            total: 0,
            deposits: 0,
        });
        row.total += event.data.amount;
        row.deposits += 1;
    }
}

fn tenant(id: &str) -> TenantId {
    TenantId::new(id).unwrap()
}

async fn deposit(store: &PgEventStore, tenant: &str, account: &str, amount: i64) -> LogPosition {
    let event = NewEvent::from_event(&Deposited { amount }, Metadata::new()).unwrap();
    match store
        .append(
            &stream(tenant, account),
            ExpectedVersion::Any,
            vec![event],
            None,
        )
        .await
        .unwrap()
    {
        AppendOutcome::Appended(appended) => appended.last_position,
        other => panic!("{other:?}"),
    }
}

/// A database, a Redis prefix, the runner (telling the cache) and the read models with
/// and without the cache in front.
struct Fixture {
    db: TestDatabase,
    store: PgEventStore,
    redis: TestRedis,
    cache: RedisReadModelCache,
    runner: ProjectionRunner<Balance>,
    plain: PgReadModels,
    cached: CachedReadModels<PgReadModels>,
}

impl Fixture {
    async fn new() -> Self {
        let db = TestDatabase::create().await;
        let store = db.store().await;
        let redis = TestRedis::new();
        let cache = redis.cache();
        let runner = ProjectionRunner::<Balance>::new(db.pool_as(Some(READER_LOGIN), 2).await)
            .with_batch_observer(Arc::new(cache.clone()), OBSERVER_TIMEOUT)
            .unwrap();
        let plain = PgReadModels::connect_with(db.options(Some(APP_LOGIN)))
            .await
            .unwrap();
        let cached = CachedReadModels::new(plain.clone(), cache.clone());
        Fixture {
            db,
            store,
            redis,
            cache,
            runner,
            plain,
            cached,
        }
    }

    /// A runner of the same read model that tells no cache.
    async fn blind_runner(&self) -> ProjectionRunner<Balance> {
        ProjectionRunner::<Balance>::new(self.db.pool_as(Some(READER_LOGIN), 2).await)
    }

    /// Runs `runner` until it has applied `position`.
    async fn catch_up(runner: &ProjectionRunner<Balance>, position: LogPosition) {
        // Other tests' transactions on the server may hold the horizon for a moment.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            runner.catch_up().await.unwrap();
            if runner.wait_for(position, Duration::ZERO).await.unwrap() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the log did not reach {position}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn cached_get(&self, tenant_id: &str, account: &str) -> Option<Balance> {
        self.cached
            .get::<Balance>(Some(&tenant(tenant_id)), &account.to_owned())
            .await
            .unwrap()
    }

    /// Changes the row behind the runner's back (as the admin), so that only an answer
    /// from the cache still shows the old total.
    async fn overwrite_total(&self, tenant_id: &str, account: &str, total: i64) {
        let pool = self.db.pool_as(None, 1).await;
        let updated = sqlx::query(
            "UPDATE read_models.cached_balances SET total = $3 WHERE tenant_id = $1 AND account = $2",
        )
        .bind(tenant_id)
        .bind(account)
        .bind(total)
        .execute(&pool)
        .await
        .unwrap();
        assert_eq!(updated.rows_affected(), 1);
        pool.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_miss_reads_through_and_the_next_get_is_a_hit() {
    let f = Fixture::new().await;
    let last = deposit(&f.store, "t1", "a-1", 5).await;
    Fixture::catch_up(&f.runner, last).await;

    assert_eq!(f.cached_get("t1", "a-1").await.unwrap().total, 5);
    let keys = f.redis.keys();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(f.redis.get(&keys[0]).unwrap().starts_with('R'));

    // The row changes where only PostgreSQL sees it: the cache still answers, the plain
    // read models do not.
    f.overwrite_total("t1", "a-1", 500).await;
    assert_eq!(f.cached_get("t1", "a-1").await.unwrap().total, 5);
    let (t1, key) = (tenant("t1"), "a-1".to_owned());
    let plain = f.plain.get::<Balance>(Some(&t1), &key).await.unwrap();
    assert_eq!(plain.unwrap().total, 500);

    // `require` reads through too, and a missing row is `NotFound`.
    assert_eq!(
        f.cached
            .require::<Balance>(Some(&tenant("t1")), &"a-1".to_owned())
            .await
            .unwrap()
            .total,
        5
    );
    assert!(matches!(
        f.cached
            .require::<Balance>(Some(&tenant("t1")), &"nobody".to_owned())
            .await,
        Err(QueryError::NotFound { .. })
    ));
    // Pages and finds are not cached: they read PostgreSQL.
    let page = f
        .cached
        .page::<Balance>(Some(&tenant("t1")), None, 10)
        .await;
    assert_eq!(page.unwrap()[0].total, 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_committed_batch_invalidates_the_rows_it_wrote_inserts_included() {
    let f = Fixture::new().await;
    let last = deposit(&f.store, "t1", "a-1", 5).await;
    Fixture::catch_up(&f.runner, last).await;
    assert_eq!(f.cached_get("t1", "a-1").await.unwrap().total, 5);
    // An absence is cached too: the batch that inserts the row must replace it.
    assert!(f.cached_get("t1", "a-2").await.is_none());
    assert_eq!(f.redis.keys().len(), 2);

    deposit(&f.store, "t1", "a-1", 3).await;
    let last = deposit(&f.store, "t1", "a-2", 7).await;
    Fixture::catch_up(&f.runner, last).await;

    let a1 = f.cached_get("t1", "a-1").await.unwrap();
    assert_eq!((a1.total, a1.deposits), (8, 2));
    assert_eq!(f.cached_get("t1", "a-2").await.unwrap().total, 7);
    // And the fresh rows are cached again.
    f.overwrite_total("t1", "a-2", 70).await;
    assert_eq!(f.cached_get("t1", "a-2").await.unwrap().total, 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_with_the_same_key_have_their_own_entries() {
    let f = Fixture::new().await;
    deposit(&f.store, "t1", "shared", 1).await;
    let last = deposit(&f.store, "t2", "shared", 2).await;
    Fixture::catch_up(&f.runner, last).await;

    for _ in 0..2 {
        assert_eq!(f.cached_get("t1", "shared").await.unwrap().total, 1);
        assert_eq!(f.cached_get("t2", "shared").await.unwrap().total, 2);
        assert!(f.cached_get("t3", "shared").await.is_none());
    }
    assert_eq!(f.redis.keys().len(), 3, "{:?}", f.redis.keys());

    // A commit of t1's row leaves t2's entry alone.
    let last = deposit(&f.store, "t1", "shared", 10).await;
    Fixture::catch_up(&f.runner, last).await;
    f.overwrite_total("t2", "shared", 200).await;
    assert_eq!(f.cached_get("t1", "shared").await.unwrap().total, 11);
    assert_eq!(f.cached_get("t2", "shared").await.unwrap().total, 2);
}

/// The race a read-through cache must not lose: a reader misses and reads the old row,
/// the runner commits and invalidates, then the reader stores what it read. The
/// invalidation's mark refuses that store, so the next reader sees the new row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fill_that_read_before_an_invalidation_is_refused() {
    let f = Fixture::new().await;
    let last = deposit(&f.store, "t1", "a-1", 5).await;
    Fixture::catch_up(&f.runner, last).await;
    let (t1, key) = (tenant("t1"), "a-1".to_owned());

    let Lookup::Miss(ticket) = f.cache.lookup::<Balance>(Some(&t1), &key).await.unwrap() else {
        panic!("an empty cache misses");
    };
    let old = f.plain.get::<Balance>(Some(&t1), &key).await.unwrap();
    assert_eq!(old.as_ref().unwrap().total, 5);

    let last = deposit(&f.store, "t1", "a-1", 3).await;
    Fixture::catch_up(&f.runner, last).await;

    assert!(
        !f.cache.fill(ticket, old.as_ref()).await,
        "the fill of a row read before the commit is refused"
    );
    assert_eq!(f.cached_get("t1", "a-1").await.unwrap().total, 8);

    // A reader that looked after the invalidation fills as usual.
    let Lookup::Hit(Some(row)) = f.cache.lookup::<Balance>(Some(&t1), &key).await.unwrap() else {
        panic!("the fresh row is cached");
    };
    assert_eq!(row.total, 8);
}

/// A rebuild swaps in a table whose rows may all differ: every entry of the projection
/// stops answering, and a fill that read the old table is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_retires_every_entry_of_the_projection() {
    let f = Fixture::new().await;
    deposit(&f.store, "t1", "a-1", 5).await;
    let last = deposit(&f.store, "t1", "a-2", 6).await;
    Fixture::catch_up(&f.runner, last).await;
    assert_eq!(f.cached_get("t1", "a-1").await.unwrap().total, 5);
    assert_eq!(f.cached_get("t1", "a-2").await.unwrap().total, 6);

    // Two commits no cache hears of: the entries are stale now.
    let blind = f.blind_runner().await;
    deposit(&f.store, "t1", "a-1", 1).await;
    let last = deposit(&f.store, "t1", "a-2", 1).await;
    Fixture::catch_up(&blind, last).await;
    assert_eq!(f.cached_get("t1", "a-1").await.unwrap().total, 5, "stale");

    let (t1, key) = (tenant("t1"), "a-3".to_owned());
    let Lookup::Miss(ticket) = f.cache.lookup::<Balance>(Some(&t1), &key).await.unwrap() else {
        panic!("a-3 was never read");
    };
    f.runner.rebuild().await.unwrap();
    assert!(!f.cache.fill::<Balance>(ticket, None).await);

    assert_eq!(f.cached_get("t1", "a-1").await.unwrap().total, 6);
    assert_eq!(f.cached_get("t1", "a-2").await.unwrap().total, 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_row_is_answered_only_to_callers_the_authorizer_allows() {
    let f = Fixture::new().await;
    let last = deposit(&f.store, "t1", "a-1", 5).await;
    Fixture::catch_up(&f.runner, last).await;
    let policy = |request: &QueryRequest<'_>| match request.user_id() {
        Some("ada") => Decision::Allow,
        _ => Decision::deny("only ada reads balances"),
    };
    let guarded = CachedReadModels::new(
        f.plain.clone().with_authorizer(Arc::new(policy)),
        f.cache.clone(),
    );
    let ada = guarded.for_caller(Caller::new(tenant("t1")).with_user_id("ada"));
    let bob = guarded.for_caller(Caller::new(tenant("t1")).with_user_id("bob"));
    let key = "a-1".to_owned();
    // Twice: a miss that fills, then a hit.
    for _ in 0..2 {
        let row = ada.get::<Balance>(Some(&tenant("t1")), &key).await.unwrap();
        assert_eq!(row.unwrap().total, 5);
    }
    assert!(matches!(
        bob.get::<Balance>(Some(&tenant("t1")), &key).await,
        Err(QueryError::Unauthorized(denied)) if denied.reason.contains("only ada")
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_before_any_io() {
    assert!(RedisReadModelCache::new("http://nowhere", CacheOptions::default()).is_err());
    let bad = CacheOptions::default().with_prefix("has space");
    let error = RedisReadModelCache::new(&redis_url(), bad).unwrap_err();
    assert!(error.to_string().contains("prefix"), "{error}");

    let f = Fixture::new().await;
    // A global query of a tenant-scoped read model, and a key PostgreSQL cannot hold.
    assert!(matches!(
        f.cached.get::<Balance>(None, &"a-1".to_owned()).await,
        Err(QueryError::Validation(_))
    ));
    assert!(matches!(
        f.cached
            .get::<Balance>(Some(&tenant("t1")), &"a\0b".to_owned())
            .await,
        Err(QueryError::Validation(_))
    ));
    assert!(f.redis.keys().is_empty());
}

/// A port with nothing listening: every query is answered from PostgreSQL, each failure
/// is counted, and the runner's invalidations fail without holding up its batches.
#[test]
fn without_redis_queries_are_answered_from_postgres() {
    let (_, _, metrics) = capture(|| async {
        let db = TestDatabase::create().await;
        let store = db.store().await;
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let options = CacheOptions {
            // Every query tries to connect again.
            reconnect_after: Duration::from_nanos(1),
            ..TestRedis::new().options()
        };
        let cache =
            RedisReadModelCache::new(&format!("redis://127.0.0.1:{port}"), options).unwrap();
        let runner = ProjectionRunner::<Balance>::new(db.pool_as(Some(READER_LOGIN), 2).await)
            .with_batch_observer(Arc::new(cache.clone()), OBSERVER_TIMEOUT)
            .unwrap();
        let plain = PgReadModels::connect_with(db.options(Some(APP_LOGIN)))
            .await
            .unwrap();
        let cached = CachedReadModels::new(plain, cache.clone());

        let (t1, a1, a2) = (tenant("t1"), "a-1".to_owned(), "a-2".to_owned());
        let last = deposit(&store, "t1", "a-1", 5).await;
        Fixture::catch_up(&runner, last).await;
        for total in [5, 5] {
            let row = cached.get::<Balance>(Some(&t1), &a1).await.unwrap();
            assert_eq!(row.unwrap().total, total);
        }
        assert!(
            cached
                .get::<Balance>(Some(&t1), &a2)
                .await
                .unwrap()
                .is_none()
        );
        let lookup = cache.lookup::<Balance>(Some(&t1), &a1).await.unwrap();
        assert!(matches!(lookup, Lookup::Unavailable));
        let last = deposit(&store, "t1", "a-1", 1).await;
        Fixture::catch_up(&runner, last).await;
        let row = cached.get::<Balance>(Some(&t1), &a1).await.unwrap();
        assert_eq!(row.unwrap().total, 6);
    });
    let connect = [
        (READ_MODEL, "cached_balances"),
        (CACHE_OPERATION, "connect"),
    ];
    assert_eq!(
        metrics.counter(READ_CACHE_ERRORS_TOTAL, &connect),
        7,
        "4 gets, 1 lookup, 2 batches"
    );
    let model = [(READ_MODEL, "cached_balances")];
    assert_eq!(metrics.counter(READ_CACHE_HITS_TOTAL, &model), 0);
    assert_eq!(metrics.counter(READ_CACHE_MISSES_TOTAL, &model), 0);
}

/// Hits and misses are counted by read model.
#[test]
fn hits_and_misses_are_counted() {
    let (_, _, metrics) = capture(|| async {
        let f = Fixture::new().await;
        let last = deposit(&f.store, "t1", "a-1", 5).await;
        Fixture::catch_up(&f.runner, last).await;
        for _ in 0..3 {
            f.cached_get("t1", "a-1").await.unwrap();
        }
    });
    let model = [(READ_MODEL, "cached_balances")];
    assert_eq!(metrics.counter(READ_CACHE_MISSES_TOTAL, &model), 1);
    assert_eq!(metrics.counter(READ_CACHE_HITS_TOTAL, &model), 2);
}

/// A Redis that accepts connections and never answers: each query gives up on it after
/// the operation timeout and is answered from PostgreSQL.
#[test]
fn a_silent_redis_times_out_and_queries_are_answered_from_postgres() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Holds every connection open without a word, until the test process ends.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let (_, _, metrics) = capture(|| async {
        let f = Fixture::new().await;
        let options = CacheOptions {
            timeout: Duration::from_millis(20),
            reconnect_after: Duration::from_nanos(1),
            ..f.redis.options()
        };
        let silent =
            RedisReadModelCache::new(&format!("redis://127.0.0.1:{port}"), options).unwrap();
        let cached = CachedReadModels::new(f.plain.clone(), silent);
        let last = deposit(&f.store, "t1", "a-1", 5).await;
        Fixture::catch_up(&f.runner, last).await;
        let (t1, a1) = (tenant("t1"), "a-1".to_owned());
        for _ in 0..3 {
            let row = cached.get::<Balance>(Some(&t1), &a1).await.unwrap();
            assert_eq!(row.unwrap().total, 5);
        }
    });
    let connect = [
        (READ_MODEL, "cached_balances"),
        (CACHE_OPERATION, "connect"),
    ];
    assert_eq!(metrics.counter(READ_CACHE_ERRORS_TOTAL, &connect), 3);
}

/// A TCP proxy to the test Redis that can be cut: it stops accepting and closes every
/// connection through it, as a Redis that went away.
struct Proxy {
    port: u16,
    accept: tokio::task::JoinHandle<()>,
    links: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Proxy {
    async fn start() -> Self {
        let target = match redis::Client::open(redis_url().as_str())
            .unwrap()
            .get_connection_info()
            .addr
            .clone()
        {
            redis::ConnectionAddr::Tcp(host, port) => format!("{host}:{port}"),
            other => panic!("the proxy forwards to TCP only, not {other:?}"),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let links = Arc::new(std::sync::Mutex::new(Vec::new()));
        let accept = tokio::spawn({
            let links = Arc::clone(&links);
            async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    let target = target.clone();
                    let link = tokio::spawn(async move {
                        if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    });
                    links.lock().unwrap().push(link);
                }
            }
        });
        Proxy {
            port,
            accept,
            links,
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Closes the port and every connection through it, and returns once they are closed.
    async fn cut(self) {
        self.accept.abort();
        let _ = self.accept.await;
        let links: Vec<_> = self.links.lock().unwrap().drain(..).collect();
        for link in links {
            link.abort();
            // Done only once the task is dropped, its sockets with it.
            let _ = link.await;
        }
    }
}

/// Redis answers, then goes away while the cache is connected: the queries after that are
/// answered from PostgreSQL, none fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_redis_goes_away_mid_test_queries_are_answered_from_postgres() {
    let f = Fixture::new().await;
    let proxy = Proxy::start().await;
    let through = RedisReadModelCache::new(&proxy.url(), f.redis.options()).unwrap();
    let cached = CachedReadModels::new(f.plain.clone(), through);
    let last = deposit(&f.store, "t1", "a-1", 5).await;
    Fixture::catch_up(&f.runner, last).await;
    let (t1, a1) = (tenant("t1"), "a-1".to_owned());

    let row = cached.get::<Balance>(Some(&t1), &a1).await.unwrap();
    assert_eq!(row.unwrap().total, 5);
    f.overwrite_total("t1", "a-1", 500).await;
    let row = cached.get::<Balance>(Some(&t1), &a1).await.unwrap();
    assert_eq!(row.unwrap().total, 5, "a hit, through the proxy");

    proxy.cut().await;
    for _ in 0..3 {
        let row = cached.get::<Balance>(Some(&t1), &a1).await.unwrap();
        assert_eq!(row.unwrap().total, 500, "read from PostgreSQL");
    }
}

/// Every public async fn of the cache returns a `Send` future (compiling is the test).
#[allow(dead_code)]
fn cache_futures_are_send(
    cache: &RedisReadModelCache,
    cached: &CachedReadModels<PgReadModels>,
    ticket: acci_redis::Ticket,
    changes: &[acci_core::projection::RowChange],
) {
    use acci_core::projection::{BatchObserver, Committed};
    fn boxed<'a, T>(future: std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>) {
        drop(future);
    }
    let (t1, key) = (tenant("t1"), "a-1".to_owned());
    boxed(Box::pin(cache.lookup::<Balance>(Some(&t1), &key)));
    boxed(Box::pin(cache.fill::<Balance>(ticket, None)));
    let rows = Committed::Rows {
        projection: "cached_balances",
        rows: changes,
    };
    boxed(Box::pin(cache.invalidate(rows)));
    boxed(Box::pin(cache.committed(rows)));
    boxed(Box::pin(cached.get::<Balance>(Some(&t1), &key)));
    boxed(Box::pin(cached.require::<Balance>(Some(&t1), &key)));
}

/// Deposits of this amount make [`Fragile`] panic until [`CURED`] is set.
const POISON: i64 = 666;
static CURED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

#[projection(table = "cached_fragile", events(Deposited))]
pub struct Fragile {
    #[projection(key)]
    pub account: String,
    pub total: i64,
}

impl Project<Deposited> for Fragile {
    fn project(row: &mut Option<Self>, event: &Recorded<Deposited>) {
        if event.data.amount == POISON && !CURED.load(std::sync::atomic::Ordering::SeqCst) {
            panic!("a poisoned deposit");
        }
        let row = row.get_or_insert_with(|| Fragile {
            account: event.stream.aggregate_id.to_string(),
            total: 0,
        });
        row.total += event.data.amount;
    }
}

/// A replayed dead letter commits rows too: the runner invalidates them as after a batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_dead_letter_invalidates_the_rows_it_wrote() {
    let f = Fixture::new().await;
    let runner = ProjectionRunner::<Fragile>::new(f.db.pool_as(Some(READER_LOGIN), 2).await)
        .with_options(acci_postgres::RunnerOptions {
            failure: acci_postgres::FailurePolicy::Park,
            ..acci_postgres::RunnerOptions::default()
        })
        .unwrap()
        .with_batch_observer(Arc::new(f.cache.clone()), OBSERVER_TIMEOUT)
        .unwrap();
    deposit(&f.store, "t1", "a-1", 5).await;
    let last = deposit(&f.store, "t1", "a-1", POISON).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        runner.catch_up().await.unwrap();
        if runner.wait_for(last, Duration::ZERO).await.unwrap() {
            break;
        }
        assert!(Instant::now() < deadline, "the log did not reach {last}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(runner.dead_letters().await.unwrap().len(), 1);
    let (t1, a1) = (tenant("t1"), "a-1".to_owned());
    let row = f.cached.get::<Fragile>(Some(&t1), &a1).await.unwrap();
    assert_eq!(row.unwrap().total, 5, "cached without the parked deposit");

    CURED.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(runner.replay_dead_letters().await.unwrap().applied, 1);
    let row = f.cached.get::<Fragile>(Some(&t1), &a1).await.unwrap();
    assert_eq!(row.unwrap().total, 5 + POISON);
}
