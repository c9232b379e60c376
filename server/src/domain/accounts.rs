//! Signing in: local passwords, one-time sign-in links, the bootstrap administrator, and the
//! viewer loaded for each console request.

use std::sync::LazyLock;
use std::time::Duration;

use app::error::AppError;
use app::model::{Criticality, IdentityKind, IssuedLink, Role, Viewer};
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::actor::Actor;
use super::audit::{self, Entry};
use super::identities::{self, IdentityFields};
use super::secrets;
use crate::error::Result;
use crate::services::Services;

/// Issuer of local accounts; their subject is the sign-in name.
pub const LOCAL_ISSUER: &str = "local";
/// How long a sign-in link stays valid.
pub const LINK_LIFETIME: Duration = Duration::from_secs(3600);
/// Sign-in name of the bootstrap administrator.
pub const BOOTSTRAP_LOGIN: &str = "admin";
/// Failed password sign-ins for one sign-in name after which further attempts are rejected.
pub const MAX_FAILED_SIGN_INS: i64 = 10;
/// Window over which failed password sign-ins are counted (15 minutes).
pub const FAILED_SIGN_IN_WINDOW: Duration = Duration::from_secs(15 * 60);

/// An Argon2id hash of a random password, checked when a sign-in name is unknown so that the
/// answer takes as long as for a real account.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| secrets::hash_password(&secrets::new_token("")).unwrap_or_default());

/// Checks a local account's password and returns the user to sign in.
pub async fn sign_in_password(svc: &Services, login: &str, password: &str) -> Result<Uuid> {
    let now = svc.now();
    let login = login.trim().to_lowercase();
    let since =
        now - chrono::Duration::from_std(FAILED_SIGN_IN_WINDOW).map_err(anyhow::Error::from)?;
    let failures = sqlx::query_scalar!(
        r#"
        select count(*) as "count!" from audit_events
        where subject_type = 'user' and subject_id = $1 and action = 'user.sign_in'
            and outcome = 'refused' and occurred_at > $2
        "#,
        login,
        since
    )
    .fetch_one(&svc.pool)
    .await?;
    if failures >= MAX_FAILED_SIGN_INS {
        let error = AppError::RateLimited {
            message: "too many failed sign-ins for this name; wait 15 minutes or ask an admin for a sign-in link".into(),
        };
        let actor = Actor::signing_in(None, login.clone());
        audit::append_alone(
            &svc.pool,
            &actor,
            now,
            Entry::refused("user.sign_in_throttled", "user", &login, error.to_string()),
        )
        .await;
        return Err(error.into());
    }
    let user = sqlx::query!(
        r#"
        select id, password_hash, disabled_at, is_bootstrap from users
        where issuer = $1 and subject = $2
        "#,
        LOCAL_ISSUER,
        login
    )
    .fetch_optional(&svc.pool)
    .await?;
    let hash = user
        .as_ref()
        .and_then(|user| user.password_hash.clone())
        .unwrap_or_else(|| DUMMY_HASH.clone());
    let password = password.to_owned();
    let matches = tokio::task::spawn_blocking(move || secrets::verify_password(&hash, &password))
        .await
        .map_err(anyhow::Error::from)?;
    let actor = Actor::signing_in(None, login.clone());
    let allowed = svc.settings.sign_in.local || user.as_ref().is_some_and(|user| user.is_bootstrap);
    if !allowed {
        let error = local_sign_in_off();
        audit::append_alone(
            &svc.pool,
            &actor,
            now,
            Entry::refused("user.sign_in", "user", &login, error.to_string()),
        )
        .await;
        return Err(error.into());
    }
    let user = match user {
        Some(user) if matches && user.password_hash.is_some() && user.disabled_at.is_none() => user,
        _ => {
            let error = AppError::invalid("password", "the sign-in name or password is incorrect");
            audit::append_alone(
                &svc.pool,
                &actor,
                now,
                Entry::refused("user.sign_in", "user", &login, error.to_string()),
            )
            .await;
            return Err(error.into());
        }
    };
    record_sign_in(&svc.pool, user.id, now, "password").await?;
    Ok(user.id)
}

async fn record_sign_in(
    pool: &PgPool,
    user_id: Uuid,
    now: DateTime<Utc>,
    method: &str,
) -> Result<()> {
    let mut tx = pool.begin().await?;
    let name = sqlx::query_scalar!(
        "update users set last_sign_in_at = $2 where id = $1 returning display_name",
        user_id,
        now
    )
    .fetch_one(&mut *tx)
    .await?;
    let actor = Actor::signing_in(Some(user_id), name);
    audit::append(
        &mut tx,
        &actor,
        now,
        Entry::success("user.signed_in", "user", user_id).details(json!({ "method": method })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Creates a one-time sign-in link for `user_id`, valid for one hour.
pub async fn issue_link(
    conn: &mut PgConnection,
    svc: &Services,
    user_id: Uuid,
    purpose: &str,
) -> Result<IssuedLink> {
    let now = svc.now();
    let token = secrets::new_token("");
    let expires_at =
        now + chrono::Duration::from_std(LINK_LIFETIME).map_err(anyhow::Error::from)?;
    // A new link replaces any unused earlier one, so at most one link per user is valid.
    sqlx::query!(
        "delete from sign_in_links where user_id = $1 and used_at is null",
        user_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        r#"
        insert into sign_in_links (token_hash, user_id, purpose, created_at, expires_at)
        values ($1, $2, $3, $4, $5)
        "#,
        secrets::token_hash(&token),
        user_id,
        purpose,
        now,
        expires_at
    )
    .execute(&mut *conn)
    .await?;
    Ok(IssuedLink {
        url: svc.url(&format!("/sign-in/link?token={token}")),
        expires_at,
    })
}

/// Returns the display name of the user a valid link is for, without using the link.
pub async fn peek_link(svc: &Services, token: &str) -> Result<String> {
    let name = sqlx::query_scalar!(
        r#"
        select u.display_name from sign_in_links l join users u on u.id = l.user_id
        where l.token_hash = $1 and l.used_at is null and l.expires_at > $2 and u.disabled_at is null
            and ($3 or u.is_bootstrap)
        "#,
        secrets::token_hash(token),
        svc.now(),
        svc.settings.sign_in.local
    )
    .fetch_optional(&svc.pool)
    .await?;
    name.ok_or_else(|| invalid_link().into())
}

/// Uses a one-time link and returns the user to sign in.
pub async fn redeem_link(svc: &Services, token: &str) -> Result<Uuid> {
    let now = svc.now();
    let user_id = sqlx::query_scalar!(
        r#"
        update sign_in_links l set used_at = $2
        from users u
        where l.token_hash = $1 and l.used_at is null and l.expires_at > $2
            and u.id = l.user_id and u.disabled_at is null and ($3 or u.is_bootstrap)
        returning l.user_id
        "#,
        secrets::token_hash(token),
        now,
        svc.settings.sign_in.local
    )
    .fetch_optional(&svc.pool)
    .await?;
    match user_id {
        Some(user_id) => {
            record_sign_in(&svc.pool, user_id, now, "link").await?;
            Ok(user_id)
        }
        None => {
            let error = invalid_link();
            let actor = Actor::signing_in(None, "unknown");
            audit::append_alone(
                &svc.pool,
                &actor,
                now,
                Entry::refused("user.sign_in", "sign_in_link", "link", error.to_string()),
            )
            .await;
            Err(error.into())
        }
    }
}

/// The refusal of a local sign-in while `WRIT_LOCAL_SIGN_IN` is off.
pub fn local_sign_in_off() -> AppError {
    AppError::forbidden(
        "local sign-in is turned off except for the bootstrap administrator; sign in through the identity provider",
    )
}

fn invalid_link() -> AppError {
    AppError::invalid(
        "token",
        "this sign-in link is invalid, used or expired; ask an admin for a new one (or run writ sign-in-link)",
    )
}

/// Creates the bootstrap administrator on an empty database. While that account has never
/// signed in, returns a fresh one-time sign-in link for the terminal.
pub async fn bootstrap(svc: &Services) -> Result<Option<IssuedLink>> {
    let now = svc.now();
    let mut tx = svc.pool.begin().await?;
    // Two replicas starting together must not both create the administrator.
    sqlx::query!("select pg_advisory_xact_lock(7377002)")
        .execute(&mut *tx)
        .await?;
    let users = sqlx::query_scalar!(r#"select count(*) as "count!" from users"#)
        .fetch_one(&mut *tx)
        .await?;
    if users == 0 {
        let roles = Role::ALL.to_vec();
        let user_id = insert_user(
            &mut tx,
            now,
            NewUser {
                issuer: LOCAL_ISSUER,
                subject: BOOTSTRAP_LOGIN,
                display_name: "Bootstrap administrator",
                email: None,
                email_verified: false,
                password_hash: None,
                roles: &roles,
                is_bootstrap: true,
            },
        )
        .await?;
        audit::append(
            &mut tx,
            &Actor::cli(),
            now,
            Entry::success("user.created", "user", user_id).details(json!({
                "login": BOOTSTRAP_LOGIN,
                "roles": roles,
                "bootstrap": true,
            })),
        )
        .await?;
    }
    let pending = sqlx::query_scalar!(
        "select id from users where is_bootstrap and last_sign_in_at is null and disabled_at is null"
    )
    .fetch_optional(&mut *tx)
    .await?;
    let link = match pending {
        Some(user_id) => Some(issue_link(&mut tx, svc, user_id, "bootstrap").await?),
        None => None,
    };
    tx.commit().await?;
    Ok(link)
}

/// A user row to insert.
pub struct NewUser<'a> {
    pub issuer: &'a str,
    pub subject: &'a str,
    pub display_name: &'a str,
    pub email: Option<&'a str>,
    pub email_verified: bool,
    pub password_hash: Option<String>,
    pub roles: &'a [Role],
    pub is_bootstrap: bool,
}

/// Inserts a user and their human identity in the inventory; returns the user id.
pub async fn insert_user(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    user: NewUser<'_>,
) -> Result<Uuid> {
    let roles: Vec<String> = user.roles.iter().map(|role| role.to_string()).collect();
    let user_id = sqlx::query_scalar!(
        r#"
        insert into users (issuer, subject, email, email_verified, display_name, password_hash,
            roles, is_bootstrap, created_at, updated_at)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
        returning id
        "#,
        user.issuer,
        user.subject,
        user.email,
        user.email_verified,
        user.display_name,
        user.password_hash,
        &roles,
        user.is_bootstrap,
        now
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(crate::error::conflict_on(
        "users_issuer_subject_key",
        "login: another user already has this sign-in name",
    ))?;
    let fields = IdentityFields {
        kind: IdentityKind::Human,
        name: user.display_name.to_owned(),
        owner_id: None,
        environment: String::new(),
        criticality: Criticality::Medium,
        description: String::new(),
        external_id: None,
        attributes: json!({ "email": user.email, "issuer": user.issuer, "subject": user.subject }),
    };
    identities::insert(conn, &fields, Some(user_id), now).await?;
    Ok(user_id)
}

/// Loads the viewer for a session's user; `None` when the user is gone or disabled.
pub async fn load_viewer(pool: &PgPool, user_id: Uuid) -> Result<Option<Viewer>> {
    let row = sqlx::query!(
        r#"
        select u.id, u.display_name, u.email, u.roles, i.id as "identity_id?"
        from users u left join identities i on i.user_id = u.id
        where u.id = $1 and u.disabled_at is null
        "#,
        user_id
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| Viewer {
        user_id: row.id,
        display_name: row.display_name,
        email: row.email,
        roles: parse_roles(&row.roles),
        identity_id: row.identity_id,
    }))
}

/// Converts stored role names, skipping any this version does not know.
pub fn parse_roles(names: &[String]) -> Vec<Role> {
    names.iter().filter_map(|name| name.parse().ok()).collect()
}
