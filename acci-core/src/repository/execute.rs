//! Running a command: decide on the loaded state, commit the decision, retry on a
//! conflict, and answer a command whose id the store recorded with its first outcome.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::aggregate::{Aggregate, Handle};
use crate::error::{CommandError, ValidationError};
use crate::ids::StreamId;
use crate::store::{CommandRecord, EventStore};

use super::commit::Committed;
use super::{Command, CommandOutcome, Repository};

/// What the aggregate decided on one state.
enum Decision<Event, E> {
    /// Events to record; never empty.
    Record(Vec<Event>),
    /// Nothing to record: refused (`Some`), or accepted with no events (`None`).
    Decline(Option<E>),
}

/// The decision step, with no store involved: the aggregate's answer on `state`.
fn decide<A: Handle<C>, C>(state: &A, payload: &C) -> Decision<A::Event, A::Error> {
    match state.handle(payload) {
        Ok(events) if events.is_empty() => Decision::Decline(None),
        Ok(events) => Decision::Record(events),
        Err(refusal) => Decision::Decline(Some(refusal)),
    }
}

/// How the attempts at a command ended, short of an error.
enum Ran<A: Aggregate, E> {
    /// Its events were stored.
    Stored(CommandOutcome<A>),
    /// The store had recorded its command id: the record is the answer.
    Recorded(CommandRecord),
    /// The aggregate refused (`Some`) or decided on nothing (`None`), on a state read
    /// from the store at `version`.
    Declined {
        refusal: Option<E>,
        version: u64,
        attempts: u32,
    },
}

/// What [`Repository::execute`] answers.
type Answer<A, E> = Result<CommandOutcome<A>, CommandError<E>>;

/// The future of [`Repository::execute`]: the command's outcome, or why it failed.
///
/// A named type rather than an `async fn`'s anonymous one, so that a command the aggregate
/// does not handle is one error at the call, not one each at the argument, the call and
/// its `.await` (the anonymous type carries the `Handle` bound into all three). It is
/// `Send`, as a web handler needs.
#[must_use = "a command runs only when its future is awaited"]
pub struct Execution<'r, A: Aggregate, E> {
    future: Pin<Box<dyn Future<Output = Answer<A, E>> + Send + 'r>>,
}

impl<'r, A: Aggregate, E> Execution<'r, A, E> {
    pub(super) fn new(future: impl Future<Output = Answer<A, E>> + Send + 'r) -> Self {
        Execution {
            future: Box::pin(future),
        }
    }
}

impl<A: Aggregate, E> Future for Execution<'_, A, E> {
    type Output = Answer<A, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.future.as_mut().poll(cx)
    }
}

impl<A: Aggregate, E> std::fmt::Debug for Execution<'_, A, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Execution")
            .field("aggregate", &A::TYPE)
            .finish_non_exhaustive()
    }
}

impl<A: Aggregate, S: EventStore + ?Sized> Repository<A, S> {
    /// [`Repository::execute`]'s steps.
    pub(super) async fn run<C>(
        &self,
        command: Command<C>,
    ) -> Result<CommandOutcome<A>, CommandError<<A as Handle<C>>::Error>>
    where
        A: Handle<C>,
        C: Send + Sync + 'static,
    {
        self.guard
            .check(A::TYPE, <A as Handle<C>>::command_name, &command)
            .await
            .map_err(CommandError::Unauthorized)?;
        <A as Handle<C>>::validate(&command.payload)?;
        let stream = self.stream(&command.tenant, &command.aggregate_id)?;
        if let Some(first) = self.answer_if_recorded(&command, &stream).await? {
            return Ok(first);
        }
        match self.attempt(&command, &stream).await? {
            Ran::Stored(outcome) => Ok(outcome),
            Ran::Recorded(record) => Self::first_outcome(&stream, record),
            Ran::Declined {
                refusal,
                version,
                attempts,
            } => {
                // The state may hold this very command, recorded by a racing request after
                // the look-up above: then its first outcome is the answer, not this one.
                if let Some(first) = self.answer_if_recorded(&command, &stream).await? {
                    return Ok(first);
                }
                match refusal {
                    Some(refusal) => Err(CommandError::Domain(refusal)),
                    None => Ok(CommandOutcome {
                        stream,
                        events: Vec::new(),
                        version,
                        position: None,
                        duplicate: false,
                        attempts,
                        snapshot_taken: None,
                    }),
                }
            }
        }
    }

    /// Decides and commits, deciding again on the fresh state after each conflict, as
    /// long as the [`RetryPolicy`](super::RetryPolicy) allows.
    async fn attempt<C>(
        &self,
        command: &Command<C>,
        stream: &StreamId,
    ) -> Result<Ran<A, <A as Handle<C>>::Error>, CommandError<<A as Handle<C>>::Error>>
    where
        A: Handle<C>,
        C: Sync,
    {
        let metadata = command.event_metadata();
        let cached = self.cache.as_ref().and_then(|cache| cache.get(stream));
        // Whether the state may be behind the store (it came from the cache, and nothing
        // has been read from the store since).
        let mut maybe_stale = cached.is_some();
        let mut loaded = match cached {
            Some(loaded) => loaded,
            None => self.load_stream(stream).await?,
        };
        let mut attempts = 1;
        loop {
            let events = match decide(&loaded.state, &command.payload) {
                Decision::Record(events) => events,
                _ if maybe_stale => {
                    // No append will check a refusal's version: read what the cached
                    // state may have missed, and decide again.
                    maybe_stale = false;
                    let version = loaded.version;
                    self.catch_up(stream, &mut loaded).await?;
                    if loaded.version != version {
                        self.cache_put(stream, &loaded);
                    }
                    continue;
                }
                Decision::Decline(refusal) => {
                    return Ok(Ran::Declined {
                        refusal,
                        version: loaded.version,
                        attempts,
                    });
                }
            };
            let committed = self
                .commit(stream, &mut loaded, events, &metadata, command.command_id)
                .await?;
            let conflict = match committed {
                Committed::Stored {
                    events,
                    appended,
                    snapshot_taken,
                } => {
                    return Ok(Ran::Stored(CommandOutcome {
                        stream: stream.clone(),
                        events,
                        version: appended.last_sequence,
                        position: Some(appended.last_position),
                        duplicate: false,
                        attempts,
                        snapshot_taken,
                    }));
                }
                Committed::Recorded(record) => return Ok(Ran::Recorded(record)),
                Committed::Conflict(conflict) => conflict,
            };
            if attempts >= self.retry.max_attempts {
                return Err(CommandError::Concurrency { conflict, attempts });
            }
            // No look-up of the command id here: the append looked it up under the
            // stream's lock before it compared versions, so the rival write was another
            // command. Should a racing request record this one meanwhile, the next
            // append answers with its record.
            attempts += 1;
            let delay = self.retry.delay_before(attempts);
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            self.catch_up(stream, &mut loaded).await?;
            maybe_stale = false;
        }
    }

    /// The first outcome of `command`, if it has an id and the store recorded it: one
    /// call, whose answer carries the recorded events.
    async fn answer_if_recorded<C, E>(
        &self,
        command: &Command<C>,
        stream: &StreamId,
    ) -> Result<Option<CommandOutcome<A>>, CommandError<E>> {
        let Some(command_id) = command.command_id else {
            return Ok(None);
        };
        match self.store.find_command(&command.tenant, command_id).await? {
            Some(record) => Self::first_outcome(stream, record).map(Some),
            None => Ok(None),
        }
    }

    /// The answer to a repeated command, from its record alone: the events its first run
    /// recorded. Every way a command turns out to be recorded ends here.
    fn first_outcome<E>(
        stream: &StreamId,
        record: CommandRecord,
    ) -> Result<CommandOutcome<A>, CommandError<E>> {
        if record.stream != *stream {
            return Err(CommandError::Validation(ValidationError::new(
                "command id",
                format!(
                    "{} was already used for stream {}, not {stream}",
                    record.command_id, record.stream
                ),
            )));
        }
        let events = record
            .events
            .into_iter()
            .map(|event| event.decode::<A::Event>())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CommandOutcome {
            stream: stream.clone(),
            events,
            version: record.last_sequence,
            position: Some(record.last_position),
            duplicate: true,
            attempts: 1,
            snapshot_taken: None,
        })
    }
}
