//! The finders `#[projection]` generates on the row struct: `find`, `require`, `page`
//! and one `find_by_<field>` per indexed field, run against a `ReadModels` in memory
//! that records what it was asked. A `String` is taken as `&str`, a `Vec<T>` as `&[T]`
//! and an `Option<T>` index as `&T`; the column names passed are the columns', renamed or
//! not; the futures are `Send`. A tenant-scoped read model's finders take the tenant
//! first, a global one's none.

use std::sync::Mutex;

use acci_core::ProjectionError;
use acci_core::prelude::*;
use acci_core::query::{QueryError, ReadModels};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[event]
pub struct UserSeen {}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub theme: String,
}

/// An indexed field of each shape: plain, renamed `Option`, `Vec`, `json`, a number, and a
/// raw identifier.
#[projection(table = "user_view", events(UserSeen))]
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
    /// Not indexed: no `find_by_page`. A field may share a finder's name.
    pub page: i32,
}

impl Project<UserSeen> for UserView {
    fn project(_row: &mut Option<Self>, _event: &Recorded<UserSeen>) {}
}

/// A composite key: `find`, `require` and `page` take the tuple.
#[projection(events(UserSeen))]
pub struct DailyLogins {
    #[projection(key)]
    pub user_id: String,
    #[projection(key)]
    pub day: NaiveDate,
    pub logins: i64,
}

impl ProjectKey<UserSeen> for DailyLogins {
    fn key(_event: &Recorded<UserSeen>) -> Result<(String, NaiveDate), ProjectionError> {
        Err(ProjectionError::Storage("not used".to_owned()))
    }
}

impl Project<UserSeen> for DailyLogins {
    fn project(_row: &mut Option<Self>, _event: &Recorded<UserSeen>) {}
}

/// A global read model: its finders take no tenant.
#[projection(global, events(UserSeen))]
pub struct Countries {
    #[projection(key)]
    pub code: String,
    #[projection(index)]
    pub name: String,
}

impl Project<UserSeen> for Countries {
    fn project(_row: &mut Option<Self>, _event: &Recorded<UserSeen>) {}
}

/// Rows as JSON, in key order, and every call made.
#[derive(Default)]
struct Memory {
    rows: Vec<Value>,
    calls: Mutex<Vec<String>>,
}

impl Memory {
    fn key_of<P: Projection>(row: &Value) -> Value {
        let mut keys: Vec<Value> = P::TABLE
            .key_columns()
            .map(|c| row[c.column].clone())
            .collect();
        if keys.len() == 1 {
            keys.remove(0)
        } else {
            Value::Array(keys)
        }
    }

    fn decode<P: Projection>(rows: impl Iterator<Item = Value>) -> Vec<P> {
        rows.map(|row| serde_json::from_value(row).unwrap())
            .collect()
    }

    fn log(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }
}

#[async_trait::async_trait]
impl ReadModels for Memory {
    async fn get<P: Projection>(
        &self,
        _tenant: Option<&TenantId>,
        key: &P::Key,
    ) -> Result<Option<P>, QueryError> {
        let key = serde_json::to_value(key).unwrap();
        self.log(format!("get {} {key}", P::NAME));
        let found = self
            .rows
            .iter()
            .filter(|r| Self::key_of::<P>(r) == key)
            .cloned();
        Ok(Self::decode(found).pop())
    }

    async fn page<P: Projection>(
        &self,
        _tenant: Option<&TenantId>,
        after: Option<&P::Key>,
        limit: usize,
    ) -> Result<Vec<P>, QueryError> {
        acci_core::query::validate_limit(limit)?;
        let after = after.map(|k| serde_json::to_value(k).unwrap());
        self.log(format!("page {} {after:?} {limit}", P::NAME));
        let start = match &after {
            None => 0,
            Some(after) => {
                self.rows
                    .iter()
                    .position(|r| Self::key_of::<P>(r) == *after)
                    .unwrap()
                    + 1
            }
        };
        Ok(Self::decode(
            self.rows.iter().skip(start).take(limit).cloned(),
        ))
    }

    async fn find_by<P: Projection>(
        &self,
        _tenant: Option<&TenantId>,
        column: &str,
        value: &Value,
        limit: usize,
    ) -> Result<Vec<P>, QueryError> {
        assert!(P::TABLE.is_indexed(column), "no finder for {column}");
        self.log(format!("find_by {} {column} {value}", P::NAME));
        let found = self.rows.iter().filter(|r| r[column] == *value).cloned();
        Ok(Self::decode(found.take(limit)))
    }
}

fn user(id: &str, email: &str, nickname: Option<&str>) -> Value {
    json!({
        "user_id": id,
        "email": email,
        "display_name": nickname,
        "tags": ["admin", "ops"],
        "settings": { "theme": "dark" },
        "logins": 3,
        "type": "person",
        "page": 1,
    })
}

/// Compiles against any `ReadModels`, and every future can be spawned.
fn compile_check<R: ReadModels>(models: &R) {
    fn send<F: Send>(_: F) {}
    let t = TenantId::new("t1").unwrap();
    let day = NaiveDate::from_ymd_opt(2024, 5, 17).unwrap();
    send(UserView::find(models, &t, "u-1"));
    send(UserView::require(models, &t, &String::from("u-1")));
    send(UserView::page(models, &t, None, 10));
    send(UserView::find_by_email(models, &t, "ada@example.com", 10));
    send(UserView::find_by_nickname(models, &t, "Ada", 10));
    send(UserView::find_by_tags(models, &t, &["admin".to_owned()], 10));
    send(UserView::find_by_settings(
        models,
        &t,
        &Settings {
            theme: "dark".into(),
        },
        10,
    ));
    send(UserView::find_by_logins(models, &t, &3, 10));
    send(UserView::find_by_type(models, &t, "person", 10));
    send(Countries::find(models, "de"));
    send(Countries::page(models, None, 10));
    send(Countries::find_by_name(models, "Germany", 10));
    send(DailyLogins::find(models, &t, &("u-1".to_owned(), day)));
    send(DailyLogins::require(models, &t, &("u-1".to_owned(), day)));
    send(DailyLogins::page(
        models,
        &t,
        Some(&("u-1".to_owned(), day)),
        10,
    ));
}

/// Also on PostgreSQL's implementation, by name.
fn compile_check_postgres(models: &acci_postgres::PgReadModels) {
    compile_check(models);
}

fn main() {
    let _ = compile_check_postgres;
    let memory = Memory {
        rows: vec![
            user("u-1", "ada@example.com", Some("Ada")),
            user("u-2", "grace@example.com", None),
            user("u-3", "alan@example.com", Some("Alan")),
        ],
        ..Memory::default()
    };
    compile_check(&memory);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let t = TenantId::new("t1").unwrap();
        let ada = UserView::find(&memory, &t, "u-1").await.unwrap().unwrap();
        assert_eq!(ada.nickname.as_deref(), Some("Ada"));
        assert!(UserView::find(&memory, &t, "u-9").await.unwrap().is_none());
        let grace = UserView::require(&memory, &t, &ada.user_id.replace('1', "2")).await;
        assert_eq!(grace.unwrap().email, "grace@example.com");
        match UserView::require(&memory, &t, "u-9").await {
            Err(QueryError::NotFound { what }) => assert!(what.contains("u-9"), "{what}"),
            other => panic!("expected NotFound, got {other:?}"),
        }

        // Every row, a page at a time.
        let mut seen = Vec::new();
        let mut page = UserView::page(&memory, &t, None, 2).await.unwrap();
        while let Some(last) = page.last() {
            seen.extend(page.iter().map(|r| r.user_id.clone()));
            page = UserView::page(&memory, &t, Some(&last.user_id), 2)
                .await
                .unwrap();
        }
        assert_eq!(seen, ["u-1", "u-2", "u-3"]);

        let first = UserView::page(&memory, &t, None, 2).await.unwrap();
        assert_eq!(first.len(), 2);
        let last = first.last().map(|r| r.user_id.as_str());
        let next = UserView::page(&memory, &t, last, 2).await.unwrap();
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].user_id, "u-3");
        assert!(matches!(
            UserView::page(&memory, &t, None, 0).await,
            Err(QueryError::Validation(_))
        ));

        let found = UserView::find_by_email(&memory, &t, "alan@example.com", 10)
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].user_id, "u-3");
        let found = UserView::find_by_nickname(&memory, &t, "Ada", 10)
            .await
            .unwrap();
        assert_eq!(found[0].user_id, "u-1");
        let tags = ["admin".to_owned(), "ops".to_owned()];
        assert_eq!(
            UserView::find_by_tags(&memory, &t, &tags, 2)
                .await
                .unwrap()
                .len(),
            2
        );
        let dark = Settings {
            theme: "dark".into(),
        };
        assert_eq!(
            UserView::find_by_settings(&memory, &t, &dark, 10)
                .await
                .unwrap()
                .len(),
            3
        );
        assert_eq!(
            UserView::find_by_logins(&memory, &t, &3, 1)
                .await
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            UserView::find_by_type(&memory, &t, "person", 10)
                .await
                .unwrap()
                .len(),
            3
        );

        let day = NaiveDate::from_ymd_opt(2024, 5, 17).unwrap();
        let composite = Memory {
            rows: vec![json!({ "user_id": "u-1", "day": "2024-05-17", "logins": 2 })],
            ..Memory::default()
        };
        let key = ("u-1".to_owned(), day);
        let row = DailyLogins::require(&composite, &t, &key).await.unwrap();
        assert_eq!(row.logins, 2);
        assert!(
            DailyLogins::page(&composite, &t, Some(&key), 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            *composite.calls.lock().unwrap(),
            [
                r#"get daily_logins ["u-1","2024-05-17"]"#,
                r#"page daily_logins Some(Array [String("u-1"), String("2024-05-17")]) 10"#,
            ]
        );
    });

    assert_eq!(
        *memory.calls.lock().unwrap(),
        [
            r#"get user_view "u-1""#,
            r#"get user_view "u-9""#,
            r#"get user_view "u-2""#,
            r#"get user_view "u-9""#,
            "page user_view None 2",
            r#"page user_view Some(String("u-2")) 2"#,
            r#"page user_view Some(String("u-3")) 2"#,
            "page user_view None 2",
            r#"page user_view Some(String("u-2")) 2"#,
            r#"find_by user_view email "alan@example.com""#,
            r#"find_by user_view display_name "Ada""#,
            r#"find_by user_view tags ["admin","ops"]"#,
            r#"find_by user_view settings {"theme":"dark"}"#,
            "find_by user_view logins 3",
            r#"find_by user_view type "person""#,
        ]
    );
}
