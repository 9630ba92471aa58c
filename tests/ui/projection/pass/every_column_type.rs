//! Every supported column type, `Option` and `Vec` among them, and a serde type stored as
//! `jsonb` with `#[projection(json)]`; a `Uuid` key made from the aggregate id.

use acci_core::prelude::*;
use acci_core::{AggregateId, EventId, LogPosition, StoredEvent, StreamId};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

#[event]
pub struct DeviceSeen {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Settings {
    pub theme: String,
    pub volume: u8,
}

#[projection(table = "devices", events(DeviceSeen))]
#[derive(Default)]
pub struct Device {
    #[projection(key)]
    pub id: Uuid,
    #[projection(index)]
    pub name: String,
    pub online: bool,
    pub small: i16,
    pub medium: i32,
    pub large: i64,
    pub byte: u8,
    pub port: u16,
    pub count: u32,
    pub ratio: f32,
    pub precise: f64,
    pub seen_at: DateTime<Utc>,
    pub born_on: NaiveDate,
    pub local_time: NaiveDateTime,
    pub extra: Value,
    pub nickname: Option<String>,
    pub last_seen: Option<chrono::DateTime<chrono::Utc>>,
    pub tags: Vec<String>,
    pub readings: Vec<f64>,
    pub ids: Option<Vec<Uuid>>,
    #[projection(json)]
    pub settings: Settings,
    #[projection(json)]
    pub previous: Option<Settings>,
    #[projection(json, column = "history")]
    pub changes: Vec<Settings>,
    pub r#type: String,
}

impl Project<DeviceSeen> for Device {
    fn project(row: &mut Option<Self>, event: &Recorded<DeviceSeen>) {
        let id = Self::key_from_aggregate_id(&event.stream.aggregate_id).unwrap();
        let row = row.get_or_insert_with(|| Device {
            id,
            ..Device::default()
        });
        row.name.clone_from(&event.data.name);
        row.count += 1;
    }
}

fn main() {
    let id = Uuid::now_v7();
    let stored: StoredEvent = Recorded {
        event_id: EventId::new(),
        stream: StreamId::new(
            TenantId::new("t1").unwrap(),
            "Device",
            AggregateId::new(id.to_string()).unwrap(),
        )
        .unwrap(),
        sequence: 1,
        position: LogPosition::START,
        event_type: "DeviceSeen".to_owned(),
        schema_version: 1,
        metadata: Metadata::default(),
        recorded_at: Utc::now(),
        data: json!({ "name": "sensor" }),
    };
    let event = Device::decode(stored).unwrap();
    assert_eq!(Device::event_key(&event).unwrap(), id);
    let mut row = None;
    Device::project_event(&mut row, &event);
    let row = row.unwrap();
    assert_eq!((row.id, row.name.as_str(), row.count), (id, "sensor", 1));
    assert!(Device::key_from_aggregate_id(&AggregateId::new("not-a-uuid").unwrap()).is_err());

    let types: Vec<_> = Device::TABLE
        .columns
        .iter()
        .map(|c| (c.column, acci_schema::postgres::column_type(c.ty), c.nullable))
        .collect();
    let expected = [
            ("id", "uuid", false),
            ("name", "text", false),
            ("online", "boolean", false),
            ("small", "smallint", false),
            ("medium", "integer", false),
            ("large", "bigint", false),
            ("byte", "integer", false),
            ("port", "integer", false),
            ("count", "bigint", false),
            ("ratio", "real", false),
            ("precise", "double precision", false),
            ("seen_at", "timestamptz", false),
            ("born_on", "date", false),
            ("local_time", "timestamp", false),
            ("extra", "jsonb", true),
            ("nickname", "text", true),
            ("last_seen", "timestamptz", true),
            ("tags", "text[]", false),
            ("readings", "double precision[]", false),
            ("ids", "uuid[]", true),
            ("settings", "jsonb", false),
            ("previous", "jsonb", true),
            ("history", "jsonb", false),
            ("type", "text", false),
        ];
    assert_eq!(
        types,
        expected.map(|(column, ty, nullable)| (column, ty.to_owned(), nullable))
    );
    assert_eq!(Device::TABLE.columns[23].field, "type");
    assert_eq!(Device::TABLE.columns[22].field, "changes");

    // The row's JSON has one key per column, as the SQL expects.
    let mut value = serde_json::to_value(&row).unwrap();
    let keys: Vec<_> = value.as_object().unwrap().keys().cloned().collect();
    let columns: Vec<_> = Device::TABLE
        .columns
        .iter()
        .map(|c| c.column.to_owned())
        .collect();
    assert_eq!(keys.len(), columns.len());
    assert!(columns.iter().all(|c| keys.contains(c)), "{keys:?}");
    value["settings"] = json!({ "theme": "dark", "volume": 3 });
    let back: Device = serde_json::from_value(value).unwrap();
    assert_eq!(back.settings.theme, "dark");
}
