//! [`EventKind`]: which events a reader of the global log selects, by aggregate type and
//! event type.

use std::borrow::Cow;
use std::fmt;

use crate::aggregate::Aggregate;
use crate::event::{Event, EventEnum};

/// One kind of event in the log: an event type as stored by one aggregate type, or by
/// any aggregate type.
///
/// A stored event type name alone does not say what happened: two aggregates may both
/// record an `Opened`. Readers of the log (projections, [`ReadAll`](super::ReadAll)
/// filters) therefore select pairs. Events are not tied to an aggregate at the type
/// level (`#[event]` names none; each aggregate lists the events it records, and one
/// event type may be listed by several), so the reader names the aggregate types.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventKind {
    /// The aggregate type whose streams it is read from; `None` reads it from every
    /// aggregate type that stores it.
    pub aggregate_type: Option<Cow<'static, str>>,
    /// The stored event type name.
    pub event_type: Cow<'static, str>,
}

impl EventKind {
    /// Event type `event_type` as aggregate type `aggregate_type` stores it.
    pub const fn new(aggregate_type: &'static str, event_type: &'static str) -> Self {
        Self {
            aggregate_type: Some(Cow::Borrowed(aggregate_type)),
            event_type: Cow::Borrowed(event_type),
        }
    }

    /// Event type `event_type` from every aggregate type that stores it.
    pub const fn any_aggregate(event_type: &'static str) -> Self {
        Self {
            aggregate_type: None,
            event_type: Cow::Borrowed(event_type),
        }
    }

    /// Event `E` as aggregate `A` stores it.
    pub const fn of<A: Aggregate, E: Event>() -> Self {
        Self::new(A::TYPE, E::EVENT_TYPE)
    }

    /// Every event aggregate `A` records.
    pub fn all_of<A: Aggregate>() -> impl Iterator<Item = EventKind> {
        <A::Event as EventEnum>::EVENT_TYPES
            .iter()
            .map(|event_type| Self::new(A::TYPE, event_type))
    }

    /// A kind made of names known only at run time.
    pub fn owned(aggregate_type: Option<String>, event_type: impl Into<String>) -> Self {
        Self {
            aggregate_type: aggregate_type.map(Cow::Owned),
            event_type: Cow::Owned(event_type.into()),
        }
    }

    /// Whether an event of `event_type` in a stream of `aggregate_type` is of this kind.
    pub fn matches(&self, aggregate_type: &str, event_type: &str) -> bool {
        self.event_type == event_type
            && self
                .aggregate_type
                .as_deref()
                .is_none_or(|wanted| wanted == aggregate_type)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.aggregate_type {
            Some(aggregate_type) => write!(f, "{aggregate_type}/{}", self.event_type),
            None => write!(f, "*/{}", self.event_type),
        }
    }
}
