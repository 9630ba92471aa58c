//! Appends to many streams of one tenant in one call and one transaction
//! (`event_store.append_batch`), each with its own outcome; and the fallback when the
//! call fails as a whole.

use acci_core::{AppendOutcome, StoreError};
use sqlx::PgPool;

use crate::error::is_retryable;
use crate::rows::corrupt;

use super::append::{Request, append_one, outcome};

/// One row per request, in request order, with the columns of `append.sql`.
const APPEND_BATCH: &str = include_str!("../../sql/store/append_batch.sql");

/// Appends `requests` (all of one tenant) and answers each, in order.
///
/// One request goes alone through `event_store.append`. Several go as one call of
/// `event_store.append_batch`: one conflict or duplicate is that request's outcome only.
/// When the call fails as a whole, the server has rolled its transaction back and
/// stored nothing of it: a row a constraint refused, a duplicate event id, a command id
/// an append to another stream recorded at the same moment, a sequence number taken by a
/// writer that bypassed the store, a deadlock or serialization failure. Then each
/// request is sent again alone, in order, so each gets exactly the answer (or error) it
/// would have had on its own. A failure that leaves the outcome unknown (the connection
/// broke while the call was under way) is every request's error, retryable as any lost
/// append: sending them again could append twice.
pub(crate) async fn append_batch(
    pool: &PgPool,
    requests: &[Request],
) -> Vec<Result<AppendOutcome, StoreError>> {
    let [first, ..] = requests else {
        return Vec::new();
    };
    if requests.len() == 1 {
        return vec![append_one(pool, first).await];
    }
    debug_assert!(
        requests
            .iter()
            .all(|r| r.stream.tenant == first.stream.tenant),
        "a batch serves one tenant"
    );
    let result = sqlx::query(APPEND_BATCH)
        .bind(first.stream.tenant.as_str())
        .bind(
            requests
                .iter()
                .map(|r| &*r.stream.aggregate_type)
                .collect::<Vec<&str>>(),
        )
        .bind(
            requests
                .iter()
                .map(|r| r.stream.aggregate_id.as_str())
                .collect::<Vec<&str>>(),
        )
        .bind(requests.iter().map(|r| r.expected_sql).collect::<Vec<_>>())
        .bind(
            requests
                .iter()
                .map(|r| r.command_id.map(|c| c.as_uuid()))
                .collect::<Vec<_>>(),
        )
        .bind(
            requests
                .iter()
                // At most MAX_EVENTS_PER_APPEND, checked when the request was made.
                .map(|r| r.events() as i32)
                .collect::<Vec<i32>>(),
        )
        .bind(flatten(requests, |r| r.columns.ids.iter().copied()))
        .bind(flatten(requests, |r| {
            r.columns.types.iter().map(String::as_str)
        }))
        .bind(flatten(requests, |r| r.columns.versions.iter().copied()))
        .bind(flatten(requests, |r| r.columns.data.iter()))
        .bind(flatten(requests, |r| r.columns.metadata.iter()))
        .fetch_all(pool)
        .await;
    match result {
        Ok(rows) if rows.len() == requests.len() => rows
            .iter()
            .zip(requests)
            .map(|(row, request)| outcome(row, request))
            .collect(),
        Ok(rows) => {
            let problem = format!(
                "append_batch answered {} rows for {} requests",
                rows.len(),
                requests.len()
            );
            requests.iter().map(|_| Err(corrupt(&problem))).collect()
        }
        // The server answered with an error: the statement's transaction is rolled back.
        Err(sqlx::Error::Database(error)) => {
            tracing::debug!(%error, requests = requests.len(), "an append batch failed; each append is sent alone");
            let mut outcomes = Vec::with_capacity(requests.len());
            for request in requests {
                outcomes.push(append_one(pool, request).await);
            }
            outcomes
        }
        Err(error) => {
            let retryable = is_retryable(&error);
            let message = format!(
                "appending events (in a batch of {} appends): {error}",
                requests.len()
            );
            requests
                .iter()
                .map(|_| {
                    Err(StoreError::Backend {
                        message: message.clone(),
                        retryable,
                        source: None,
                    })
                })
                .collect()
        }
    }
}

/// One column of every request's events, one after the other.
fn flatten<'a, T, I>(requests: &'a [Request], column: impl Fn(&'a Request) -> I) -> Vec<T>
where
    I: Iterator<Item = T>,
{
    let mut all = Vec::with_capacity(requests.iter().map(Request::events).sum());
    for request in requests {
        all.extend(column(request));
    }
    all
}
