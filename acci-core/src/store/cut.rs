//! [`LogCut`]: the global log as of a position, a consistent cut across streams.

use crate::error::{StoreError, ValidationError};
use crate::event::StoredEvent;

use super::{EventStore, LogPosition, MAX_READ_BATCH, ReadAll, TenantScope};

/// Reads the global log as of a position: every event of its scope at or before `cut`,
/// in log order, in batches, and nothing after. Because the log is gap-free (a reader
/// never sees an event commit behind a position it has passed), the events up to a
/// position a reader has seen are the same every time they are read: a consistent cut
/// across every stream, the state of the whole store at one moment.
///
/// Take the cut from what a reader saw: a position an append returned, a projection's
/// checkpoint, the last event of a `read_all`. A cut beyond what the log holds is an
/// error once the log's readable end is reached, rather than a shorter cut.
#[derive(Debug)]
pub struct LogCut<'s, S: ?Sized> {
    store: &'s S,
    request: ReadAll,
    cut: LogPosition,
    done: bool,
}

impl<'s, S: EventStore + ?Sized> LogCut<'s, S> {
    /// The log of `scope` in `store` up to `cut`, 1,000 events a batch.
    pub fn new(store: &'s S, scope: TenantScope, cut: LogPosition) -> Self {
        Self {
            store,
            request: ReadAll::new(scope),
            cut,
            done: cut == LogPosition::START,
        }
    }

    /// Reads `limit` events a batch (1 to [`MAX_READ_BATCH`]).
    pub fn with_batch(mut self, limit: usize) -> Result<Self, ValidationError> {
        if limit == 0 || limit > MAX_READ_BATCH {
            return Err(ValidationError::new(
                "log cut batch",
                format!("is {limit}; it must be between 1 and {MAX_READ_BATCH}"),
            ));
        }
        self.request.limit = limit;
        Ok(self)
    }

    /// The position the cut ends at.
    pub fn cut(&self) -> LogPosition {
        self.cut
    }

    /// The next batch of the cut, `None` once it is read to its end. Fails with
    /// [`StoreError::Validation`] when the log's readable end comes before the cut.
    pub async fn next_batch(&mut self) -> Result<Option<Vec<StoredEvent>>, StoreError> {
        while !self.done {
            let after = self.request.after;
            let batch = self.store.read_all(&self.request).await?;
            let mut events = batch.events;
            if let Some(past) = events.iter().position(|e| e.position > self.cut) {
                events.truncate(past);
                self.done = true;
            }
            self.request.after = batch.next.max(after);
            if self.request.after >= self.cut {
                self.done = true;
            }
            if !events.is_empty() {
                return Ok(Some(events));
            }
            // A filtered read may skip ahead without events; no progress at all is the
            // log's readable end.
            if !self.done && self.request.after == after {
                return Err(ValidationError::new(
                    "log cut",
                    format!(
                        "ends at {}, past the log's readable end at {after}",
                        self.cut
                    ),
                )
                .into());
            }
        }
        Ok(None)
    }
}
