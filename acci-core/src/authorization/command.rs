//! The command side: what a [`CommandAuthorizer`] sees, and the step of the command path
//! that asks it.

use std::any::Any;
use std::borrow::Cow;
use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use super::{Action, AuditSink, Decision, Denied, TracingAuditSink};
use crate::ids::{AggregateId, CommandId, TenantId};
use crate::metadata::Metadata;
use crate::repository::Command;

/// Decides whether a command may run. Asked by the [`Repository`](crate::Repository)
/// before anything is read; see [the module](crate::authorization).
///
/// A closure `Fn(&CommandRequest<'_>) -> Decision` is one:
///
/// ```
/// use acci_core::authorization::{CommandRequest, Decision};
///
/// let only_tellers = |request: &CommandRequest<'_>| match request.user_id() {
///     Some(user) if user.starts_with("teller-") => Decision::Allow,
///     _ => Decision::deny("only tellers run commands"),
/// };
/// # let _: std::sync::Arc<dyn acci_core::authorization::CommandAuthorizer> = std::sync::Arc::new(only_tellers);
/// ```
#[async_trait]
pub trait CommandAuthorizer: Send + Sync {
    /// Allows or denies `request`.
    async fn authorize(&self, request: &CommandRequest<'_>) -> Decision;
}

#[async_trait]
impl<F> CommandAuthorizer for F
where
    F: Fn(&CommandRequest<'_>) -> Decision + Send + Sync,
{
    async fn authorize(&self, request: &CommandRequest<'_>) -> Decision {
        self(request)
    }
}

/// A command as an authorizer sees it, before anything of its aggregate is read.
#[derive(Debug, Clone, Copy)]
pub struct CommandRequest<'a> {
    /// The aggregate's [`TYPE`](crate::Aggregate::TYPE).
    pub aggregate_type: &'static str,
    /// The command's [`name`](crate::Handle::command_name).
    pub command: &'a str,
    /// The tenant the command runs in.
    pub tenant: &'a TenantId,
    /// The aggregate instance it is for.
    pub aggregate_id: &'a AggregateId,
    /// Its command id, if it has one.
    pub command_id: Option<CommandId>,
    /// Its metadata: the user, the correlation id, free-form entries.
    pub metadata: &'a Metadata,
    payload: &'a (dyn Any + Send + Sync),
}

impl<'a> CommandRequest<'a> {
    /// The request for `command` to an aggregate of type `aggregate_type`, the command
    /// named `name`: what the repository asks with, and what a test of a policy builds.
    pub fn new<C: Send + Sync + 'static>(
        aggregate_type: &'static str,
        name: &'a str,
        command: &'a Command<C>,
    ) -> Self {
        Self {
            aggregate_type,
            command: name,
            tenant: &command.tenant,
            aggregate_id: &command.aggregate_id,
            command_id: command.command_id,
            metadata: &command.metadata,
            payload: &command.payload,
        }
    }

    /// The user on whose behalf the command runs, from its metadata.
    pub fn user_id(&self) -> Option<&'a str> {
        self.metadata.user_id.as_deref()
    }

    /// The correlation id, from its metadata.
    pub fn correlation_id(&self) -> Option<Uuid> {
        self.metadata.correlation_id
    }

    /// The command's value, if it is a `C`: for rules that look inside a command (the
    /// amount of a transfer, say).
    pub fn payload<C: 'static>(&self) -> Option<&'a C> {
        self.payload.downcast_ref()
    }
}

/// The authorization step of a repository: its authorizer, if any, and its audit sink.
#[derive(Clone)]
pub(crate) struct CommandGuard {
    authorizer: Option<Arc<dyn CommandAuthorizer>>,
    audit: Arc<dyn AuditSink>,
}

impl Default for CommandGuard {
    fn default() -> Self {
        Self {
            authorizer: None,
            audit: Arc::new(TracingAuditSink),
        }
    }
}

impl CommandGuard {
    pub(crate) fn set_authorizer(&mut self, authorizer: Arc<dyn CommandAuthorizer>) {
        self.authorizer = Some(authorizer);
    }

    pub(crate) fn set_audit(&mut self, audit: Arc<dyn AuditSink>) {
        self.audit = audit;
    }

    pub(crate) fn is_on(&self) -> bool {
        self.authorizer.is_some()
    }

    /// Asks the authorizer about `command`; a denial is recorded with the audit sink and
    /// returned. Without an authorizer it allows at once, and `name` is never called.
    pub(crate) async fn check<C: Send + Sync + 'static>(
        &self,
        aggregate_type: &'static str,
        name: impl FnOnce() -> Cow<'static, str>,
        command: &Command<C>,
    ) -> Result<(), Box<Denied>> {
        let Some(authorizer) = &self.authorizer else {
            return Ok(());
        };
        let name = name();
        let request = CommandRequest::new(aggregate_type, &name, command);
        let Decision::Deny { reason } = authorizer.authorize(&request).await else {
            return Ok(());
        };
        let denied = Denied {
            action: Action::Command {
                aggregate_type,
                command: name.clone(),
                aggregate_id: command.aggregate_id.clone(),
                command_id: command.command_id,
            },
            tenant: Some(command.tenant.clone()),
            user_id: command.metadata.user_id.clone(),
            correlation_id: command.metadata.correlation_id,
            reason,
        };
        super::audit::report(&*self.audit, &denied).await;
        Err(Box::new(denied))
    }
}

/// `T`'s name without module paths: `Deposit` for `bank::Deposit`, `Move<Eur>` for
/// `bank::Move<money::Eur>`.
///
/// A plain path (no generics, tuples, references or slices) ends in the name itself, so
/// that name is borrowed from the `'static` type name: the command path asks for it on
/// every command, and this way it costs no allocation.
pub(crate) fn short_type_name<T: ?Sized>() -> Cow<'static, str> {
    let full = std::any::type_name::<T>();
    if full
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
    {
        let start = full.rfind("::").map_or(0, |at| at + 2);
        return Cow::Borrowed(&full[start..]);
    }
    let mut out = String::with_capacity(full.len());
    // Where the path being read started in `out`: a `::` drops what came before it.
    let mut path_start = 0;
    let mut rest = full;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("::") {
            out.truncate(path_start);
            rest = after;
            continue;
        }
        out.push(c);
        if !(c.is_alphanumeric() || c == '_') {
            path_start = out.len();
        }
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::short_type_name;

    mod bank {
        pub(super) struct Deposit;
        pub(super) struct Move<T>(T);
        pub(super) struct Eur;
    }

    #[test]
    fn short_names_drop_module_paths() {
        assert_eq!(short_type_name::<bank::Deposit>(), "Deposit");
        assert!(matches!(
            short_type_name::<bank::Deposit>(),
            std::borrow::Cow::Borrowed("Deposit")
        ));
        assert_eq!(short_type_name::<u8>(), "u8");
        assert_eq!(short_type_name::<bank::Move<bank::Eur>>(), "Move<Eur>");
        assert_eq!(short_type_name::<(u8, bank::Eur)>(), "(u8, Eur)");
        assert_eq!(short_type_name::<&[bank::Deposit]>(), "&[Deposit]");
    }
}
