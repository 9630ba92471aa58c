//! Published messages without a broker or a database: every header read back as it was
//! written, each malformed message refused with an error that names what is wrong,
//! options and names refused before any I/O, subscriptions by event kind.

use std::time::Duration;

use acci_core::observability::TraceContext;
use acci_core::publish::{
    DefaultSubject, InMemoryPublisher, InMemorySubscriber, IncomingError, OutgoingMessage,
    PublishError, Publisher, Subscriber, headers,
};
use acci_core::{
    AggregateId, DecodeFailure, EventId, EventKind, LogPosition, Metadata, StoredEvent, StreamId,
    TenantId,
};
use acci_postgres::relay::{Relay, RelayOptions};
use acci_tests::events::{Counted, CountedEvent};
use chrono::TimeZone;
use serde_json::json;

fn event(tenant: &str, aggregate_id: &str) -> StoredEvent {
    let trace = TraceContext::new(
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        Some("vendor=1"),
    )
    .unwrap();
    StoredEvent {
        event_id: EventId::new(),
        stream: StreamId::new(
            TenantId::new(tenant).unwrap(),
            "Account",
            AggregateId::new(aggregate_id).unwrap(),
        )
        .unwrap(),
        sequence: 7,
        position: LogPosition {
            commit: 901,
            position: 42,
        },
        event_type: "Counted".into(),
        schema_version: 1,
        metadata: Metadata::new()
            .with_correlation_id(uuid::Uuid::new_v4())
            .with_causation_id(uuid::Uuid::new_v4())
            .with_user_id("ann\nlee %")
            .with_entry("request", "r-1")
            .with_entry("nested", json!({"a": [1, 2]}))
            .with_trace_context(trace),
        recorded_at: chrono::Utc
            .timestamp_micros(1_764_000_000_123_456)
            .single()
            .unwrap(),
        data: json!({ "n": 5 }),
    }
}

#[test]
fn every_header_reads_back_as_it_was_written() {
    let original = event("acme.eu %", "a.b*c>d#e f\u{1}");
    let message = OutgoingMessage::from_event(&original, &DefaultSubject::default()).unwrap();
    for name in headers::ALL {
        assert!(message.header(name).is_some(), "{name}");
    }
    assert_eq!(message.message_id, original.event_id.to_string());
    assert_eq!(message.subject, "acci.acme%2Eeu%20%25.Account.Counted");
    assert_eq!(message.header(headers::LOG_POSITION), Some("901:42"));
    assert_eq!(message.header(headers::CONTENT_TYPE), Some(headers::JSON));
    assert!(
        message
            .headers
            .iter()
            .all(|(_, v)| !v.contains(['\n', '\u{1}'])),
        "no header value holds a line break or a control character"
    );

    let incoming = message.to_incoming();
    assert_eq!(incoming.decode_stored().unwrap(), original);
    let typed = incoming.decode::<CountedEvent>().unwrap();
    assert_eq!(typed.data, CountedEvent::Counted(Counted { n: 5 }));
    assert_eq!(typed.metadata, original.metadata);
    assert_eq!(typed.stream, original.stream);
}

#[test]
fn an_event_without_metadata_has_only_the_envelope_headers() {
    let mut plain = event("t1", "a1");
    plain.metadata = Metadata::new();
    let message = OutgoingMessage::from_event(&plain, &DefaultSubject::new("app.events")).unwrap();
    assert_eq!(message.subject, "app.events.t1.Account.Counted");
    for absent in [
        headers::CORRELATION_ID,
        headers::CAUSATION_ID,
        headers::USER_ID,
        headers::METADATA,
        headers::TRACEPARENT,
        headers::TRACESTATE,
    ] {
        assert_eq!(message.header(absent), None, "{absent}");
    }
    assert_eq!(message.to_incoming().decode_stored().unwrap(), plain);
}

#[test]
fn a_message_missing_a_header_names_it() {
    let message = OutgoingMessage::from_event(&event("t1", "a1"), &DefaultSubject::default())
        .unwrap()
        .to_incoming();
    for required in [
        headers::EVENT_TYPE,
        headers::SCHEMA_VERSION,
        headers::TENANT,
        headers::AGGREGATE_TYPE,
        headers::AGGREGATE_ID,
        headers::SEQUENCE,
        headers::LOG_POSITION,
        headers::RECORDED_AT,
    ] {
        let mut broken = message.clone();
        broken.headers.remove(required);
        let error = broken.decode::<CountedEvent>().unwrap_err();
        assert!(
            matches!(error, IncomingError::MissingHeader(name) if name == required),
            "{error}"
        );
        assert!(error.to_string().contains(required), "{error}");
    }
    let mut no_id = message.clone();
    no_id.message_id = None;
    assert!(matches!(
        no_id.decode_stored().unwrap_err(),
        IncomingError::MissingHeader("message id")
    ));
}

#[test]
fn malformed_headers_unknown_types_and_newer_versions_are_refused() {
    let message = OutgoingMessage::from_event(&event("t1", "a1"), &DefaultSubject::default())
        .unwrap()
        .to_incoming();
    let with = |header: &str, value: &str| {
        let mut changed = message.clone();
        changed.headers.insert(header.to_owned(), value.to_owned());
        changed
    };

    let error = with(headers::EVENT_TYPE, "Withdrawn")
        .decode::<CountedEvent>()
        .unwrap_err();
    assert!(
        matches!(&error, IncomingError::Decode(e) if matches!(&e.failure, DecodeFailure::UnknownEventType(t) if t == "Withdrawn")),
        "{error}"
    );
    let error = with(headers::SCHEMA_VERSION, "2")
        .decode::<CountedEvent>()
        .unwrap_err();
    assert!(
        matches!(&error, IncomingError::Decode(e) if matches!(e.failure, DecodeFailure::UnsupportedVersion { found: 2, .. })),
        "{error}"
    );
    assert!(error.to_string().contains("newer"), "{error}");

    for (header, value) in [
        (headers::LOG_POSITION, "42"),
        (headers::SEQUENCE, "seven"),
        (headers::SCHEMA_VERSION, "-1"),
        (headers::RECORDED_AT, "yesterday"),
        (headers::CORRELATION_ID, "not-a-uuid"),
        (headers::AGGREGATE_ID, "%zz"),
        (headers::METADATA, "[1]"),
    ] {
        let error = with(header, value).decode_stored().unwrap_err();
        assert!(
            matches!(&error, IncomingError::BadHeader { header: h, .. } if *h == header),
            "{header}: {error}"
        );
        assert!(error.to_string().contains(value), "{error}");
    }
    let mut not_json = message.clone();
    not_json.payload = b"{oops".to_vec();
    assert!(matches!(
        not_json.decode_stored().unwrap_err(),
        IncomingError::Payload(_)
    ));
    let mut other_id = message.clone();
    other_id.message_id = Some("42".into());
    assert!(matches!(
        other_id.decode_stored().unwrap_err(),
        IncomingError::BadHeader {
            header: "message id",
            ..
        }
    ));
}

#[test]
fn refusals_are_parked_and_the_rest_retried() {
    for retryable in [
        PublishError::Connection("reset".into()),
        PublishError::Timeout(Duration::from_secs(1)),
        PublishError::Nacked("full".into()),
    ] {
        assert!(retryable.is_retryable(), "{retryable}");
    }
    for refusal in [
        PublishError::Unroutable("acci.t.A.E".into()),
        PublishError::TooLarge { size: 2, limit: 1 },
        PublishError::Refused("header".into()),
    ] {
        assert!(!refusal.is_retryable(), "{refusal}");
    }
}

#[tokio::test]
async fn options_and_names_out_of_range_are_refused_before_any_io() {
    // Nothing listens on port 9: a relay that tried to connect would fail differently.
    let pool = sqlx::PgPool::connect_lazy("postgres://nobody@127.0.0.1:9/none").unwrap();
    let publisher = InMemoryPublisher::new();
    let error = Relay::new(pool.clone(), "", publisher.clone()).unwrap_err();
    assert!(error.to_string().contains("relay name"), "{error}");
    let relay = Relay::new(pool.clone(), "relay.orders", publisher.clone()).unwrap();
    let error = relay.clone().with_events([]).unwrap_err();
    assert!(error.to_string().contains("relay events"), "{error}");
    for (options, what) in [
        (
            RelayOptions {
                window: 0,
                ..RelayOptions::default()
            },
            "window",
        ),
        (
            RelayOptions {
                per_stream: 0,
                ..RelayOptions::default()
            },
            "per-stream limit",
        ),
        (
            RelayOptions {
                batch_size: 0,
                ..RelayOptions::default()
            },
            "batch size",
        ),
        (
            RelayOptions {
                confirm_timeout: Duration::ZERO,
                ..RelayOptions::default()
            },
            "confirm timeout",
        ),
        (
            RelayOptions {
                retry_backoff: Duration::ZERO,
                ..RelayOptions::default()
            },
            "retry backoff",
        ),
    ] {
        let error = relay.clone().with_options(options).unwrap_err();
        assert!(error.to_string().contains(what), "{what}: {error}");
    }
}

#[tokio::test]
async fn a_subscriber_receives_the_kinds_it_subscribed_to() {
    let broker = InMemoryPublisher::new();
    let rule = DefaultSubject::default();
    let mut withdrawn = event("t2", "a1");
    withdrawn.event_type = "Withdrawn".into();
    for stored in [event("t1", "a1"), withdrawn, event("t2", "a.2")] {
        let message = OutgoingMessage::from_event(&stored, &rule).unwrap();
        broker.publish(message).await.unwrap().await.unwrap();
    }
    let received = |tenant: Option<&str>, kinds: Vec<EventKind>| {
        let broker = broker.clone();
        let tenant = tenant.map(|t| TenantId::new(t).unwrap());
        async move {
            let mut subscriber = InMemorySubscriber::new(&broker, DefaultSubject::default());
            subscriber.subscribe(tenant.as_ref(), &kinds).await.unwrap();
            let mut subjects = Vec::new();
            while let Some(delivery) = subscriber.next().await.unwrap() {
                subjects.push(delivery.message.subject.clone());
                subscriber.ack(&delivery).await.unwrap();
            }
            subjects
        }
    };
    let counted = EventKind::new("Account", "Counted");
    assert_eq!(
        received(None, vec![counted.clone()]).await,
        ["acci.t1.Account.Counted", "acci.t2.Account.Counted"]
    );
    assert_eq!(
        received(Some("t2"), vec![EventKind::any_aggregate("Withdrawn")]).await,
        ["acci.t2.Account.Withdrawn"]
    );

    let mut subscriber = InMemorySubscriber::new(&broker, DefaultSubject::default());
    subscriber
        .subscribe(None, std::slice::from_ref(&counted))
        .await
        .unwrap();
    let first = subscriber.next().await.unwrap().unwrap();
    subscriber.nack(&first, true).await.unwrap();
    let again = subscriber.next().await.unwrap().unwrap();
    assert!(again.redelivered);
    assert_eq!(again.message, first.message);
    subscriber.unsubscribe(None, &[counted]).await.unwrap();
    assert_eq!(subscriber.next().await.unwrap(), None);
}
