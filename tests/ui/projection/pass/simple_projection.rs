//! A read model keyed by the aggregate id: the row struct, the event enum, decoding of
//! stored events by type, dispatch to `Project`, and the table's SQL.

use acci_core::prelude::*;
use acci_core::projection::Scalar;
use acci_core::{AggregateId, EventId, LogPosition, StoredEvent, StreamId};
use acci_schema::postgres::TableSql;
use serde_json::json;

#[event]
pub struct UserCreated {
    pub email: String,
    pub name: String,
}

#[event(name = "EmailChanged", version = 2, no_upcast)]
pub struct EmailChanged {
    pub email: String,
}

#[event]
pub struct UserDeleted {}

#[projection(
    table = "user_view",
    events(UserCreated, EmailChanged, UserDeleted),
    version = 2
)]
pub struct UserView {
    #[projection(key)]
    pub user_id: String,
    #[projection(index)]
    pub email: String,
    #[projection(column = "display_name")]
    pub name: String,
    pub changes: i64,
}

impl Project<UserCreated> for UserView {
    fn project(row: &mut Option<Self>, event: &Recorded<UserCreated>) {
        *row = Some(UserView {
            user_id: event.stream.aggregate_id.to_string(),
            email: event.data.email.clone(),
            name: event.data.name.clone(),
            changes: 0,
        });
    }
}

impl Project<EmailChanged> for UserView {
    fn project(row: &mut Option<Self>, event: &Recorded<EmailChanged>) {
        if let Some(row) = row {
            row.email.clone_from(&event.data.email);
            row.changes += 1;
        }
    }
}

impl Project<UserDeleted> for UserView {
    fn project(row: &mut Option<Self>, _event: &Recorded<UserDeleted>) {
        *row = None;
    }
}

fn stored(
    id: &str,
    event_type: &str,
    schema_version: u32,
    payload: serde_json::Value,
) -> StoredEvent {
    Recorded {
        event_id: EventId::new(),
        stream: StreamId::new(
            TenantId::new("t1").unwrap(),
            "User",
            AggregateId::new(id).unwrap(),
        )
        .unwrap(),
        sequence: 1,
        position: LogPosition::START,
        event_type: event_type.to_owned(),
        schema_version,
        metadata: Metadata::default(),
        recorded_at: chrono::Utc::now(),
        data: payload,
    }
}

fn main() {
    assert_eq!(UserView::NAME, "user_view");
    assert_eq!(UserView::VERSION, 2);
    assert_eq!(
        UserView::EVENTS,
        ["UserCreated", "EmailChanged", "UserDeleted"].map(acci_core::EventKind::any_aggregate)
    );

    let created = UserView::decode(stored(
        "u-1",
        "UserCreated",
        1,
        json!({ "email": "ada@example.com", "name": "Ada" }),
    ))
    .unwrap();
    assert!(matches!(&created, UserViewEvent::UserCreated(e) if e.data.name == "Ada"));
    assert_eq!(UserView::event_key(&created).unwrap(), "u-1");

    let mut row = None;
    UserView::project_event(&mut row, &created);
    let changed = UserView::decode(stored(
        "u-1",
        "EmailChanged",
        2,
        json!({ "email": "ada@example.org" }),
    ))
    .unwrap();
    UserView::project_event(&mut row, &changed);
    let view = row.clone().unwrap();
    assert_eq!(view.row_key(), "u-1");
    assert_eq!((view.email.as_str(), view.changes), ("ada@example.org", 1));

    // Rows travel as JSON objects keyed by column: `name` is stored as `display_name`.
    let json = serde_json::to_value(&view).unwrap();
    assert_eq!(json["display_name"], "Ada");
    let back: UserView = serde_json::from_value(json).unwrap();
    assert_eq!(back.name, "Ada");

    let deleted = UserView::decode(stored("u-1", "UserDeleted", 1, json!({}))).unwrap();
    UserView::project_event(&mut row, &deleted);
    assert!(row.is_none());

    let unknown = UserView::decode(stored("u-1", "UserRenamed", 1, json!({}))).unwrap_err();
    assert!(matches!(
        unknown.failure,
        acci_core::DecodeFailure::UnknownEventType(_)
    ));
    assert!(unknown.event_id.is_some());
    let old = UserView::decode(stored("u-1", "EmailChanged", 1, json!({}))).unwrap_err();
    assert!(matches!(
        old.failure,
        acci_core::DecodeFailure::UnsupportedVersion { .. }
    ));

    assert_eq!(
        UserView::key_from_aggregate_id(&AggregateId::new("u-2").unwrap()).unwrap(),
        "u-2"
    );

    assert_eq!(UserView::TABLE.name, "user_view");
    // Tenant-scoped by default: the tenant column is the table's, not a field's.
    assert_eq!(UserView::TABLE.scope, acci_core::projection::Scope::Tenant);
    assert_eq!(
        UserView::key_object(&"u-1".to_owned()).unwrap(),
        json!({ "user_id": "u-1" })
    );
    let table = TableSql::render(UserView::TABLE);
    assert_eq!(
        table.create_table,
        r#"CREATE TABLE IF NOT EXISTS "user_view" ("tenant_id" text NOT NULL, "user_id" text NOT NULL, "email" text NOT NULL, "display_name" text NOT NULL, "changes" bigint NOT NULL, PRIMARY KEY ("tenant_id", "user_id"))"#
    );
    assert_eq!(
        table.create_indexes,
        [r#"CREATE INDEX IF NOT EXISTS "user_view_email_idx" ON "user_view" ("tenant_id", "email")"#]
    );
    assert_eq!(
        table.upsert,
        r#"INSERT INTO "user_view" ("tenant_id", "user_id", "email", "display_name", "changes") SELECT "tenant_id", "user_id", "email", "display_name", "changes" FROM jsonb_populate_recordset(NULL::"user_view", $1::jsonb) ON CONFLICT ("tenant_id", "user_id") DO UPDATE SET "email" = EXCLUDED."email", "display_name" = EXCLUDED."display_name", "changes" = EXCLUDED."changes""#
    );
    assert_eq!(
        table.select_by_keys,
        r#"SELECT to_jsonb(r.*) FROM "user_view" r WHERE ("tenant_id", "user_id") IN (SELECT "tenant_id", "user_id" FROM jsonb_to_recordset($1::jsonb) AS k("tenant_id" text, "user_id" text))"#
    );
    assert_eq!(
        table.delete_by_keys,
        r#"DELETE FROM "user_view" WHERE ("tenant_id", "user_id") IN (SELECT "tenant_id", "user_id" FROM jsonb_to_recordset($1::jsonb) AS k("tenant_id" text, "user_id" text))"#
    );
    assert_eq!(
        table.select_page,
        r#"SELECT to_jsonb(r.*) FROM "user_view" r WHERE "tenant_id" = $3 AND ($2::jsonb IS NULL OR ("user_id") > (SELECT "user_id" FROM jsonb_to_record($2::jsonb) AS k("user_id" text))) ORDER BY "user_id" LIMIT $1"#
    );
    assert_eq!(
        table.finder("email").unwrap(),
        r#"SELECT to_jsonb(r.*) FROM "user_view" r WHERE "tenant_id" = $3 AND "email" = (SELECT "email" FROM jsonb_to_record($1::jsonb) AS v("email" text)) ORDER BY "user_id" LIMIT $2"#
    );
    assert!(table.finder("display_name").is_none());
    let table = UserView::TABLE;
    let columns: Vec<_> = table
        .columns
        .iter()
        .map(|c| (c.field, c.column, c.ty.scalar, c.key, c.index))
        .collect();
    assert_eq!(
        columns,
        [
            ("user_id", "user_id", Scalar::Text, true, false),
            ("email", "email", Scalar::Text, false, true),
            ("name", "display_name", Scalar::Text, false, false),
            ("changes", "changes", Scalar::BigInt, false, false),
        ]
    );
    assert_eq!(
        table.key_columns().map(|c| c.column).collect::<Vec<_>>(),
        ["user_id"]
    );
}
