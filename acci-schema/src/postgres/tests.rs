use super::*;
use crate::column::{Column, ColumnType, Scalar, Scope, Table};

const fn column(column: &'static str, ty: ColumnType, key: bool, index: bool) -> Column<'static> {
    Column {
        field: column,
        column,
        ty,
        nullable: false,
        key,
        index,
    }
}

#[test]
fn composite_keys_keep_their_order_in_every_statement() {
    let columns = [
        column("tenant", ColumnType::scalar(Scalar::Text), true, false),
        column("total", ColumnType::scalar(Scalar::BigInt), false, false),
        column("day", ColumnType::scalar(Scalar::Date), true, false),
        column("tags", ColumnType::array(Scalar::Text), false, true),
    ];
    let sql = TableSql::render(&Table {
        name: "daily",
        scope: Scope::Global,
        columns: &columns,
    });
    assert_eq!(
        sql.create_table,
        r#"CREATE TABLE IF NOT EXISTS "daily" ("tenant" text NOT NULL, "total" bigint NOT NULL, "day" date NOT NULL, "tags" text[] NOT NULL, PRIMARY KEY ("tenant", "day"))"#
    );
    assert!(
        sql.select_page
            .contains(r#"ORDER BY "tenant", "day" LIMIT $1"#)
    );
    assert_eq!(
        sql.create_indexes,
        [r#"CREATE INDEX IF NOT EXISTS "daily_tags_idx" ON "daily" ("tags")"#]
    );
    assert!(sql.finder("tags").unwrap().contains(r#"v("tags" text[])"#));
    assert!(sql.finder("total").is_none());
}

#[test]
fn a_table_of_key_columns_only_does_nothing_on_conflict() {
    let columns = [column("id", ColumnType::scalar(Scalar::Uuid), true, false)];
    let sql = TableSql::render(&Table {
        name: "seen",
        scope: Scope::Global,
        columns: &columns,
    });
    assert!(sql.upsert.ends_with(r#"ON CONFLICT ("id") DO NOTHING"#));
}

#[test]
fn a_tenant_scoped_table_keys_and_reads_by_tenant_first() {
    let columns = [
        column("id", ColumnType::scalar(Scalar::Text), true, false),
        column("email", ColumnType::scalar(Scalar::Text), false, true),
    ];
    let sql = TableSql::render(&Table {
        name: "users",
        scope: Scope::Tenant,
        columns: &columns,
    });
    assert_eq!(
        sql.create_table,
        r#"CREATE TABLE IF NOT EXISTS "users" ("tenant_id" text NOT NULL, "id" text NOT NULL, "email" text NOT NULL, PRIMARY KEY ("tenant_id", "id"))"#
    );
    assert_eq!(
        sql.create_indexes,
        [r#"CREATE INDEX IF NOT EXISTS "users_email_idx" ON "users" ("tenant_id", "email")"#]
    );
    assert!(
        sql.select_by_keys
            .contains(r#"AS k("tenant_id" text, "id" text)"#)
    );
    assert!(
        sql.upsert
            .contains(r#"ON CONFLICT ("tenant_id", "id") DO UPDATE SET "email""#)
    );
    assert!(
        sql.select_page
            .contains(r#"WHERE "tenant_id" = $3 AND ($2::jsonb IS NULL OR ("id") > "#)
    );
    assert!(
        sql.finder("email")
            .unwrap()
            .contains(r#"WHERE "tenant_id" = $3 AND "email" = "#)
    );
}

#[test]
fn quoting_doubles_quotes() {
    assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
}

#[test]
fn names_say_which_characters_are_allowed() {
    let table = IdentifierKind::Table;
    assert_eq!(
        identifier_problem("User View;", table).unwrap(),
        "contains a space and `;`, but a name may hold only lower-case ASCII letters, digits and `_`"
    );
    assert!(
        identifier_problem("UserView", table)
            .unwrap()
            .starts_with("has upper-case letters")
    );
    assert!(identifier_problem("pg_x", table).is_some());
    assert!(identifier_problem("pg_x", IdentifierKind::Column).is_none());
    assert!(identifier_problem("xmin", IdentifierKind::Column).is_some());
    assert!(identifier_problem("1a", table).is_some());
    assert!(identifier_problem("", table).is_some());
    assert!(identifier_problem(&"a".repeat(64), table).is_some());
    assert!(identifier_problem("user_view_2", table).is_none());
}

#[test]
fn every_scalar_has_a_type_and_a_variant_name() {
    for scalar in Scalar::ALL {
        assert!(!scalar_type(*scalar).is_empty());
        assert!(format!("{scalar:?}") == scalar.variant());
    }
    assert_eq!(
        column_type(ColumnType::array(Scalar::Double)),
        "double precision[]"
    );
}
