//! Test support: given/when/then fixtures for aggregates (no store, no runtime, just the
//! decision), [`Interfering`], a store wrapper that stages concurrent writers,
//! [`Counting`], one that records the calls a path makes, and [`InMemoryAuditSink`], an
//! audit sink that keeps the records of denials.
//!
//! ```
//! # use acci_core::prelude::*;
//! # #[event] pub struct Deposited { pub amount: u64 }
//! # #[derive(Aggregate, Default)]
//! # #[aggregate(events(Deposited))]
//! # pub struct Account { balance: u64 }
//! # impl Apply<Deposited> for Account { fn apply(&mut self, e: &Deposited) { self.balance += e.amount; } }
//! # #[derive(Debug, PartialEq, thiserror::Error)] #[error("nothing to deposit")] pub struct Zero;
//! # pub struct Deposit(u64);
//! # impl Handle<Deposit> for Account {
//! #     type Error = Zero;
//! #     fn handle(&self, c: &Deposit) -> Result<Vec<AccountEvent>, Zero> {
//! #         if c.0 == 0 { Err(Zero) } else { Ok(vec![Deposited { amount: c.0 }.into()]) }
//! #     }
//! # }
//! use acci_core::testing::given;
//!
//! given::<Account>([Deposited { amount: 5 }.into()])
//!     .when(Deposit(7))
//!     .then_expect_events([Deposited { amount: 7 }.into()])
//!     .then_state(|account| assert_eq!(account.balance, 12));
//!
//! given::<Account>([]).when(Deposit(0)).then_expect_error(Zero);
//! ```

mod audit;
mod counting;
mod interfering;

use std::fmt::{self, Debug, Write as _};

use similar::{ChangeTag, TextDiff};

use crate::aggregate::{Aggregate, Handle};
use crate::error::ValidationError;
use crate::event::EventEnum;

pub use audit::InMemoryAuditSink;
pub use counting::Counting;
pub use interfering::Interfering;

/// Starts a fixture from the events already in the stream.
pub fn given<A: Aggregate>(events: impl IntoIterator<Item = A::Event>) -> Given<A> {
    let mut state = A::default();
    for event in events {
        state.apply_event(&event);
    }
    Given { state }
}

/// An aggregate built from past events, waiting for a command.
#[derive(Debug)]
pub struct Given<A> {
    state: A,
}

impl<A: Aggregate> Given<A> {
    /// Runs `command` through the aggregate's validation and decision.
    pub fn when<C>(self, command: C) -> When<A, <A as Handle<C>>::Error>
    where
        A: Handle<C>,
    {
        let result = match <A as Handle<C>>::validate(&command) {
            Err(invalid) => Err(Rejection::Validation(invalid)),
            Ok(()) => self.state.handle(&command).map_err(Rejection::Domain),
        };
        When {
            state: self.state,
            result,
        }
    }
}

/// Why the aggregate refused a command in a fixture.
#[derive(Debug)]
pub enum Rejection<E> {
    /// The command's own validation refused it.
    Validation(ValidationError),
    /// The aggregate refused it.
    Domain(E),
}

/// The outcome of a command in a fixture, ready for expectations. Each expectation
/// panics with a readable explanation when it does not hold.
#[must_use = "a fixture checks nothing until an expectation is called"]
pub struct When<A: Aggregate, E> {
    state: A,
    result: Result<Vec<A::Event>, Rejection<E>>,
}

impl<A: Aggregate, E: Debug> When<A, E> {
    /// Expects exactly these events, in this order. On a mismatch the panic shows a line
    /// diff of both lists, each event as its stored name, version and JSON payload.
    #[track_caller]
    pub fn then_expect_events(self, expected: impl IntoIterator<Item = A::Event>) -> Then<A> {
        let expected: Vec<A::Event> = expected.into_iter().collect();
        let produced = match self.result {
            Ok(events) => events,
            Err(rejection) => panic!(
                "expected {} event(s), but the command was rejected: {rejection:?}\nexpected:\n{}",
                expected.len(),
                render_events(&expected)
            ),
        };
        let (want, got) = (render_events(&expected), render_events(&produced));
        if want != got {
            panic!(
                "the command produced other events than expected (- expected, + produced):\n{}",
                line_diff(&want, &got)
            );
        }
        let mut state = self.state;
        for event in &produced {
            state.apply_event(event);
        }
        Then { state }
    }

    /// Expects the command to be accepted without producing any event.
    #[track_caller]
    pub fn then_expect_no_events(self) -> Then<A> {
        self.then_expect_events([])
    }

    /// Expects the aggregate to refuse the command with exactly `expected`.
    #[track_caller]
    pub fn then_expect_error(self, expected: E)
    where
        E: PartialEq,
    {
        match self.result {
            Err(Rejection::Domain(actual)) if actual == expected => {}
            other => panic!(
                "expected the domain error {expected:?}, but got {}",
                describe(&other)
            ),
        }
    }

    /// Expects the aggregate to refuse the command with an error for which `check` holds.
    #[track_caller]
    pub fn then_expect_error_matching(self, check: impl FnOnce(&E) -> bool) {
        match &self.result {
            Err(Rejection::Domain(actual)) if check(actual) => {}
            other => panic!(
                "expected a domain error that passes the check, but got {}",
                describe(other)
            ),
        }
    }

    /// Expects the command's validation to refuse it with a message containing `fragment`.
    #[track_caller]
    pub fn then_expect_validation_error(self, fragment: &str) {
        match &self.result {
            Err(Rejection::Validation(invalid)) if invalid.to_string().contains(fragment) => {}
            other => panic!(
                "expected a validation error containing {fragment:?}, but got {}",
                describe(other)
            ),
        }
    }
}

/// The state after the expected events, for checks on it.
#[derive(Debug)]
pub struct Then<A> {
    state: A,
}

impl<A> Then<A> {
    /// Runs `check` on the state after the produced events were applied.
    pub fn then_state(self, check: impl FnOnce(&A)) -> Self {
        check(&self.state);
        self
    }

    /// The state after the produced events.
    pub fn into_state(self) -> A {
        self.state
    }
}

impl<A: Aggregate, E: Debug> Debug for When<A, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("When")
            .field("result", &describe(&self.result))
            .finish_non_exhaustive()
    }
}

fn describe<V: Debug, E: Debug>(result: &Result<Vec<V>, Rejection<E>>) -> String {
    match result {
        Ok(events) if events.is_empty() => "no events".to_owned(),
        Ok(events) => format!("{} event(s): {events:?}", events.len()),
        Err(Rejection::Validation(invalid)) => format!("the validation error `{invalid}`"),
        Err(Rejection::Domain(error)) => format!("the domain error {error:?}"),
    }
}

/// One line per event: `1. Deposited v1 {"amount":5}`.
fn render_events<E: EventEnum + Debug>(events: &[E]) -> String {
    let mut out = String::new();
    for (index, event) in events.iter().enumerate() {
        let payload = match event.to_payload() {
            Ok(json) => json.to_string(),
            Err(_) => format!("{event:?}"),
        };
        let _ = writeln!(
            out,
            "{}. {} v{} {payload}",
            index + 1,
            event.event_type(),
            event.schema_version()
        );
    }
    if out.is_empty() {
        out.push_str("(no events)\n");
    }
    out
}

fn line_diff(expected: &str, produced: &str) -> String {
    let mut out = String::new();
    for change in TextDiff::from_lines(expected, produced).iter_all_changes() {
        let sign = match change.tag() {
            ChangeTag::Delete => "- ",
            ChangeTag::Insert => "+ ",
            ChangeTag::Equal => "  ",
        };
        out.push_str(sign);
        out.push_str(change.value());
    }
    out
}
