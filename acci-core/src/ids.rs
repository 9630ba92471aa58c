//! Identifiers: tenants, aggregates, streams, events and commands.
//!
//! Text identifiers are validated once, when they are built, so every store can rely on
//! them: a [`TenantId`] or [`AggregateId`] that exists is non-empty, within its length
//! limit and free of characters a database cannot keep.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ValidationError;

/// Longest tenant id accepted, in bytes of UTF-8.
///
/// The rules on text ids and type names (lengths, no NUL, no control characters in
/// tenant ids and type names) have SQL twins: the `*_shape` `CHECK` constraints of
/// `acci-postgres/migrations/0001_baseline.sql`, which refuse the same rows whoever
/// writes them. Change both together (`docs/security.md` lists each pair).
pub const MAX_TENANT_ID_BYTES: usize = 256;
/// Longest aggregate id accepted, in bytes of UTF-8.
pub const MAX_AGGREGATE_ID_BYTES: usize = 1024;
/// Longest aggregate type or event type name accepted, in bytes of UTF-8.
pub const MAX_TYPE_NAME_BYTES: usize = 256;

/// Checks one text identifier: non-empty, at most `max` bytes, no NUL (PostgreSQL text
/// cannot hold it) and, where `allow_control` is false, no control characters at all.
fn check_text(
    what: &'static str,
    value: &str,
    max: usize,
    allow_control: bool,
) -> Result<(), ValidationError> {
    if value.is_empty() {
        return Err(ValidationError::new(what, "must not be empty"));
    }
    if value.len() > max {
        return Err(ValidationError::new(
            what,
            format!("is {} bytes long; the limit is {max} bytes", value.len()),
        ));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| *c == '\0' || (!allow_control && c.is_control()))
    {
        return Err(ValidationError::new(
            what,
            format!("contains the control character U+{:04X}", bad as u32),
        ));
    }
    Ok(())
}

/// Checks an aggregate type or event type name: non-empty, at most
/// [`MAX_TYPE_NAME_BYTES`], no control characters.
pub fn validate_type_name(what: &'static str, name: &str) -> Result<(), ValidationError> {
    check_text(what, name, MAX_TYPE_NAME_BYTES, false)
}

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident, $what:literal, $max:expr, $allow_control:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(Arc<str>);

        impl $name {
            /// Builds the id, or says what is wrong with `value`.
            pub fn new(value: impl AsRef<str>) -> Result<Self, ValidationError> {
                let value = value.as_ref();
                check_text($what, value, $max, $allow_control)?;
                Ok(Self(Arc::from(value)))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&*self.0, f)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<&str> for $name {
            type Error = ValidationError;
            fn try_from(value: &str) -> Result<Self, ValidationError> {
                Self::new(value)
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValidationError;
            fn try_from(value: String) -> Result<Self, ValidationError> {
                Self::new(value)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Self::new(text).map_err(serde::de::Error::custom)
            }
        }
    };
}

text_id!(
    /// The tenant a stream, a snapshot or a command belongs to.
    ///
    /// Every store call is scoped to one tenant. 1 to 256 bytes, no control characters.
    TenantId,
    "tenant id",
    MAX_TENANT_ID_BYTES,
    false
);

text_id!(
    /// The id of one aggregate instance, unique within its tenant and aggregate type.
    ///
    /// 1 to 1024 bytes of any Unicode but NUL: quotes, backslashes and emoji are fine.
    AggregateId,
    "aggregate id",
    MAX_AGGREGATE_ID_BYTES,
    true
);

/// One event stream: the events of one aggregate instance of one tenant.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StreamId {
    /// The tenant the stream belongs to.
    pub tenant: TenantId,
    /// The aggregate type, as `#[aggregate(name = "…")]` gives it.
    pub aggregate_type: Arc<str>,
    /// The aggregate instance.
    pub aggregate_id: AggregateId,
}

impl StreamId {
    /// Names a stream; the aggregate type is checked like every stored type name.
    pub fn new(
        tenant: TenantId,
        aggregate_type: impl AsRef<str>,
        aggregate_id: AggregateId,
    ) -> Result<Self, ValidationError> {
        let aggregate_type = aggregate_type.as_ref();
        validate_type_name("aggregate type", aggregate_type)?;
        Ok(Self {
            tenant,
            aggregate_type: Arc::from(aggregate_type),
            aggregate_id,
        })
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}",
            self.tenant, self.aggregate_type, self.aggregate_id
        )
    }
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered id (UUID v7), so ids made later sort later.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// The UUID inside.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<Uuid> for $name {
            fn from(value: Uuid) -> Self {
                Self(value)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

uuid_id!(
    /// The id of one recorded event, unique across the whole store.
    EventId
);

uuid_id!(
    /// The id a caller gives a command so that sending it again applies it only once.
    CommandId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_reject_what_a_store_cannot_keep() {
        assert!(
            TenantId::new("")
                .unwrap_err()
                .to_string()
                .contains("tenant id must not be empty")
        );
        assert!(
            TenantId::new("a\nb")
                .unwrap_err()
                .to_string()
                .contains("U+000A")
        );
        assert!(
            AggregateId::new("x\0y")
                .unwrap_err()
                .to_string()
                .contains("U+0000")
        );
        let long = "é".repeat(513);
        assert!(
            AggregateId::new(&long)
                .unwrap_err()
                .to_string()
                .contains("1026 bytes")
        );
    }

    #[test]
    fn ids_keep_unusual_text_as_given() {
        for text in [
            "o'brien",
            "back\\slash",
            "\"quoted\"",
            "tab\there",
            "日本語🙂",
            &"k".repeat(1024),
        ] {
            assert_eq!(AggregateId::new(text).unwrap().as_str(), text);
        }
    }

    #[test]
    fn deserializing_validates() {
        let err = serde_json::from_str::<TenantId>("\"\"").unwrap_err();
        assert!(err.to_string().contains("must not be empty"));
    }
}
