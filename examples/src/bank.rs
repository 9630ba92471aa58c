//! The bank-account domain: events, the aggregate, its commands and its errors.

use acci_core::prelude::*;
use serde::{Deserialize, Serialize};

/// The first shape of "account opened", from before accounts had a currency. New events
/// are never written in this shape; stored ones are upcast to [`Opened`] when read.
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
    /// The account's currency, such as `"EUR"`.
    pub currency: String,
}

impl From<OpenedV1> for Opened {
    /// Accounts opened before currencies existed were all in euros.
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
    pub amount: u64,
}

/// Money was paid out.
#[event]
pub struct Withdrawn {
    /// The amount, in cents.
    pub amount: u64,
}

/// A bank account: its owner, currency and balance.
#[derive(Aggregate, Clone, Debug, Default, Serialize, Deserialize)]
#[aggregate(
    name = "BankAccount",
    events(Opened, Deposited, Withdrawn),
    snapshot_every = 5
)]
pub struct BankAccount {
    owner: String,
    currency: String,
    balance: u64,
    open: bool,
}

impl BankAccount {
    /// The balance, in cents.
    pub fn balance(&self) -> u64 {
        self.balance
    }

    /// The owner.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The currency.
    pub fn currency(&self) -> &str {
        &self.currency
    }
}

impl Apply<Opened> for BankAccount {
    fn apply(&mut self, event: &Opened) {
        self.owner.clone_from(&event.owner);
        self.currency.clone_from(&event.currency);
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

/// Why an account refused a command.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    /// The account was opened before.
    #[error("the account is already open")]
    AlreadyOpen,
    /// The account was never opened.
    #[error("the account is not open")]
    NotOpen,
    /// A withdrawal larger than the balance.
    #[error("insufficient funds: the balance is {balance}, the withdrawal {requested}")]
    InsufficientFunds {
        /// The balance, in cents.
        balance: u64,
        /// The amount asked for, in cents.
        requested: u64,
    },
}

/// Open an account.
#[derive(Debug, Clone)]
pub struct Open {
    /// Who owns it.
    pub owner: String,
    /// Its currency, three upper-case letters.
    pub currency: String,
}

/// Pay money in.
#[derive(Debug, Clone)]
pub struct Deposit {
    /// The amount, in cents; more than zero.
    pub amount: u64,
}

/// Pay money out.
#[derive(Debug, Clone)]
pub struct Withdraw {
    /// The amount, in cents; more than zero.
    pub amount: u64,
}

fn positive(amount: u64) -> Result<(), ValidationError> {
    if amount == 0 {
        Err(ValidationError::new("amount", "must be more than zero"))
    } else {
        Ok(())
    }
}

impl Handle<Open> for BankAccount {
    type Error = AccountError;

    fn validate(command: &Open) -> Result<(), ValidationError> {
        if command.owner.trim().is_empty() {
            return Err(ValidationError::new("owner", "must not be empty"));
        }
        if command.currency.len() != 3 || !command.currency.chars().all(|c| c.is_ascii_uppercase())
        {
            return Err(ValidationError::new(
                "currency",
                format!("`{}` is not a three-letter code", command.currency),
            ));
        }
        Ok(())
    }

    fn handle(&self, command: &Open) -> Result<Vec<BankAccountEvent>, AccountError> {
        if self.open {
            return Err(AccountError::AlreadyOpen);
        }
        Ok(vec![
            Opened {
                owner: command.owner.clone(),
                currency: command.currency.clone(),
            }
            .into(),
        ])
    }
}

impl Handle<Deposit> for BankAccount {
    type Error = AccountError;

    fn validate(command: &Deposit) -> Result<(), ValidationError> {
        positive(command.amount)
    }

    fn handle(&self, command: &Deposit) -> Result<Vec<BankAccountEvent>, AccountError> {
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

impl Handle<Withdraw> for BankAccount {
    type Error = AccountError;

    fn validate(command: &Withdraw) -> Result<(), ValidationError> {
        positive(command.amount)
    }

    fn handle(&self, command: &Withdraw) -> Result<Vec<BankAccountEvent>, AccountError> {
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

#[cfg(test)]
mod tests {
    use acci_core::testing::given;

    use super::*;

    fn opened() -> BankAccountEvent {
        Opened {
            owner: "Ada".into(),
            currency: "EUR".into(),
        }
        .into()
    }

    #[test]
    fn a_deposit_raises_the_balance() {
        given::<BankAccount>([opened()])
            .when(Deposit { amount: 250 })
            .then_expect_events([Deposited { amount: 250 }.into()])
            .then_state(|account| assert_eq!(account.balance(), 250));
    }

    #[test]
    fn an_overdraft_is_refused() {
        given::<BankAccount>([opened(), Deposited { amount: 100 }.into()])
            .when(Withdraw { amount: 101 })
            .then_expect_error(AccountError::InsufficientFunds {
                balance: 100,
                requested: 101,
            });
    }

    #[test]
    fn a_zero_amount_is_invalid() {
        given::<BankAccount>([opened()])
            .when(Deposit { amount: 0 })
            .then_expect_validation_error("amount");
    }

    #[test]
    fn a_closed_account_takes_no_deposit() {
        given::<BankAccount>([])
            .when(Deposit { amount: 1 })
            .then_expect_error(AccountError::NotOpen);
    }
}
