//! The given/when/then fixtures: what they accept, and the explanations they panic with.

// The domain types below exist for the tests; documenting each would add only noise.
#![allow(missing_docs)]

use std::panic::{AssertUnwindSafe, catch_unwind};

use acci_core::prelude::*;
use acci_core::testing::given;

#[event]
pub struct Added {
    pub amount: u64,
}

#[event(name = "Reset")]
pub struct Cleared {}

#[derive(Aggregate, Debug, Default)]
#[aggregate(events(Added, Cleared))]
pub struct Tally {
    total: u64,
}

impl Apply<Added> for Tally {
    fn apply(&mut self, event: &Added) {
        self.total += event.amount;
    }
}

impl Apply<Cleared> for Tally {
    fn apply(&mut self, _: &Cleared) {
        self.total = 0;
    }
}

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum TallyError {
    #[error("the tally would pass {limit}")]
    TooMuch { limit: u64 },
}

pub struct Add(u64);
pub struct Clear;

impl Handle<Add> for Tally {
    type Error = TallyError;
    fn validate(command: &Add) -> Result<(), ValidationError> {
        if command.0 == 0 {
            Err(ValidationError::new("amount", "must be more than zero"))
        } else {
            Ok(())
        }
    }
    fn handle(&self, command: &Add) -> Result<Vec<TallyEvent>, TallyError> {
        if self.total + command.0 > 10 {
            return Err(TallyError::TooMuch { limit: 10 });
        }
        Ok(vec![Added { amount: command.0 }.into()])
    }
}

impl Handle<Clear> for Tally {
    type Error = TallyError;
    fn handle(&self, _: &Clear) -> Result<Vec<TallyEvent>, TallyError> {
        Ok(if self.total == 0 {
            vec![]
        } else {
            vec![Cleared {}.into()]
        })
    }
}

fn panic_message(check: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(check)).expect_err("the expectation should fail");
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

#[test]
fn expectations_that_hold_pass_and_expose_the_state() {
    let state = given::<Tally>([Added { amount: 2 }.into()])
        .when(Add(3))
        .then_expect_events([Added { amount: 3 }.into()])
        .then_state(|tally| assert_eq!(tally.total, 5))
        .into_state();
    assert_eq!(state.total, 5);
    given::<Tally>([]).when(Clear).then_expect_no_events();
    given::<Tally>([Added { amount: 9 }.into()])
        .when(Add(2))
        .then_expect_error(TallyError::TooMuch { limit: 10 });
    given::<Tally>([Added { amount: 9 }.into()])
        .when(Add(5))
        .then_expect_error_matching(|e| matches!(e, TallyError::TooMuch { .. }));
    given::<Tally>([])
        .when(Add(0))
        .then_expect_validation_error("more than zero");
}

#[test]
fn other_events_fail_with_a_line_diff() {
    let message = panic_message(|| {
        given::<Tally>([Added { amount: 1 }.into()])
            .when(Add(3))
            .then_expect_events([Added { amount: 2 }.into(), Cleared {}.into()]);
    });
    assert!(message.contains("(- expected, + produced)"), "{message}");
    assert!(
        message.contains("- 1. Added v1 {\"amount\":2}"),
        "{message}"
    );
    assert!(message.contains("- 2. Reset v1 {}"), "{message}");
    assert!(
        message.contains("+ 1. Added v1 {\"amount\":3}"),
        "{message}"
    );
}

#[test]
fn a_rejection_where_events_were_expected_names_the_error() {
    let message = panic_message(|| {
        given::<Tally>([Added { amount: 10 }.into()])
            .when(Add(1))
            .then_expect_events([Added { amount: 1 }.into()]);
    });
    assert!(
        message.contains("rejected") && message.contains("TooMuch"),
        "{message}"
    );
}

#[test]
fn events_where_an_error_was_expected_are_listed() {
    let message = panic_message(|| {
        given::<Tally>([])
            .when(Add(1))
            .then_expect_error(TallyError::TooMuch { limit: 10 });
    });
    assert!(
        message.contains("expected the domain error TooMuch") && message.contains("1 event(s)"),
        "{message}"
    );
}

#[test]
fn a_missing_validation_error_is_reported() {
    let message = panic_message(|| {
        given::<Tally>([])
            .when(Add(1))
            .then_expect_validation_error("amount")
    });
    assert!(
        message.contains("expected a validation error containing \"amount\""),
        "{message}"
    );
}
