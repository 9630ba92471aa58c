//! `query_find`: finds of existing read-model rows by key, over many keys, through
//! `PgReadModels`, through the same read models behind the Redis cache (warm), and by
//! the baseline's hand-written `SELECT` with typed decoding (one round trip). Every
//! answer is checked against the row.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use acci_core::query::ReadModels;
use acci_postgres::{PgReadModels, ProjectionRunner};
use acci_redis::{CacheOptions, CachedReadModels, RedisReadModelCache};
use serde_json::json;
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;

use super::{concurrently, round_range, tenant};
use crate::domain::Balance;
use crate::report::{Bound, Check, Latencies, Measurement, Report, System};
use crate::setup::{APP_LOGIN, BenchDatabase};
use crate::{Config, Error};

const NAME: &str = "query_find";

/// The Redis the cached finds use: `REDIS_URL`, by default the local one.
pub(crate) fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// What one run of the scenario finds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sizes {
    /// Accounts, each one row.
    pub(crate) keys: usize,
    /// Finds per system and client count.
    pub(crate) finds: usize,
}

/// The rows every find must answer with: account to (balance, movements).
type Expected = Arc<HashMap<String, (i64, i64)>>;

/// Writes one `Deposited` per account into the log, in SQL (seeding is not measured),
/// and projects them into `bench_balances` with the runner.
async fn seed(database: &BenchDatabase, keys: usize) -> Result<Expected, Error> {
    let owner = database.owner_pool(2).await?;
    sqlx::query(
        "INSERT INTO event_store.events (event_id, tenant_id, aggregate_type, aggregate_id, sequence, \
                                         event_type, schema_version, data, metadata) \
         SELECT gen_random_uuid(), 'bench', 'Account', 'acc-' || g, 1, 'Deposited', 1, \
                jsonb_build_object('amount', g % 1000 + 1), '{}'::jsonb \
           FROM generate_series(0, $1::bigint - 1) g",
    )
    .bind(keys as i64)
    .execute(&owner)
    .await?;
    let applied = ProjectionRunner::<Balance>::new(owner.clone())
        .catch_up()
        .await?;
    if applied != keys as u64 {
        return Err(format!("{NAME}: {keys} events seeded, the runner applied {applied}").into());
    }
    sqlx::query("ANALYZE read_models.bench_balances")
        .execute(&owner)
        .await?;
    let rows: Vec<(String, i64, i64)> =
        sqlx::query_as("SELECT account, balance, movements FROM read_models.bench_balances")
            .fetch_all(&owner)
            .await?;
    owner.close().await;
    if rows.len() != keys {
        return Err(format!("{NAME}: {keys} accounts seeded, {} rows", rows.len()).into());
    }
    Ok(Arc::new(
        rows.into_iter()
            .map(|(account, balance, movements)| (account, (balance, movements)))
            .collect(),
    ))
}

/// The account the `i`-th find of client `client` asks for: the clients walk the keys
/// from different places, so together they cover every key.
fn account(keys: usize, clients: usize, client: usize, i: usize) -> String {
    format!("acc-{}", (i * 7919 + client * keys / clients.max(1)) % keys)
}

fn check(expected: &Expected, account: &str, found: Option<(i64, i64)>) -> Result<(), Error> {
    let want = expected.get(account).copied();
    if found != want || want.is_none() {
        return Err(format!("{NAME}: `{account}` answered {found:?}, the row is {want:?}").into());
    }
    Ok(())
}

/// The baseline: one prepared `SELECT` by tenant and key, decoded into typed columns.
async fn raw_find(pool: &PgPool, account: &str) -> Result<Option<(i64, i64)>, Error> {
    Ok(sqlx::query_as::<_, (i64, i64)>(
        "SELECT balance, movements FROM read_models.bench_balances WHERE tenant_id = $1 AND account = $2",
    )
    .bind("bench")
    .bind(account)
    .fetch_optional(pool)
    .await?)
}

async fn read<R: ReadModels>(models: &R, account: &str) -> Result<Option<(i64, i64)>, Error> {
    let row = models
        .get::<Balance>(Some(&tenant()), &account.to_owned())
        .await?;
    Ok(row.map(|b| (b.balance, b.movements)))
}

pub(crate) async fn run(
    database: &BenchDatabase,
    config: &Config,
    sizes: Sizes,
    report: &mut Report,
) -> Result<(), Error> {
    let expected = seed(database, sizes.keys).await?;
    // The read models connect as the application (row-level security, a tenant per
    // query); the baseline as the table's owner, as a program without tenant isolation
    // would. The same pool size for both.
    const CONNECTIONS: u32 = 8;
    let options = PgConnectOptions::from_str(database.url())?
        .database(database.name())
        .username(APP_LOGIN)
        .password("");
    let plain = PgReadModels::connect_with(options).await?;
    let raw_pool = database.owner_pool(CONNECTIONS).await?;

    let url = redis_url();
    let prefix = format!("acci-bench-{}", uuid::Uuid::new_v4().simple());
    let cache_options = CacheOptions {
        // Longer than the run: the finds measure a warm cache, not expiry.
        ttl: Duration::from_secs(3_600),
        ..CacheOptions::default().with_prefix(prefix.clone())
    };
    let cache = RedisReadModelCache::new(&url, cache_options)?;
    let cached = CachedReadModels::new(plain.clone(), cache);
    let redis = Redis::connect(&url, &prefix)?;

    let result = async {
        // Warm: every row read once through each path (the cache filled, statements
        // prepared), untimed.
        for i in 0..sizes.keys {
            let account = format!("acc-{i}");
            check(&expected, &account, raw_find(&raw_pool, &account).await?)?;
            check(&expected, &account, read(&plain, &account).await?)?;
            check(&expected, &account, read(&cached, &account).await?)?;
        }
        let entries = redis.entries()?;
        if entries < sizes.keys {
            return Err(format!(
                "{NAME}: {} rows read through the cache, {entries} entries in Redis",
                sizes.keys
            )
            .into());
        }
        for clients in [1, 16] {
            let mut latencies: [Latencies; 3] = Default::default();
            let mut elapsed = [Duration::ZERO; 3];
            for round in 0..config.rounds {
                let ops = round_range(sizes.finds, config.rounds, round);
                let keys = sizes.keys;
                for (slot, system) in [System::Raw, System::Acci, System::AcciCached]
                    .into_iter()
                    .enumerate()
                {
                    let (expected, raw_pool) = (Arc::clone(&expected), raw_pool.clone());
                    let (plain, cached) = (plain.clone(), cached.clone());
                    let (took, lat) = concurrently(clients, ops.clone(), move |client, i| {
                        let (expected, raw_pool) = (Arc::clone(&expected), raw_pool.clone());
                        let (plain, cached) = (plain.clone(), cached.clone());
                        async move {
                            let account = account(keys, clients, client, i);
                            let found = match system {
                                System::Raw => raw_find(&raw_pool, &account).await?,
                                System::Acci => read(&plain, &account).await?,
                                _ => read(&cached, &account).await?,
                            };
                            check(&expected, &account, found)
                        }
                    })
                    .await?;
                    elapsed[slot] += took;
                    latencies[slot].extend(lat);
                }
            }
            let mut rates = [0.0; 3];
            for (slot, system) in [System::Raw, System::Acci, System::AcciCached]
                .into_iter()
                .enumerate()
            {
                let finds = latencies[slot].len() as u64;
                let mut measurement = Measurement::new(NAME, system, finds, elapsed[slot]);
                measurement.latencies = std::mem::take(&mut latencies[slot]);
                measurement.extra.insert("clients".into(), json!(clients));
                measurement.extra.insert("keys".into(), json!(sizes.keys));
                rates[slot] = measurement.per_second();
                report.measured(measurement);
            }
            let [raw_rate, acci_rate, cached_rate] = rates;
            report.check(Check::new(
                NAME,
                format!("cached/uncached finds/s, {clients} client(s)"),
                cached_rate / acci_rate,
                Bound::AtLeast(3.0),
            ));
            report.check(Check::new(
                NAME,
                format!("acci/raw finds/s, {clients} client(s)"),
                acci_rate / raw_rate,
                Bound::Reported,
            ));
            report.check(Check::new(
                NAME,
                format!("cached/raw finds/s, {clients} client(s)"),
                cached_rate / raw_rate,
                Bound::Reported,
            ));
        }
        Ok(())
    }
    .await;
    let cleaned = redis.clean();
    raw_pool.close().await;
    result.and(cleaned)
}

/// The benchmark's own look at Redis: is it there, how many entries the run made, and
/// their removal at the end.
struct Redis {
    client: redis::Client,
    pattern: String,
}

impl Redis {
    fn connect(url: &str, prefix: &str) -> Result<Self, Error> {
        let client = redis::Client::open(url)
            .map_err(|e| format!("REDIS_URL `{url}` is not a Redis URL: {e}"))?;
        let mut conn = client.get_connection().map_err(|e| {
            format!(
                "{NAME} needs Redis: cannot reach it at `{url}`: {e}; start it \
                 (`redis-server --daemonize yes`) or set REDIS_URL"
            )
        })?;
        let _: String = redis::cmd("PING").query(&mut conn)?;
        Ok(Self {
            client,
            // Every key of the cache starts with the hash tag `{<prefix>:`.
            pattern: format!("{{{prefix}:*"),
        })
    }

    fn keys(&self) -> Result<Vec<String>, Error> {
        let mut conn = self.client.get_connection()?;
        let keys: Vec<String> = redis::cmd("KEYS").arg(&self.pattern).query(&mut conn)?;
        Ok(keys)
    }

    fn entries(&self) -> Result<usize, Error> {
        Ok(self.keys()?.len())
    }

    fn clean(&self) -> Result<(), Error> {
        let mut conn = self.client.get_connection()?;
        for chunk in self.keys()?.chunks(1_000) {
            let _: () = redis::cmd("DEL").arg(chunk).query(&mut conn)?;
        }
        Ok(())
    }
}
