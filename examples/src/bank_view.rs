//! What a reader sees of a bank account: the read model the `bank-service` answers
//! `GET /accounts/{id}` from.

use acci_core::prelude::*;

use crate::bank::{BankAccount, Deposited, Opened, Withdrawn};

/// One account as readers see it: one row per account of each tenant (the runner keeps
/// each row's tenant, so two tenants' accounts of one id are two rows).
#[projection(
    table = "account_view",
    aggregates(BankAccount),
    events(Opened, Deposited, Withdrawn)
)]
pub struct AccountView {
    /// The account's id, the row's key.
    #[projection(key)]
    pub account_id: String,
    /// Who owns it.
    pub owner: String,
    /// Its currency.
    pub currency: String,
    /// Its balance, in cents.
    pub balance: i64,
    /// The version of the account's stream this row reflects.
    pub version: i64,
}

fn version_of<E>(event: &Recorded<E>) -> i64 {
    i64::try_from(event.sequence).unwrap_or(i64::MAX)
}

fn amount(cents: u64) -> i64 {
    i64::try_from(cents).unwrap_or(i64::MAX)
}

impl Project<Opened> for AccountView {
    fn project(row: &mut Option<Self>, event: &Recorded<Opened>) {
        *row = Some(AccountView {
            account_id: event.stream.aggregate_id.to_string(),
            owner: event.data.owner.clone(),
            currency: event.data.currency.clone(),
            balance: 0,
            version: version_of(event),
        });
    }
}

impl Project<Deposited> for AccountView {
    fn project(row: &mut Option<Self>, event: &Recorded<Deposited>) {
        if let Some(row) = row {
            row.balance = row.balance.saturating_add(amount(event.data.amount));
            row.version = version_of(event);
        }
    }
}

impl Project<Withdrawn> for AccountView {
    fn project(row: &mut Option<Self>, event: &Recorded<Withdrawn>) {
        if let Some(row) = row {
            row.balance = row.balance.saturating_sub(amount(event.data.amount));
            row.version = version_of(event);
        }
    }
}
