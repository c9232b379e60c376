//! Users who sign in through the OpenID provider: created at their first sign-in, keyed by
//! issuer and subject, with roles taken from their groups at every sign-in.
//!
//! The e-mail address is stored as an attribute only. No sign-in is ever matched to an existing
//! user by e-mail, verified or not, so a provider account cannot take over another user.

use app::error::AppError;
use app::model::Role;
use serde_json::json;
use uuid::Uuid;

use super::accounts::{self, NewUser, parse_roles};
use super::actor::Actor;
use super::audit::{self, Entry};
use crate::error::Result;
use crate::services::Services;

/// The person the provider vouches for, after the ID token passed every check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderIdentity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub display_name: String,
    pub groups: Vec<String>,
}

/// Signs in the user with the identity's issuer and subject, creating them and their human
/// identity on first sign-in, and sets their roles from their groups. Returns the user id.
pub async fn sign_in(svc: &Services, identity: &ProviderIdentity) -> Result<Uuid> {
    let now = svc.now();
    let roles = svc.settings.sign_in.role_map.roles_for(&identity.groups);
    let role_names: Vec<String> = roles.iter().map(|role| role.to_string()).collect();
    let mut tx = svc.pool.begin().await?;
    let existing = sqlx::query!(
        r#"
        select id, roles, disabled_at from users
        where issuer = $1 and subject = $2
        for update
        "#,
        identity.issuer,
        identity.subject
    )
    .fetch_optional(&mut *tx)
    .await?;

    let user_id = match existing {
        Some(user) if user.disabled_at.is_some() => {
            drop(tx);
            let error = AppError::forbidden(
                "your Writ account is disabled; ask a Writ administrator to enable it",
            );
            audit::append_alone(
                &svc.pool,
                &Actor::signing_in(Some(user.id), identity.display_name.clone()),
                now,
                Entry::refused("user.sign_in", "user", user.id, error.to_string())
                    .details(json!({ "method": "oidc" })),
            )
            .await;
            return Err(error.into());
        }
        Some(user) => {
            sqlx::query!(
                r#"
                update users set display_name = $2, email = $3, email_verified = $4, roles = $5,
                    last_sign_in_at = $6, updated_at = $6
                where id = $1
                "#,
                user.id,
                identity.display_name,
                identity.email,
                identity.email_verified,
                &role_names,
                now
            )
            .execute(&mut *tx)
            .await?;
            let before = parse_roles(&user.roles);
            if before != roles {
                audit::append(
                    &mut tx,
                    &Actor::signing_in(Some(user.id), identity.display_name.clone()),
                    now,
                    Entry::success("user.roles_changed", "user", user.id).details(json!({
                        "from": before,
                        "to": roles,
                        "groups": identity.groups,
                        "source": "identity provider",
                    })),
                )
                .await?;
            }
            user.id
        }
        None => create(&mut tx, now, identity, &roles).await?,
    };

    let actor = Actor::signing_in(Some(user_id), identity.display_name.clone());
    audit::append(
        &mut tx,
        &actor,
        now,
        Entry::success("user.signed_in", "user", user_id).details(json!({ "method": "oidc" })),
    )
    .await?;
    tx.commit().await?;
    Ok(user_id)
}

async fn create(
    tx: &mut sqlx::PgConnection,
    now: chrono::DateTime<chrono::Utc>,
    identity: &ProviderIdentity,
    roles: &[Role],
) -> Result<Uuid> {
    let user_id = accounts::insert_user(
        tx,
        now,
        NewUser {
            issuer: &identity.issuer,
            subject: &identity.subject,
            display_name: &identity.display_name,
            email: identity.email.as_deref(),
            email_verified: identity.email_verified,
            password_hash: None,
            roles,
            is_bootstrap: false,
        },
    )
    .await?;
    sqlx::query!(
        "update users set last_sign_in_at = $2 where id = $1",
        user_id,
        now
    )
    .execute(&mut *tx)
    .await?;
    audit::append(
        tx,
        &Actor::signing_in(Some(user_id), identity.display_name.clone()),
        now,
        Entry::success("user.created", "user", user_id).details(json!({
            "issuer": identity.issuer,
            "subject": identity.subject,
            "roles": roles,
            "groups": identity.groups,
        })),
    )
    .await?;
    Ok(user_id)
}
