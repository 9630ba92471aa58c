//! The macros expanded with every feature under strict lints, so that generated code is
//! proven warning-free in a user's crate: undocumented public items, needless paths and
//! the rest would fail this build.

#![deny(
    warnings,
    missing_docs,
    unused_qualifications,
    unreachable_pub,
    rust_2018_idioms,
    missing_debug_implementations,
    trivial_casts,
    trivial_numeric_casts,
    unused_import_braces,
    unused_lifetimes,
    clippy::all,
    clippy::pedantic
)]

/// A documented domain module, as a user would write one.
pub mod domain {
    use acci_core::prelude::*;
    use serde::{Deserialize, Serialize};
    use serde_json::{Value, json};

    /// The first shape of "account opened", before accounts had a currency.
    #[event(name = "AccountOpened", version = 1)]
    pub struct OpenedV1 {
        /// Who owns the account.
        pub owner: String,
    }

    /// An account was opened.
    #[event(name = "AccountOpened", version = 2, previous = OpenedV1)]
    pub struct Opened {
        /// Who owns the account.
        pub owner: String,
        /// The account's currency.
        pub currency: String,
    }

    impl From<OpenedV1> for Opened {
        fn from(v1: OpenedV1) -> Self {
            Self {
                owner: v1.owner,
                currency: "EUR".into(),
            }
        }
    }

    /// Money was paid in.
    #[event(crate = "::acci_core")]
    pub struct Deposited {
        /// The amount, in cents.
        pub amount: u64,
    }

    /// Why a stored payload could not be upcast.
    #[derive(Debug)]
    pub struct NoReason;

    impl std::fmt::Display for NoReason {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("the stored payload has no reason")
        }
    }

    /// Versions 1 and 2 stored the reason under `why`.
    ///
    /// # Errors
    ///
    /// [`NoReason`] when the payload has no `why`.
    pub fn upcast_closed(_version: u32, payload: Value) -> Result<Value, NoReason> {
        match payload {
            Value::Object(mut fields) => fields
                .remove("why")
                .map(|why| json!({ "reason": why }))
                .ok_or(NoReason),
            _ => Err(NoReason),
        }
    }

    /// The account was closed.
    #[event(name = "AccountClosed", version = 3, upcast = upcast_closed)]
    pub struct Closed {
        /// Why it was closed.
        pub reason: String,
    }

    /// A bank account.
    #[derive(Aggregate, Debug, Default, Serialize, Deserialize)]
    #[aggregate(
        name = "BankAccount",
        events(Opened, Deposited, Closed),
        event_enum = AccountChange,
        snapshot_every = 50,
        snapshot_version = 2
    )]
    pub struct BankAccount {
        /// The balance, in cents.
        pub balance: u64,
        /// Whether the account is open.
        pub open: bool,
    }

    impl Apply<Opened> for BankAccount {
        fn apply(&mut self, _event: &Opened) {
            self.open = true;
        }
    }

    impl Apply<Deposited> for BankAccount {
        fn apply(&mut self, event: &Deposited) {
            self.balance += event.amount;
        }
    }

    impl Apply<Closed> for BankAccount {
        fn apply(&mut self, _event: &Closed) {
            self.open = false;
        }
    }

    /// The steps of an order, an aggregate whose state is an enum.
    #[derive(Aggregate, Debug, Default, PartialEq, Eq)]
    #[aggregate(events(Opened, Closed), event_enum = OrderChange)]
    pub enum Order {
        /// Nothing happened yet.
        #[default]
        New,
        /// Placed, with its owner.
        Placed {
            /// Who placed it.
            owner: String,
        },
        /// Done.
        Done,
    }

    impl Apply<Opened> for Order {
        fn apply(&mut self, event: &Opened) {
            *self = Order::Placed {
                owner: event.owner.clone(),
            };
        }
    }

    impl Apply<Closed> for Order {
        fn apply(&mut self, _event: &Closed) {
            *self = Order::Done;
        }
    }
}

use acci_core::{Aggregate, EventEnum};
use domain::{AccountChange, BankAccount, Deposited, Order, OrderChange};
use serde_json::json;

#[test]
fn generated_code_works_under_strict_lints() {
    let opened = AccountChange::decode("AccountOpened", 1, json!({ "owner": "Ada" })).unwrap();
    let closed = AccountChange::decode("AccountClosed", 2, json!({ "why": "moved" })).unwrap();
    let mut account = BankAccount::default();
    for event in [opened, Deposited { amount: 40 }.into(), closed.clone()] {
        account.apply_event(&event);
    }
    assert_eq!(account.balance, 40);
    assert!(!account.open);
    assert_eq!(BankAccount::STATE_VERSION, 2);
    assert!(BankAccount::from_snapshot(account.to_snapshot().unwrap()).is_ok());
    assert_eq!(closed.schema_version(), 3);

    let mut order = Order::default();
    let placed = OrderChange::decode(
        "AccountOpened",
        2,
        json!({ "owner": "Bob", "currency": "CHF" }),
    );
    order.apply_event(&placed.unwrap());
    assert_eq!(
        order,
        Order::Placed {
            owner: "Bob".into()
        }
    );
}
