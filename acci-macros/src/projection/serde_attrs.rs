//! `#[serde(...)]` on a read model: the keys that would make a row's JSON differ from
//! its columns.

use super::types::ColumnType;
use crate::common::{Ctxt, skip_value};

/// `#[serde(...)]` keys on the struct that would make a row's JSON differ from its
/// columns.
pub(super) fn check_container_serde(cx: &Ctxt, attrs: &[syn::Attribute]) {
    const CHANGES_SHAPE: &[&str] = &[
        "rename_all",
        "tag",
        "content",
        "untagged",
        "transparent",
        "from",
        "try_from",
        "into",
        "remote",
    ];
    for (path, key) in serde_keys(attrs) {
        if CHANGES_SHAPE.contains(&key.as_str()) {
            cx.error_at(
                path,
                format!("`#[serde({key})]` would make the rows' JSON differ from the table's columns"),
                "the row of a read model is stored through JSON keyed by column name; name columns with `#[projection(column = \"…\")]` instead",
            );
        }
    }
}

/// `#[serde(...)]` keys on a field that would rename it, leave it out, or write it in a
/// form its column may not take.
pub(super) fn check_field_serde(
    cx: &Ctxt,
    field: &syn::Field,
    name: &str,
    kind: &ColumnType,
    json: bool,
) {
    for (path, key) in serde_keys(&field.attrs) {
        match key.as_str() {
            "rename" => cx.error_at(
                path,
                format!("`#[serde(rename)]` would store `{name}` under another key than its column"),
                "name the column with `#[projection(column = \"…\")]`; it renames the serde key too",
            ),
            "flatten" | "skip" | "skip_serializing" | "skip_deserializing"
            | "skip_serializing_if" => cx.error_at(
                path,
                format!("`#[serde({key})]` would leave the column `{name}` out of the row's JSON"),
                "every field of a read model is one column; remove the serde attribute, or move the field out of the read model",
            ),
            "with" | "serialize_with" | "deserialize_with" if !json && !kind.jsonb() => cx.error_at(
                path,
                format!(
                    "`#[serde({key})]` changes how `{name}` is written, which its `{}` column may not accept",
                    kind.sql()
                ),
                "add `#[projection(json)]` to store the field as `jsonb` in whatever form it takes, or remove the serde attribute",
            ),
            _ => {}
        }
    }
}

/// The key paths of every `#[serde(...)]` in `attrs`; malformed ones are serde's to report.
fn serde_keys(attrs: &[syn::Attribute]) -> Vec<(syn::Path, String)> {
    let mut keys = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            if let Some(ident) = meta.path.get_ident() {
                keys.push((meta.path.clone(), ident.to_string()));
            }
            skip_value(&meta);
            Ok(())
        });
    }
    keys
}
