//! Aggregates: the state a stream of events folds into, and the traits a user implements
//! for it ([`Apply`] per event, [`Handle`] per command).

use std::borrow::Cow;

use serde_json::Value;

use crate::error::ValidationError;
use crate::event::EventEnum;

/// An event-sourced aggregate. Implemented by `#[derive(Aggregate)]`.
///
/// The derive generates the event enum, `apply` as a `match` that calls the matching
/// [`Apply`] impl, the snapshot settings, and a fingerprint of the state's fields so that
/// a snapshot taken before the state changed shape is ignored.
pub trait Aggregate: Default + Send + Sync + 'static {
    /// The aggregate type name streams are stored under.
    const TYPE: &'static str;
    /// Take a snapshot every this many events; 0 means never.
    const SNAPSHOT_EVERY: u64;
    /// The version of the state's shape: a fingerprint of its fields and their types, or
    /// the explicit `snapshot_version`. Snapshots with another value are ignored.
    const STATE_VERSION: u64;

    /// Every event this aggregate records, as one enum.
    type Event: EventEnum + Clone + std::fmt::Debug;

    /// Folds one event into the state, calling the [`Apply`] impl of its variant.
    ///
    /// Named `apply_event` rather than `apply` so that it never competes with
    /// [`Apply::apply`] in method-call syntax when both traits are in scope.
    fn apply_event(&mut self, event: &Self::Event);

    /// The state as a snapshot payload. Only called when `SNAPSHOT_EVERY > 0`.
    fn to_snapshot(&self) -> Result<Value, serde_json::Error>;

    /// The state back from a snapshot payload.
    fn from_snapshot(state: Value) -> Result<Self, serde_json::Error>;
}

/// That `E` is listed in the aggregate's `events(...)`, and how it becomes a variant of
/// the event enum. Implemented by `#[derive(Aggregate)]` for each listed event, never by
/// hand: it is what makes an [`Apply`] impl or an `.into()` of an event the aggregate does
/// not list a compile error that says to list it.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not list `{E}` in `events(...)`",
    label = "`{E}` is not an event of `{Self}`",
    note = "add `{E}` to `#[aggregate(events(...))]` on `{Self}`: only the listed events are recorded, stored and applied"
)]
pub trait Records<E> {
    /// The event enum (`Aggregate::Event`).
    type Enum;

    /// `event` as its variant of the event enum.
    fn __acci_wrap(event: E) -> Self::Enum;
}

/// How an aggregate changes when event `E` is applied. One impl per event listed in
/// `#[aggregate(events(...))]`; an impl for an event that is not listed does not compile,
/// since it would never be called.
#[diagnostic::on_unimplemented(
    message = "`{Self}` lists `{E}` in `events(...)` but does not apply it",
    label = "no `Apply<{E}>` impl for `{Self}`",
    note = "add `impl Apply<{E}> for {Self} {{ fn apply(&mut self, event: &{E}) {{ /* change the state */ }} }}`"
)]
pub trait Apply<E>: Records<E> {
    /// Changes the state to reflect `event`. Applying never fails: an event is a fact.
    fn apply(&mut self, event: &E);
}

/// How an aggregate decides on command `C`: validate it, then turn it into events or
/// reject it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not handle the command `{C}`",
    label = "no `Handle<{C}>` impl for `{Self}`",
    note = "add `impl Handle<{C}> for {Self} {{ type Error = …; fn handle(&self, command: &{C}) -> Result<Vec<Self::Event>, Self::Error> {{ … }} }}`"
)]
pub trait Handle<C>: Aggregate {
    /// The aggregate's own error for a rejected command.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Checks the command on its own, before the aggregate is loaded. The default accepts
    /// every command.
    fn validate(command: &C) -> Result<(), ValidationError> {
        let _ = command;
        Ok(())
    }

    /// The command's name, as authorizers and audit records see it: by default its type's
    /// name without the module path (`Deposit` for `bank::commands::Deposit`). Override
    /// it to keep policies and audit trails stable across renames and moves.
    fn command_name() -> Cow<'static, str> {
        crate::authorization::short_type_name::<C>()
    }

    /// Decides: the events to record, or the reason to refuse. It only reads the state;
    /// the events change it once they are stored.
    fn handle(&self, command: &C) -> Result<Vec<Self::Event>, Self::Error>;
}

/// A command no aggregate receives: it has no values. Every aggregate handles it, so that
/// every aggregate has at least two [`Handle`] impls and the compiler never guesses the
/// command from an only impl. (With one impl of `Handle<Open>`, passing `Close` to
/// `Repository::execute` would otherwise read "expected `Open`, found `Close`" instead of
/// saying that `Close` is not handled.)
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoCommand {}

#[doc(hidden)]
impl<A: Aggregate> Handle<NoCommand> for A {
    type Error = std::convert::Infallible;

    fn handle(&self, command: &NoCommand) -> Result<Vec<Self::Event>, Self::Error> {
        match *command {}
    }
}
