//! Events: the [`Event`] trait `#[event]` implements, the per-aggregate [`EventEnum`]
//! `#[derive(Aggregate)]` generates, and the envelopes around them ([`NewEvent`] on the
//! way in, [`Recorded`] on the way out).

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{DecodeError, DecodeFailure};
use crate::ids::{EventId, StreamId};
use crate::metadata::Metadata;
use crate::store::LogPosition;

/// One kind of event, with its stored type name and schema version.
///
/// Implemented by `#[event]`; write it by hand only if you know why. `decode` reads a
/// payload stored at any schema version up to [`SCHEMA_VERSION`](Event::SCHEMA_VERSION),
/// running the upcast chain for older ones.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an ACCI event",
    label = "not an event",
    note = "put `#[event]` (from `acci_core::prelude`) on the struct `{Self}`: only event types can be listed in `events(...)` or named by `previous = …`",
    note = "if `{Self}` is an enum, make each of its variants an `#[event]` struct and list those instead"
)]
pub trait Event: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The name the event is stored under.
    const EVENT_TYPE: &'static str;
    /// The current schema version, 1 or more.
    const SCHEMA_VERSION: u32;

    /// Reads a payload stored at `schema_version`, upcasting it if it is older.
    fn decode(schema_version: u32, payload: Value) -> Result<Self, DecodeError>;

    /// Reads a payload stored at `schema_version` from its JSON text. At the current
    /// version it deserializes straight from the text, without building a [`Value`]
    /// first (the cost of loading a long stream); an older version goes through
    /// [`decode`](Event::decode) and its upcast chain.
    #[inline]
    fn decode_json(schema_version: u32, json: &str) -> Result<Self, DecodeError> {
        let payload_error =
            |e| DecodeError::new(Self::EVENT_TYPE, schema_version, DecodeFailure::Payload(e));
        if schema_version == Self::SCHEMA_VERSION {
            return serde_json::from_str(json).map_err(payload_error);
        }
        let payload = serde_json::from_str(json).map_err(payload_error)?;
        Self::decode(schema_version, payload)
    }
}

/// A type that can be a field of the event `Ev`: stored as JSON, so `Serialize` and
/// `Deserialize`. `#[event]` makes its serde impls and its `Event` impl conditional on it
/// for each field (`for<'a> Field: EventField<'a, Ev>`, where the lifetime only keeps the
/// bound from being checked where it is written), so that a field that is not stored
/// reports one error, at the field ([`FieldProbe`]), and no serde error repeats it.
/// Implemented for every such type; never implement it by hand.
#[doc(hidden)]
pub trait EventField<'a, Ev>: Serialize + DeserializeOwned {}

impl<Ev, T: Serialize + DeserializeOwned> EventField<'_, Ev> for T {}

/// The check `#[event]` generates at each field's type:
/// `assert_event_field::<Ev, _>((&field_probe::<T>()).__acci_probe())`. The method
/// resolves to [`ProbeStored`] when `T` has both serde traits and to [`ProbeNotStored`]
/// otherwise, so one message covers a field that lacks either or both.
#[doc(hidden)]
pub struct FieldProbe<T>(core::marker::PhantomData<T>);

/// The probe of `T`.
#[doc(hidden)]
pub const fn field_probe<T>() -> FieldProbe<T> {
    FieldProbe(core::marker::PhantomData)
}

/// What the probe of a storable field type returns.
#[doc(hidden)]
pub struct FieldStored;

/// What the probe of a field type that is not `Serialize` and `Deserialize` returns.
#[doc(hidden)]
pub struct FieldNotStored;

/// The probe's method for a storable field type.
#[doc(hidden)]
pub trait ProbeStored {
    /// [`FieldStored`].
    fn __acci_probe(&self) -> FieldStored;
}

impl<T: Serialize + DeserializeOwned> ProbeStored for FieldProbe<T> {
    fn __acci_probe(&self) -> FieldStored {
        FieldStored
    }
}

/// The probe's method for any other field type (found through one more reference).
#[doc(hidden)]
pub trait ProbeNotStored {
    /// [`FieldNotStored`].
    fn __acci_probe(&self) -> FieldNotStored;
}

impl<T> ProbeNotStored for &FieldProbe<T> {
    fn __acci_probe(&self) -> FieldNotStored {
        FieldNotStored
    }
}

/// The outcome of a field's probe that the event `Ev` accepts.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "this field cannot be stored in the event `{Ev}`: its type is not `Serialize` and `Deserialize`",
    label = "an event is stored as JSON, so each field's type needs serde's `Serialize` and `Deserialize`",
    note = "derive `Serialize` and `Deserialize` on the field's type, use a type that has them (such as `chrono::DateTime<Utc>` for a point in time), or give the field `#[serde(with = \"…\")]`"
)]
pub trait StoredField<Ev> {}

impl<Ev> StoredField<Ev> for FieldStored {}

/// The assertion on a field's probe.
#[doc(hidden)]
pub fn assert_event_field<Ev, P: StoredField<Ev>>(probe: P) {
    let _ = probe;
}

/// The event enum of one aggregate: every event it records, as one type.
///
/// Generated by `#[derive(Aggregate)]` as `<Aggregate>Event`.
pub trait EventEnum: Sized + Send + Sync + 'static {
    /// The stored type names of every variant, in the order of `events(...)`.
    const EVENT_TYPES: &'static [&'static str];

    /// The stored type name of this event.
    fn event_type(&self) -> &'static str;

    /// The schema version this event is written at.
    fn schema_version(&self) -> u32;

    /// The event's payload as JSON.
    fn to_payload(&self) -> Result<Value, serde_json::Error>;

    /// Reads a stored event by its type name and schema version.
    fn decode(event_type: &str, schema_version: u32, payload: Value) -> Result<Self, DecodeError>;

    /// Reads a stored event from its payload's JSON text; see [`Event::decode_json`]. The
    /// derive dispatches to each variant's `decode_json`; this default parses the text
    /// and calls [`decode`](EventEnum::decode).
    fn decode_json(event_type: &str, schema_version: u32, json: &str) -> Result<Self, DecodeError> {
        let payload = serde_json::from_str(json)
            .map_err(|e| DecodeError::new(event_type, schema_version, DecodeFailure::Payload(e)))?;
        Self::decode(event_type, schema_version, payload)
    }
}

/// Reads a payload stored at exactly the current schema version.
///
/// Used by the code `#[event]` generates; it keeps the payload error in the
/// [`DecodeError`].
#[inline]
pub fn decode_current<E: Event>(payload: Value) -> Result<E, DecodeError> {
    serde_json::from_value(payload)
        .map_err(|e| DecodeError::new(E::EVENT_TYPE, E::SCHEMA_VERSION, DecodeFailure::Payload(e)))
}

/// The error for a stored version that this event type cannot read.
#[cold]
pub fn unsupported_version<E: Event>(found: u32) -> DecodeError {
    let reason = if found > E::SCHEMA_VERSION {
        format!(
            "it is newer than version {} of `{}` that this build knows; deploy the newer build",
            E::SCHEMA_VERSION,
            E::EVENT_TYPE
        )
    } else {
        format!(
            "version {} of `{}` has no upcast from older versions; add `previous = …` or `upcast = …` to its `#[event]`",
            E::SCHEMA_VERSION,
            E::EVENT_TYPE
        )
    };
    DecodeError::new(
        E::EVENT_TYPE,
        found,
        DecodeFailure::UnsupportedVersion { found, reason },
    )
}

/// An event to append: payload and metadata, before the store assigns its sequence,
/// position and time.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// The event's id; fresh (UUID v7) unless the caller sets one.
    pub event_id: EventId,
    /// The stored type name.
    pub event_type: Cow<'static, str>,
    /// The schema version the payload is written at.
    pub schema_version: u32,
    /// The payload: a JSON object.
    pub payload: Value,
    /// Correlation, causation, user and free-form entries.
    pub metadata: Metadata,
}

impl NewEvent {
    /// Wraps one variant of an aggregate's event enum.
    pub fn from_enum<E: EventEnum>(
        event: &E,
        metadata: Metadata,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self {
            event_id: EventId::new(),
            event_type: Cow::Borrowed(event.event_type()),
            schema_version: event.schema_version(),
            payload: event.to_payload()?,
            metadata,
        })
    }

    /// Wraps one `#[event]` value.
    pub fn from_event<E: Event>(event: &E, metadata: Metadata) -> Result<Self, serde_json::Error> {
        Ok(Self {
            event_id: EventId::new(),
            event_type: Cow::Borrowed(E::EVENT_TYPE),
            schema_version: E::SCHEMA_VERSION,
            payload: serde_json::to_value(event)?,
            metadata,
        })
    }
}

/// A recorded event: its payload `data` in the envelope the store gave it.
///
/// Stores hand out `Recorded<Value>` ([`StoredEvent`]); the repository and the fixtures
/// decode them into `Recorded<A::Event>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded<E> {
    /// The event's id.
    pub event_id: EventId,
    /// Tenant, aggregate type and aggregate id.
    pub stream: StreamId,
    /// The event's place in its stream, from 1.
    pub sequence: u64,
    /// The event's place in the global log.
    pub position: LogPosition,
    /// The stored type name.
    pub event_type: String,
    /// The schema version the payload was stored at (before any upcast).
    pub schema_version: u32,
    /// Correlation, causation, user and free-form entries.
    pub metadata: Metadata,
    /// When the store recorded it.
    pub recorded_at: DateTime<Utc>,
    /// The payload.
    pub data: E,
}

/// A recorded event with its payload still as JSON, as stores return it.
pub type StoredEvent = Recorded<Value>;

impl<E> Recorded<E> {
    /// The same envelope around another payload.
    pub fn map<F>(self, f: impl FnOnce(E) -> F) -> Recorded<F> {
        Recorded {
            event_id: self.event_id,
            stream: self.stream,
            sequence: self.sequence,
            position: self.position,
            event_type: self.event_type,
            schema_version: self.schema_version,
            metadata: self.metadata,
            recorded_at: self.recorded_at,
            data: f(self.data),
        }
    }
}

/// An event as folding an aggregate needs it: its place in the stream, its stored type
/// and schema version, and its payload. Lighter than a [`StoredEvent`]: a store loading
/// an aggregate need not read or build the envelope (stream, position, metadata, time).
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateEvent {
    /// The event's id, for error messages.
    pub event_id: EventId,
    /// Its place in the stream, from 1.
    pub sequence: u64,
    /// The stored type name.
    pub event_type: String,
    /// The schema version it was stored with.
    pub schema_version: u32,
    /// The payload, as stored.
    pub data: Payload,
}

/// An event's payload: its JSON text as a store read it, or a parsed value.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// The JSON text: decoded straight into the event, with no [`Value`] in between.
    Text(String),
    /// A parsed value, as stores that keep values hold it. (Not named `Value`: a second
    /// public `Value` would make the compiler spell out `serde_json::Value` in every
    /// diagnostic that mentions one.)
    Parsed(Value),
}

impl AggregateEvent {
    /// Decodes the payload into an aggregate's event enum, upcasting old versions. The
    /// error names this event's id, type and schema version.
    #[inline]
    pub fn decode<E: EventEnum>(self) -> Result<E, DecodeError> {
        let event_id = self.event_id;
        match self.data {
            Payload::Text(json) => E::decode_json(&self.event_type, self.schema_version, &json),
            Payload::Parsed(value) => E::decode(&self.event_type, self.schema_version, value),
        }
        .map_err(|e| e.with_event_id(event_id))
    }
}

impl From<StoredEvent> for AggregateEvent {
    fn from(stored: StoredEvent) -> Self {
        Self {
            event_id: stored.event_id,
            sequence: stored.sequence,
            event_type: stored.event_type,
            schema_version: stored.schema_version,
            data: Payload::Parsed(stored.data),
        }
    }
}

impl StoredEvent {
    /// Decodes the payload into an aggregate's event enum, upcasting old versions. The
    /// error names this event's id, type and schema version.
    #[inline]
    pub fn decode<E: EventEnum>(self) -> Result<Recorded<E>, DecodeError> {
        let event_id = self.event_id;
        let mut payload = Value::Null;
        let recorded = self.map(|data| payload = data);
        let data = E::decode(&recorded.event_type, recorded.schema_version, payload)
            .map_err(|e| e.with_event_id(event_id))?;
        Ok(recorded.map(|()| data))
    }
}
