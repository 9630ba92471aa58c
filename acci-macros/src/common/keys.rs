//! Parsing of `key = value` attribute entries, and the "unknown key" diagnostic with a
//! did-you-mean suggestion.

use syn::meta::ParseNestedMeta;
use syn::parse::Parse;

use super::Ctxt;

/// Parses the `= value` after a key, reporting a malformed value into `cx` instead of
/// stopping. `expected` describes the value in the message: "an integer", "a string".
pub(crate) fn parse_key_value<T: Parse>(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
    key: &str,
    expected: &str,
) -> Option<T> {
    let value = match meta.value() {
        Ok(value) => value,
        Err(_) => {
            cx.error_at(
                &meta.path,
                format!("`{key}` needs a value"),
                format!("write `{key} = ` followed by {expected}"),
            );
            skip_value(meta);
            return None;
        }
    };
    match value.parse::<T>() {
        Ok(parsed) => Some(parsed),
        Err(error) => {
            // Consume the rest of the value so later keys are still parsed.
            let rest: proc_macro2::TokenStream = value
                .step(|cursor| {
                    let mut rest = *cursor;
                    let mut out = proc_macro2::TokenStream::new();
                    while let Some((tt, next)) = rest.token_tree() {
                        if matches!(&tt, proc_macro2::TokenTree::Punct(p) if p.as_char() == ',') {
                            break;
                        }
                        out.extend([tt]);
                        rest = next;
                    }
                    Ok((out, rest))
                })
                .unwrap_or_default();
            let at = if rest.is_empty() {
                error.span()
            } else {
                syn::spanned::Spanned::span(&rest)
            };
            cx.error_at_span(
                at,
                format!("`{key}` expects {expected}"),
                format!("write `{key} = ` followed by {expected}"),
            );
            None
        }
    }
}

/// Skips whatever follows an unusable key (`= value` or `( … )`), so parsing continues.
pub(crate) fn skip_value(meta: &ParseNestedMeta<'_>) {
    if meta.input.peek(syn::Token![=]) {
        let _ = meta.input.parse::<syn::Token![=]>();
        let _ = meta.input.step(|cursor| {
            let mut rest = *cursor;
            while let Some((tt, next)) = rest.token_tree() {
                if matches!(&tt, proc_macro2::TokenTree::Punct(p) if p.as_char() == ',') {
                    break;
                }
                rest = next;
            }
            Ok(((), rest))
        });
    } else if meta.input.peek(syn::token::Paren) {
        let _ = meta.parse_nested_meta(|inner| {
            skip_value(&inner);
            Ok(())
        });
    }
}

/// Reports an unknown key on its own token, suggesting the closest known one.
pub(crate) fn unknown_key(cx: &Ctxt, meta: &ParseNestedMeta<'_>, attribute: &str, known: &[&str]) {
    let key = meta
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::");
    let list = known
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let help = match closest(&key, known) {
        Some(best) => format!("did you mean `{best}`? The keys of `{attribute}` are: {list}"),
        None => format!("the keys of `{attribute}` are: {list}"),
    };
    cx.error_at(
        &meta.path,
        format!("unknown `{attribute}` key `{key}`"),
        help,
    );
    skip_value(meta);
}

/// The known key nearest to `key` by edit distance, if it is near enough to be a typo.
fn closest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, k)| *d <= (k.len() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == *cb {
                diagonal
            } else {
                1 + diagonal.min(above).min(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_keys_only() {
        assert_eq!(
            closest("verison", &["name", "version", "previous"]),
            Some("version")
        );
        assert_eq!(closest("colour", &["name", "version"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
