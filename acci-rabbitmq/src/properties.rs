//! The mapping between ACCI messages and AMQP properties: message id, content type,
//! persistence, timestamp and the headers as a field table of long strings.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use acci_core::publish::{IncomingMessage, OutgoingMessage, PublishError, headers};
use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};

/// AMQP's `delivery_mode` of a message written to disk by a durable queue.
const PERSISTENT: u8 = 2;

/// The AMQP properties of `message`; refuses a message id or header name longer than
/// an AMQP short string (255 bytes).
pub(crate) fn to_properties(message: &OutgoingMessage) -> Result<BasicProperties, PublishError> {
    let mut table = FieldTable::default();
    for (name, value) in &message.headers {
        let key = ShortString::try_new(*name)
            .map_err(|_| PublishError::Refused(format!("the header name `{name}` is too long")))?;
        table.insert(key, AMQPValue::LongString(LongString::from(value.as_str())));
    }
    let id = ShortString::try_new(message.message_id.as_str()).map_err(|_| {
        PublishError::Refused(format!(
            "the message id `{}` is longer than 255 bytes",
            message.message_id
        ))
    })?;
    // A clock before 1970 is not worth refusing a message for: it goes out as 0.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // The relay's messages are JSON; a content type AMQP cannot carry is not one.
    let content_type = message
        .header(headers::CONTENT_TYPE)
        .and_then(|t| ShortString::try_new(t).ok())
        .unwrap_or_else(|| headers::JSON.into());
    Ok(BasicProperties::default()
        .with_message_id(id)
        .with_content_type(content_type)
        .with_delivery_mode(PERSISTENT)
        .with_timestamp(now)
        .with_headers(table))
}

/// The routing key of `message`: its subject, if AMQP can carry it.
pub(crate) fn routing_key(message: &OutgoingMessage) -> Result<ShortString, PublishError> {
    ShortString::try_new(message.subject.as_str()).map_err(|_| {
        PublishError::Refused(format!(
            "the subject `{}` is longer than AMQP's 255-byte routing key",
            message.subject
        ))
    })
}

/// The message a subscriber hands over, from an AMQP delivery's routing key,
/// properties and body. Header names are lowercased; values that are not strings
/// (a header another publisher set) are written as text.
pub(crate) fn to_incoming(
    routing_key: &str,
    properties: &BasicProperties,
    body: Vec<u8>,
) -> IncomingMessage {
    let mut names = BTreeMap::new();
    if let Some(table) = properties.headers() {
        for (name, value) in table.inner() {
            let text = match value {
                AMQPValue::LongString(s) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
                AMQPValue::ShortString(s) => s.as_str().to_owned(),
                other => format!("{other:?}"),
            };
            names.insert(name.as_str().to_lowercase(), text);
        }
    }
    IncomingMessage {
        message_id: properties
            .message_id()
            .as_ref()
            .map(|id| id.as_str().to_owned()),
        subject: routing_key.to_owned(),
        headers: names,
        payload: body,
    }
}

#[cfg(test)]
mod tests {
    use acci_core::LogPosition;

    use super::*;

    #[test]
    fn headers_and_id_come_back_as_they_went() {
        let message = OutgoingMessage {
            message_id: "0190c6f2-0000-7000-8000-000000000001".into(),
            subject: "acci.t1.Account.Opened".into(),
            headers: vec![
                (headers::TENANT, "t%201".into()),
                (headers::SEQUENCE, "3".into()),
                (headers::CONTENT_TYPE, headers::JSON.into()),
            ],
            payload: "{}".into(),
            position: LogPosition {
                commit: 1,
                position: 2,
            },
        };
        let properties = to_properties(&message).unwrap();
        assert_eq!(properties.delivery_mode(), &Some(PERSISTENT));
        let incoming = to_incoming(&message.subject, &properties, b"{}".to_vec());
        assert_eq!(incoming, message.to_incoming());
    }

    #[test]
    fn an_overlong_subject_is_refused_not_sent() {
        let message = OutgoingMessage {
            message_id: "id".into(),
            subject: "a.".repeat(200),
            headers: Vec::new(),
            payload: "{}".into(),
            position: LogPosition {
                commit: 1,
                position: 1,
            },
        };
        assert!(matches!(
            routing_key(&message),
            Err(PublishError::Refused(_))
        ));
    }
}
