//! The subject (NATS) or routing key (RabbitMQ topic exchanges) a published event goes
//! out under, and the patterns subscribers select events with: [`SubjectRule`], with
//! [`DefaultSubject`] as the documented default.

use std::fmt;

use super::escape::escape;
use crate::event::StoredEvent;
use crate::ids::TenantId;
use crate::store::EventKind;

/// The characters a subject token must not hold: the separator and the wildcards of NATS
/// (`*`, `>`) and of RabbitMQ topic exchanges (`*`, `#`). [`DefaultSubject`] escapes them
/// (with `%`, whitespace and control characters) as `%XX`.
pub const RESERVED: &[char] = &['.', '*', '>', '#'];

/// Builds the subject of each published event and the patterns that select events.
///
/// Implement it to route by something else (a region taken from the metadata, say);
/// the relay takes any rule ([`DefaultSubject`] unless told). A pattern names one token
/// per place of the subject and `*` for a place that may hold anything: both brokers
/// read `*` as one token.
pub trait SubjectRule: Send + Sync + fmt::Debug + 'static {
    /// The subject `event` is published under. An error refuses the event (the relay
    /// parks it): a rule may refuse what it cannot route.
    fn subject(&self, event: &StoredEvent) -> Result<String, String>;

    /// The pattern that selects the events of `kind`, of `tenant` or of every tenant.
    fn pattern(&self, tenant: Option<&TenantId>, kind: &EventKind) -> String;
}

/// The default rule: `<prefix>.<tenant>.<aggregate type>.<event type>`, each of the three
/// names escaped so that it is exactly one token ([`RESERVED`] characters, `%`,
/// whitespace and control characters become `%XX`).
///
/// ```
/// use acci_core::publish::{DefaultSubject, SubjectRule};
/// use acci_core::{EventKind, TenantId};
///
/// let rule = DefaultSubject::new("acci");
/// let tenant = TenantId::new("acme.eu").unwrap();
/// let kind = EventKind::new("BankAccount", "Deposited");
/// assert_eq!(rule.pattern(Some(&tenant), &kind), "acci.acme%2Eeu.BankAccount.Deposited");
/// assert_eq!(rule.pattern(None, &EventKind::any_aggregate("Deposited")), "acci.*.*.Deposited");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultSubject {
    prefix: String,
}

impl DefaultSubject {
    /// The rule with `prefix` as the first token(s); the prefix is used as given, so it
    /// may hold separators of its own (`"acci.events"`).
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

impl Default for DefaultSubject {
    /// The rule with the prefix `acci`.
    fn default() -> Self {
        Self::new("acci")
    }
}

/// `name` as one subject token.
fn token(name: &str) -> String {
    escape(name, RESERVED)
}

impl SubjectRule for DefaultSubject {
    fn subject(&self, event: &StoredEvent) -> Result<String, String> {
        Ok(format!(
            "{}.{}.{}.{}",
            self.prefix,
            token(event.stream.tenant.as_str()),
            token(&event.stream.aggregate_type),
            token(&event.event_type)
        ))
    }

    fn pattern(&self, tenant: Option<&TenantId>, kind: &EventKind) -> String {
        format!(
            "{}.{}.{}.{}",
            self.prefix,
            tenant.map_or_else(|| "*".to_owned(), |t| token(t.as_str())),
            kind.aggregate_type
                .as_deref()
                .map_or_else(|| "*".to_owned(), token),
            token(&kind.event_type)
        )
    }
}

/// Whether `subject` matches `pattern`, token by token, `*` matching any one token and a
/// final `>` the rest (as NATS reads them; RabbitMQ's `#` is not used by the rules here).
pub fn matches(pattern: &str, subject: &str) -> bool {
    let mut subject_tokens = subject.split('.');
    for wanted in pattern.split('.') {
        if wanted == ">" {
            return subject_tokens.next().is_some();
        }
        match subject_tokens.next() {
            Some(token) if wanted == "*" || wanted == token => {}
            _ => return false,
        }
    }
    subject_tokens.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_the_subjects_they_name() {
        assert!(matches("acci.*.A.E", "acci.t1.A.E"));
        assert!(!matches("acci.*.A.E", "acci.t1.A.F"));
        assert!(!matches("acci.*.A", "acci.t1.A.E"));
        assert!(matches("acci.>", "acci.t1.A.E"));
        assert!(!matches("acci.t1.A.E.x", "acci.t1.A.E"));
    }
}
