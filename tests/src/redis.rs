//! Redis for the cache tests: the server from `REDIS_URL` (default
//! `redis://127.0.0.1:6379`), and a key prefix per test whose keys are deleted when the
//! test ends.

use acci_redis::{CacheOptions, RedisReadModelCache};

/// The server URL the tests use.
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// One test's corner of Redis: a unique key prefix. Dropping it deletes its keys.
pub struct TestRedis {
    prefix: String,
    client: redis::Client,
}

impl TestRedis {
    /// A fresh prefix on the test server.
    ///
    /// Panics with instructions when no server answers: the Redis tests never skip.
    pub fn new() -> Self {
        let url = redis_url();
        let client = redis::Client::open(url.as_str())
            .unwrap_or_else(|e| panic!("REDIS_URL `{url}` is not a Redis URL: {e}"));
        let mut conn = client.get_connection().unwrap_or_else(|e| {
            panic!(
                "cannot reach Redis at `{url}`: {e}\n\
                 The read-model cache tests need a server. Start the local one \
                 (`redis-server --daemonize yes`) or point REDIS_URL at one, e.g. \
                 REDIS_URL=redis://127.0.0.1:6379"
            )
        });
        let _: String = redis::cmd("PING").query(&mut conn).expect("PING");
        let prefix = format!("acci-test-{}", uuid::Uuid::new_v4().simple());
        TestRedis { prefix, client }
    }

    /// The key prefix of this test.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Cache options with this test's prefix.
    pub fn options(&self) -> CacheOptions {
        CacheOptions::default().with_prefix(self.prefix.clone())
    }

    /// A cache on the test server with this test's prefix.
    pub fn cache(&self) -> RedisReadModelCache {
        RedisReadModelCache::new(&redis_url(), self.options()).expect("valid cache options")
    }

    /// Every key of this test, sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut conn = self.client.get_connection().expect("a Redis connection");
        // Every key of the cache starts with the hash tag `{<prefix>:`.
        let pattern = format!("{{{}:*", self.prefix);
        let mut keys: Vec<String> = redis::cmd("KEYS")
            .arg(pattern)
            .query(&mut conn)
            .expect("KEYS");
        keys.sort();
        keys
    }

    /// The value of `key`, if it has one.
    pub fn get(&self, key: &str) -> Option<String> {
        let mut conn = self.client.get_connection().expect("a Redis connection");
        redis::cmd("GET").arg(key).query(&mut conn).expect("GET")
    }
}

impl Default for TestRedis {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        let keys = self.keys();
        if keys.is_empty() {
            return;
        }
        if let Ok(mut conn) = self.client.get_connection() {
            let _: Result<(), _> = redis::cmd("DEL").arg(keys).query(&mut conn);
        }
    }
}
