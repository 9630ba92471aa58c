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
        /// When it was closed, if known.
        #[serde(default)]
        pub at: Option<chrono::DateTime<chrono::Utc>>,
        /// Labels the account had.
        #[serde(default)]
        pub labels: Vec<String>,
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

    /// An account's preferences, stored as one `jsonb` column.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Preferences {
        /// The language of statements.
        pub language: String,
    }

    /// One row per account.
    #[projection(
        table = "account_balances",
        aggregates(BankAccount),
        events(Opened, Deposited, Closed),
        version = 3
    )]
    pub struct AccountBalance {
        /// The account's id.
        #[projection(key)]
        pub account_id: String,
        /// Who owns it.
        #[projection(index, column = "owner_name")]
        pub owner: String,
        /// The balance, in cents.
        pub balance: i64,
        /// Whether the account is open.
        pub open: bool,
        /// When it was closed.
        pub closed_at: Option<chrono::DateTime<chrono::Utc>>,
        /// Labels.
        pub labels: Vec<String>,
        /// Preferences.
        #[projection(json)]
        pub preferences: Preferences,
    }

    impl Project<Opened> for AccountBalance {
        fn project(row: &mut Option<Self>, event: &Recorded<Opened>) {
            *row = Some(Self {
                account_id: event.stream.aggregate_id.to_string(),
                owner: event.data.owner.clone(),
                balance: 0,
                open: true,
                closed_at: None,
                labels: vec![event.data.currency.clone()],
                preferences: Preferences::default(),
            });
        }
    }

    impl Project<Deposited> for AccountBalance {
        fn project(row: &mut Option<Self>, event: &Recorded<Deposited>) {
            if let Some(row) = row {
                row.balance += i64::try_from(event.data.amount).unwrap_or(i64::MAX);
            }
        }
    }

    impl Project<Closed> for AccountBalance {
        fn project(row: &mut Option<Self>, event: &Recorded<Closed>) {
            if let Some(row) = row {
                row.open = false;
                row.closed_at = Some(event.recorded_at);
            }
        }
    }

    /// A query written against the finders `#[projection]` generates: any `ReadModels`.
    ///
    /// # Errors
    ///
    /// What `models` reports.
    pub async fn owned_by<R: acci_core::query::ReadModels>(
        models: &R,
        tenant: &TenantId,
        owner: &str,
    ) -> Result<Vec<AccountBalance>, acci_core::query::QueryError> {
        let mut found = AccountBalance::find_by_owner(models, tenant, owner, 10).await?;
        found.extend(AccountBalance::find(models, tenant, "a-1").await?);
        found.extend(AccountBalance::page(models, tenant, Some("a-1"), 10).await?);
        found.push(AccountBalance::require(models, tenant, "a-1").await?);
        Ok(found)
    }

    /// Deposits per owner and day: a composite key, so each event has a `ProjectKey` impl.
    #[projection(events(Deposited), event_enum = DailyDepositEvent)]
    pub struct DailyDeposits {
        /// The account.
        #[projection(key)]
        pub account_id: String,
        /// The day.
        #[projection(key)]
        pub day: chrono::NaiveDate,
        /// How much came in.
        pub amount: i64,
    }

    impl ProjectKey<Deposited> for DailyDeposits {
        fn key(
            event: &Recorded<Deposited>,
        ) -> Result<(String, chrono::NaiveDate), ProjectionError> {
            Ok((
                event.stream.aggregate_id.to_string(),
                event.recorded_at.date_naive(),
            ))
        }
    }

    impl Project<Deposited> for DailyDeposits {
        fn project(row: &mut Option<Self>, event: &Recorded<Deposited>) {
            let (account_id, day) = <Self as ProjectKey<Deposited>>::key(event).unwrap_or_default();
            let row = row.get_or_insert(Self {
                account_id,
                day,
                amount: 0,
            });
            row.amount += i64::try_from(event.data.amount).unwrap_or(i64::MAX);
        }
    }
}

use acci_core::query::{QueryError, ReadModels};
use acci_core::{Aggregate, EventEnum, Projection};
use domain::{
    AccountBalance, AccountChange, BankAccount, DailyDeposits, Deposited, Order, OrderChange,
};
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

#[test]
fn generated_projection_works_under_strict_lints() {
    assert_eq!(AccountBalance::NAME, "account_balances");
    assert_eq!(
        AccountBalance::EVENTS,
        [
            acci_core::EventKind::new("BankAccount", "AccountOpened"),
            acci_core::EventKind::new("BankAccount", "Deposited"),
            acci_core::EventKind::new("BankAccount", "AccountClosed"),
        ]
    );
    assert_eq!(
        DailyDeposits::EVENTS,
        [acci_core::EventKind::any_aggregate("Deposited")]
    );
    assert!(AccountBalance::TABLE.is_indexed("owner_name"));
    assert_eq!(DailyDeposits::TABLE.key_columns().count(), 2);
    let id = acci_core::AggregateId::new("a-1").unwrap();
    assert_eq!(AccountBalance::key_from_aggregate_id(&id).unwrap(), "a-1");
    assert!(DailyDeposits::key_from_aggregate_id(&id).is_err());
}

/// A private read model whose finders go unused: a private function that is never called
/// is `dead_code`, but rustc does not report it in a macro's output.
#[acci_core::projection(events(Deposited))]
struct PrivateView {
    #[projection(key)]
    account_id: String,
    #[projection(index)]
    owner: String,
}

impl acci_core::Project<Deposited> for PrivateView {
    fn project(_row: &mut Option<Self>, _event: &acci_core::Recorded<Deposited>) {}
}

/// Read models without rows.
struct Empty;

#[async_trait::async_trait]
impl ReadModels for Empty {
    async fn get<P: Projection>(
        &self,
        _tenant: Option<&acci_core::TenantId>,
        _key: &P::Key,
    ) -> Result<Option<P>, QueryError> {
        Ok(None)
    }

    async fn page<P: Projection>(
        &self,
        _tenant: Option<&acci_core::TenantId>,
        _after: Option<&P::Key>,
        _limit: usize,
    ) -> Result<Vec<P>, QueryError> {
        Ok(Vec::new())
    }

    async fn find_by<P: Projection>(
        &self,
        _tenant: Option<&acci_core::TenantId>,
        column: &str,
        _value: &serde_json::Value,
        _limit: usize,
    ) -> Result<Vec<P>, QueryError> {
        assert!(P::TABLE.is_indexed(column), "{column} has no finder");
        Ok(Vec::new())
    }
}

#[test]
fn generated_finders_work_under_strict_lints() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let error = runtime
        .block_on(domain::owned_by(
            &Empty,
            &acci_core::TenantId::new("t1").unwrap(),
            "Ada",
        ))
        .unwrap_err();
    assert!(matches!(error, QueryError::NotFound { .. }), "{error}");
    assert_eq!(PrivateView::NAME, "private_view");
}
