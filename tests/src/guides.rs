//! The guides in `docs/`, compiled as doctests: every `rust` block in them is built (and
//! run, unless marked `no_run`) by `cargo test --doc -p acci-tests`.

/// `docs/getting-started.md`.
#[doc = include_str!("../../docs/getting-started.md")]
pub struct GettingStarted;

/// `docs/macros.md`.
#[doc = include_str!("../../docs/macros.md")]
pub struct Macros;

/// `docs/projections.md`.
#[doc = include_str!("../../docs/projections.md")]
pub struct Projections;

/// `docs/postgres.md`.
#[doc = include_str!("../../docs/postgres.md")]
pub struct Postgres;

/// `docs/performance.md`.
#[doc = include_str!("../../docs/performance.md")]
pub struct Performance;

/// `docs/architecture.md`.
#[doc = include_str!("../../docs/architecture.md")]
pub struct Architecture;

/// `docs/security.md`.
#[doc = include_str!("../../docs/security.md")]
pub struct Security;

/// `docs/cache.md`.
#[doc = include_str!("../../docs/cache.md")]
pub struct Cache;

/// `docs/operations.md`.
#[doc = include_str!("../../docs/operations.md")]
pub struct Operations;

/// `docs/integration.md`.
#[doc = include_str!("../../docs/integration.md")]
pub struct Integration;

/// `docs/temporal.md`.
#[doc = include_str!("../../docs/temporal.md")]
pub struct Temporal;
