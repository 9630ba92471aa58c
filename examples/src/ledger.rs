//! The other side of the bank's published events: a ledger that another team runs in its
//! own database, fed by the messages the `bank-service` relay publishes to RabbitMQ.
//!
//! [`Ledger`] is an [`EventHandler`]: it decodes each message back into
//! [`BankAccountEvent`] (an `AccountOpened` of version 1 arrives upcast, as a store read
//! would give it) and writes `ledger.accounts` in the transaction the
//! [`Inbox`](acci_postgres::subscribe::Inbox) opens, so a message RabbitMQ delivers twice
//! moves a balance once. The `bank-ledger` binary runs it.

use acci_core::prelude::*;
use acci_core::{EventKind, Recorded};
use acci_postgres::projection::HandleError;
use acci_postgres::subscribe::EventHandler;
use async_trait::async_trait;
use sqlx::{PgConnection, PgPool};

use crate::bank::BankAccountEvent;

/// The ledger's own table, made by [`Ledger::setup`]: one row per account of each tenant.
pub const LEDGER_TABLE: &str = "ledger.accounts";

/// What the ledger keeps of each account: balance, how many movements, the last stream
/// sequence it applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerAccount {
    /// The bank's tenant.
    pub tenant: String,
    /// The account's id.
    pub account_id: String,
    /// Who owns it.
    pub owner: String,
    /// Its balance, in cents.
    pub balance: i64,
    /// Deposits and withdrawals applied.
    pub movements: i64,
    /// The sequence of the last event applied, in the account's stream.
    pub last_sequence: i64,
}

/// The ledger's event handler.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ledger;

impl Ledger {
    /// Creates the ledger's schema and table if they are not there yet. Run it once with
    /// a role that may create them, before the first message is consumed.
    pub async fn setup(pool: &PgPool) -> Result<(), sqlx::Error> {
        for statement in [
            "CREATE SCHEMA IF NOT EXISTS ledger",
            "CREATE TABLE IF NOT EXISTS ledger.accounts (
                 tenant        text   NOT NULL,
                 account_id    text   NOT NULL,
                 owner         text   NOT NULL,
                 balance       bigint NOT NULL,
                 movements     bigint NOT NULL,
                 last_sequence bigint NOT NULL,
                 PRIMARY KEY (tenant, account_id))",
        ] {
            sqlx::query(statement).execute(pool).await?;
        }
        Ok(())
    }

    /// Every account in the ledger, by tenant and id.
    pub async fn accounts(pool: &PgPool) -> Result<Vec<LedgerAccount>, sqlx::Error> {
        let rows: Vec<(String, String, String, i64, i64, i64)> = sqlx::query_as(
            "SELECT tenant, account_id, owner, balance, movements, last_sequence \
             FROM ledger.accounts ORDER BY tenant, account_id",
        )
        .fetch_all(pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(tenant, account_id, owner, balance, movements, last_sequence)| LedgerAccount {
                    tenant,
                    account_id,
                    owner,
                    balance,
                    movements,
                    last_sequence,
                },
            )
            .collect())
    }
}

/// An amount as the ledger's `bigint`; the bank's own view saturates the same way.
fn cents(amount: u64) -> i64 {
    i64::try_from(amount).unwrap_or(i64::MAX)
}

#[async_trait]
impl EventHandler for Ledger {
    type Event = BankAccountEvent;
    const NAME: &'static str = "bank-ledger";
    const EVENTS: &'static [EventKind] = &[
        EventKind::new("BankAccount", "AccountOpened"),
        EventKind::new("BankAccount", "Deposited"),
        EventKind::new("BankAccount", "Withdrawn"),
    ];

    async fn handle(
        &self,
        event: &Recorded<BankAccountEvent>,
        tx: &mut PgConnection,
    ) -> Result<(), HandleError> {
        let tenant = event.stream.tenant.as_str();
        let account = event.stream.aggregate_id.as_str();
        let sequence = i64::try_from(event.sequence).unwrap_or(i64::MAX);
        let delta = match &event.data {
            BankAccountEvent::Opened(opened) => {
                sqlx::query(
                    "INSERT INTO ledger.accounts \
                     (tenant, account_id, owner, balance, movements, last_sequence) \
                     VALUES ($1, $2, $3, 0, 0, $4)",
                )
                .bind(tenant)
                .bind(account)
                .bind(&opened.owner)
                .bind(sequence)
                .execute(&mut *tx)
                .await?;
                return Ok(());
            }
            BankAccountEvent::Deposited(deposited) => cents(deposited.amount),
            BankAccountEvent::Withdrawn(withdrawn) => -cents(withdrawn.amount),
        };
        let updated = sqlx::query(
            "UPDATE ledger.accounts \
             SET balance = balance + $3, movements = movements + 1, last_sequence = $4 \
             WHERE tenant = $1 AND account_id = $2",
        )
        .bind(tenant)
        .bind(account)
        .bind(delta)
        .bind(sequence)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            // Per-stream order holds, so the opening came first; without it the ledger
            // was set up after the account was opened, and this event waits for a fix.
            return Err(ProjectionError::key(event, "the account is not in the ledger").into());
        }
        Ok(())
    }
}
