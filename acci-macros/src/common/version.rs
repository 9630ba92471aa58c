//! `version = N`: the version of a stored shape (an event's schema, a read model's
//! table), a whole number from 1 up to a limit the macro's storage sets.

use syn::meta::ParseNestedMeta;

use super::{Ctxt, parse_key_value};

/// How the messages about a bad `version` speak of it, and its limit.
pub(crate) struct VersionRules {
    /// What is versioned, as in "schema version", "read-model version".
    pub(crate) kind: &'static str,
    /// The help line for `version = 0`: what version 1 is.
    pub(crate) first_version_help: &'static str,
    /// The highest version the storage keeps.
    pub(crate) max: u32,
}

/// Parses `version = N`, reporting 0, a number above `rules.max` or anything else.
/// Returns the version and its literal (later errors point at it).
pub(crate) fn parse_version(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
    rules: &VersionRules,
) -> Option<(u32, syn::LitInt)> {
    let lit = parse_key_value::<syn::LitInt>(
        cx,
        meta,
        "version",
        "a whole number from 1 up",
        "`version = 2`",
    )?;
    let VersionRules {
        kind,
        first_version_help,
        max,
    } = rules;
    match lit.base10_parse::<u32>() {
        Ok(0) => {
            cx.error_at(
                &lit,
                format!("{kind}s start at 1; `version = 0` is not a version"),
                first_version_help,
            );
            None
        }
        Ok(v) if v <= *max => Some((v, lit)),
        _ => {
            cx.error_at(
                &lit,
                format!("`version = {lit}` is not a {kind}"),
                format!("write a whole number from 1 to {max} without a suffix"),
            );
            None
        }
    }
}
