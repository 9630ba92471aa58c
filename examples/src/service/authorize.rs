//! Who may run which command: blocked users run none, and only an account's owner
//! withdraws from it.

use std::collections::HashSet;

use acci_core::Repository;
use acci_core::authorization::{CommandAuthorizer, CommandRequest, Decision};
use async_trait::async_trait;

use crate::bank::{BankAccount, Withdraw};

/// The service's command policy, asked by the repository before anything is written.
pub(crate) struct BankAuthorizer {
    /// Loads the account to learn its owner (a repository without an authorizer).
    accounts: Repository<BankAccount>,
    blocked: HashSet<String>,
}

impl BankAuthorizer {
    /// The policy: `blocked` users are refused everything.
    pub(crate) fn new(
        accounts: Repository<BankAccount>,
        blocked: impl IntoIterator<Item = String>,
    ) -> Self {
        Self {
            accounts,
            blocked: blocked.into_iter().collect(),
        }
    }
}

#[async_trait]
impl CommandAuthorizer for BankAuthorizer {
    async fn authorize(&self, request: &CommandRequest<'_>) -> Decision {
        let Some(user) = request.user_id() else {
            return Decision::deny("commands need a user");
        };
        if self.blocked.contains(user) {
            return Decision::deny("the user is blocked");
        }
        if request.payload::<Withdraw>().is_some() {
            // The owner is read from the account itself, not from the read model, so a
            // withdrawal right after opening is judged on the current owner.
            return match self
                .accounts
                .load(request.tenant, request.aggregate_id)
                .await
            {
                Ok(account) if account.version == 0 || account.state.owner() == user => {
                    Decision::Allow
                }
                Ok(_) => Decision::deny("only the account's owner withdraws"),
                // An authorizer that cannot reach its source of truth denies.
                Err(error) => Decision::deny(format!("the owner could not be checked: {error}")),
            };
        }
        Decision::Allow
    }
}
