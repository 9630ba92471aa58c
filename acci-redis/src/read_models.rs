//! [`CachedReadModels`]: read models with a read-through cache in front of `get`.

use acci_core::authorization::{Caller, QueryKind};
use acci_core::observability::observe_query;
use acci_core::query::{GuardedReadModels, QueryError, ReadModels};
use acci_core::{Projection, TenantId};
use async_trait::async_trait;
use serde_json::Value;

use crate::cache::{Lookup, RedisReadModelCache};

/// Read models `R` (`PgReadModels`, say) with a [`RedisReadModelCache`] in front:
/// [`get`](ReadModels::get) and [`require`](ReadModels::require) read through the cache
/// (an entry answers; on a miss `R` reads the row, and the cache stores it, or that no
/// row has the key, for [`CacheOptions::ttl`](crate::CacheOptions::ttl));
/// [`page`](ReadModels::page) and [`find_by`](ReadModels::find_by) go to `R` as they are:
/// their answers span rows that no single invalidation names.
///
/// Authorization stays in front of the cache: every `get` is first put to `R`'s own
/// [`QueryGuard`](acci_core::authorization::QueryGuard), bound to the same caller, so a
/// cached row is answered only to a caller `R` would answer. On a miss `R` asks its
/// guard again as it reads: an authorizer is asked twice then, and a denial is always
/// given (and audited) before anything is read.
///
/// Redis failing or slow never fails a query: the row is read from `R`. A `get` is
/// recorded as the query `cached_get` in `acci_query_duration_seconds`; a miss is also
/// `R`'s own `get`.
#[derive(Debug, Clone)]
pub struct CachedReadModels<R> {
    inner: R,
    cache: RedisReadModelCache,
}

impl<R: GuardedReadModels> CachedReadModels<R> {
    /// `inner`, with `cache` in front of its `get`.
    pub fn new(inner: R, cache: RedisReadModelCache) -> Self {
        Self { inner, cache }
    }

    /// The read models behind the cache.
    pub fn inner(&self) -> &R {
        &self.inner
    }

    /// The cache.
    pub fn cache(&self) -> &RedisReadModelCache {
        &self.cache
    }

    /// The same read models and cache, asking on behalf of `caller`.
    pub fn for_caller(&self, caller: Caller) -> Self {
        Self {
            inner: self.inner.for_caller(caller),
            cache: self.cache.clone(),
        }
    }
}

#[async_trait]
impl<R: GuardedReadModels> ReadModels for CachedReadModels<R> {
    async fn get<P: Projection>(
        &self,
        tenant: Option<&TenantId>,
        key: &P::Key,
    ) -> Result<Option<P>, QueryError> {
        observe_query(P::NAME, "cached_get", tenant, async {
            self.inner.guard().check::<P>(QueryKind::Get).await?;
            match self.cache.lookup::<P>(tenant, key).await? {
                Lookup::Hit(row) => Ok(row),
                Lookup::Miss(ticket) => {
                    let row = self.inner.get::<P>(tenant, key).await?;
                    self.cache.fill::<P>(ticket, row.as_ref()).await;
                    Ok(row)
                }
                Lookup::Unavailable => self.inner.get::<P>(tenant, key).await,
            }
        })
        .await
    }

    /// Not cached: `R`'s page.
    async fn page<P: Projection>(
        &self,
        tenant: Option<&TenantId>,
        after: Option<&P::Key>,
        limit: usize,
    ) -> Result<Vec<P>, QueryError> {
        self.inner.page::<P>(tenant, after, limit).await
    }

    /// Not cached: `R`'s `find_by`.
    async fn find_by<P: Projection>(
        &self,
        tenant: Option<&TenantId>,
        column: &str,
        value: &Value,
        limit: usize,
    ) -> Result<Vec<P>, QueryError> {
        self.inner.find_by::<P>(tenant, column, value, limit).await
    }
}

impl<R: GuardedReadModels> GuardedReadModels for CachedReadModels<R> {
    fn guard(&self) -> &acci_core::authorization::QueryGuard {
        self.inner.guard()
    }

    fn for_caller(&self, caller: Caller) -> Self {
        CachedReadModels::for_caller(self, caller)
    }
}
