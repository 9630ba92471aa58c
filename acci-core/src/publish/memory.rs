//! [`InMemoryPublisher`]: a broker in memory for tests, which can be told to fail, stall,
//! hold or refuse confirmations.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use tokio::sync::watch;

use super::outgoing::OutgoingMessage;
use super::publisher::{Confirmation, PublishError, Publisher};
use crate::store::LogPosition;

/// What the in-memory broker does with one publish call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The call fails before the message is sent (a dropped connection): the broker does
    /// not get it.
    Fail(PublishError),
    /// The broker does not keep the message and its confirmation fails with the error (a
    /// negative acknowledgement).
    Nack(PublishError),
    /// The broker keeps the message, but its confirmation never comes (the connection
    /// dropped after the broker got it).
    Stall,
}

/// Decides which messages the broker refuses for good (a subject no queue takes).
type Refusal = Arc<dyn Fn(&OutgoingMessage) -> Option<PublishError> + Send + Sync>;

#[derive(Default)]
struct State {
    /// What the broker kept, in the order it got it: what consumers receive.
    kept: Vec<OutgoingMessage>,
    /// Publish calls so far.
    attempts: u64,
    /// Faults by the number of the call they hit, from 1.
    faults: BTreeMap<u64, Fault>,
    refuse: Option<Refusal>,
    /// Answer `last_published` from the last message kept, as JetStream can.
    remembers: bool,
    /// An answer set by hand, which wins.
    last_published: Option<LogPosition>,
}

/// A broker in memory that keeps every message it gets, in order, and confirms each one
/// at once, unless told otherwise: [`fail_at`](Self::fail_at),
/// [`nack_at`](Self::nack_at), [`stall_at`](Self::stall_at) a given publish call,
/// [`refuse_if`](Self::refuse_if) for messages it never takes,
/// [`hold_after`](Self::hold_after) a call to keep a window open. Clones share
/// the broker.
///
/// Like RabbitMQ it cannot say what a relay published last, unless made
/// [`remembering`](Self::remembering) (then it answers from the last message it kept,
/// as JetStream does) or told by [`set_last_published`](Self::set_last_published). It
/// serves one relay: the relay's name is not looked at.
#[derive(Clone)]
pub struct InMemoryPublisher {
    state: Arc<Mutex<State>>,
    /// The last publish call whose confirmation may resolve; later ones wait.
    gate: Arc<watch::Sender<u64>>,
    /// Confirmations handed out and not resolved or dropped yet.
    in_flight: Arc<AtomicUsize>,
}

impl fmt::Debug for InMemoryPublisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("InMemoryPublisher")
            .field("kept", &state.kept.len())
            .field("attempts", &state.attempts)
            .field("in_flight", &self.in_flight())
            .finish()
    }
}

impl Default for InMemoryPublisher {
    fn default() -> Self {
        Self::new()
    }
}

impl InMemoryPublisher {
    /// A broker that confirms everything at once and cannot say what was published last.
    pub fn new() -> Self {
        Self {
            state: Arc::default(),
            gate: Arc::new(watch::Sender::new(u64::MAX)),
            in_flight: Arc::default(),
        }
    }

    /// A broker that answers [`Publisher::last_published`] from the last message it kept.
    pub fn remembering() -> Self {
        let publisher = Self::new();
        publisher.state().remembers = true;
        publisher
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes publish call number `call` (counted from 1 over the broker's life) fail
    /// before it sends.
    pub fn fail_at(&self, call: u64, error: PublishError) {
        self.state().faults.insert(call, Fault::Fail(error));
    }

    /// Makes the broker drop the message of publish call `call` and fail its confirmation.
    pub fn nack_at(&self, call: u64, error: PublishError) {
        self.state().faults.insert(call, Fault::Nack(error));
    }

    /// Makes the broker keep the message of publish call `call` and never confirm it.
    pub fn stall_at(&self, call: u64) {
        self.state().faults.insert(call, Fault::Stall);
    }

    /// Refuses, every time, each message `refuse` returns an error for.
    pub fn refuse_if(
        &self,
        refuse: impl Fn(&OutgoingMessage) -> Option<PublishError> + Send + Sync + 'static,
    ) {
        self.state().refuse = Some(Arc::new(refuse));
    }

    /// Keeps the confirmations of publish calls after `call` (counted from 1) waiting,
    /// the messages kept, until
    /// [`release_confirmations`](Self::release_confirmations): a window held open.
    pub fn hold_after(&self, call: u64) {
        self.gate.send_replace(call);
    }

    /// Keeps the confirmations of the publish calls from now on waiting; see
    /// [`hold_after`](Self::hold_after).
    pub fn hold_confirmations(&self) {
        self.hold_after(self.attempts());
    }

    /// Lets the confirmations held, and all later ones, resolve.
    pub fn release_confirmations(&self) {
        self.gate.send_replace(u64::MAX);
    }

    /// Sets what [`Publisher::last_published`] answers.
    pub fn set_last_published(&self, position: Option<LogPosition>) {
        self.state().last_published = position;
    }

    /// Every message the broker kept, in order, repeats included: what its consumers get.
    pub fn kept(&self) -> Vec<OutgoingMessage> {
        self.state().kept.clone()
    }

    /// How many messages the broker kept.
    pub fn kept_count(&self) -> usize {
        self.state().kept.len()
    }

    /// Publish calls so far.
    pub fn attempts(&self) -> u64 {
        self.state().attempts
    }

    /// Confirmations handed out that have not resolved and were not dropped.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }
}

/// Counts a confirmation in flight until it resolves or is dropped.
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl Publisher for InMemoryPublisher {
    async fn publish(&self, message: OutgoingMessage) -> Result<Confirmation, PublishError> {
        let (call, fault) = {
            let mut state = self.state();
            state.attempts += 1;
            let call = state.attempts;
            let refused = state.refuse.as_ref().and_then(|refuse| refuse(&message));
            let fault = match (state.faults.remove(&call), refused) {
                (Some(Fault::Fail(error)), _) => return Err(error),
                (Some(Fault::Nack(error)), _) | (None, Some(error)) => Some(error),
                (Some(Fault::Stall), _) => {
                    state.kept.push(message);
                    return Ok(Box::pin(std::future::pending()));
                }
                (None, None) => {
                    state.kept.push(message);
                    None
                }
            };
            (call, fault)
        };
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let guard = InFlight(Arc::clone(&self.in_flight));
        let mut gate = self.gate.subscribe();
        Ok(Box::pin(async move {
            let _guard = guard;
            if let Some(error) = fault {
                return Err(error);
            }
            // The sender lives as long as any clone of the broker; a broker dropped
            // meanwhile is a lost connection.
            gate.wait_for(|open| call <= *open)
                .await
                .map(|_| ())
                .map_err(|_| PublishError::Connection("the broker is gone".into()))
        }))
    }

    async fn last_published(&self, _relay: &str) -> Result<Option<LogPosition>, PublishError> {
        let state = self.state();
        if state.last_published.is_some() {
            return Ok(state.last_published);
        }
        Ok(state
            .kept
            .last()
            .filter(|_| state.remembers)
            .map(|m| m.position))
    }
}
