//! The baseline: the same database work written by hand with plain sqlx, no framework,
//! the way a careful program does it.
//!
//! - Reads stream their rows and fold each one as it arrives; columns are read by index
//!   and each payload is deserialized straight from the jsonb bytes the server sent into
//!   its typed struct, never through `serde_json::Value`.
//! - Writes serialize the typed payload straight into the statement's parameter buffer
//!   (`sqlx::types::Json`).
//! - A one-event command is two statements without an explicit transaction: select the
//!   stream, decide, insert at the next sequence number. The unique `(stream_id, sequence)`
//!   key is the optimistic check; a collision on it starts the command over.

use acci_core::Apply;
use futures_util::TryStreamExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::postgres::{PgRow, PgValueFormat};
use sqlx::types::Json;
use sqlx::{PgPool, Row};

use crate::Error;
use crate::domain::{Account, Deposited, Opened, OpenedV1, Withdrawn};

/// The stream column's value for account `id`.
pub fn stream_id(id: &str) -> String {
    format!("Account/{id}")
}

/// Decodes one stored event from its JSON text and applies it, upcasting the first
/// "opened" shape by hand.
pub fn apply(
    account: &mut Account,
    event_type: &str,
    schema_version: i32,
    json: &[u8],
) -> Result<(), Error> {
    match (event_type, schema_version) {
        ("AccountOpened", 2) => account.apply(&decode::<Opened>(json)?),
        ("AccountOpened", 1) => account.apply(&Opened::from(decode::<OpenedV1>(json)?)),
        ("Deposited", 1) => account.apply(&decode::<Deposited>(json)?),
        ("Withdrawn", 1) => account.apply(&decode::<Withdrawn>(json)?),
        (other, version) => return Err(format!("unknown event `{other}` v{version}").into()),
    }
    Ok(())
}

const SELECT_STREAM: &str = "SELECT sequence, event_type, schema_version, data FROM raw.events \
     WHERE stream_id = $1 ORDER BY sequence";

const INSERT_ONE: &str = "INSERT INTO raw.events (event_id, stream_id, sequence, event_type, schema_version, data, metadata) \
     VALUES ($1, $2, $3, $4, $5, $6, '{}')";

const INSERT_MANY: &str = "INSERT INTO raw.events (event_id, stream_id, sequence, event_type, schema_version, data, metadata) \
     SELECT u.id, $2, u.sequence, u.event_type, 1, u.data, '{}' \
       FROM unnest($1::uuid[], $3::bigint[], $4::text[], $5::jsonb[]) AS u(id, sequence, event_type, data)";

/// The name PostgreSQL gives the `UNIQUE (stream_id, sequence)` constraint of
/// `raw.events` (see `setup.rs`): a violation of it, and only of it, is a concurrent
/// writer that took the sequence number first.
const STREAM_SEQUENCE_KEY: &str = "events_stream_id_sequence_key";

/// Reads a stream and folds it as the rows arrive. Returns the state and the stream's
/// version (0: no stream).
pub async fn load(
    executor: impl sqlx::PgExecutor<'_>,
    stream: &str,
) -> Result<(Account, i64), Error> {
    let mut rows = sqlx::query(SELECT_STREAM).bind(stream).fetch(executor);
    let mut account = Account::default();
    let mut version = 0;
    while let Some(row) = rows.try_next().await? {
        version = row.try_get(0)?;
        apply(
            &mut account,
            row.try_get(1)?,
            row.try_get(2)?,
            jsonb_text(&row, 3)?,
        )?;
    }
    Ok((account, version))
}

/// Inserts one event at `sequence` of `stream`; a taken sequence number comes back as
/// the unique violation it is.
async fn insert_one<T: Serialize + Sync>(
    executor: impl sqlx::PgExecutor<'_>,
    stream: &str,
    sequence: i64,
    (event_type, schema_version): (&str, i32),
    data: &T,
) -> Result<(), sqlx::Error> {
    sqlx::query(INSERT_ONE)
        .bind(uuid::Uuid::now_v7())
        .bind(stream)
        .bind(sequence)
        .bind(event_type)
        .bind(schema_version)
        .bind(Json(data))
        .execute(executor)
        .await
        .map(drop)
}

/// The stored name and version of a deposit.
const DEPOSITED: (&str, i32) = ("Deposited", 1);

/// Opens the account: one insert at sequence 1.
pub async fn open(pool: &PgPool, id: &str) -> Result<(), Error> {
    let data = Opened {
        owner: id.to_owned(),
        currency: "EUR".into(),
    };
    insert_one(pool, &stream_id(id), 1, ("AccountOpened", 2), &data).await?;
    Ok(())
}

/// One deposit command by hand, two statements on one connection, each committing on
/// its own: select the stream, decide, insert at the next sequence number. A concurrent
/// writer that took the number first makes the insert collide on the stream's unique
/// key, and the command starts over; no transaction is needed because nothing else is
/// written. Returns how many attempts it took.
pub async fn deposit(pool: &PgPool, id: &str, amount: i64) -> Result<u32, Error> {
    let stream = stream_id(id);
    let mut connection = pool.acquire().await?;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let (account, version) = load(&mut *connection, &stream).await?;
        if !account.open {
            return Err(format!("account {id} is not open").into());
        }
        let data = Deposited { amount };
        match insert_one(&mut *connection, &stream, version + 1, DEPOSITED, &data).await {
            Ok(()) => return Ok(attempts),
            Err(sqlx::Error::Database(e)) if e.constraint() == Some(STREAM_SEQUENCE_KEY) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// The floor of a one-event command: one INSERT in its own transaction at a sequence
/// number the caller knows, nothing read or decided.
pub async fn insert_only(pool: &PgPool, id: &str, sequence: i64, amount: i64) -> Result<(), Error> {
    insert_one(
        pool,
        &stream_id(id),
        sequence,
        DEPOSITED,
        &Deposited { amount },
    )
    .await?;
    Ok(())
}

/// Appends deposits at `first_sequence` onwards in one statement.
pub async fn append_deposits(
    pool: &PgPool,
    id: &str,
    first_sequence: i64,
    amounts: &[i64],
) -> Result<(), Error> {
    let mut ids = Vec::with_capacity(amounts.len());
    let mut sequences = Vec::with_capacity(amounts.len());
    let mut types = Vec::with_capacity(amounts.len());
    let mut data = Vec::with_capacity(amounts.len());
    for (i, &amount) in amounts.iter().enumerate() {
        ids.push(uuid::Uuid::now_v7());
        sequences.push(first_sequence + i as i64);
        types.push(DEPOSITED.0);
        data.push(Json(Deposited { amount }));
    }
    sqlx::query(INSERT_MANY)
        .bind(&ids)
        .bind(stream_id(id))
        .bind(&sequences)
        .bind(&types)
        .bind(&data)
        .execute(pool)
        .await?;
    Ok(())
}

const SELECT_BATCH: &str = "SELECT position, stream_id, event_type, data FROM raw.events \
     WHERE position > $1 ORDER BY position LIMIT $2";

const UPSERT_BALANCES: &str = "INSERT INTO raw.balances \
     SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[]) \
     ON CONFLICT (account) DO UPDATE SET balance = raw.balances.balance + EXCLUDED.balance, \
         movements = raw.balances.movements + EXCLUDED.movements";

/// The raw read model's catch-up from the start: stream a batch of the log after the
/// checkpoint, folding each row into the touched accounts as it arrives, then write them
/// with one multi-row upsert and the checkpoint in one transaction. Returns the events
/// applied.
pub async fn catch_up(pool: &PgPool, batch: usize) -> Result<u64, Error> {
    sqlx::query("TRUNCATE raw.balances").execute(pool).await?;
    sqlx::query("UPDATE raw.checkpoint SET position = 0")
        .execute(pool)
        .await?;
    let mut after: i64 = 0;
    let mut applied = 0;
    // Account → (balance change, movements) in the current batch.
    let mut touched: std::collections::HashMap<String, (i64, i64)> = Default::default();
    loop {
        let mut last = None;
        let mut rows = sqlx::query(SELECT_BATCH)
            .bind(after)
            .bind(batch as i64)
            .fetch(pool);
        while let Some(row) = rows.try_next().await? {
            last = Some(row.try_get::<i64, _>(0)?);
            let delta = match row.try_get::<&str, _>(2)? {
                "Deposited" => decode::<Deposited>(jsonb_text(&row, 3)?)?.amount,
                "Withdrawn" => -decode::<Withdrawn>(jsonb_text(&row, 3)?)?.amount,
                _ => continue,
            };
            let stream: &str = row.try_get(1)?;
            let account = stream.strip_prefix("Account/").unwrap_or(stream);
            // Looked up by `&str` first: the key is allocated once per account and batch.
            let entry = match touched.get_mut(account) {
                Some(entry) => entry,
                None => touched.entry(account.to_owned()).or_default(),
            };
            entry.0 += delta;
            entry.1 += 1;
            applied += 1;
        }
        drop(rows);
        let Some(last) = last else { break };
        after = last;
        let (accounts, (balances, movements)): (Vec<String>, (Vec<i64>, Vec<i64>)) =
            touched.drain().unzip();
        let mut tx = pool.begin().await?;
        sqlx::query(UPSERT_BALANCES)
            .bind(&accounts)
            .bind(&balances)
            .bind(&movements)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE raw.checkpoint SET position = $1")
            .bind(after)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(applied)
}

/// PostgreSQL's binary jsonb starts with this format version, then the JSON text.
const JSONB_VERSION: u8 = 1;

/// The JSON text of the jsonb column `index` of `row`, borrowed from the row as the
/// server sent it: binary (what sqlx asks for) without its version byte, or the text
/// format as it is.
fn jsonb_text(row: &PgRow, index: usize) -> Result<&[u8], Error> {
    let value = row.try_get_raw(index)?;
    let format = value.format();
    let bytes = value
        .as_bytes()
        .map_err(|e| format!("jsonb column {index}: {e}"))?;
    match format {
        PgValueFormat::Text => Ok(bytes),
        PgValueFormat::Binary => {
            binary_jsonb_text(bytes).map_err(|e| format!("jsonb column {index}: {e}").into())
        }
    }
}

/// The JSON text of a binary jsonb value: the version byte checked and cut off.
fn binary_jsonb_text(bytes: &[u8]) -> Result<&[u8], String> {
    match bytes.split_first() {
        Some((&JSONB_VERSION, text)) => Ok(text),
        Some((version, _)) => Err(format!(
            "binary format version {version}; this program reads version {JSONB_VERSION}"
        )),
        None => Err("an empty binary value".to_owned()),
    }
}

/// Deserializes an event straight from its JSON text.
fn decode<T: DeserializeOwned>(json: &[u8]) -> Result<T, serde_json::Error> {
    serde_json::from_slice(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_jsonb_is_the_json_text_after_version_one() {
        assert_eq!(
            binary_jsonb_text(b"\x01{\"amount\":5}"),
            Ok(&b"{\"amount\":5}"[..])
        );
        let decoded: Deposited = decode(binary_jsonb_text(b"\x01{\"amount\":5}").unwrap()).unwrap();
        assert_eq!(decoded.amount, 5);
    }

    #[test]
    fn binary_jsonb_of_another_version_or_empty_is_refused() {
        let error = binary_jsonb_text(b"\x02{}").unwrap_err();
        assert!(error.contains("binary format version 2"), "{error}");
        assert!(error.contains("reads version 1"), "{error}");
        assert_eq!(
            binary_jsonb_text(b""),
            Err("an empty binary value".to_owned())
        );
    }
}
