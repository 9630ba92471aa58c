//! Percent-escaping of the names that go into subjects and headers: a tenant or an
//! aggregate id may hold any character, a subject token and a header value may not.

use std::fmt::Write;

/// `value` with `%`, control characters, whitespace and every character of `reserved`
/// written as `%XX` (each byte of its UTF-8 form), so that it holds none of them and
/// [`unescape`] gives `value` back.
pub(crate) fn escape(value: &str, reserved: &[char]) -> String {
    let needs = |c: char| c == '%' || c.is_control() || c.is_whitespace() || reserved.contains(&c);
    if !value.chars().any(needs) {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        if needs(c) {
            let mut bytes = [0u8; 4];
            for byte in c.encode_utf8(&mut bytes).bytes() {
                // Writing to a String cannot fail.
                let _ = write!(out, "%{byte:02X}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The text [`escape`] made `escaped` from; `None` if it is not such a text (a `%`
/// without two hex digits, or bytes that are not UTF-8).
pub(crate) fn unescape(escaped: &str) -> Option<String> {
    if !escaped.contains('%') {
        return Some(escaped.to_owned());
    }
    let mut bytes = Vec::with_capacity(escaped.len());
    let mut rest = escaped.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        if first == b'%' {
            let hex = tail.get(..2)?;
            let hex = std::str::from_utf8(hex).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(first);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_round_trips_and_removes_what_is_reserved() {
        for value in [
            "plain",
            "a.b",
            "50%",
            "tab\there",
            "ünï.cödé*>#",
            "line\nbreak",
            "",
        ] {
            let escaped = escape(value, &['.', '*', '>', '#']);
            assert!(
                !escaped.contains(['.', '*', '>', '#', '\t', '\n', ' ']),
                "{escaped}"
            );
            assert_eq!(unescape(&escaped).as_deref(), Some(value), "{escaped}");
        }
        assert_eq!(escape("a.b", &['.']), "a%2Eb");
        assert_eq!(unescape("%2"), None);
        assert_eq!(unescape("%zz"), None);
        assert_eq!(unescape("%FF"), None);
    }
}
