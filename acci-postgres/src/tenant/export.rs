//! Exporting one tenant's events as JSON lines, in flat memory.

use acci_core::{LogCut, LogPosition, TenantId, TenantScope};
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
/// log taken when it starts (the readable horizon then), so events committed while it
/// runs are left out and the catalogue counts exactly the events written. Memory stays
/// flat: events are read [`BATCH`] at a time and written as they come.
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

/// The cut (the readable horizon now: every transaction below it has ended, so the
/// events before it are fixed) and the tenant's catalogue up to it, in one transaction.
async fn cut_and_catalog(
    pool: &PgPool,
    tenant: &TenantId,
) -> Result<(LogPosition, Vec<CatalogEntry>), TenantError> {
    let doing = format!("tenant {tenant}: reading the catalogue of its events");
    let mut conn = pool.acquire().await.map_err(|e| store_error(e, &doing))?;
    let mut tx = conn.begin().await.map_err(|e| store_error(e, &doing))?;
    let horizon: String = sqlx::query_scalar(
        "SELECT pg_snapshot_xmin(pg_current_snapshot())::text \
         FROM (SELECT set_config('acci.tenant_id', $1, true)) AS bound",
    )
    .bind(tenant.as_str())
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| store_error(e, &doing))?;
    let rows = sqlx::query(
        "SELECT aggregate_type, event_type, schema_version, count(*) AS events \
           FROM event_store.events \
          WHERE tenant_id = $1 AND transaction_id < $2::xid8 \
          GROUP BY aggregate_type, event_type, schema_version \
          ORDER BY aggregate_type, event_type, schema_version",
    )
    .bind(tenant.as_str())
    .bind(&horizon)
    .fetch_all(&mut *tx)
    .await
    .map_err(|e| store_error(e, &doing))?;
    tx.commit().await.map_err(|e| store_error(e, &doing))?;
    let commit: u64 = horizon
        .parse()
        .map_err(|_| corrupt(format!("a horizon that is not a transaction id: {horizon}")))?;
    let cut = LogPosition {
        commit,
        position: 0,
    };
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
