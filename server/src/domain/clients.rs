//! Decision clients: the services, gateways and agents registered to call the decision API,
//! each with its own bearer token, shown once and stored as a SHA-256 hash.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use app::error::AppError;
use app::model::{CreatedClient, DecisionClient, Role};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use uuid::Uuid;

use super::actor::Actor;
use super::audit::{self, Entry};
use super::identities::{optional_text, required_text};
use super::secrets;
use crate::decide::cache::ClientEntry;
use crate::error::{Result, conflict_on};
use crate::services::Services;

/// Every client token starts with this, so that secret scanners can recognise a leaked one.
pub const TOKEN_PREFIX: &str = "writc_";
/// Characters of the token kept in clear to tell tokens apart.
pub const SHOWN_PREFIX_LEN: usize = 14;
/// How often `last_used_at` is written for a busy client.
const LAST_USED_EVERY: Duration = Duration::minutes(1);

/// Returns the stored form of a client token.
pub fn token_hash(token: &str) -> Vec<u8> {
    secrets::token_hash(token)
}

/// When each client's `last_used_at` was last written by this process.
static LAST_WRITTEN: LazyLock<Mutex<HashMap<Uuid, DateTime<Utc>>>> = LazyLock::new(Mutex::default);

/// Notes that `client` made a call, writing `last_used_at` at most once a minute per process so
/// that the decision path does not wait on an update.
pub fn note_use(svc: &Services, client: &ClientEntry) {
    let now = svc.now();
    {
        let mut written = LAST_WRITTEN
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if written
            .get(&client.id)
            .is_some_and(|at| now - *at < LAST_USED_EVERY)
        {
            return;
        }
        written.insert(client.id, now);
    }
    let pool = svc.pool.clone();
    let id = client.id;
    tokio::spawn(async move {
        if let Err(error) = sqlx::query!(
            "update decision_clients set last_used_at = $2 where id = $1",
            id,
            now
        )
        .execute(&pool)
        .await
        {
            tracing::warn!(error = %error, client_id = %id, "recording a client's last use failed");
        }
    });
}

/// Lists every client, enabled ones first.
pub async fn list(svc: &Services, actor: &Actor) -> Result<Vec<DecisionClient>> {
    actor.require(Role::Admin)?;
    let rows = sqlx::query_as!(
        DecisionClient,
        r#"
        select id, name, description, prefix, created_at, last_used_at, disabled_at
        from decision_clients
        order by disabled_at is not null, name
        "#
    )
    .fetch_all(&svc.pool)
    .await?;
    Ok(rows)
}

/// Registers a client and returns its token, which is never shown again.
pub async fn create(
    svc: &Services,
    actor: &Actor,
    name: &str,
    description: &str,
) -> Result<CreatedClient> {
    let now = svc.now();
    let result = async {
        actor.require(Role::Admin)?;
        let name = required_text("name", name, 200)?;
        let description = optional_text("description", description, 2000)?.unwrap_or_default();
        let token = secrets::new_token(TOKEN_PREFIX);
        let prefix: String = token.chars().take(SHOWN_PREFIX_LEN).collect();
        let mut tx = svc.pool.begin().await?;
        let client = sqlx::query_as!(
            DecisionClient,
            r#"
            insert into decision_clients (name, description, token_hash, prefix, created_by, created_at)
            values ($1, $2, $3, $4, $5, $6)
            returning id, name, description, prefix, created_at, last_used_at, disabled_at
            "#,
            name,
            description,
            token_hash(&token),
            prefix,
            actor.user_id,
            now
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(conflict_on(
            "decision_clients_name_key",
            format!("a client named {name:?} exists; choose another name"),
        ))?;
        audit::append(
            &mut tx,
            actor,
            now,
            Entry::success("decision_client.created", "decision_client", client.id)
                .details(json!({ "name": client.name })),
        )
        .await?;
        tx.commit().await?;
        Ok(CreatedClient { client, token })
    }
    .await;
    audit::refusals(
        &svc.pool,
        actor,
        now,
        "decision_client.create",
        "decision_client",
        name,
        result,
    )
    .await
}

/// Replaces a client's token; the old one stops working at once.
pub async fn rotate(svc: &Services, actor: &Actor, id: Uuid) -> Result<CreatedClient> {
    let now = svc.now();
    let result = async {
        actor.require(Role::Admin)?;
        let token = secrets::new_token(TOKEN_PREFIX);
        let prefix: String = token.chars().take(SHOWN_PREFIX_LEN).collect();
        let mut tx = svc.pool.begin().await?;
        let client = sqlx::query_as!(
            DecisionClient,
            r#"
            update decision_clients set token_hash = $2, prefix = $3
            where id = $1 and disabled_at is null
            returning id, name, description, prefix, created_at, last_used_at, disabled_at
            "#,
            id,
            token_hash(&token),
            prefix
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| AppError::not_found("no enabled decision client has this id"))?;
        audit::append(
            &mut tx,
            actor,
            now,
            Entry::success("decision_client.token_rotated", "decision_client", id),
        )
        .await?;
        tx.commit().await?;
        Ok(CreatedClient { client, token })
    }
    .await;
    audit::refusals(
        &svc.pool,
        actor,
        now,
        "decision_client.rotate",
        "decision_client",
        id,
        result,
    )
    .await
}

/// Disables a client; its token stops working at once on every replica.
pub async fn disable(svc: &Services, actor: &Actor, id: Uuid) -> Result<DecisionClient> {
    let now = svc.now();
    let result = async {
        actor.require(Role::Admin)?;
        let mut tx = svc.pool.begin().await?;
        let client = sqlx::query_as!(
            DecisionClient,
            r#"
            update decision_clients set disabled_at = coalesce(disabled_at, $2)
            where id = $1
            returning id, name, description, prefix, created_at, last_used_at, disabled_at
            "#,
            id,
            now
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| AppError::not_found("no decision client has this id"))?;
        audit::append(
            &mut tx,
            actor,
            now,
            Entry::success("decision_client.disabled", "decision_client", id),
        )
        .await?;
        tx.commit().await?;
        Ok(client)
    }
    .await;
    audit::refusals(
        &svc.pool,
        actor,
        now,
        "decision_client.disable",
        "decision_client",
        id,
        result,
    )
    .await
}
