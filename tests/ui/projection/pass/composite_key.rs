//! A composite key: a tuple of the key fields in declaration order. Every listed event has
//! a `ProjectKey` impl, since no aggregate id makes a `(String, NaiveDate)`; the event enum is
//! renamed and the table named after the struct.

use acci_core::prelude::*;
use acci_core::{AggregateId, EventId, LogPosition, ProjectionError, StoredEvent, StreamId};
use acci_schema::postgres::TableSql;
use chrono::NaiveDate;
use serde_json::json;

#[event]
pub struct OrderPlaced {
    pub day: NaiveDate,
    pub total: i64,
}

#[event]
pub struct OrderRefunded {
    pub day: NaiveDate,
    pub total: i64,
}

#[projection(events(OrderPlaced, OrderRefunded), event_enum = RevenueChange)]
#[derive(Debug, PartialEq)]
pub struct DailyRevenue {
    #[projection(key)]
    pub tenant: String,
    #[projection(key)]
    pub day: NaiveDate,
    pub orders: i32,
    pub revenue: i64,
}

impl ProjectKey<OrderPlaced> for DailyRevenue {
    fn key(event: &Recorded<OrderPlaced>) -> Result<(String, NaiveDate), ProjectionError> {
        Ok((event.stream.tenant.to_string(), event.data.day))
    }
}

impl Project<OrderPlaced> for DailyRevenue {
    fn project(row: &mut Option<Self>, event: &Recorded<OrderPlaced>) {
        let row = row.get_or_insert_with(|| DailyRevenue {
            tenant: event.stream.tenant.to_string(),
            day: event.data.day,
            orders: 0,
            revenue: 0,
        });
        row.orders += 1;
        row.revenue += event.data.total;
    }
}

impl ProjectKey<OrderRefunded> for DailyRevenue {
    fn key(event: &Recorded<OrderRefunded>) -> Result<(String, NaiveDate), ProjectionError> {
        Ok((event.stream.tenant.to_string(), event.data.day))
    }
}

impl Project<OrderRefunded> for DailyRevenue {
    fn project(row: &mut Option<Self>, event: &Recorded<OrderRefunded>) {
        if let Some(row) = row {
            row.revenue -= event.data.total;
        }
    }
}

/// Every key column and no other: nothing to update on a conflict.
#[projection(table = "tags_seen", events(OrderPlaced))]
pub struct TagSeen {
    #[projection(key)]
    pub tenant: String,
    #[projection(key)]
    pub tag: String,
}

impl ProjectKey<OrderPlaced> for TagSeen {
    fn key(event: &Recorded<OrderPlaced>) -> Result<(String, String), ProjectionError> {
        Ok((event.stream.tenant.to_string(), "placed".to_owned()))
    }
}

impl Project<OrderPlaced> for TagSeen {
    fn project(row: &mut Option<Self>, event: &Recorded<OrderPlaced>) {
        *row = Some(TagSeen {
            tenant: event.stream.tenant.to_string(),
            tag: "placed".to_owned(),
        });
    }
}

fn stored(tenant: &str, event_type: &str, payload: serde_json::Value) -> StoredEvent {
    Recorded {
        event_id: EventId::new(),
        stream: StreamId::new(
            TenantId::new(tenant).unwrap(),
            "Order",
            AggregateId::new("o-1").unwrap(),
        )
        .unwrap(),
        sequence: 1,
        position: LogPosition::START,
        event_type: event_type.to_owned(),
        schema_version: 1,
        metadata: Metadata::default(),
        recorded_at: chrono::Utc::now(),
        data: payload,
    }
}

fn main() {
    let day = NaiveDate::from_ymd_opt(2024, 5, 17).unwrap();
    assert_eq!(DailyRevenue::NAME, "daily_revenue");
    assert_eq!(DailyRevenue::VERSION, 1);

    let placed = DailyRevenue::decode(stored(
        "acme",
        "OrderPlaced",
        json!({ "day": "2024-05-17", "total": 700 }),
    ))
    .unwrap();
    let refunded = DailyRevenue::decode(stored(
        "acme",
        "OrderRefunded",
        json!({ "day": "2024-05-17", "total": 200 }),
    ))
    .unwrap();
    assert!(matches!(placed, RevenueChange::OrderPlaced(_)));
    let key = DailyRevenue::event_key(&placed).unwrap();
    assert_eq!(key, ("acme".to_owned(), day));
    assert_eq!(DailyRevenue::event_key(&refunded).unwrap(), key);

    let mut row = None;
    DailyRevenue::project_event(&mut row, &placed);
    DailyRevenue::project_event(&mut row, &refunded);
    let row = row.unwrap();
    assert_eq!((row.orders, row.revenue), (1, 500));
    assert_eq!(row.row_key(), key);
    // The key as the statements take it, each column by name.
    assert_eq!(
        DailyRevenue::key_object(&key).unwrap(),
        json!({ "tenant": "acme", "day": "2024-05-17" })
    );

    // The default key cannot be made from an aggregate id: the error says why.
    let error = DailyRevenue::key_from_aggregate_id(&AggregateId::new("o-1").unwrap()).unwrap_err();
    assert!(error.contains("composite key"), "{error}");
    assert!(error.contains("`ProjectKey` impls"), "{error}");

    let table = TableSql::render(DailyRevenue::TABLE);
    assert_eq!(
        table.create_table,
        r#"CREATE TABLE IF NOT EXISTS "daily_revenue" ("tenant_id" text NOT NULL, "tenant" text NOT NULL, "day" date NOT NULL, "orders" integer NOT NULL, "revenue" bigint NOT NULL, PRIMARY KEY ("tenant_id", "tenant", "day"))"#
    );
    assert_eq!(
        table.select_by_keys,
        r#"SELECT to_jsonb(r.*) FROM "daily_revenue" r WHERE ("tenant_id", "tenant", "day") IN (SELECT "tenant_id", "tenant", "day" FROM jsonb_to_recordset($1::jsonb) AS k("tenant_id" text, "tenant" text, "day" date))"#
    );
    assert_eq!(
        table.select_page,
        r#"SELECT to_jsonb(r.*) FROM "daily_revenue" r WHERE "tenant_id" = $3 AND ($2::jsonb IS NULL OR ("tenant", "day") > (SELECT "tenant", "day" FROM jsonb_to_record($2::jsonb) AS k("tenant" text, "day" date))) ORDER BY "tenant", "day" LIMIT $1"#
    );
    assert!(table.create_indexes.is_empty() && table.finders.is_empty());
    let table = DailyRevenue::TABLE;
    assert_eq!(
        table.key_columns().map(|c| c.column).collect::<Vec<_>>(),
        ["tenant", "day"]
    );

    assert_eq!(
        TableSql::render(TagSeen::TABLE).upsert,
        r#"INSERT INTO "tags_seen" ("tenant_id", "tenant", "tag") SELECT "tenant_id", "tenant", "tag" FROM jsonb_populate_recordset(NULL::"tags_seen", $1::jsonb) ON CONFLICT ("tenant_id", "tenant", "tag") DO NOTHING"#
    );
    let placed = TagSeen::decode(stored(
        "acme",
        "OrderPlaced",
        json!({ "day": "2024-05-17", "total": 1 }),
    ))
    .unwrap();
    assert_eq!(
        TagSeen::event_key(&placed).unwrap(),
        ("acme".to_owned(), "placed".to_owned())
    );
}
