//! Input checks every store runs before it touches storage, so that all backends reject
//! the same input with the same message.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use crate::error::{StoreError, ValidationError};
use crate::event::NewEvent;
use crate::ids::{StreamId, validate_type_name};
use crate::store::ReadAll;
use crate::store::json::{check_json, check_json_named};

/// Most events one append may carry.
pub const MAX_EVENTS_PER_APPEND: usize = 10_000;
/// Most events one [`ReadAll`] batch may ask for.
pub const MAX_READ_BATCH: usize = 10_000;
/// The highest schema version a store keeps (a PostgreSQL `integer`).
pub const MAX_SCHEMA_VERSION: u32 = i32::MAX as u32;
/// The highest version, sequence or position a store keeps (a PostgreSQL `bigint`).
pub const MAX_STORED_NUMBER: u64 = i64::MAX as u64;
/// The earliest time a store keeps, in microseconds since 1970-01-01 UTC: midnight UTC
/// of 24 November 4714 BC (proleptic Gregorian), where PostgreSQL's `timestamptz`
/// begins. The latest time `chrono` can represent is well inside its range.
pub const MIN_STORED_TIME_MICROS: i64 = -210_866_803_200_000_000;

/// A time as a store keeps it: checked against the range PostgreSQL's `timestamptz`
/// holds, and cut to whole microseconds (every store keeps times to the microsecond).
pub fn stored_time(
    what: &'static str,
    time: DateTime<Utc>,
) -> Result<DateTime<Utc>, ValidationError> {
    let micros = time.timestamp_micros();
    if micros < MIN_STORED_TIME_MICROS {
        return Err(ValidationError::new(
            what,
            format!(
                "is {time}, before the earliest time a store keeps (4714-11-24 00:00:00 UTC BC)"
            ),
        ));
    }
    DateTime::from_timestamp_micros(micros).ok_or_else(|| {
        ValidationError::new(what, format!("is {time}, beyond the times a store keeps"))
    })
}

/// Checks a stream id whose fields were set by hand rather than by
/// [`StreamId::new`]: the aggregate type is a valid type name.
pub fn validate_stream(stream: &StreamId) -> Result<(), StoreError> {
    validate_type_name("aggregate type", &stream.aggregate_type)?;
    Ok(())
}

/// Checks an expected version a store can compare against. (`event_store.append`
/// refuses one below 0, the only other value SQL can send.)
pub fn validate_expected(expected: crate::store::ExpectedVersion) -> Result<(), StoreError> {
    match expected {
        crate::store::ExpectedVersion::Exactly(v) if v > MAX_STORED_NUMBER => {
            Err(ValidationError::new(
                "expected version",
                format!(
                    "is {v}, beyond the largest version a stream can reach ({MAX_STORED_NUMBER})"
                ),
            )
            .into())
        }
        _ => Ok(()),
    }
}

/// Checks a list of events to append: not empty, not too long, valid type names, schema
/// versions of 1 or more, payloads that are JSON objects, payloads and metadata that pass
/// [`check_json`](crate::store::check_json), no event id twice.
///
/// PostgreSQL checks the same in SQL, for writers that bypass this function:
/// `event_store.append` the batch (count, equal array lengths, depth), the events
/// table's constraints each row. Change both together.
pub fn validate_new_events(events: &[NewEvent]) -> Result<(), StoreError> {
    if events.is_empty() {
        return Err(
            ValidationError::new("event list", "is empty; append at least one event").into(),
        );
    }
    if events.len() > MAX_EVENTS_PER_APPEND {
        return Err(ValidationError::new(
            "event list",
            format!(
                "has {} events; one append takes at most {MAX_EVENTS_PER_APPEND}",
                events.len()
            ),
        )
        .into());
    }
    // A command appends one event or a few: comparing with the ones before is cheaper
    // than building a set, which only a long list needs.
    let mut ids = (events.len() > SMALL_APPEND).then(|| HashSet::with_capacity(events.len()));
    for (index, event) in events.iter().enumerate() {
        validate_type_name("event type", &event.event_type)?;
        if event.schema_version == 0 || event.schema_version > MAX_SCHEMA_VERSION {
            return Err(ValidationError::new(
                format!("schema version of event {index} (`{}`)", event.event_type),
                format!(
                    "is {}; versions run from 1 to {MAX_SCHEMA_VERSION}",
                    event.schema_version
                ),
            )
            .into());
        }
        if !event.payload.is_object() {
            return Err(ValidationError::new(
                format!("payload of event {index} (`{}`)", event.event_type),
                format!("is not a JSON object: {}", json_kind(&event.payload)),
            )
            .into());
        }
        check_json_named(
            &|| format!("payload of event {index} (`{}`)", event.event_type),
            &event.payload,
        )?;
        if metadata_may_be_refused(&event.metadata) {
            let metadata = serde_json::to_value(&event.metadata).unwrap_or_default();
            check_json_named(
                &|| format!("metadata of event {index} (`{}`)", event.event_type),
                &metadata,
            )?;
        }
        let repeated = match &mut ids {
            Some(ids) => !ids.insert(event.event_id),
            None => events[..index].iter().any(|e| e.event_id == event.event_id),
        };
        if repeated {
            return Err(StoreError::DuplicateEventId(event.event_id));
        }
    }
    Ok(())
}

/// Up to this many events, [`validate_new_events`] finds a repeated event id without a set.
const SMALL_APPEND: usize = 16;

/// Whether [`check_json`](crate::store::check_json) could refuse `metadata`'s stored
/// form. Without free-form entries it is an object of UUIDs and the user id, one level
/// deep, so only a NUL in the user id can fail; the common case then skips turning the
/// metadata into a `Value` just to walk it.
fn metadata_may_be_refused(metadata: &crate::metadata::Metadata) -> bool {
    !metadata.entries.is_empty()
        || metadata
            .user_id
            .as_ref()
            .is_some_and(|user| user.contains('\0'))
}

/// Checks a global-log read: a batch size within bounds and valid type names.
pub fn validate_read(request: &ReadAll) -> Result<(), StoreError> {
    if request.after.position > MAX_STORED_NUMBER {
        return Err(ValidationError::new(
            "log position",
            format!(
                "is {}, beyond the largest position a store assigns ({MAX_STORED_NUMBER})",
                request.after.position
            ),
        )
        .into());
    }
    if request.limit == 0 || request.limit > MAX_READ_BATCH {
        return Err(ValidationError::new(
            "read batch limit",
            format!(
                "is {}; it must be between 1 and {MAX_READ_BATCH}",
                request.limit
            ),
        )
        .into());
    }
    if let Some(kinds) = &request.events {
        if kinds.is_empty() {
            return Err(ValidationError::new(
                "event filter",
                "is empty, so it would match nothing; pass `None` to read every event",
            )
            .into());
        }
        for kind in kinds {
            if let Some(aggregate_type) = &kind.aggregate_type {
                validate_type_name("aggregate type in the filter", aggregate_type)?;
            }
            validate_type_name("event type in the filter", &kind.event_type)?;
        }
    }
    Ok(())
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Checks a snapshot before it is saved: a version of 1 or more, a state version a store
/// can keep, a time in the range of [`stored_time`], and a state that passes
/// [`check_json`](crate::store::check_json). Whether the stream has that many events is
/// the store's to check.
pub fn validate_snapshot(snapshot: &crate::store::Snapshot) -> Result<(), StoreError> {
    if snapshot.version == 0 || snapshot.version > MAX_STORED_NUMBER {
        return Err(ValidationError::new(
            "snapshot version",
            format!(
                "is {}; a snapshot covers 1 to {MAX_STORED_NUMBER} events",
                snapshot.version
            ),
        )
        .into());
    }
    stored_time("snapshot time", snapshot.taken_at)?;
    if snapshot.state_version > MAX_STORED_NUMBER {
        return Err(ValidationError::new(
            "snapshot state version",
            format!(
                "is {}, beyond the largest a store keeps ({MAX_STORED_NUMBER})",
                snapshot.state_version
            ),
        )
        .into());
    }
    check_json("snapshot state", &snapshot.state)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::ids::EventId;
    use crate::metadata::Metadata;

    fn events(count: usize) -> Vec<NewEvent> {
        (0..count)
            .map(|i| NewEvent {
                event_id: EventId::new(),
                event_type: Cow::Borrowed("Counted"),
                schema_version: 1,
                payload: serde_json::json!({ "n": i }),
                metadata: Metadata::default(),
            })
            .collect()
    }

    #[test]
    fn a_repeated_event_id_is_found_in_short_and_long_lists() {
        for count in [2, SMALL_APPEND, SMALL_APPEND + 1, 100] {
            let mut list = events(count);
            assert!(validate_new_events(&list).is_ok(), "{count} distinct ids");
            let first = list[0].event_id;
            list[count - 1].event_id = first;
            assert!(
                matches!(validate_new_events(&list), Err(StoreError::DuplicateEventId(id)) if id == first),
                "{count} events, the last repeating the first"
            );
        }
    }

    #[test]
    fn metadata_that_may_be_refused_is_still_checked() {
        let mut list = events(1);
        list[0].metadata.user_id = Some("nul\0".into());
        let error = validate_new_events(&list).unwrap_err().to_string();
        assert!(error.contains("metadata of event 0 (`Counted`)"), "{error}");
        assert!(error.contains("/user_id"), "{error}");
        let mut list = events(1);
        list[0]
            .metadata
            .entries
            .insert("note".into(), serde_json::json!("a\0b"));
        let error = validate_new_events(&list).unwrap_err().to_string();
        assert!(error.contains("/entries/note"), "{error}");
    }
}
