#![doc = include_str!("../README.md")]
//!
//! # Key layout
//!
//! ```text
//! {<prefix>:<projection>}:gen                       the projection's generation
//! {<prefix>:<projection>}:r:g:<key>                 a row of a global read model
//! {<prefix>:<projection>}:r:t<len>.<tenant>:<key>   a row of tenant <tenant>
//! ```
//!
//! `<key>` is the row's key object as JSON and `<len>` the tenant id's length in bytes,
//! so no two (tenant, key) pairs share a Redis key. An entry holds the row (or that no
//! row has the key) with the generation it was read in and a fingerprint of the row
//! type, or an invalidation's mark; `docs/cache.md` says how they keep a row fresh.
#![warn(missing_docs)]

mod cache;
mod connection;
mod key;
mod options;
mod read_models;

pub use cache::{Lookup, RedisReadModelCache, Ticket};
pub use connection::CacheError;
pub use options::{CacheOptions, MAX_PREFIX_LEN};
pub use read_models::CachedReadModels;
