//! Exporting one tenant's events as JSON lines, in flat memory.

use acci_core::{LogCut, LogPosition, TenantId, TenantScope};
use std::time::{Duration, Instant};

use sqlx::{Connection, PgPool, Row};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::error::TenantError;
use super::format::{
    CatalogEntry, Digest256, ExportedEvent, FORMAT, FORMAT_VERSION, Header, Line, Trailer,
};
use crate::PgEventStore;
use crate::error::store_error;
use crate::rows::corrupt;

/// Events read from the store at a time: what the export holds in memory.
const BATCH: usize = 1_000;

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    /// The cut of the log it is at.
    pub cut: LogPosition,
    /// How many events it holds.
    pub events: u64,
    /// The SHA-256 in its trailer.
    pub sha256: String,
}

/// Writes every event of `tenant` to `out` as JSON lines (see [`Line`]): the header with
/// the catalogue, each event in global order, the trailer. The export is a cut of the
/// log at the tenant's newest event when it starts: it waits (up to a minute) for older
/// transactions still open to end, so nothing can commit behind the cut; events committed
/// while it runs are left out, and the catalogue counts exactly the events written. Memory stays
/// flat: events are read 1,000 at a time and written as they come.
///
/// `pool` connects as a role that may read the tenant (`acci_app` binds it per
/// statement, as the store does). Nothing is written to the database.
pub async fn export_tenant<W: AsyncWrite + Unpin>(
    pool: &PgPool,
    tenant: &TenantId,
    out: W,
) -> Result<ExportSummary, TenantError> {
    let mut out = tokio::io::BufWriter::new(out);
    let (cut, catalog) = cut_and_catalog(pool, tenant).await?;
    let expected: u64 = catalog.iter().map(|entry| entry.events).sum();
    let header = Header {
        format: FORMAT.to_owned(),
        format_version: FORMAT_VERSION,
        tenant: tenant.to_string(),
        exported_at: chrono::Utc::now(),
        cut,
        catalog,
    };
    let mut digest = Digest256::default();
    write_line(&mut out, &mut digest, &Line::Header(header)).await?;
    let store = PgEventStore::from_pool(pool.clone());
    let mut reader =
        LogCut::new(&store, TenantScope::Tenant(tenant.clone()), cut).with_batch(BATCH)?;
    let mut events = 0u64;
    while let Some(batch) = reader.next_batch().await? {
        for event in &batch {
            write_line(
                &mut out,
                &mut digest,
                &Line::Event(ExportedEvent::from(event)),
            )
            .await?;
            events += 1;
        }
    }
    if events != expected {
        return Err(TenantError::Changed(format!(
            "the catalogue counted {expected} events of tenant {tenant} up to {cut}, the log gave {events}"
        )));
    }
    let sha256 = digest.clone().hex();
    let trailer = serde_json::to_vec(&Line::Trailer(Trailer {
        events,
        sha256: sha256.clone(),
    }))?;
    out.write_all(&trailer).await?;
    out.write_all(b"\n").await?;
    out.flush().await?;
    Ok(ExportSummary {
        cut,
        events,
        sha256,
    })
}

async fn write_line<W: AsyncWrite + Unpin>(
    out: &mut W,
    digest: &mut Digest256,
    line: &Line,
) -> Result<(), TenantError> {
    let bytes = serde_json::to_vec(line)?;
    digest.line(&bytes);
    out.write_all(&bytes).await?;
    out.write_all(b"\n").await?;
    Ok(())
}

/// How long an export waits for transactions older than its cut to end.
const HORIZON_WAIT: Duration = Duration::from_secs(60);

/// The cut and the tenant's catalogue up to it. The cut is the tenant's newest event
/// committed when the export starts; the export first waits until every transaction that
/// began before it has ended (the readable horizon passed it), so that no event can
/// still commit behind it and the catalogue counts what the log will give.
async fn cut_and_catalog(
    pool: &PgPool,
    tenant: &TenantId,
) -> Result<(LogPosition, Vec<CatalogEntry>), TenantError> {
    let doing = format!("tenant {tenant}: reading the catalogue of its events");
    let fail = |e| store_error(e, &doing);
    let head: Option<(String, i64)> = {
        let mut conn = pool.acquire().await.map_err(fail)?;
        let mut tx = conn.begin().await.map_err(fail)?;
        bind_tenant(&mut tx, tenant).await.map_err(fail)?;
        let head = sqlx::query_as(
            "SELECT transaction_id::text, position FROM event_store.events \
              WHERE tenant_id = $1 ORDER BY transaction_id DESC, position DESC LIMIT 1",
        )
        .bind(tenant.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        head
    };
    let Some((commit, position)) = head else {
        return Ok((LogPosition::START, Vec::new()));
    };
    let cut = LogPosition {
        commit: commit
            .parse()
            .map_err(|_| corrupt(format!("a transaction id that is not a number: {commit}")))?,
        position: u64::try_from(position).map_err(|_| corrupt("a negative log position"))?,
    };
    let deadline = Instant::now() + HORIZON_WAIT;
    loop {
        let passed: bool =
            sqlx::query_scalar("SELECT pg_snapshot_xmin(pg_current_snapshot()) > $1::text::xid8")
                .bind(&commit)
                .fetch_one(pool)
                .await
                .map_err(fail)?;
        if passed {
            break;
        }
        if Instant::now() >= deadline {
            return Err(TenantError::Held(format!(
                "a transaction begun before the export has been open for more than \
                 {HORIZON_WAIT:?}; events may still commit behind the cut at {cut} \
                 (PgEventStore::log_horizon_holder names it)"
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut conn = pool.acquire().await.map_err(fail)?;
    let mut tx = conn.begin().await.map_err(fail)?;
    bind_tenant(&mut tx, tenant).await.map_err(fail)?;
    let rows = sqlx::query(
        "SELECT aggregate_type, event_type, schema_version, count(*) AS events \
           FROM event_store.events \
          WHERE tenant_id = $1 AND (transaction_id, position) <= ($2::text::xid8, $3) \
          GROUP BY aggregate_type, event_type, schema_version \
          ORDER BY aggregate_type, event_type, schema_version",
    )
    .bind(tenant.as_str())
    .bind(&commit)
    .bind(position)
    .fetch_all(&mut *tx)
    .await
    .map_err(fail)?;
    tx.commit().await.map_err(fail)?;
    let catalog = rows
        .iter()
        .map(|row| {
            Ok(CatalogEntry {
                aggregate_type: row.try_get("aggregate_type").map_err(corrupt)?,
                event_type: row.try_get("event_type").map_err(corrupt)?,
                schema_version: u32::try_from(
                    row.try_get::<i32, _>("schema_version").map_err(corrupt)?,
                )
                .map_err(|_| corrupt("a negative schema version"))?,
                events: u64::try_from(row.try_get::<i64, _>("events").map_err(corrupt)?)
                    .unwrap_or(0),
            })
        })
        .collect::<Result<Vec<_>, acci_core::StoreError>>()?;
    Ok((cut, catalog))
}

/// Binds the transaction to `tenant`, for row-level security.
async fn bind_tenant(tx: &mut sqlx::PgConnection, tenant: &TenantId) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT set_config('acci.tenant_id', $1, true)")
        .bind(tenant.as_str())
        .execute(tx)
        .await?;
    Ok(())
}
