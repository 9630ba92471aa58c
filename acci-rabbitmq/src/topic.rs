//! Subject patterns as AMQP topic binding keys.

/// The AMQP topic binding key of a NATS-style subject pattern (what a
/// [`SubjectRule`](acci_core::publish::SubjectRule) gives): `*` (one token) stays `*`,
/// `>` (the rest, at least one token) becomes `#`. Tokens are `.`-separated in both.
///
/// AMQP's `#` also matches no token at all, so `acci.>` binds `acci` too; no ACCI
/// subject is a bare prefix, so this matches the same events.
pub fn topic_pattern(pattern: &str) -> String {
    pattern
        .split('.')
        .map(|token| if token == ">" { "#" } else { token })
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::topic_pattern;

    #[test]
    fn wildcards_become_amqp_wildcards() {
        assert_eq!(topic_pattern("acci.*.Account.>"), "acci.*.Account.#");
        assert_eq!(
            topic_pattern("acci.t1.Account.Opened"),
            "acci.t1.Account.Opened"
        );
    }
}
