//! A struct aggregate with a stored name, three events and snapshots: the event enum, its
//! conversions and decoding, `apply` as a `match`, and a snapshot round trip.

use acci_core::prelude::*;
use acci_core::testing::given;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[event(name = "AccountOpened")]
pub struct Opened {
    pub owner: String,
}

#[event]
pub struct Deposited {
    pub amount: u64,
}

#[event]
pub struct Withdrawn {
    pub amount: u64,
}

#[derive(Aggregate, Debug, Default, PartialEq, Serialize, Deserialize)]
#[aggregate(
    name = "BankAccount",
    events(Opened, Deposited, Withdrawn),
    snapshot_every = 100
)]
pub struct BankAccount {
    balance: u64,
    open: bool,
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

impl Apply<Withdrawn> for BankAccount {
    fn apply(&mut self, event: &Withdrawn) {
        self.balance -= event.amount;
    }
}

/// Pay money in.
pub struct Deposit(u64);

#[derive(Debug, PartialEq, thiserror::Error)]
#[error("the account is not open")]
pub struct NotOpen;

impl Handle<Deposit> for BankAccount {
    type Error = NotOpen;

    fn handle(&self, command: &Deposit) -> Result<Vec<BankAccountEvent>, NotOpen> {
        if !self.open {
            return Err(NotOpen);
        }
        Ok(vec![Deposited { amount: command.0 }.into()])
    }
}

fn main() {
    assert_eq!(BankAccount::TYPE, "BankAccount");
    assert_eq!(BankAccount::SNAPSHOT_EVERY, 100);
    assert_eq!(
        BankAccountEvent::EVENT_TYPES,
        ["AccountOpened", "Deposited", "Withdrawn"]
    );

    let opened: BankAccountEvent = Opened {
        owner: "Ada".into(),
    }
    .into();
    assert_eq!(opened.event_type(), "AccountOpened");
    assert_eq!(opened.schema_version(), 1);
    assert_eq!(opened.to_payload().unwrap(), json!({ "owner": "Ada" }));

    let decoded = BankAccountEvent::decode("Withdrawn", 1, json!({ "amount": 5 })).unwrap();
    assert_eq!(
        decoded,
        BankAccountEvent::Withdrawn(Withdrawn { amount: 5 })
    );
    let unknown = BankAccountEvent::decode("Renamed", 1, json!({})).unwrap_err();
    assert!(unknown.to_string().contains("BankAccount"), "{unknown}");

    let mut account = BankAccount::default();
    for event in [opened.clone(), Deposited { amount: 30 }.into(), decoded] {
        account.apply_event(&event);
    }
    assert_eq!(account.balance, 25);

    let snapshot = account.to_snapshot().unwrap();
    assert_eq!(BankAccount::from_snapshot(snapshot).unwrap(), account);

    given::<BankAccount>([opened])
        .when(Deposit(7))
        .then_expect_events([Deposited { amount: 7 }.into()])
        .then_state(|account| assert_eq!(account.balance, 7));
    given::<BankAccount>([])
        .when(Deposit(7))
        .then_expect_error(NotOpen);
}
