//! A key made from an aggregate id, keyed otherwise for one event: the `ProjectKey` impl
//! is used where there is one, the aggregate id where there is none.

use acci_core::prelude::*;
use acci_core::{EventId, LogPosition, StreamId};

#[event]
pub struct TenantCreated {
    pub name: String,
}

#[event]
pub struct UserJoined {}

/// One row per tenant: the tenant's own events carry its id, a user's carry the user's.
#[projection(events(TenantCreated, UserJoined))]
pub struct TenantView {
    #[projection(key)]
    pub tenant: String,
    pub users: i64,
}

impl Project<TenantCreated> for TenantView {
    fn project(row: &mut Option<Self>, event: &Recorded<TenantCreated>) {
        row.get_or_insert_with(|| TenantView {
            tenant: event.stream.aggregate_id.to_string(),
            users: 0,
        });
    }
}

impl ProjectKey<UserJoined> for TenantView {
    fn key(event: &Recorded<UserJoined>) -> Result<String, ProjectionError> {
        Ok(event.stream.tenant.to_string())
    }
}

impl Project<UserJoined> for TenantView {
    fn project(row: &mut Option<Self>, _event: &Recorded<UserJoined>) {
        if let Some(row) = row {
            row.users += 1;
        }
    }
}

fn recorded<E>(aggregate_id: &str, data: E) -> Recorded<E> {
    Recorded {
        event_id: EventId::new(),
        stream: StreamId::new(
            TenantId::new("acme").unwrap(),
            "Any",
            AggregateId::new(aggregate_id).unwrap(),
        )
        .unwrap(),
        sequence: 1,
        position: LogPosition::START,
        event_type: String::new(),
        schema_version: 1,
        metadata: Metadata::default(),
        recorded_at: chrono::Utc::now(),
        data,
    }
}

fn main() {
    let created = TenantViewEvent::TenantCreated(recorded(
        "acme",
        TenantCreated {
            name: "Acme".into(),
        },
    ));
    let joined = TenantViewEvent::UserJoined(recorded("user-1", UserJoined {}));
    assert_eq!(TenantView::event_key(&created).unwrap(), "acme");
    assert_eq!(TenantView::event_key(&joined).unwrap(), "acme");
}
