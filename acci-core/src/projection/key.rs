//! Row keys: which row of a read model an event changes.
//!
//! A read model whose key is one field of a type made from an aggregate id (`String`,
//! `Uuid`, `i16`, `i32`, `i64`) keys each event's row by the aggregate id unless a
//! [`ProjectKey<E>`] impl says otherwise. Any other key (a composite key, a date) has no
//! such default: `#[projection]` then requires a `ProjectKey<E>` impl for every listed
//! event, so a missing one is a compile error, not a failure on the first event.

use std::marker::PhantomData;

use crate::event::Recorded;
use crate::ids::AggregateId;

use super::{ListsEvent, Projection, ProjectionError};

/// The key of the row that event `E` changes.
///
/// Required for each listed event of a read model whose key is not made from an aggregate
/// id (a composite key, or one field of another type). Optional otherwise: without an
/// impl, the row is the one keyed by the aggregate id; with one, the impl decides (a row
/// per tenant, say).
#[diagnostic::on_unimplemented(
    message = "the key of `{Self}` is not made from an aggregate id, so `{E}` must say which row it changes",
    label = "no `ProjectKey<{E}>` impl for `{Self}`",
    note = "add `impl ProjectKey<{E}> for {Self} {{ fn key(event: &Recorded<{E}>) -> Result<Self::Key, ProjectionError> {{ … }} }}`"
)]
pub trait ProjectKey<E>: Projection + ListsEvent<E> {
    /// The key of the row `event` changes. Return [`ProjectionError::key`] for an event
    /// that names no row; the runner parks it.
    fn key(event: &Recorded<E>) -> Result<Self::Key, ProjectionError>;
}

/// Keys made from an aggregate id: `String`, integers and `Uuid` parse from it.
pub trait KeyFromAggregateId: Sized {
    /// Parses the key, or says why it cannot.
    fn from_aggregate_id(id: &AggregateId) -> Result<Self, String>;
}

impl KeyFromAggregateId for String {
    #[inline]
    fn from_aggregate_id(id: &AggregateId) -> Result<Self, String> {
        Ok(id.as_str().to_owned())
    }
}

impl KeyFromAggregateId for uuid::Uuid {
    fn from_aggregate_id(id: &AggregateId) -> Result<Self, String> {
        id.as_str()
            .parse()
            .map_err(|e| format!("aggregate id `{id}` is not a UUID: {e}"))
    }
}

macro_rules! integer_keys {
    ($($ty:ty),*) => {$(
        impl KeyFromAggregateId for $ty {
            fn from_aggregate_id(id: &AggregateId) -> Result<Self, String> {
                id.as_str().parse().map_err(|e| format!("aggregate id `{id}` is not a {}: {e}", stringify!($ty)))
            }
        }
    )*};
}

integer_keys!(i16, i32, i64);

/// The key of the row `event` changes in a read model keyed by aggregate id: its
/// [`ProjectKey<E>`] impl if it has one, the aggregate id otherwise.
///
/// The generated code calls `(&KeyProbe::<M, E>::new()).__acci_key(event)` with both traits
/// below in scope: method lookup takes [`KeyByImpl`] (on `KeyProbe` itself) when
/// `M: ProjectKey<E>` holds, and falls back to [`KeyByAggregateId`] (on `&KeyProbe`).
pub struct KeyProbe<M, E>(PhantomData<fn() -> (M, E)>);

impl<M, E> KeyProbe<M, E> {
    /// The probe.
    #[inline]
    pub const fn new() -> Self {
        KeyProbe(PhantomData)
    }
}

impl<M, E> Default for KeyProbe<M, E> {
    fn default() -> Self {
        Self::new()
    }
}

/// The read model's own [`ProjectKey<E>`] impl.
pub trait KeyByImpl<M: Projection, E> {
    /// The key from `M`'s impl.
    fn __acci_key(&self, event: &Recorded<E>) -> Result<M::Key, ProjectionError>;
}

impl<M: ProjectKey<E>, E> KeyByImpl<M, E> for KeyProbe<M, E> {
    #[inline]
    fn __acci_key(&self, event: &Recorded<E>) -> Result<M::Key, ProjectionError> {
        M::key(event)
    }
}

/// The aggregate id, made into the key.
pub trait KeyByAggregateId<M: Projection, E> {
    /// The key made from the event's aggregate id.
    fn __acci_key(&self, event: &Recorded<E>) -> Result<M::Key, ProjectionError>;
}

impl<M: Projection, E> KeyByAggregateId<M, E> for &KeyProbe<M, E> {
    #[inline]
    fn __acci_key(&self, event: &Recorded<E>) -> Result<M::Key, ProjectionError> {
        M::key_from_aggregate_id(&event.stream.aggregate_id)
            .map_err(|reason| ProjectionError::key(event, reason))
    }
}
