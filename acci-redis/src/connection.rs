//! The connection to Redis: made on first use, not when the cache is built, so an
//! application starts while Redis is down; one multiplexed connection (`redis`'s
//! `ConnectionManager`); every operation bounded by the timeout. An operation that fails
//! on the connection (an I/O error, a timeout) drops it: queries then pass Redis by
//! until the reconnect interval is over, and the next one connects anew.

use std::future::Future;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::Mutex;

/// Why a Redis operation of the cache did not happen. The cache never fails a query for
/// it: it reads without the cache, and counts and logs the failure.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// Redis answered with an error, or the connection failed.
    #[error("Redis failed: {0}")]
    Redis(#[from] redis::RedisError),
    /// Redis did not answer within the operation timeout.
    #[error("Redis did not answer within {0:?}")]
    Timeout(Duration),
    /// Connecting failed, or did not finish within the timeout.
    #[error("cannot connect to Redis: {0}")]
    Connect(String),
    /// No connection, and the last attempt to make one failed too recently to try again.
    #[error("Redis is unreachable (the last attempt to connect failed {0:?} ago)")]
    Unreachable(Duration),
}

impl CacheError {
    /// Whether the connection itself is missing, as opposed to one operation failing.
    pub fn is_connect(&self) -> bool {
        matches!(self, CacheError::Connect(_) | CacheError::Unreachable(_))
    }
}

/// The state of the connection: made, or when making it last failed.
#[derive(Default)]
struct State {
    manager: Option<ConnectionManager>,
    failed_at: Option<Instant>,
}

/// A lazily made, self-healing connection to Redis.
pub(crate) struct Connection {
    client: redis::Client,
    timeout: Duration,
    reconnect_after: Duration,
    state: Mutex<State>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("server", &self.client.get_connection_info().addr)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Connection {
    pub(crate) fn new(client: redis::Client, timeout: Duration, reconnect_after: Duration) -> Self {
        Self {
            client,
            timeout,
            reconnect_after,
            state: Mutex::new(State::default()),
        }
    }

    /// The connection, made now if there is none and the last failure is long enough ago.
    async fn manager(&self) -> Result<ConnectionManager, CacheError> {
        let mut state = self.state.lock().await;
        if let Some(manager) = &state.manager {
            return Ok(manager.clone());
        }
        if let Some(failed_at) = state.failed_at {
            let since = failed_at.elapsed();
            if since < self.reconnect_after {
                return Err(CacheError::Unreachable(since));
            }
        }
        // The manager's own retries would keep a query waiting past the timeout; the
        // timeout below bounds the attempt, and the next one waits `reconnect_after`.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(self.timeout)
            .set_response_timeout(self.timeout)
            .set_number_of_retries(1);
        let made = tokio::time::timeout(
            self.timeout,
            ConnectionManager::new_with_config(self.client.clone(), config),
        )
        .await;
        match made {
            Ok(Ok(manager)) => {
                state.failed_at = None;
                state.manager = Some(manager.clone());
                Ok(manager)
            }
            Ok(Err(error)) => {
                state.failed_at = Some(Instant::now());
                tracing::warn!(%error, "cannot connect to Redis; reading without the cache");
                Err(CacheError::Connect(error.to_string()))
            }
            Err(_) => {
                state.failed_at = Some(Instant::now());
                tracing::warn!(timeout = ?self.timeout,
                    "cannot connect to Redis in time; reading without the cache");
                Err(CacheError::Connect(format!(
                    "no answer within {:?}",
                    self.timeout
                )))
            }
        }
    }

    /// Runs `op` on the connection within the timeout (taking the connection included).
    pub(crate) async fn run<T, F, Fut>(&self, op: F) -> Result<T, CacheError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let started = Instant::now();
        let manager = self.manager().await?;
        let left = self.timeout.saturating_sub(started.elapsed());
        let error = match tokio::time::timeout(left, op(manager)).await {
            Ok(Ok(done)) => return Ok(done),
            Ok(Err(error)) if !(error.is_io_error() || error.is_timeout()) => {
                // Redis answered, with an error: the connection is fine.
                return Err(error.into());
            }
            Ok(Err(error)) => CacheError::Redis(error),
            Err(_) => CacheError::Timeout(self.timeout),
        };
        // Redis is gone or slow: drop the connection and let queries pass it by until
        // `reconnect_after`, instead of each waiting out the timeout.
        let mut state = self.state.lock().await;
        state.manager = None;
        state.failed_at = Some(Instant::now());
        tracing::warn!(%error, retry_after = ?self.reconnect_after,
            "Redis failed or was slow; reading without the cache for a while");
        Err(error)
    }
}
