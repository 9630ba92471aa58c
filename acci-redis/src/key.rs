//! The key layout and the entry format: one fact, one place.
//!
//! Every key of one projection shares the hash tag `{<prefix>:<projection>}`, so the
//! scripts that read a row's entry together with the projection's generation stay on one
//! slot of a Redis cluster:
//!
//! ```text
//! {<prefix>:<projection>}:gen                       the generation (no time to live)
//! {<prefix>:<projection>}:r:g:<key>                 a row of a global read model
//! {<prefix>:<projection>}:r:t<len>.<tenant>:<key>   a row of tenant <tenant>
//! ```
//!
//! `<key>` is the row's key object (its key columns by name) as JSON, and `<len>` the
//! tenant id's length in bytes: the tenant ends exactly there, so no two (tenant, key)
//! pairs share a Redis key, whatever bytes either holds.
//!
//! An entry is one of:
//!
//! ```text
//! R<generation>|<shape>|<row as JSON>   the row
//! N<generation>|<shape>|                no row has the key
//! T<uuid>                               invalidated: no row is cached until a reader
//!                                       that saw this mark stores one
//! ```
//!
//! `<generation>` is the value of the `gen` key when the entry was read from the read
//! models (empty before the first rebuild); a rebuild sets a new one, so every older
//! entry stops answering at once. `<shape>` is a fingerprint of the row type (the
//! projection's version and its table's columns): a process with another row type never
//! decodes the entry, it reads the read models instead.

use std::any::TypeId;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{OnceLock, RwLock};

use acci_core::{Projection, TenantId};
use sha2::{Digest, Sha256};

/// The key of the projection's generation.
pub(crate) fn generation_key(prefix: &str, projection: &str) -> String {
    format!("{{{prefix}:{projection}}}:gen")
}

/// The key of the entry of a row: its tenant (`None` for a global read model) and its
/// key object as JSON.
pub(crate) fn row_key(
    prefix: &str,
    projection: &str,
    tenant: Option<&TenantId>,
    key_json: &str,
) -> String {
    let mut out = String::with_capacity(prefix.len() + projection.len() + key_json.len() + 48);
    let _ = write!(out, "{{{prefix}:{projection}}}:r:");
    match tenant {
        None => out.push('g'),
        Some(tenant) => {
            let tenant = tenant.as_str();
            let _ = write!(out, "t{}.{tenant}", tenant.len());
        }
    }
    out.push(':');
    out.push_str(key_json);
    out
}

/// The fingerprint of `P`'s row type: 16 hex digits of a SHA-256 over its version and
/// its table's description, computed once per type.
pub(crate) fn shape<P: Projection>() -> &'static str {
    static SHAPES: OnceLock<RwLock<HashMap<TypeId, &'static str>>> = OnceLock::new();
    let shapes = SHAPES.get_or_init(RwLock::default);
    let id = TypeId::of::<P>();
    if let Some(shape) = shapes.read().unwrap_or_else(|p| p.into_inner()).get(&id) {
        return shape;
    }
    let digest = Sha256::digest(format!("{}|{:?}", P::VERSION, P::TABLE).as_bytes());
    let mut hex = String::with_capacity(16);
    for byte in &digest[..8] {
        let _ = write!(hex, "{byte:02x}");
    }
    let mut shapes = shapes.write().unwrap_or_else(|p| p.into_inner());
    shapes
        .entry(id)
        .or_insert_with(|| Box::leak(hex.into_boxed_str()))
}

/// What an entry says, for a reader of one generation and one shape.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Entry<'a> {
    /// The row, as JSON.
    Row(&'a str),
    /// No row has the key.
    Absent,
    /// Nothing this reader may use: no entry, a mark, or an entry of another generation
    /// or shape.
    Unusable,
}

/// Reads `entry` for a reader of `generation` and `shape`.
pub(crate) fn read_entry<'a>(entry: &'a str, generation: &str, shape: &str) -> Entry<'a> {
    let (kind, rest) = match entry.as_bytes().first() {
        Some(b'R') => (b'R', &entry[1..]),
        Some(b'N') => (b'N', &entry[1..]),
        _ => return Entry::Unusable,
    };
    let Some(rest) = rest
        .strip_prefix(generation)
        .and_then(|rest| rest.strip_prefix('|'))
        .and_then(|rest| rest.strip_prefix(shape))
        .and_then(|rest| rest.strip_prefix('|'))
    else {
        return Entry::Unusable;
    };
    match kind {
        b'R' => Entry::Row(rest),
        _ if rest.is_empty() => Entry::Absent,
        _ => Entry::Unusable,
    }
}

/// The entry of `row` (`None`: no row has the key) read in `generation`.
pub(crate) fn write_entry(generation: &str, shape: &str, row: Option<&str>) -> String {
    match row {
        Some(json) => format!("R{generation}|{shape}|{json}"),
        None => format!("N{generation}|{shape}|"),
    }
}

/// A fresh invalidation mark.
pub(crate) fn tombstone() -> String {
    format!("T{}", uuid::Uuid::new_v4().simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(id: &str) -> TenantId {
        TenantId::new(id).unwrap()
    }

    #[test]
    fn tenants_and_keys_never_share_a_redis_key() {
        // Without the length, tenant `a:` with key `b` and tenant `a` with key `:b` would meet.
        let one = row_key("p", "m", Some(&tenant("a:")), "b");
        let two = row_key("p", "m", Some(&tenant("a")), ":b");
        assert_ne!(one, two);
        let global = row_key("p", "m", None, "{\"id\":\"x\"}");
        let scoped = row_key("p", "m", Some(&tenant("g")), "{\"id\":\"x\"}");
        assert_ne!(global, scoped);
        assert_eq!(
            row_key("acci", "users", Some(&tenant("acme")), "{\"id\":1}"),
            "{acci:users}:r:t4.acme:{\"id\":1}"
        );
    }

    #[test]
    fn entries_answer_only_their_generation_and_shape() {
        let row = write_entry("g1", "abcd", Some("{\"a\":1}"));
        assert_eq!(read_entry(&row, "g1", "abcd"), Entry::Row("{\"a\":1}"));
        assert_eq!(read_entry(&row, "g2", "abcd"), Entry::Unusable);
        assert_eq!(read_entry(&row, "g1", "ffff"), Entry::Unusable);
        assert_eq!(read_entry(&row, "", "abcd"), Entry::Unusable);
        let absent = write_entry("", "abcd", None);
        assert_eq!(read_entry(&absent, "", "abcd"), Entry::Absent);
        assert_eq!(read_entry(&absent, "g1", "abcd"), Entry::Unusable);
        assert_eq!(read_entry(&tombstone(), "", "abcd"), Entry::Unusable);
        assert_ne!(tombstone(), tombstone());
    }
}
