//! The rules for stored names (`name = "…"`), checked at compile time with the same limits
//! the runtime enforces on every append.

use super::Ctxt;

/// The runtime's limit (`acci_core::MAX_TYPE_NAME_BYTES`).
const MAX_NAME_BYTES: usize = 256;

/// Reports a stored name that the event store would refuse. `attribute` is the start of
/// the attribute (`#[event`), `example` a good name for it (`AccountOpened`).
pub(crate) fn check_stored_name(cx: &Ctxt, literal: &syn::LitStr, attribute: &str, example: &str) {
    let name = literal.value();
    let problem = if name.trim().is_empty() {
        Some("is empty".to_owned())
    } else if name.len() > MAX_NAME_BYTES {
        Some(format!(
            "is {} bytes long; the limit is {MAX_NAME_BYTES}",
            name.len()
        ))
    } else if name.chars().any(char::is_control) {
        Some("contains a control character".to_owned())
    } else if name != name.trim() {
        Some("starts or ends with whitespace".to_owned())
    } else {
        None
    };
    if let Some(problem) = problem {
        let message = if name.is_empty() {
            "the stored name is empty".to_owned()
        } else {
            format!("the stored name `{}` {problem}", name.escape_debug())
        };
        cx.error_at(
            literal,
            message,
            format!(
                "`{attribute}(name = \"…\")]` takes 1 to {MAX_NAME_BYTES} bytes without control characters or outer spaces, such as `name = \"{example}\"`; leave it out to use the type's name"
            ),
        );
    }
}
