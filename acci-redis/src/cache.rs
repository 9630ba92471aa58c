//! [`RedisReadModelCache`]: rows of read models on Redis, looked up and filled by
//! readers, invalidated by the projection runner after each commit.

use std::sync::Arc;
use std::time::{Duration, Instant};

use acci_core::observability::names::{
    CACHE_OPERATION, READ_CACHE_ERRORS_TOTAL, READ_CACHE_HITS_TOTAL, READ_CACHE_MISSES_TOTAL,
    READ_MODEL,
};
use acci_core::projection::{BatchObserver, Committed, ObserverError};
use acci_core::query::{QueryError, check_tenant};
use acci_core::{Projection, TenantId, ValidationError};
use async_trait::async_trait;

use crate::connection::{CacheError, Connection};
use crate::key::{Entry, generation_key, read_entry, row_key, shape, tombstone, write_entry};
use crate::options::CacheOptions;

/// A cache of read-model rows on Redis, by projection, tenant and key.
///
/// Readers use it through [`CachedReadModels`](crate::CachedReadModels) (or
/// [`lookup`](Self::lookup) and [`fill`](Self::fill) directly); the projection runner keeps
/// it fresh: give it to `Runner::with_batch_observer` and each committed batch replaces
/// the entries of the rows it wrote with a mark ([`BatchObserver`]), and a rebuild's swap
/// retires every entry of the projection. The key layout and the entry format are in
/// the crate's documentation.
///
/// It connects on first use and reconnects by itself; when Redis fails or is slower than
/// [`CacheOptions::timeout`], every operation gives up, counts the failure in
/// `acci_read_cache_errors_total`, and the query is answered from the read models behind
/// the cache. Clones share the connection.
#[derive(Debug, Clone)]
pub struct RedisReadModelCache {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    options: CacheOptions,
    connection: Connection,
    fill: redis::Script,
}

/// What [`RedisReadModelCache::lookup`] found.
#[derive(Debug)]
pub enum Lookup<P> {
    /// The cached answer: the row, or `None` when no row has the key.
    Hit(Option<P>),
    /// No usable entry: read the row, then hand it to [`RedisReadModelCache::fill`] with
    /// this ticket.
    Miss(Ticket),
    /// Redis failed or was slow (counted and logged): read the row, and do not fill.
    Unavailable,
}

/// What a reader saw when it missed, so that [`RedisReadModelCache::fill`] stores its
/// row only if nothing was invalidated since.
#[derive(Debug)]
pub struct Ticket {
    projection: &'static str,
    shape: &'static str,
    key: String,
    generation: String,
    seen: String,
    looked_at: Instant,
}

impl RedisReadModelCache {
    /// A cache on the Redis at `url` (`redis://127.0.0.1:6379`, say). Checks the URL and
    /// `options` ([`CacheOptions::validate`]) and connects on first use, so it is made
    /// while Redis is down.
    pub fn new(url: &str, options: CacheOptions) -> Result<Self, ValidationError> {
        options.validate()?;
        let client = redis::Client::open(url).map_err(|e| {
            ValidationError::new("Redis URL", format!("is not one Redis accepts: {e}"))
        })?;
        let connection = Connection::new(client, options.timeout, options.reconnect_after);
        Ok(Self {
            shared: Arc::new(Shared {
                options,
                connection,
                fill: redis::Script::new(include_str!("fill.lua")),
            }),
        })
    }

    /// Its options.
    pub fn options(&self) -> &CacheOptions {
        &self.shared.options
    }

    /// Looks up the row of `tenant` with `key` in `P`. Refuses a tenant that does not fit
    /// `P`'s scope and a key PostgreSQL could not hold, before any I/O; anything Redis
    /// does wrong is [`Lookup::Unavailable`], never an error.
    pub async fn lookup<P: Projection>(
        &self,
        tenant: Option<&TenantId>,
        key: &P::Key,
    ) -> Result<Lookup<P>, QueryError> {
        check_tenant::<P>(tenant)?;
        let key_object = P::key_object(key).map_err(|e| QueryError::ReadModel {
            message: format!("the key {key:?} of `{}` did not serialize: {e}", P::NAME),
            retryable: false,
        })?;
        acci_core::check_json(&format!("key of `{}`", P::NAME), &key_object)?;
        let options = &self.shared.options;
        let key = row_key(&options.prefix, P::NAME, tenant, &key_object.to_string());
        let generation = generation_key(&options.prefix, P::NAME);
        let looked_at = Instant::now();
        let found = self
            .shared
            .connection
            .run(|mut redis| {
                let (key, generation) = (key.clone(), generation.clone());
                async move {
                    redis::cmd("MGET")
                        .arg(key)
                        .arg(generation)
                        .query_async::<(Option<String>, Option<String>)>(&mut redis)
                        .await
                }
            })
            .await;
        let (entry, generation) = match found {
            Ok(found) => found,
            Err(error) => {
                failed(P::NAME, "lookup", &error);
                return Ok(Lookup::Unavailable);
            }
        };
        let (seen, generation) = (entry.unwrap_or_default(), generation.unwrap_or_default());
        let shape = shape::<P>();
        let hit = match read_entry(&seen, &generation, shape) {
            Entry::Row(json) => match serde_json::from_str::<P>(json) {
                Ok(row) => Some(Some(row)),
                Err(error) => {
                    // Same shape, yet not a row: written by something else. Read anew and
                    // replace it.
                    tracing::warn!(read_model = P::NAME, %error, "a cached row does not decode");
                    metrics::counter!(READ_CACHE_ERRORS_TOTAL, READ_MODEL => P::NAME, CACHE_OPERATION => "lookup")
                        .increment(1);
                    None
                }
            },
            Entry::Absent => Some(None),
            Entry::Unusable => None,
        };
        if let Some(row) = hit {
            metrics::counter!(READ_CACHE_HITS_TOTAL, READ_MODEL => P::NAME).increment(1);
            return Ok(Lookup::Hit(row));
        }
        metrics::counter!(READ_CACHE_MISSES_TOTAL, READ_MODEL => P::NAME).increment(1);
        Ok(Lookup::Miss(Ticket {
            projection: P::NAME,
            shape,
            key,
            generation,
            seen,
            looked_at,
        }))
    }

    /// Stores `row` (`None`: no row has the key), read from the read models after the
    /// lookup that gave `ticket`, for [`CacheOptions::ttl`]. Returns whether it was
    /// stored: not when an invalidation or a rebuild came after the lookup (the row read
    /// may predate the commit), when the lookup is older than half of
    /// [`CacheOptions::tombstone_ttl`] (the mark of such an invalidation may be gone), or
    /// when Redis fails (counted and logged).
    pub async fn fill<P: Projection>(&self, ticket: Ticket, row: Option<&P>) -> bool {
        let options = &self.shared.options;
        if ticket.projection != P::NAME || ticket.shape != shape::<P>() {
            return false;
        }
        if ticket.looked_at.elapsed() >= options.tombstone_ttl / 2 {
            return false;
        }
        let json = match row.map(serde_json::to_string).transpose() {
            Ok(json) => json,
            Err(error) => {
                tracing::warn!(read_model = P::NAME, %error, "a row does not serialize; not cached");
                return false;
            }
        };
        let entry = write_entry(&ticket.generation, ticket.shape, json.as_deref());
        let generation = generation_key(&options.prefix, P::NAME);
        let ttl = millis(options.ttl);
        let script = &self.shared.fill;
        let stored = self
            .shared
            .connection
            .run(|mut redis| async move {
                script
                    .key(&ticket.key)
                    .key(generation)
                    .arg(&ticket.seen)
                    .arg(&ticket.generation)
                    .arg(entry)
                    .arg(ttl)
                    .invoke_async::<i64>(&mut redis)
                    .await
            })
            .await;
        match stored {
            Ok(stored) => stored == 1,
            Err(error) => {
                failed(P::NAME, "fill", &error);
                false
            }
        }
    }

    /// Makes what `change` committed the answer of every later lookup: the entries of
    /// the rows written become marks (so a reader that looked before cannot store what
    /// it read), or, after a rebuild's swap, the projection gets a new generation (so
    /// every entry of the old one stops answering). A failure is counted and logged here
    /// and returned; the entries it left then live out their time to live.
    pub async fn invalidate(&self, change: Committed<'_>) -> Result<(), CacheError> {
        let options = &self.shared.options;
        let projection = change.projection();
        let done = match change {
            Committed::Rows { rows: [], .. } => return Ok(()),
            Committed::Rows { rows, .. } => {
                let mut pipe = redis::pipe();
                let mark = tombstone();
                let ttl = millis(options.tombstone_ttl);
                for row in rows {
                    let key = row_key(
                        &options.prefix,
                        projection,
                        row.tenant.as_ref(),
                        &row.key.to_string(),
                    );
                    pipe.cmd("SET")
                        .arg(key)
                        .arg(&mark)
                        .arg("PX")
                        .arg(ttl)
                        .ignore();
                }
                self.shared
                    .connection
                    .run(|mut redis| async move { pipe.query_async::<()>(&mut redis).await })
                    .await
            }
            Committed::Swapped { .. } => {
                let generation = generation_key(&options.prefix, projection);
                let new = uuid::Uuid::new_v4().simple().to_string();
                self.shared
                    .connection
                    .run(|mut redis| async move {
                        redis::cmd("SET")
                            .arg(generation)
                            .arg(new)
                            .query_async::<()>(&mut redis)
                            .await
                    })
                    .await
            }
        };
        done.inspect_err(|error| failed(projection, "invalidate", error))
    }
}

#[async_trait]
impl BatchObserver for RedisReadModelCache {
    async fn committed(&self, change: Committed<'_>) -> Result<(), ObserverError> {
        Ok(self.invalidate(change).await?)
    }
}

/// Counts and logs a failed operation; a missing connection counts as `connect`.
fn failed(read_model: &'static str, operation: &'static str, error: &CacheError) {
    let operation = if error.is_connect() {
        "connect"
    } else {
        operation
    };
    metrics::counter!(READ_CACHE_ERRORS_TOTAL, READ_MODEL => read_model, CACHE_OPERATION => operation)
        .increment(1);
    tracing::debug!(read_model, operation, %error, "read-model cache operation failed");
}

/// `duration` in whole milliseconds, at least 1 (Redis's `PX` refuses 0).
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}
