//! API tokens for machines: created in the console, shown once, stored as a SHA-256 hash.

use std::time::Duration;

use app::error::AppError;
use app::model::{ApiToken, CreatedToken, Role, Viewer};
use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::accounts::parse_roles;
use super::actor::Actor;
use super::audit::{self, Entry};
use super::identities::required_text;
use super::secrets;
use super::users::parse_role_names;
use crate::error::Result;
use crate::services::Services;

/// Every token starts with this, so that secret scanners can recognise a leaked one.
pub const TOKEN_PREFIX: &str = "writ_";
/// Characters of the token kept in clear to tell tokens apart.
pub const SHOWN_PREFIX_LEN: usize = 12;
/// Longest lifetime a token may have (one year).
pub const MAX_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

/// Creates a token acting for the actor with `roles`, each of which the actor must hold.
/// `expires_in` is a duration such as `90d`; empty means 90 days.
pub async fn create(
    svc: &Services,
    actor: &Actor,
    name: &str,
    roles: &[String],
    expires_in: &str,
) -> Result<CreatedToken> {
    let now = svc.now();
    let result = async {
        let user_id = actor.user()?;
        let name = required_text("name", name, 200)?;
        let roles = parse_role_names(roles)?;
        if roles.is_empty() {
            return Err(AppError::invalid("roles", "choose at least one role for the token").into());
        }
        if let Some(role) = roles.iter().find(|role| !actor.has(**role)) {
            return Err(AppError::invalid("roles", format!("you do not hold the {role} role, so a token of yours cannot")).into());
        }
        let lifetime = match expires_in.trim() {
            "" => Duration::from_secs(90 * 24 * 3600),
            text => crate::config::parse_duration(text).map_err(|message| AppError::invalid("expires_in", message))?,
        };
        if lifetime < Duration::from_secs(60) || lifetime > MAX_LIFETIME {
            return Err(AppError::invalid("expires_in", "must be between 1m and 365d").into());
        }
        let expires_at = now + chrono::Duration::from_std(lifetime).map_err(anyhow::Error::from)?;
        let secret = secrets::new_token(TOKEN_PREFIX);
        let prefix: String = secret.chars().take(SHOWN_PREFIX_LEN).collect();
        let role_names: Vec<String> = roles.iter().map(|role| role.to_string()).collect();
        let mut tx = svc.pool.begin().await?;
        let id = sqlx::query_scalar!(
            r#"
            insert into api_tokens (name, token_hash, prefix, user_id, roles, created_at, expires_at)
            values ($1, $2, $3, $4, $5, $6, $7)
            returning id
            "#,
            name,
            secrets::token_hash(&secret),
            prefix,
            user_id,
            &role_names,
            now,
            expires_at
        )
        .fetch_one(&mut *tx)
        .await?;
        audit::append(&mut tx, actor, now, Entry::success("api_token.created", "api_token", id).details(json!({
            "name": name,
            "roles": roles,
            "expires_at": expires_at,
        })))
        .await?;
        tx.commit().await?;
        Ok(CreatedToken {
            token: ApiToken { id, name, prefix, roles, created_at: now, expires_at: Some(expires_at), last_used_at: None, revoked_at: None },
            secret,
        })
    }
    .await;
    audit::refusals(
        &svc.pool,
        actor,
        now,
        "api_token.create",
        "api_token",
        name.trim(),
        result,
    )
    .await
}

/// Lists the actor's own tokens, newest first.
pub async fn list(svc: &Services, actor: &Actor) -> Result<Vec<ApiToken>> {
    let user_id = actor.user()?;
    let rows = sqlx::query!(
        r#"
        select id, name, prefix, roles, created_at, expires_at, last_used_at, revoked_at
        from api_tokens where user_id = $1 order by created_at desc
        "#,
        user_id
    )
    .fetch_all(&svc.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| ApiToken {
            id: row.id,
            name: row.name,
            prefix: row.prefix,
            roles: parse_roles(&row.roles),
            created_at: row.created_at,
            expires_at: row.expires_at,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
        })
        .collect())
}

/// Revokes a token; its owner or an admin may.
pub async fn revoke(svc: &Services, actor: &Actor, id: Uuid) -> Result<()> {
    let now = svc.now();
    let result = async {
        let user_id = actor.user()?;
        let mut tx = svc.pool.begin().await?;
        let owner = sqlx::query_scalar!("select user_id from api_tokens where id = $1", id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| AppError::not_found(format!("API token {id} does not exist")))?;
        if owner != user_id && !actor.has(Role::Admin) {
            return Err(AppError::not_found(format!("API token {id} does not exist")).into());
        }
        let changed = sqlx::query!(
            "update api_tokens set revoked_at = $2 where id = $1 and revoked_at is null",
            id,
            now
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 1 {
            audit::append(
                &mut tx,
                actor,
                now,
                Entry::success("api_token.revoked", "api_token", id),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
    .await;
    audit::refusals(
        &svc.pool,
        actor,
        now,
        "api_token.revoke",
        "api_token",
        id,
        result,
    )
    .await
}

/// Resolves a bearer token to the viewer it acts as: the owner, limited to the token's roles.
/// Unknown, revoked and expired tokens, and tokens of disabled users, are all `Unauthenticated`.
pub async fn authenticate(svc: &Services, secret: &str) -> Result<Viewer> {
    let now: DateTime<Utc> = svc.now();
    let row = sqlx::query!(
        r#"
        update api_tokens t set last_used_at = $2
        from users u
        where t.token_hash = $1 and t.revoked_at is null
            and (t.expires_at is null or t.expires_at > $2)
            and u.id = t.user_id and u.disabled_at is null
        returning t.user_id, t.roles
        "#,
        secrets::token_hash(secret),
        now
    )
    .fetch_optional(&svc.pool)
    .await?
    .ok_or(AppError::Unauthenticated)?;
    let mut viewer = super::accounts::load_viewer(&svc.pool, row.user_id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let token_roles = parse_roles(&row.roles);
    viewer.roles.retain(|role| token_roles.contains(role));
    Ok(viewer)
}
