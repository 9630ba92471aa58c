//! The relay's window: the messages published and not confirmed yet, in log order, each
//! with the moment its confirmation is due.

use std::collections::{HashMap, VecDeque};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use acci_core::publish::{Confirmation, PublishError};
use acci_core::{StoredEvent, StreamId};
use tokio::time::Instant;

/// One message in flight.
struct Slot {
    event: StoredEvent,
    due: Instant,
    confirmation: Confirmation,
}

/// The messages in flight, oldest first, and how many each stream has.
pub(super) struct Window {
    slots: VecDeque<Slot>,
    by_stream: HashMap<StreamId, usize>,
    /// How long each confirmation has.
    timeout: Duration,
}

/// How the oldest message in flight settled: its event, and the broker's answer (a
/// timeout if none came in time).
pub(super) type Settled = (StoredEvent, Result<(), PublishError>);

impl Window {
    /// An empty window whose confirmations each have `timeout`.
    pub(super) fn new(timeout: Duration) -> Self {
        Self {
            slots: VecDeque::new(),
            by_stream: HashMap::new(),
            timeout,
        }
    }

    /// Messages in flight.
    pub(super) fn len(&self) -> usize {
        self.slots.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// How many messages of `stream` are in flight.
    pub(super) fn of_stream(&self, stream: &StreamId) -> usize {
        self.by_stream.get(stream).copied().unwrap_or(0)
    }

    /// Adds the message of `event`, whose confirmation is due a timeout from now.
    pub(super) fn push(&mut self, event: StoredEvent, confirmation: Confirmation) {
        *self.by_stream.entry(event.stream.clone()).or_default() += 1;
        self.slots.push_back(Slot {
            event,
            due: Instant::now() + self.timeout,
            confirmation,
        });
    }

    /// The oldest message, if its confirmation came (or is overdue) already; never waits.
    pub(super) fn try_settle(&mut self) -> Option<Settled> {
        let slot = self.slots.front_mut()?;
        let mut context = Context::from_waker(Waker::noop());
        let answer = match slot.confirmation.as_mut().poll(&mut context) {
            Poll::Ready(answer) => answer,
            Poll::Pending if Instant::now() >= slot.due => Err(PublishError::Timeout(self.timeout)),
            Poll::Pending => return None,
        };
        Some(self.pop(answer))
    }

    /// Waits for the oldest message's confirmation, until it is due. `None` when the
    /// window is empty.
    pub(super) async fn settle(&mut self) -> Option<Settled> {
        let slot = self.slots.front_mut()?;
        let answer = match tokio::time::timeout_at(slot.due, slot.confirmation.as_mut()).await {
            Ok(answer) => answer,
            Err(_) => Err(PublishError::Timeout(self.timeout)),
        };
        Some(self.pop(answer))
    }

    fn pop(&mut self, answer: Result<(), PublishError>) -> Settled {
        let slot = self.slots.pop_front().expect("a message was in flight");
        if let Some(count) = self.by_stream.get_mut(&slot.event.stream) {
            *count -= 1;
            if *count == 0 {
                self.by_stream.remove(&slot.event.stream);
            }
        }
        (slot.event, answer)
    }

    /// Empties the window, dropping the confirmations still to come (the relay publishes
    /// their messages again), and returns their events in log order.
    pub(super) fn abandon(&mut self) -> Vec<StoredEvent> {
        self.by_stream.clear();
        self.slots.drain(..).map(|slot| slot.event).collect()
    }
}
