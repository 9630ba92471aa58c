//! The routes and their handlers.

use acci_core::prelude::*;
use acci_core::{Handle, LogPosition};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::ApiError;
use super::telemetry::{self, RequestContext};
use super::{AppState, health};
use crate::bank::{BankAccount, Deposit, Open, Withdraw};

/// The header a command answers its position token in, and a query waits for.
pub const POSITION_HEADER: &str = "x-acci-position";
/// The header naming a command's id, for idempotent retries.
pub const COMMAND_ID_HEADER: &str = "x-command-id";

/// Every route of the service.
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/accounts/{id}/open", post(open))
        .route("/accounts/{id}/deposit", post(deposit))
        .route("/accounts/{id}/withdraw", post(withdraw))
        .route("/accounts/{id}", get(account))
        .route("/metrics", get(metrics))
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .layer(axum::middleware::from_fn(telemetry::observe))
        .with_state(state)
}

#[derive(Debug, Deserialize)]
struct OpenBody {
    owner: String,
    currency: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AmountBody {
    amount: u64,
}

/// What a command answers.
#[derive(Debug, Serialize)]
struct CommandAnswer {
    account_id: String,
    /// The account's version after the command.
    version: u64,
    /// The position token: send it back in `X-Acci-Position` to read this write.
    position: Option<String>,
    /// Whether the command id had been applied before; this is the first answer again.
    duplicate: bool,
    /// How many events it recorded.
    events: usize,
}

async fn open(
    state: State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<OpenBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(|e| ApiError::validation(e.body_text()))?;
    let command = Open {
        owner: body.owner,
        currency: body.currency.unwrap_or_else(|| "EUR".to_owned()),
    };
    execute(state, id, headers, command, StatusCode::CREATED).await
}

async fn deposit(
    state: State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<AmountBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(|e| ApiError::validation(e.body_text()))?;
    let command = Deposit {
        amount: body.amount,
    };
    execute(state, id, headers, command, StatusCode::OK).await
}

async fn withdraw(
    state: State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<AmountBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(|e| ApiError::validation(e.body_text()))?;
    let command = Withdraw {
        amount: body.amount,
    };
    execute(state, id, headers, command, StatusCode::OK).await
}

/// Runs `command` on account `id` as the request's headers say: tenant, user,
/// correlation id, command id, `If-Match`.
async fn execute<C>(
    State(state): State<AppState>,
    id: String,
    headers: HeaderMap,
    command: C,
    created: StatusCode,
) -> Result<Response, ApiError>
where
    C: Send + Sync + 'static,
    BankAccount: Handle<C, Error = crate::bank::AccountError>,
{
    let context = RequestContext::from_headers(&headers)?;
    let user = context
        .user
        .clone()
        .ok_or_else(|| ApiError::validation("the `X-User-Id` header is required for commands"))?;
    let aggregate_id = AggregateId::new(&id).map_err(|e| ApiError::validation(e.to_string()))?;
    if let Some(expected) = expected_version(&headers)? {
        let current = state
            .accounts
            .load(&context.tenant, &aggregate_id)
            .await
            .map_err(|e| ApiError::from(CommandError::<crate::bank::AccountError>::from(e)))?
            .version;
        if current != expected {
            return Err(ApiError::conflict(format!(
                "the account is at version {current}, not {expected} as `If-Match` says; read it again"
            )));
        }
    }
    let metadata = Metadata::new()
        .with_user_id(user)
        .with_correlation_id(context.correlation_id);
    let mut request =
        Command::new(context.tenant.clone(), aggregate_id, command).with_metadata(metadata);
    if let Some(command_id) = command_id(&headers)? {
        request = request.with_id(command_id);
    }
    let outcome = state.accounts.execute(request).await?;
    let position = outcome.position.map(|p| p.to_string());
    let answer = CommandAnswer {
        account_id: id,
        version: outcome.version,
        position: position.clone(),
        duplicate: outcome.duplicate,
        events: outcome.events.len(),
    };
    let status = if outcome.duplicate {
        StatusCode::OK
    } else {
        created
    };
    let mut response = (status, Json(answer)).into_response();
    if let Some(position) = position.and_then(|p| HeaderValue::from_str(&p).ok()) {
        response.headers_mut().insert(POSITION_HEADER, position);
    }
    Ok(response)
}

/// `GET /accounts/{id}`: the account from the read model, after the position in
/// `X-Acci-Position` if there is one.
async fn account(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let context = RequestContext::from_headers(&headers)?;
    if let Some(position) = position_token(&headers)? {
        state.read.wait_for(position, state.wait_timeout).await?;
    }
    let row = state
        .read
        .get(&context.tenant, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no account `{id}`")))?;
    Ok(Json(serde_json::json!({
        "account_id": row.account_id,
        "owner": row.owner,
        "currency": row.currency,
        "balance": row.balance,
        "version": row.version,
    }))
    .into_response())
}

/// `GET /metrics`: every series, in the Prometheus text format.
async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, ApiError> {
    headers
        .get(name)
        .map(|v| {
            v.to_str()
                .map(str::trim)
                .map_err(|_| ApiError::validation(format!("the `{name}` header is not text")))
        })
        .transpose()
}

fn command_id(headers: &HeaderMap) -> Result<Option<CommandId>, ApiError> {
    header(headers, COMMAND_ID_HEADER)?
        .map(|v| {
            Uuid::parse_str(v)
                .map(CommandId::from)
                .map_err(|_| ApiError::validation("`X-Command-Id` must be a UUID"))
        })
        .transpose()
}

fn expected_version(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    header(headers, "if-match")?
        .map(|v| {
            v.trim_matches('"')
                .parse()
                .map_err(|_| ApiError::validation("`If-Match` must be an account version"))
        })
        .transpose()
}

/// The position token of `X-Acci-Position`: `commit:position`, as a command answered it.
fn position_token(headers: &HeaderMap) -> Result<Option<LogPosition>, ApiError> {
    header(headers, POSITION_HEADER)?
        .map(|v| {
            let invalid = || ApiError::validation("`X-Acci-Position` must be a position token");
            let (commit, position) = v.split_once(':').ok_or_else(invalid)?;
            Ok(LogPosition {
                commit: commit.parse().map_err(|_| invalid())?,
                position: position.parse().map_err(|_| invalid())?,
            })
        })
        .transpose()
}
