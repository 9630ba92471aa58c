//! The domain every scenario runs: bank accounts, opened, paid into and paid out of,
//! written with the real macros, and a `#[projection]` of their balances.

use acci_core::prelude::*;
use serde::{Deserialize, Serialize};

/// "Account opened" as first stored, before accounts had a currency; stored events of
/// this shape are upcast to [`Opened`] when read.
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
    /// Its currency.
    pub currency: String,
}

impl From<OpenedV1> for Opened {
    fn from(v1: OpenedV1) -> Self {
        Opened {
            owner: v1.owner,
            currency: "EUR".into(),
        }
    }
}

/// Money was paid in.
#[event]
pub struct Deposited {
    /// The amount, in cents.
    pub amount: i64,
}

/// Money was paid out.
#[event]
pub struct Withdrawn {
    /// The amount, in cents.
    pub amount: i64,
}

/// A bank account; a snapshot every 100 events.
#[derive(Aggregate, Clone, Debug, Default, Serialize, Deserialize)]
#[aggregate(events(Opened, Deposited, Withdrawn), snapshot_every = 100)]
pub struct Account {
    /// Who owns it.
    pub owner: String,
    /// Its currency.
    pub currency: String,
    /// The balance, in cents.
    pub balance: i64,
    /// How many events it has seen.
    pub events: u64,
    /// Whether it was opened.
    pub open: bool,
}

impl Apply<Opened> for Account {
    fn apply(&mut self, event: &Opened) {
        self.owner.clone_from(&event.owner);
        self.currency.clone_from(&event.currency);
        self.open = true;
        self.events += 1;
    }
}

impl Apply<Deposited> for Account {
    fn apply(&mut self, event: &Deposited) {
        self.balance += event.amount;
        self.events += 1;
    }
}

impl Apply<Withdrawn> for Account {
    fn apply(&mut self, event: &Withdrawn) {
        self.balance -= event.amount;
        self.events += 1;
    }
}

/// Why an account refused a command.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    /// It was opened before.
    #[error("the account is already open")]
    AlreadyOpen,
    /// It was never opened.
    #[error("the account is not open")]
    NotOpen,
    /// More than the balance.
    #[error("insufficient funds: the balance is {balance}, the withdrawal {requested}")]
    InsufficientFunds {
        /// The balance.
        balance: i64,
        /// The amount asked for.
        requested: i64,
    },
}

/// Open an account.
#[derive(Debug, Clone)]
pub struct Open {
    /// Who owns it.
    pub owner: String,
}

/// Pay money in.
#[derive(Debug, Clone, Copy)]
pub struct Deposit {
    /// The amount, in cents; more than zero.
    pub amount: i64,
}

/// Pay money out.
#[derive(Debug, Clone, Copy)]
pub struct Withdraw {
    /// The amount, in cents; more than zero.
    pub amount: i64,
}

fn positive(amount: i64) -> Result<(), ValidationError> {
    if amount <= 0 {
        return Err(ValidationError::new("amount", "must be more than zero"));
    }
    Ok(())
}

impl Handle<Open> for Account {
    type Error = AccountError;

    fn handle(&self, command: &Open) -> Result<Vec<AccountEvent>, AccountError> {
        if self.open {
            return Err(AccountError::AlreadyOpen);
        }
        Ok(vec![
            Opened {
                owner: command.owner.clone(),
                currency: "EUR".into(),
            }
            .into(),
        ])
    }
}

impl Handle<Deposit> for Account {
    type Error = AccountError;

    fn validate(command: &Deposit) -> Result<(), ValidationError> {
        positive(command.amount)
    }

    fn handle(&self, command: &Deposit) -> Result<Vec<AccountEvent>, AccountError> {
        if !self.open {
            return Err(AccountError::NotOpen);
        }
        Ok(vec![
            Deposited {
                amount: command.amount,
            }
            .into(),
        ])
    }
}

impl Handle<Withdraw> for Account {
    type Error = AccountError;

    fn validate(command: &Withdraw) -> Result<(), ValidationError> {
        positive(command.amount)
    }

    fn handle(&self, command: &Withdraw) -> Result<Vec<AccountEvent>, AccountError> {
        if !self.open {
            return Err(AccountError::NotOpen);
        }
        if command.amount > self.balance {
            return Err(AccountError::InsufficientFunds {
                balance: self.balance,
                requested: command.amount,
            });
        }
        Ok(vec![
            Withdrawn {
                amount: command.amount,
            }
            .into(),
        ])
    }
}

/// One row per account: its balance and how many movements made it.
#[projection(table = "bench_balances", events(Deposited, Withdrawn))]
pub struct Balance {
    /// The account's id.
    #[projection(key)]
    pub account: String,
    /// The balance, in cents.
    pub balance: i64,
    /// Deposits and withdrawals so far.
    pub movements: i64,
}

fn balance_row<'a>(row: &'a mut Option<Balance>, account: &AggregateId) -> &'a mut Balance {
    row.get_or_insert_with(|| Balance {
        account: account.to_string(),
        balance: 0,
        movements: 0,
    })
}

impl Project<Deposited> for Balance {
    fn project(row: &mut Option<Self>, event: &Recorded<Deposited>) {
        let row = balance_row(row, &event.stream.aggregate_id);
        row.balance += event.data.amount;
        row.movements += 1;
    }
}

impl Project<Withdrawn> for Balance {
    fn project(row: &mut Option<Self>, event: &Recorded<Withdrawn>) {
        let row = balance_row(row, &event.stream.aggregate_id);
        row.balance -= event.data.amount;
        row.movements += 1;
    }
}
