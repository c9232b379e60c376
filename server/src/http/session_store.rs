//! A `tower-sessions` store on PostgreSQL through sqlx.
//!
//! Each record keeps the signed-in user's id in its own column, so that disabling a user can
//! delete all of their sessions at once.
//!
//! The store decides each record's expiry from the injected clock, not from the expiry that
//! `tower-sessions` computes from the wall clock: a saved record expires after the idle timeout,
//! and never later than the absolute timeout after its sign-in.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use uuid::Uuid;

use crate::clock::Clock;

/// Session key holding the signed-in user's id.
pub const USER_ID_KEY: &str = "user_id";
/// Session key holding the time of sign-in, which the absolute timeout counts from.
pub const SIGNED_IN_AT_KEY: &str = "signed_in_at";

/// How long sessions last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionTimeouts {
    /// Lifetime without requests.
    pub idle: Duration,
    /// Lifetime from sign-in, however active.
    pub absolute: Duration,
}

/// Sessions stored in the `sessions` table.
#[derive(Clone, Debug)]
pub struct PgSessionStore {
    pool: PgPool,
    clock: Arc<dyn Clock>,
    timeouts: SessionTimeouts,
}

impl PgSessionStore {
    /// Creates a store on `pool` whose records expire by `clock` after `timeouts`.
    pub fn new(pool: PgPool, clock: Arc<dyn Clock>, timeouts: SessionTimeouts) -> Self {
        Self {
            pool,
            clock,
            timeouts,
        }
    }

    /// Returns the expiry of a record saved now: the idle timeout from now, capped by the
    /// absolute timeout from its sign-in.
    fn expiry_of(&self, record: &Record, now: DateTime<Utc>) -> DateTime<Utc> {
        let idle_end = now + to_chrono(self.timeouts.idle);
        let signed_in_at = record
            .data
            .get(SIGNED_IN_AT_KEY)
            .and_then(|value| serde_json::from_value::<DateTime<Utc>>(value.clone()).ok());
        match signed_in_at {
            Some(at) => idle_end.min(at + to_chrono(self.timeouts.absolute)),
            None => idle_end,
        }
    }
}

/// Deletes session records that expired by `now`; returns how many.
pub async fn delete_expired(pool: &PgPool, now: DateTime<Utc>) -> sqlx::Result<u64> {
    let deleted = sqlx::query!("delete from sessions where expiry_date <= $1", now)
        .execute(pool)
        .await?
        .rows_affected();
    Ok(deleted)
}

fn to_chrono(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

#[async_trait]
impl SessionStore for PgSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let now = self.clock.now();
        // A record created for a signed-in user without a sign-in time is a new sign-in (the
        // sign-in clears the session before storing the user), so its absolute timeout starts
        // now. A record re-created under a new id keeps its sign-in time.
        if record.data.contains_key(USER_ID_KEY) && !record.data.contains_key(SIGNED_IN_AT_KEY) {
            let value = serde_json::to_value(now)
                .map_err(|error| session_store::Error::Encode(error.to_string()))?;
            record.data.insert(SIGNED_IN_AT_KEY.to_owned(), value);
        }
        let expiry = self.expiry_of(record, now);
        // A new id is drawn until the insert finds no row with the same id.
        loop {
            let (data, user_id) = encode(record)?;
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
        let expiry = self.expiry_of(record, self.clock.now());
        let (data, user_id) = encode(record)?;
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
            "select data, expiry_date from sessions where id = $1 and expiry_date > $2",
            session_id.to_string(),
            self.clock.now()
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
        delete_expired(&self.pool, self.clock.now())
            .await
            .map_err(backend)?;
        Ok(())
    }
}

fn encode(record: &Record) -> session_store::Result<(serde_json::Value, Option<Uuid>)> {
    let data = serde_json::to_value(&record.data)
        .map_err(|error| session_store::Error::Encode(error.to_string()))?;
    let user_id = record
        .data
        .get(USER_ID_KEY)
        .and_then(|value| serde_json::from_value::<Uuid>(value.clone()).ok());
    Ok((data, user_id))
}

fn backend(error: sqlx::Error) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}
