//! Expansion snapshots of `#[projection]`, and the generated SQL listed statement by
//! statement. Each input here also compiles and runs in `tests/ui/projection/pass/`, and
//! `tests/tests/projection_sql.rs` runs the SQL on PostgreSQL.

use acci_schema::postgres::TableSql;
use proc_macro2::TokenStream;
use quote::quote;

use crate::common::Ctxt;

fn expand(args: TokenStream, item: TokenStream) -> String {
    let tokens = super::expand(args, item);
    prettyplease::unparse(&syn::parse2(tokens).expect("the expansion is a valid file"))
}

#[test]
fn simple_projection() {
    insta::assert_snapshot!(expand(
        quote!(
            table = "user_view",
            events(UserCreated, EmailChanged, UserDeleted),
            version = 2
        ),
        quote! {
            pub struct UserView {
                #[projection(key)]
                pub user_id: String,
                #[projection(index)]
                pub email: String,
                #[projection(column = "display_name")]
                pub name: String,
                pub changes: i64,
            }
        }
    ));
}

/// `aggregates(...)`: each listed event from each listed aggregate (compiled and run by
/// `tests/tests/lints.rs` and `tests/tests/in_memory_projection.rs`).
#[test]
fn events_of_listed_aggregates() {
    insta::assert_snapshot!(expand(
        quote!(
            table = "openings",
            aggregates(BankAccount, bank::Loan),
            events(Opened, Closed)
        ),
        quote! {
            pub struct Openings {
                #[projection(key)]
                pub id: String,
                pub open: bool,
            }
        }
    ));
}

#[test]
fn composite_key_with_renamed_event_enum() {
    insta::assert_snapshot!(expand(
        quote!(
            events(OrderPlaced, OrderRefunded),
            event_enum = RevenueChange
        ),
        quote! {
            #[derive(Debug, PartialEq)]
            pub struct DailyRevenue {
                #[projection(key)]
                pub tenant: String,
                #[projection(key)]
                pub day: NaiveDate,
                pub orders: i32,
                pub revenue: i64,
            }
        }
    ));
}

/// `global`: no tenant column, finders without a tenant.
#[test]
fn global_read_model() {
    insta::assert_snapshot!(expand(
        quote!(global, table = "tenant_directory", events(TenantCreated)),
        quote! {
            pub struct TenantDirectory {
                #[projection(key)]
                pub tenant_id: String,
                #[projection(index)]
                pub name: String,
            }
        }
    ));
}

#[test]
fn json_columns_and_custom_crate_path() {
    insta::assert_snapshot!(expand(
        quote!(events(events::DeviceSeen), crate = "::platform::acci_core"),
        quote! {
            pub(crate) struct Device {
                #[projection(key)]
                pub id: Uuid,
                pub last_seen: Option<DateTime<Utc>>,
                pub tags: Vec<String>,
                #[projection(json)]
                pub settings: Settings,
            }
        }
    ));
}

/// The finders alone, for an indexed field of each shape: `String` taken as `&str`, a
/// renamed `Option<String>` as `&str` under its column's name, `Vec<String>` as
/// `&[String]`, a `json` field and a number as themselves, and a raw identifier. The same
/// struct runs in `tests/ui/projection/pass/finders.rs`.
#[test]
fn finders_of_every_index_shape() {
    let tokens = super::expand(
        quote!(table = "user_view", events(UserSeen)),
        quote! {
            pub struct UserView {
                #[projection(key)]
                pub user_id: String,
                #[projection(index)]
                pub email: String,
                #[projection(index, column = "display_name")]
                pub nickname: Option<String>,
                #[projection(index)]
                pub tags: Vec<String>,
                #[projection(index, json)]
                pub settings: Settings,
                #[projection(index)]
                pub logins: i64,
                #[projection(index)]
                pub r#type: String,
                pub page: i32,
            }
        },
    );
    let file: syn::File = syn::parse2(tokens).expect("the expansion is a valid file");
    let inherent: Vec<syn::Item> = file
        .items
        .into_iter()
        .filter(|item| matches!(item, syn::Item::Impl(i) if i.trait_.is_none()))
        .collect();
    assert_eq!(inherent.len(), 1, "one inherent impl");
    insta::assert_snapshot!(prettyplease::unparse(&syn::File {
        shebang: None,
        attrs: Vec::new(),
        items: inherent,
    }));
}

/// The statements of the table the macro's own model describes, rendered as the adapter
/// renders them.
fn model_sql(args: TokenStream, item: TokenStream) -> TableSql {
    let cx = Ctxt::new();
    let item: syn::Item = syn::parse2(item).expect("an item");
    let parsed = super::parse::parse_args(&cx, args, &[]);
    let model = super::check::check(&cx, parsed, &item).expect("a usable model");
    let sql = model.table_sql();
    let errors = cx.finish();
    assert!(errors.is_empty(), "{errors}");
    sql
}

/// Every statement of the table in the `#[projection]` example of the docs, one per
/// paragraph, from the columns, types and flags the macro reads off the fields.
#[test]
fn sql_of_user_view() {
    let sql = model_sql(
        quote!(table = "user_view", events(UserCreated)),
        quote! {
            pub struct UserView {
                #[projection(key)] pub user_id: String,
                #[projection(index)] pub email: String,
                #[projection(column = "display_name")] pub name: String,
                pub active: bool,
                pub tags: Vec<String>,
                #[projection(json)] pub settings: Settings,
                pub last_login: Option<chrono::DateTime<chrono::Utc>>,
            }
        },
    );
    let mut listing = vec![
        format!("create_table:\n{}", sql.create_table),
        format!("select_by_keys:\n{}", sql.select_by_keys),
        format!("upsert:\n{}", sql.upsert),
        format!("delete_by_keys:\n{}", sql.delete_by_keys),
        format!("select_page:\n{}", sql.select_page),
    ];
    listing.extend(
        sql.create_indexes
            .iter()
            .map(|index| format!("create_index:\n{index}")),
    );
    listing.extend(
        sql.finders
            .iter()
            .map(|(column, finder)| format!("finder `{column}`:\n{finder}")),
    );
    insta::assert_snapshot!(listing.join("\n\n"));
}

/// A composite key's columns keep their declaration order in every statement, whatever
/// the order of the fields around them, after the tenant column of a tenant-scoped table.
#[test]
fn sql_of_a_composite_key() {
    let sql = model_sql(
        quote!(events(OrderPlaced)),
        quote! {
            pub struct DailyRevenue {
                pub revenue: i64,
                #[projection(key)] pub tenant: String,
                pub orders: i32,
                #[projection(key)] pub day: NaiveDate,
            }
        },
    );
    assert!(
        sql.create_table
            .ends_with(r#"PRIMARY KEY ("tenant_id", "tenant", "day"))"#)
    );
    assert!(sql.select_page.contains(r#"ORDER BY "tenant", "day""#));
    assert!(
        sql.select_by_keys
            .contains(r#"k("tenant_id" text, "tenant" text, "day" date)"#)
    );
}

/// The key object names each key column: the generated `key_object` destructures the
/// key tuple in the order of the key fields and inserts each under its column's name.
#[test]
fn key_object_names_its_columns() {
    let tokens = super::expand(
        quote!(events(OrderPlaced)),
        quote! {
            pub struct DailyRevenue {
                #[projection(key, column = "tenant_id")] pub tenant: String,
                #[projection(key)] pub day: NaiveDate,
                pub revenue: i64,
            }
        },
    )
    .to_string();
    let compact: String = tokens.split_whitespace().collect();
    assert!(
        compact.contains(r#"let(ref__acci_key_0,ref__acci_key_1)=*key;object.insert(::std::string::String::from("tenant_id"),::acci_core::__private::serde_json::to_value(__acci_key_0)?);"#),
        "{tokens}"
    );
}

#[test]
fn table_names_default_to_snake_case() {
    use super::names::snake_case;
    assert_eq!(snake_case("UserView"), "user_view");
    assert_eq!(snake_case("HTTPStats"), "http_stats");
    assert_eq!(snake_case("UserV2"), "user_v2");
    assert_eq!(snake_case("Stats2024Daily"), "stats2024_daily");
    assert_eq!(snake_case("already_snake"), "already_snake");
}

#[test]
fn type_map() {
    use super::types::column_type;
    let sql = |ty: syn::Type, json: bool| {
        column_type(&ty, json)
            .map(|t| (t.sql(), t.nullable))
            .map_err(|e| e.message)
    };
    assert_eq!(
        sql(syn::parse_quote!(String), false),
        Ok(("text".into(), false))
    );
    assert_eq!(
        sql(
            syn::parse_quote!(Option<chrono::DateTime<chrono::Utc>>),
            false
        ),
        Ok(("timestamptz".into(), true))
    );
    assert_eq!(
        sql(syn::parse_quote!(Option<Vec<u16>>), false),
        Ok(("integer[]".into(), true))
    );
    assert_eq!(
        sql(syn::parse_quote!(serde_json::Value), false),
        Ok(("jsonb".into(), true))
    );
    assert_eq!(
        sql(syn::parse_quote!(Settings), true),
        Ok(("jsonb".into(), false))
    );
    assert_eq!(
        sql(syn::parse_quote!(Option<Settings>), true),
        Ok(("jsonb".into(), true))
    );
    for unsupported in [
        quote!(u64),
        quote!(usize),
        quote!(i128),
        quote!(Settings),
        quote!(Vec<Option<String>>),
        quote!(Option<Option<String>>),
        quote!(Vec<Vec<String>>),
        quote!(Vec<serde_json::Value>),
        quote!((String, String)),
        quote!(&'static str),
        quote!([u8; 4]),
    ] {
        let ty: syn::Type = syn::parse2(unsupported.clone()).unwrap();
        assert!(sql(ty, false).is_err(), "{unsupported} was accepted");
    }
    let message = sql(syn::parse_quote!(Vec<Option<String>>), false).unwrap_err();
    assert_eq!(
        message,
        "`Vec<Option<String>>` has no column type: the elements of an array column cannot be `Option`"
    );
}

/// Types in messages read as written: one space after `,` and `;`, none inside `<…>`.
#[test]
fn types_in_messages_read_as_written() {
    use super::types::type_text;
    for (ty, shown) in [
        (quote!((String, String)), "(String, String)"),
        (quote!([u8; 4]), "[u8; 4]"),
        (quote!(HashMap<String, i64>), "HashMap<String, i64>"),
        (quote!(&'static str), "&'static str"),
        (quote!(Vec<Option<String>>), "Vec<Option<String>>"),
        (
            quote!(chrono::DateTime<chrono::Utc>),
            "chrono::DateTime<chrono::Utc>",
        ),
    ] {
        let ty: syn::Type = syn::parse2(ty).unwrap();
        assert_eq!(type_text(&ty), shown);
    }
}
