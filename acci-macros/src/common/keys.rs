//! Parsing of `key = value` attribute entries, and the "unknown key" diagnostic with a
//! did-you-mean suggestion.

use syn::meta::ParseNestedMeta;
use syn::parse::Parse;

use super::Ctxt;

/// Parses the `= value` after a key, reporting a malformed value into `cx` instead of
/// stopping. `expected` describes the value in the message ("an integer"), `example`
/// shows a correct entry in the help line ("`version = 2`").
pub(crate) fn parse_key_value<T: Parse>(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
    key: &str,
    expected: &str,
    example: &str,
) -> Option<T> {
    let value = match meta.value() {
        Ok(value) => value,
        Err(_) => {
            cx.error_at(
                &meta.path,
                format!("`{key}` needs a value: {expected}"),
                format!("write it like {example}"),
            );
            skip_value(meta);
            return None;
        }
    };
    // The value's tokens, up to the next key: parsed on their own, so that a value with
    // something left over is refused too and the next key is parsed either way.
    let tokens: proc_macro2::TokenStream = value
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
    let Some(first) = tokens.clone().into_iter().next() else {
        cx.error_at(
            &meta.path,
            format!("`{key}` needs a value: {expected}"),
            format!("write it like {example}"),
        );
        return None;
    };
    let parser = |input: syn::parse::ParseStream<'_>| {
        let parsed: T = input.parse()?;
        let left_over: proc_macro2::TokenStream = input.parse()?;
        Ok((parsed, left_over))
    };
    match syn::parse::Parser::parse2(parser, tokens.clone()) {
        Ok((parsed, left_over)) => match left_over.into_iter().next() {
            None => Some(parsed),
            // `version = 2 name = "…"`: a good value, then the next key without a comma.
            Some(next) => {
                cx.error_at_span(
                    next.span(),
                    format!("expected `,` before `{next}`"),
                    format!("put a comma between `{key} = …` and the next key"),
                );
                None
            }
        },
        Err(_) => {
            cx.error_at_span(
                first.span(),
                format!("`{key}` expects {expected}, not `{tokens}`"),
                format!("write it like {example}"),
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

/// Reports an unknown key on its own token, suggesting the closest known one. Returns the
/// suggestion, so the caller can leave out errors about the key the user meant.
pub(crate) fn unknown_key<'a>(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
    attribute: &str,
    known: &[&'a str],
) -> Option<&'a str> {
    unknown_key_of(
        cx,
        meta,
        &format!("`{attribute}` key"),
        &format!("`{attribute}`"),
        known,
    )
}

/// [`unknown_key`] with its own words: `what` names the kind of key in the message
/// ("`#[projection]` field key"), `whose` the place in the help ("`#[projection]` on a
/// field").
pub(crate) fn unknown_key_of<'a>(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
    what: &str,
    whose: &str,
    known: &[&'a str],
) -> Option<&'a str> {
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
    let suggestion = closest(&key, known);
    let help = match suggestion {
        Some(best) => format!("did you mean `{best}`? The keys of {whose} are: {list}"),
        None => format!("the keys of {whose} are: {list}"),
    };
    cx.error_at(&meta.path, format!("unknown {what} `{key}`"), help);
    skip_value(meta);
    suggestion
}

/// Records `key` in `seen`, the keys given so far. A key given before is reported (with
/// `keep_one` as the help line) and skipped: returns whether this is its first time.
pub(crate) fn first_time(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
    seen: &mut Vec<String>,
    key: &str,
    keep_one: String,
) -> bool {
    if seen.iter().any(|k| k == key) {
        cx.error_at(&meta.path, format!("`{key}` is given twice"), keep_one);
        skip_value(meta);
        return false;
    }
    seen.push(key.to_owned());
    true
}

/// A key that takes no value (`key`, `index`): reports `key = …` or `key(…)` and skips
/// it. Returns whether the key stood alone.
pub(crate) fn parse_flag(cx: &Ctxt, meta: &ParseNestedMeta<'_>, key: &str, example: &str) -> bool {
    if meta.input.is_empty() || meta.input.peek(syn::Token![,]) {
        return true;
    }
    cx.error_at(
        &meta.path,
        format!("`{key}` takes no value"),
        format!("write it alone, as in {example}"),
    );
    skip_value(meta);
    false
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
