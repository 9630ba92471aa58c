//! The mapping between ACCI messages and NATS messages: the headers as NATS headers,
//! the event id as `Nats-Msg-Id`.

use std::collections::BTreeMap;

use acci_core::publish::{IncomingMessage, OutgoingMessage};
use async_nats::HeaderMap;

/// JetStream's deduplication header.
pub(crate) const MSG_ID: &str = "Nats-Msg-Id";

/// The NATS headers of `message`: its own, and its id as [`MSG_ID`].
pub(crate) fn to_headers(message: &OutgoingMessage) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in &message.headers {
        map.insert(*name, value.as_str());
    }
    map.insert(MSG_ID, message.message_id.as_str());
    map
}

/// The message a subscriber hands over. Header names are lowercased (NATS keeps the
/// publisher's case); of a header given twice, the first value counts.
pub(crate) fn to_incoming(
    subject: &str,
    headers: Option<&HeaderMap>,
    payload: &[u8],
) -> IncomingMessage {
    let mut names = BTreeMap::new();
    let mut message_id = None;
    if let Some(headers) = headers {
        for (name, values) in headers.iter() {
            let Some(value) = values.first() else {
                continue;
            };
            let name = name.to_string();
            if name.eq_ignore_ascii_case(MSG_ID) {
                message_id = Some(value.as_str().to_owned());
            }
            names
                .entry(name.to_ascii_lowercase())
                .or_insert_with(|| value.as_str().to_owned());
        }
    }
    IncomingMessage {
        message_id,
        subject: subject.to_owned(),
        headers: names,
        payload: payload.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use acci_core::LogPosition;

    use super::*;

    #[test]
    fn the_headers_and_the_id_go_through() {
        let message = OutgoingMessage {
            message_id: "0190b5d2-0000-7000-8000-000000000001".to_owned(),
            subject: "acci.acme.Account.Deposited".to_owned(),
            headers: vec![("acci-event-type", "Deposited".to_owned())],
            payload: "{}".to_owned(),
            position: LogPosition::START,
        };
        let headers = to_headers(&message);
        let incoming = to_incoming(&message.subject, Some(&headers), b"{}");
        assert_eq!(
            incoming.message_id.as_deref(),
            Some(message.message_id.as_str())
        );
        assert_eq!(incoming.header("acci-event-type"), Some("Deposited"));
        assert_eq!(
            incoming.header("nats-msg-id"),
            Some(message.message_id.as_str())
        );
    }
}
