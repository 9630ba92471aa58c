//! The rules for the JSON a store keeps (payloads, metadata, snapshot states), and the
//! stored form of the values that PostgreSQL's `jsonb` changes on the way through.
//!
//! Every store checks the same rules before it touches storage, so all of them refuse the
//! same document with the same message; [`canonical_json`] turns a value into what
//! PostgreSQL gives back, so that the in-memory store returns it too.

use serde_json::Value;

use crate::error::ValidationError;

/// How deep a JSON document a store accepts may nest: a payload, the metadata object or a
/// snapshot state with arrays or objects more than this many levels deep is refused.
///
/// A scalar is at level 0, the payload object itself is level 1, so a payload
/// `{"a": {"b": 1}}` nests 2 levels. In the metadata object, its `entries` map is level 2,
/// so a free-form entry's value may nest 62 levels.
///
/// The limit keeps every stored document far below the depth that readers can parse
/// (`serde_json` stops at 128 by default) and that Rust code walks on a thread's stack.
/// Its SQL twin is `event_store.require_documents` (acci-postgres), which
/// `event_store.append` and `snapshots.save` call; change both together.
pub const MAX_JSON_DEPTH: usize = 64;

/// How deep a stored JSON document a store's readers hand out. Documents the API stored
/// are at most [`MAX_JSON_DEPTH`] deep; one written past it (by raw SQL) and deeper than
/// the 128 levels `serde_json` parses by default is still read, up to this depth, and
/// fails to decode into its event type like any other mismatched payload. An event
/// deeper still comes back as [`StoreError::Unreadable`](crate::StoreError::Unreadable)
/// (a snapshot as none): a `serde_json::Value` that deep overflows a thread's stack when
/// it is cloned, compared or dropped.
pub const MAX_READ_JSON_DEPTH: usize = 512;

/// Checks a JSON document before it is stored: no deeper than [`MAX_JSON_DEPTH`], and
/// every string (keys included) free of NUL, which PostgreSQL's `jsonb` cannot hold.
/// `what` names the document in the error (`"payload of event 0 (`Opened`)"`).
pub fn check_json(what: &str, value: &Value) -> Result<(), ValidationError> {
    check_json_named(&|| what.to_owned(), value)
}

/// [`check_json`] with the document's name made only when it is refused: an append
/// checks every event's payload, and naming each one (`format!`) on the way costs more
/// than the check.
pub(crate) fn check_json_named(
    what: &dyn Fn() -> String,
    value: &Value,
) -> Result<(), ValidationError> {
    let mut path = Vec::new();
    walk(what, value, 0, &mut path)
}

/// Recursion stops at `MAX_JSON_DEPTH + 1` levels, so the stack stays small whatever
/// the input.
fn walk<'v>(
    what: &dyn Fn() -> String,
    value: &'v Value,
    level: usize,
    path: &mut Vec<Segment<'v>>,
) -> Result<(), ValidationError> {
    let nested = matches!(value, Value::Array(_) | Value::Object(_));
    if nested && level == MAX_JSON_DEPTH {
        return Err(ValidationError::new(
            what(),
            format!(
                "nests deeper than {MAX_JSON_DEPTH} levels (at `{}`); a store keeps at most \
                 {MAX_JSON_DEPTH} levels of arrays and objects",
                pointer(path)
            ),
        ));
    }
    match value {
        Value::String(text) if text.contains('\0') => Err(nul_error(what, path)),
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                path.push(Segment::Index(index));
                walk(what, item, level + 1, path)?;
                path.pop();
            }
            Ok(())
        }
        Value::Object(fields) => {
            for (key, item) in fields {
                path.push(Segment::Key(key));
                if key.contains('\0') {
                    return Err(nul_error(what, path));
                }
                walk(what, item, level + 1, path)?;
                path.pop();
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// One step of a path into a document.
enum Segment<'v> {
    Key(&'v str),
    Index(usize),
}

/// The path as a JSON pointer (RFC 6901): `/items/0/name`, or `/` for the document.
fn pointer(path: &[Segment<'_>]) -> String {
    if path.is_empty() {
        return "/".to_owned();
    }
    let mut out = String::new();
    for segment in path {
        out.push('/');
        match segment {
            Segment::Key(key) => out.push_str(&key.replace('~', "~0").replace('/', "~1")),
            Segment::Index(index) => out.push_str(&index.to_string()),
        }
    }
    out.replace('\0', "\\u0000")
}

fn nul_error(what: &dyn Fn() -> String, path: &[Segment<'_>]) -> ValidationError {
    ValidationError::new(
        what(),
        format!(
            "contains the character U+0000 (at `{}`), which a store cannot keep in JSON",
            pointer(path)
        ),
    )
}

/// The depth of a JSON text, counted without parsing it (and so without recursion):
/// the most arrays and objects open at once. For the text of a valid JSON document.
pub fn json_text_depth(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for byte in text.bytes() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// 2^64: the first float above every `u64`.
const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;
/// 2^63: `-TWO_POW_63` is `i64::MIN`.
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
/// From here up, a float is written with an exponent and no fraction (`1e16`), which
/// PostgreSQL reads as an integer.
const EXPONENT_FROM: f64 = 1e16;

/// Turns `value` into what PostgreSQL's `jsonb` gives back for it, which is how every
/// store returns it:
///
/// - `-0.0` becomes `0.0` (`numeric` has no negative zero);
/// - a float with no fraction whose magnitude is 10^16 or more, and that fits an `i64`
///   or a `u64`, becomes that integer (`1e16` comes back as `10000000000000000`).
///
/// Every other number, string, key and structure comes back as it went in; the order of
/// object keys is not kept (`serde_json`'s default map sorts them). For a document that passed
/// [`check_json`]: the recursion is as deep as the document.
pub fn canonical_json(value: &mut Value) {
    match value {
        Value::Number(number) => {
            if let Some(float) = number.as_f64().filter(|_| number.is_f64())
                && let Some(canonical) = canonical_float(float)
            {
                *value = canonical;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(canonical_json),
        Value::Object(fields) => fields.values_mut().for_each(canonical_json),
        _ => {}
    }
}

/// The value PostgreSQL returns for `float`, where it is not the same float.
fn canonical_float(float: f64) -> Option<Value> {
    if float == 0.0 && float.is_sign_negative() {
        return Some(Value::from(0.0));
    }
    if float.fract() != 0.0 || float.abs() < EXPONENT_FROM {
        return None;
    }
    if float > 0.0 && float < TWO_POW_64 {
        return Some(Value::from(float as u64));
    }
    if (-TWO_POW_63..0.0).contains(&float) {
        return Some(Value::from(float as i64));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nested(levels: usize) -> Value {
        let mut value = json!(1);
        for _ in 0..levels {
            value = json!({ "a": value });
        }
        value
    }

    #[test]
    fn the_limit_is_inclusive() {
        assert!(check_json("payload", &nested(MAX_JSON_DEPTH)).is_ok());
        let error = check_json("payload", &nested(MAX_JSON_DEPTH + 1)).unwrap_err();
        assert_eq!(error.what, "payload");
        assert!(error.problem.contains("deeper than 64 levels"), "{error}");
        assert!(error.problem.contains(&"/a".repeat(64)), "{error}");
    }

    #[test]
    fn text_depth_ignores_brackets_in_strings() {
        assert_eq!(json_text_depth(r#"{"a": "[[{{\"[", "b": [[1]]}"#), 3);
        assert_eq!(json_text_depth("1"), 0);
        let text = serde_json::to_string(&nested(200)).unwrap();
        assert_eq!(json_text_depth(&text), 200);
    }

    #[test]
    fn canonical_numbers() {
        let mut value = json!([-0.0, 1e16, -1e16, 1.5, 123.0, 1e300, 1.8446744073709552e19]);
        canonical_json(&mut value);
        assert_eq!(
            value.to_string(),
            "[0.0,10000000000000000,-10000000000000000,1.5,123.0,1e+300,1.8446744073709552e+19]"
        );
    }
}
