//! The baseline: the same database work written by hand with plain sqlx, no framework.
//! Same rows, same round trips a careful program would make.

use acci_core::Apply;
use serde_json::Value;
use sqlx::{PgPool, Row};

use crate::Error;
use crate::domain::{Account, Deposited, Opened, OpenedV1, Withdrawn};

/// The stream column's value for account `id`.
pub fn stream_id(id: &str) -> String {
    format!("Account/{id}")
}

/// Folds `(sequence, event_type, schema_version, data)` rows into the account, upcasting
/// the first "opened" shape by hand. Returns the state and the stream's version.
pub fn fold(rows: &[(i64, String, i32, Value)]) -> Result<(Account, i64), Error> {
    let mut account = Account::default();
    let mut version = 0;
    for (sequence, event_type, schema_version, data) in rows {
        apply(&mut account, event_type, *schema_version, data)?;
        version = *sequence;
    }
    Ok((account, version))
}

/// Decodes one stored event and applies it.
pub fn apply(
    account: &mut Account,
    event_type: &str,
    schema_version: i32,
    data: &Value,
) -> Result<(), Error> {
    match (event_type, schema_version) {
        ("AccountOpened", 2) => account.apply(&decode::<Opened>(data)?),
        ("AccountOpened", 1) => account.apply(&Opened::from(decode::<OpenedV1>(data)?)),
        ("Deposited", 1) => account.apply(&decode::<Deposited>(data)?),
        ("Withdrawn", 1) => account.apply(&decode::<Withdrawn>(data)?),
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

/// Reads a stream and folds it.
pub async fn load(
    executor: impl sqlx::PgExecutor<'_>,
    stream: &str,
) -> Result<(Account, i64), Error> {
    let rows: Vec<(i64, String, i32, Value)> = sqlx::query_as(SELECT_STREAM)
        .bind(stream)
        .fetch_all(executor)
        .await?;
    fold(&rows)
}

/// Inserts one event at `sequence` of `stream`; a taken sequence number comes back as
/// the unique violation it is.
async fn insert_one(
    executor: impl sqlx::PgExecutor<'_>,
    stream: &str,
    sequence: i64,
    (event_type, schema_version): (&str, i32),
    data: Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(INSERT_ONE)
        .bind(uuid::Uuid::now_v7())
        .bind(stream)
        .bind(sequence)
        .bind(event_type)
        .bind(schema_version)
        .bind(data)
        .execute(executor)
        .await
        .map(drop)
}

/// The stored name and version of a deposit.
const DEPOSITED: (&str, i32) = ("Deposited", 1);

/// Opens the account: one insert at sequence 1.
pub async fn open(pool: &PgPool, id: &str) -> Result<(), Error> {
    let data = serde_json::to_value(Opened {
        owner: id.to_owned(),
        currency: "EUR".into(),
    })?;
    insert_one(pool, &stream_id(id), 1, ("AccountOpened", 2), data).await?;
    Ok(())
}

/// One deposit command by hand: begin, select the stream, decide, insert, commit. A
/// concurrent writer that took the sequence number first makes the insert collide; the
/// command then starts over. Returns how many attempts it took.
pub async fn deposit(pool: &PgPool, id: &str, amount: i64) -> Result<u32, Error> {
    let stream = stream_id(id);
    let mut attempts = 0;
    loop {
        attempts += 1;
        let mut tx = pool.begin().await?;
        let (account, version) = load(&mut *tx, &stream).await?;
        if !account.open {
            return Err(format!("account {id} is not open").into());
        }
        let data = serde_json::to_value(Deposited { amount })?;
        let inserted = insert_one(&mut *tx, &stream, version + 1, DEPOSITED, data).await;
        match inserted {
            Ok(()) => {
                tx.commit().await?;
                return Ok(attempts);
            }
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                tx.rollback().await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The floor of a one-event command: one INSERT in its own transaction at a sequence
/// number the caller knows, nothing read or decided.
pub async fn insert_only(pool: &PgPool, id: &str, sequence: i64, amount: i64) -> Result<(), Error> {
    let data = serde_json::to_value(Deposited { amount })?;
    insert_one(pool, &stream_id(id), sequence, DEPOSITED, data).await?;
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
    for (i, amount) in amounts.iter().enumerate() {
        ids.push(uuid::Uuid::now_v7());
        sequences.push(first_sequence + i as i64);
        types.push("Deposited");
        data.push(serde_json::to_value(Deposited { amount: *amount })?);
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

/// The raw read model's catch-up from the start: read a batch of the log after the
/// checkpoint, fold it in memory, write the touched rows with one multi-row upsert and
/// the checkpoint in one transaction. Returns the events applied.
pub async fn catch_up(pool: &PgPool, batch: usize) -> Result<u64, Error> {
    sqlx::query("TRUNCATE raw.balances").execute(pool).await?;
    sqlx::query("UPDATE raw.checkpoint SET position = 0")
        .execute(pool)
        .await?;
    let mut after: i64 = 0;
    let mut applied = 0;
    let mut touched: std::collections::HashMap<String, (i64, i64)> = Default::default();
    loop {
        let rows = sqlx::query(
            "SELECT position, stream_id, event_type, data FROM raw.events \
             WHERE position > $1 ORDER BY position LIMIT $2",
        )
        .bind(after)
        .bind(batch as i64)
        .fetch_all(pool)
        .await?;
        let Some(last) = rows.last() else { break };
        after = last.try_get("position")?;
        for row in &rows {
            let event_type: &str = row.try_get("event_type")?;
            let data: Value = row.try_get("data")?;
            let delta = match event_type {
                "Deposited" => decode::<Deposited>(&data)?.amount,
                "Withdrawn" => -decode::<Withdrawn>(&data)?.amount,
                _ => continue,
            };
            let stream: &str = row.try_get("stream_id")?;
            let account = stream.strip_prefix("Account/").unwrap_or(stream);
            let entry = touched.entry(account.to_owned()).or_default();
            entry.0 += delta;
            entry.1 += 1;
            applied += 1;
        }
        let (accounts, (balances, movements)): (Vec<String>, (Vec<i64>, Vec<i64>)) =
            touched.drain().unzip();
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO raw.balances SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[]) \
             ON CONFLICT (account) DO UPDATE SET balance = raw.balances.balance + EXCLUDED.balance, \
                 movements = raw.balances.movements + EXCLUDED.movements",
        )
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

/// Deserializes an event from a borrowed JSON value without cloning it.
fn decode<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, serde_json::Error> {
    <T as serde::Deserialize>::deserialize(value)
}
