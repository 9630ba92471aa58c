//! [`CacheOptions`]: the key prefix, the times to live, the operation timeout.

use std::time::Duration;

use acci_core::ValidationError;

/// How a [`RedisReadModelCache`](crate::RedisReadModelCache) works. Checked by
/// [`validate`](Self::validate) when the cache is made, before any I/O.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheOptions {
    /// What every key of this cache starts with (`acci` by default), so that several
    /// applications, or several tests, share one Redis without sharing entries. 1 to 64
    /// printable ASCII characters, without `{`, `}` or spaces (braces would change the
    /// key's hash slot on a cluster).
    pub prefix: String,
    /// How long a cached row (or a cached absence) lives: the bound on its staleness
    /// when an invalidation fails (Redis unreachable while the runner commits). 30 s by
    /// default; at least 1 ms.
    pub ttl: Duration,
    /// How long the mark an invalidation leaves in place of a row lives. A reader that
    /// looked the row up before the invalidation may store what it read only while the
    /// mark lasts, so it can see the mark and refuse; a reader slower than half of it
    /// stores nothing. 10 s by default; at least 1 ms.
    pub tombstone_ttl: Duration,
    /// How long one Redis operation may take (connecting included) before the cache
    /// gives up on it: the query is then answered from the read models behind it. 50 ms
    /// by default.
    pub timeout: Duration,
    /// How long after a failed attempt to connect the cache tries again; until then,
    /// queries go straight to the read models behind it. 1 s by default.
    pub reconnect_after: Duration,
}

impl Default for CacheOptions {
    fn default() -> Self {
        Self {
            prefix: "acci".to_owned(),
            ttl: Duration::from_secs(30),
            tombstone_ttl: Duration::from_secs(10),
            timeout: Duration::from_millis(50),
            reconnect_after: Duration::from_secs(1),
        }
    }
}

/// The longest [`CacheOptions::prefix`].
pub const MAX_PREFIX_LEN: usize = 64;

impl CacheOptions {
    /// The same options with `prefix`.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Refuses options the cache cannot work with, naming the one that is wrong.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let prefix = &self.prefix;
        if prefix.is_empty() || prefix.len() > MAX_PREFIX_LEN {
            return Err(ValidationError::new(
                "cache key prefix",
                format!(
                    "is {} characters long; it must be 1 to {MAX_PREFIX_LEN}",
                    prefix.len()
                ),
            ));
        }
        if let Some(bad) = prefix
            .chars()
            .find(|c| !c.is_ascii_graphic() || matches!(c, '{' | '}'))
        {
            return Err(ValidationError::new(
                format!("cache key prefix `{}`", prefix.escape_debug()),
                format!(
                    "holds {:?}; it may hold printable ASCII characters except `{{`, `}}` and spaces",
                    bad
                ),
            ));
        }
        for (what, duration) in [
            ("cache time to live", self.ttl),
            ("cache tombstone time to live", self.tombstone_ttl),
        ] {
            if duration < Duration::from_millis(1) {
                return Err(ValidationError::new(
                    what,
                    format!("is {duration:?}; it must be at least 1 ms"),
                ));
            }
        }
        for (what, duration) in [
            ("cache operation timeout", self.timeout),
            ("cache reconnect interval", self.reconnect_after),
        ] {
            if duration.is_zero() {
                return Err(ValidationError::new(what, "is zero; it must be positive"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid() {
        CacheOptions::default().validate().unwrap();
    }

    #[test]
    fn a_bad_prefix_is_named() {
        for prefix in ["", "a b", "x{y}", "tab\t"] {
            let error = CacheOptions::default()
                .with_prefix(prefix)
                .validate()
                .unwrap_err();
            assert!(error.what.contains("prefix"), "{prefix:?}: {error}");
        }
        let long = "p".repeat(MAX_PREFIX_LEN + 1);
        assert!(
            CacheOptions::default()
                .with_prefix(long)
                .validate()
                .is_err()
        );
    }

    #[test]
    fn zero_durations_are_refused() {
        let options = CacheOptions {
            ttl: Duration::ZERO,
            ..CacheOptions::default()
        };
        assert_eq!(options.validate().unwrap_err().what, "cache time to live");
        let options = CacheOptions {
            timeout: Duration::ZERO,
            ..CacheOptions::default()
        };
        assert_eq!(
            options.validate().unwrap_err().what,
            "cache operation timeout"
        );
    }
}
