//! A `tower-sessions` store on PostgreSQL through sqlx.
//!
//! Each record keeps the signed-in user's id in its own column, so that disabling a user can
//! delete all of their sessions at once.

use async_trait::async_trait;
use sqlx::PgPool;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use uuid::Uuid;

/// Session key holding the signed-in user's id.
pub const USER_ID_KEY: &str = "user_id";

/// Sessions stored in the `sessions` table.
#[derive(Clone, Debug)]
pub struct PgSessionStore {
    pool: PgPool,
}

impl PgSessionStore {
    /// Creates a store on `pool`.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl SessionStore for PgSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A new id is drawn until the insert finds no row with the same id.
        loop {
            let (data, expiry, user_id) = encode(record)?;
            let inserted = sqlx::query!(
                r#"
                insert into sessions (id, data, expiry_date, user_id) values ($1, $2, $3, $4)
                on conflict (id) do nothing
                "#,
                record.id.to_string(),
                data,
                expiry,
                user_id
            )
            .execute(&self.pool)
            .await
            .map_err(backend)?
            .rows_affected();
            if inserted == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let (data, expiry, user_id) = encode(record)?;
        sqlx::query!(
            r#"
            insert into sessions (id, data, expiry_date, user_id) values ($1, $2, $3, $4)
            on conflict (id) do update
                set data = excluded.data, expiry_date = excluded.expiry_date,
                    user_id = excluded.user_id
            "#,
            record.id.to_string(),
            data,
            expiry,
            user_id
        )
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        let row = sqlx::query!(
            "select data, expiry_date from sessions where id = $1 and expiry_date > now()",
            session_id.to_string()
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let data = serde_json::from_value(row.data)
            .map_err(|error| session_store::Error::Decode(error.to_string()))?;
        let expiry_date = OffsetDateTime::from_unix_timestamp_nanos(
            i128::from(row.expiry_date.timestamp_micros()) * 1000,
        )
        .map_err(|error| session_store::Error::Decode(error.to_string()))?;
        Ok(Some(Record {
            id: *session_id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        sqlx::query!("delete from sessions where id = $1", session_id.to_string())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl ExpiredDeletion for PgSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        sqlx::query!("delete from sessions where expiry_date <= now()")
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

type Encoded = (
    serde_json::Value,
    chrono::DateTime<chrono::Utc>,
    Option<Uuid>,
);

fn encode(record: &Record) -> session_store::Result<Encoded> {
    let data = serde_json::to_value(&record.data)
        .map_err(|error| session_store::Error::Encode(error.to_string()))?;
    let micros = record.expiry_date.unix_timestamp_nanos() / 1000;
    let expiry = chrono::DateTime::from_timestamp_micros(micros as i64)
        .ok_or_else(|| session_store::Error::Encode("session expiry out of range".into()))?;
    let user_id = record
        .data
        .get(USER_ID_KEY)
        .and_then(|value| serde_json::from_value::<Uuid>(value.clone()).ok());
    Ok((data, expiry, user_id))
}

fn backend(error: sqlx::Error) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}
