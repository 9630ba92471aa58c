//! What a reader sees of a bank account: the read model the `bank-service` answers
//! `GET /accounts/{id}` from.

use acci_core::prelude::*;
use acci_core::projection::ProjectionError;

use crate::bank::{BankAccount, Deposited, Opened, Withdrawn};

/// One account as readers see it, one row per account of each tenant.
#[projection(
    table = "account_view",
    aggregates(BankAccount),
    events(Opened, Deposited, Withdrawn)
)]
pub struct AccountView {
    /// The row's key: [`account_key`] of the tenant and the account id, so two tenants'
    /// accounts of one id are two rows.
    #[projection(key)]
    pub key: String,
    /// The tenant the account belongs to.
    #[projection(index)]
    pub tenant_id: String,
    /// The account's id.
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

/// The key of the row of `account_id` in `tenant`.
pub fn account_key(tenant: &str, account_id: &str) -> String {
    format!("{tenant}/{account_id}")
}

fn key_of<E>(event: &Recorded<E>) -> Result<String, ProjectionError> {
    Ok(account_key(
        event.stream.tenant.as_str(),
        event.stream.aggregate_id.as_str(),
    ))
}

fn version_of<E>(event: &Recorded<E>) -> i64 {
    i64::try_from(event.sequence).unwrap_or(i64::MAX)
}

fn amount(cents: u64) -> i64 {
    i64::try_from(cents).unwrap_or(i64::MAX)
}

impl ProjectKey<Opened> for AccountView {
    fn key(event: &Recorded<Opened>) -> Result<String, ProjectionError> {
        key_of(event)
    }
}

impl Project<Opened> for AccountView {
    fn project(row: &mut Option<Self>, event: &Recorded<Opened>) {
        *row = Some(AccountView {
            key: account_key(
                event.stream.tenant.as_str(),
                event.stream.aggregate_id.as_str(),
            ),
            tenant_id: event.stream.tenant.to_string(),
            account_id: event.stream.aggregate_id.to_string(),
            owner: event.data.owner.clone(),
            currency: event.data.currency.clone(),
            balance: 0,
            version: version_of(event),
        });
    }
}

impl ProjectKey<Deposited> for AccountView {
    fn key(event: &Recorded<Deposited>) -> Result<String, ProjectionError> {
        key_of(event)
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

impl ProjectKey<Withdrawn> for AccountView {
    fn key(event: &Recorded<Withdrawn>) -> Result<String, ProjectionError> {
        key_of(event)
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
