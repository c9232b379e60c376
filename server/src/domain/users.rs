//! Console users and groups, managed by admins.

use app::error::AppError;
use app::model::NewUserInput;
use app::model::{Group, IssuedLink, Page, PrincipalRef, Role, User};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::accounts::{self, LOCAL_ISSUER, NewUser, parse_roles};
use super::actor::Actor;
use super::audit::{self, Entry};
use super::identities::{optional_text, required_text};
use super::page;
use super::secrets;
use crate::error::Result;
use crate::services::Services;

/// Shortest accepted password, in characters.
pub const MIN_PASSWORD: usize = 12;

/// Lists users by name, one page after `cursor`; only admins may.
pub async fn list(svc: &Services, actor: &Actor, cursor: Option<&str>) -> Result<Page<User>> {
    actor.require(Role::Admin)?;
    let (after_name, after_id) = page::decode::<(String, Uuid)>(cursor)?.unzip();
    let keys = sqlx::query!(
        r#"
        select id, display_name from users
        where $1::text is null or (display_name, id) > ($1, $2::uuid)
        order by display_name, id
        limit $3
        "#,
        after_name,
        after_id,
        page::PAGE_SIZE + 1
    )
    .fetch_all(&svc.pool)
    .await?;
    let keyed: Vec<(String, Uuid)> = keys
        .into_iter()
        .map(|key| (key.display_name, key.id))
        .collect();
    let keys = page::split(keyed, |key| key.clone());
    let mut conn = svc.pool.acquire().await?;
    let mut users = Vec::with_capacity(keys.items.len());
    for (_, id) in keys.items {
        users.push(load(&mut conn, id).await?);
    }
    Ok(Page {
        items: users,
        next: keys.next,
    })
}

/// Loads one user, or `NotFound`.
pub async fn load(conn: &mut PgConnection, id: Uuid) -> Result<User> {
    let row = sqlx::query!(
        r#"
        select u.id, u.issuer, u.subject, u.display_name, u.email, u.roles, u.is_bootstrap,
            u.password_hash is not null as "has_password!", u.disabled_at, u.last_sign_in_at,
            coalesce(array(select g.name from groups g join group_members m on m.group_id = g.id
                where m.user_id = u.id order by g.name), '{}') as "groups!"
        from users u where u.id = $1
        "#,
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| AppError::not_found(format!("user {id} does not exist")))?;
    Ok(User {
        id: row.id,
        issuer: row.issuer,
        subject: row.subject,
        display_name: row.display_name,
        email: row.email,
        roles: parse_roles(&row.roles),
        is_bootstrap: row.is_bootstrap,
        has_password: row.has_password,
        disabled_at: row.disabled_at,
        last_sign_in_at: row.last_sign_in_at,
        groups: row.groups,
    })
}

/// Parses role names, naming the first unknown one.
pub fn parse_role_names(names: &[String]) -> Result<Vec<Role>, AppError> {
    let mut roles = Vec::new();
    for name in names
        .iter()
        .map(|name| name.trim())
        .filter(|name| !name.is_empty())
    {
        let role = name
            .parse::<Role>()
            .map_err(|message| AppError::invalid("roles", format!("{name:?}: {message}")))?;
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    roles.sort();
    Ok(roles)
}

/// Checks a sign-in name: 1 to 64 characters of lower-case letters, digits, `.`, `_`, `-`, `@`.
pub fn parse_login(login: &str) -> Result<String, AppError> {
    let login = login.trim().to_lowercase();
    let valid = !login.is_empty()
        && login.len() <= 64
        && login
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if valid {
        Ok(login)
    } else {
        Err(AppError::invalid(
            "login",
            "must be 1 to 64 letters, digits, dots, dashes, underscores or @",
        ))
    }
}

/// Creates a local user with a password, or with a one-time sign-in link when none is given.
pub async fn create_local(
    svc: &Services,
    actor: &Actor,
    input: &NewUserInput,
) -> Result<(User, Option<IssuedLink>)> {
    let now = svc.now();
    let result = async {
        actor.require(Role::Admin)?;
        if !svc.settings.sign_in.local {
            return Err(AppError::conflict(
                "local sign-in is turned off (WRIT_LOCAL_SIGN_IN=false), so a new local user could not sign in; people sign in through the identity provider",
            )
            .into());
        }
        let login = parse_login(&input.login)?;
        let display_name = required_text("display_name", &input.display_name, 200)?;
        let email = optional_text("email", &input.email, 320)?;
        if email.as_deref().is_some_and(|email| !email.contains('@')) {
            return Err(AppError::invalid(
                "email",
                "must be an e-mail address such as ada@example.com",
            )
            .into());
        }
        let roles = parse_role_names(&input.roles)?;
        let password_hash = if input.password.is_empty() {
            None
        } else if input.password.chars().count() < MIN_PASSWORD {
            return Err(AppError::invalid(
                "password",
                format!("must be at least {MIN_PASSWORD} characters"),
            )
            .into());
        } else {
            let password = input.password.clone();
            Some(
                tokio::task::spawn_blocking(move || secrets::hash_password(&password))
                    .await
                    .map_err(anyhow::Error::from)??,
            )
        };
        let with_password = password_hash.is_some();
        let mut tx = svc.pool.begin().await?;
        let user_id = accounts::insert_user(
            &mut tx,
            now,
            NewUser {
                issuer: LOCAL_ISSUER,
                subject: &login,
                display_name: &display_name,
                email: email.as_deref(),
                email_verified: false,
                password_hash,
                roles: &roles,
                is_bootstrap: false,
            },
        )
        .await?;
        let link = if with_password {
            None
        } else {
            Some(accounts::issue_link(&mut tx, svc, user_id, "new_user").await?)
        };
        audit::append(
            &mut tx,
            actor,
            now,
            Entry::success("user.created", "user", user_id).details(json!({
                "login": login,
                "roles": roles,
                "with_password": with_password,
            })),
        )
        .await?;
        let user = load(&mut tx, user_id).await?;
        tx.commit().await?;
        Ok((user, link))
    }
    .await;
    audit::refusals(
        &svc.pool,
        actor,
        now,
        "user.create",
        "user",
        input.login.trim(),
        result,
    )
    .await
}

/// Replaces a user's roles; at least one enabled admin must remain.
pub async fn set_roles(svc: &Services, actor: &Actor, id: Uuid, names: &[String]) -> Result<User> {
    let now = svc.now();
    let result = async {
        actor.require(Role::Admin)?;
        let roles = parse_role_names(names)?;
        let role_names: Vec<String> = roles.iter().map(|role| role.to_string()).collect();
        let mut tx = svc.pool.begin().await?;
        lock_admins(&mut tx).await?;
        let before = load(&mut tx, id).await?;
        sqlx::query!(
            "update users set roles = $2, updated_at = $3 where id = $1",
            id,
            &role_names,
            now
        )
        .execute(&mut *tx)
        .await?;
        ensure_an_admin_remains(&mut tx).await?;
        audit::append(
            &mut tx,
            actor,
            now,
            Entry::success("user.roles_changed", "user", id).details(json!({
                "from": before.roles,
                "to": roles,
            })),
        )
        .await?;
        let user = load(&mut tx, id).await?;
        tx.commit().await?;
        Ok(user)
    }
    .await;
    audit::refusals(&svc.pool, actor, now, "user.set_roles", "user", id, result).await
}

/// Disables a user, ending their sessions and disabling their identity, or re-enables them.
pub async fn set_disabled(svc: &Services, actor: &Actor, id: Uuid, disabled: bool) -> Result<User> {
    let now = svc.now();
    let result = async {
        actor.require(Role::Admin)?;
        if disabled && actor.user_id == Some(id) {
            return Err(AppError::conflict("you cannot disable your own account").into());
        }
        let mut tx = svc.pool.begin().await?;
        lock_admins(&mut tx).await?;
        let changed = sqlx::query!(
            r#"
            update users set disabled_at = case when $2 then $3::timestamptz else null end, updated_at = $3
            where id = $1 and (disabled_at is null) = $2
            "#,
            id,
            disabled,
            now
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let user = load(&mut tx, id).await?;
        if changed == 1 {
            ensure_an_admin_remains(&mut tx).await?;
            let status = if disabled { "disabled" } else { "active" };
            sqlx::query!("update identities set status = $2, updated_at = $3 where user_id = $1", id, status, now)
                .execute(&mut *tx)
                .await?;
            let mut ended = Vec::new();
            if disabled {
                sqlx::query!("delete from sessions where user_id = $1", id).execute(&mut *tx).await?;
                ended = end_access_of_disabled_user(&mut tx, actor, id, now).await?;
            }
            let action = if disabled { "user.disabled" } else { "user.enabled" };
            audit::append(&mut tx, actor, now, Entry::success(action, "user", id)).await?;
            for entry in ended {
                audit::append(&mut tx, actor, now, entry).await?;
            }
        }
        tx.commit().await?;
        Ok(user)
    }
    .await;
    audit::refusals(
        &svc.pool,
        actor,
        now,
        "user.set_disabled",
        "user",
        id,
        result,
    )
    .await
}

/// Revokes the live grants a disabled user requested or holds and cancels their pending
/// requests; returns the audit entries for them.
async fn end_access_of_disabled_user(
    conn: &mut PgConnection,
    actor: &Actor,
    user_id: Uuid,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<Entry>> {
    const REASON: &str = "the user was disabled";
    let grants = sqlx::query_scalar!(
        r#"
        update grants set state = 'revoked', ended_at = $2, ended_by = $3, end_reason = $4
        where state in ('scheduled', 'active', 'suspended') and expires_at > $2
            and (requester_id = $1 or subject_id in (select id from identities where user_id = $1))
        returning id
        "#,
        user_id,
        now,
        actor.user_id,
        REASON
    )
    .fetch_all(&mut *conn)
    .await?;
    let requests = sqlx::query_scalar!(
        r#"
        update access_requests set state = 'cancelled', decided_at = $2
        where state = 'pending' and requester_id = $1
        returning id
        "#,
        user_id,
        now
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut entries: Vec<Entry> = grants
        .into_iter()
        .map(|id| Entry::success("grant.revoked_by_admin", "grant", id).reason(REASON))
        .collect();
    entries.extend(
        requests
            .into_iter()
            .map(|id| Entry::success("request.cancelled", "access_request", id).reason(REASON)),
    );
    Ok(entries)
}

/// Serialises changes that could remove the last admin.
async fn lock_admins(conn: &mut PgConnection) -> Result<()> {
    sqlx::query!("select pg_advisory_xact_lock(7377003)")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn ensure_an_admin_remains(conn: &mut PgConnection) -> Result<()> {
    let admins = sqlx::query_scalar!(
        r#"select count(*) as "count!" from users where 'admin' = any(roles) and disabled_at is null"#
    )
    .fetch_one(&mut *conn)
    .await?;
    if admins == 0 {
        return Err(
            AppError::conflict("at least one enabled user must keep the admin role").into(),
        );
    }
    Ok(())
}

/// Issues a one-time sign-in link for a local user; only admins may.
pub async fn issue_link(svc: &Services, actor: &Actor, id: Uuid) -> Result<IssuedLink> {
    let now = svc.now();
    let result = async {
        actor.require(Role::Admin)?;
        let mut tx = svc.pool.begin().await?;
        let user = load(&mut tx, id).await?;
        if user.issuer != LOCAL_ISSUER {
            return Err(AppError::conflict("this user signs in through the identity provider; sign-in links are for local accounts").into());
        }
        if user.disabled_at.is_some() {
            return Err(AppError::conflict("this user is disabled; enable them first").into());
        }
        if !svc.settings.sign_in.local && !user.is_bootstrap {
            return Err(AppError::conflict("local sign-in is turned off (WRIT_LOCAL_SIGN_IN=false) except for the bootstrap administrator; this user signs in through the identity provider").into());
        }
        let link = accounts::issue_link(&mut tx, svc, id, "admin").await?;
        audit::append(&mut tx, actor, now, Entry::success("user.sign_in_link_issued", "user", id)).await?;
        tx.commit().await?;
        Ok(link)
    }
    .await;
    audit::refusals(
        &svc.pool,
        actor,
        now,
        "user.issue_sign_in_link",
        "user",
        id,
        result,
    )
    .await
}

/// Changes the actor's own local password after checking the current one.
pub async fn change_password(
    svc: &Services,
    actor: &Actor,
    current: &str,
    new: &str,
) -> Result<()> {
    let now = svc.now();
    let result = async {
        let user_id = actor.user()?;
        if new.chars().count() < MIN_PASSWORD {
            return Err(AppError::invalid(
                "new_password",
                format!("must be at least {MIN_PASSWORD} characters"),
            )
            .into());
        }
        let stored = sqlx::query_scalar!(
            "select password_hash from users where id = $1 and issuer = $2",
            user_id,
            LOCAL_ISSUER
        )
        .fetch_optional(&svc.pool)
        .await?
        .flatten();
        // An account created with a sign-in link sets its first password without a current one.
        if let Some(hash) = stored {
            let current = current.to_owned();
            let matches =
                tokio::task::spawn_blocking(move || secrets::verify_password(&hash, &current))
                    .await
                    .map_err(anyhow::Error::from)?;
            if !matches {
                return Err(AppError::invalid("current_password", "is incorrect").into());
            }
        }
        let new = new.to_owned();
        let hash = tokio::task::spawn_blocking(move || secrets::hash_password(&new))
            .await
            .map_err(anyhow::Error::from)??;
        let mut tx = svc.pool.begin().await?;
        let changed = sqlx::query!(
            "update users set password_hash = $2, updated_at = $3 where id = $1 and issuer = $4",
            user_id,
            hash,
            now,
            LOCAL_ISSUER
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(AppError::conflict(
                "your account signs in through the identity provider and has no local password",
            )
            .into());
        }
        // Every session of the user ends; the caller starts a new one for the current browser.
        sqlx::query!("delete from sessions where user_id = $1", user_id)
            .execute(&mut *tx)
            .await?;
        audit::append(
            &mut tx,
            actor,
            now,
            Entry::success("user.password_changed", "user", user_id),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    let subject = actor.user_id.map(|id| id.to_string()).unwrap_or_default();
    audit::refusals(
        &svc.pool,
        actor,
        now,
        "user.change_password",
        "user",
        subject,
        result,
    )
    .await
}

/// Lists groups with their members; only admins may.
pub async fn list_groups(
    svc: &Services,
    actor: &Actor,
    cursor: Option<&str>,
) -> Result<Page<Group>> {
    actor.require(Role::Admin)?;
    let after = page::decode::<String>(cursor)?;
    let names = sqlx::query!(
        "select id, name from groups where $1::text is null or name > $1 order by name limit $2",
        after,
        page::PAGE_SIZE + 1
    )
    .fetch_all(&svc.pool)
    .await?;
    let keyed: Vec<(String, Uuid)> = names.into_iter().map(|row| (row.name, row.id)).collect();
    let keys = page::split(keyed, |key| key.0.clone());
    let mut conn = svc.pool.acquire().await?;
    let mut groups = Vec::with_capacity(keys.items.len());
    for (_, id) in keys.items {
        groups.push(load_group(&mut conn, id).await?);
    }
    Ok(Page {
        items: groups,
        next: keys.next,
    })
}

async fn load_group(conn: &mut PgConnection, id: Uuid) -> Result<Group> {
    let group = sqlx::query!("select id, name, description from groups where id = $1", id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| AppError::not_found(format!("group {id} does not exist")))?;
    let members = sqlx::query!(
        r#"
        select u.id, u.display_name from group_members m join users u on u.id = m.user_id
        where m.group_id = $1 order by u.display_name
        "#,
        id
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|member| PrincipalRef {
        user_id: Some(member.id),
        group_id: None,
        name: member.display_name,
    })
    .collect();
    Ok(Group {
        id: group.id,
        name: group.name,
        description: group.description,
        members,
    })
}

/// Creates a group; only admins may.
pub async fn create_group(
    svc: &Services,
    actor: &Actor,
    name: &str,
    description: &str,
) -> Result<Group> {
    let now = svc.now();
    let result = async {
        actor.require(Role::Admin)?;
        let name = required_text("name", name, 200)?;
        let description = optional_text("description", description, 2000)?.unwrap_or_default();
        let mut tx = svc.pool.begin().await?;
        let id = sqlx::query_scalar!(
            "insert into groups (name, description) values ($1, $2) returning id",
            name,
            description
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(crate::error::conflict_on(
            "groups_name_key",
            "name: another group already has this name",
        ))?;
        audit::append(
            &mut tx,
            actor,
            now,
            Entry::success("group.created", "group", id).details(json!({ "name": name })),
        )
        .await?;
        let group = load_group(&mut tx, id).await?;
        tx.commit().await?;
        Ok(group)
    }
    .await;
    audit::refusals(
        &svc.pool,
        actor,
        now,
        "group.create",
        "group",
        name.trim(),
        result,
    )
    .await
}

/// Adds a user to a group or removes them; only admins may.
pub async fn set_group_member(
    svc: &Services,
    actor: &Actor,
    group_id: Uuid,
    user_id: Uuid,
    member: bool,
) -> Result<Group> {
    let now = svc.now();
    let result = async {
        actor.require(Role::Admin)?;
        let mut tx = svc.pool.begin().await?;
        load_group(&mut tx, group_id).await?;
        load(&mut tx, user_id).await.map_err(|_| AppError::invalid("user_id", "no user has this id"))?;
        let changed = if member {
            sqlx::query!(
                "insert into group_members (group_id, user_id) values ($1, $2) on conflict do nothing",
                group_id,
                user_id
            )
            .execute(&mut *tx)
            .await?
            .rows_affected()
        } else {
            sqlx::query!("delete from group_members where group_id = $1 and user_id = $2", group_id, user_id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        };
        if changed == 1 {
            let action = if member { "group.member_added" } else { "group.member_removed" };
            audit::append(&mut tx, actor, now, Entry::success(action, "group", group_id).details(json!({ "user_id": user_id }))).await?;
        }
        let group = load_group(&mut tx, group_id).await?;
        tx.commit().await?;
        Ok(group)
    }
    .await;
    audit::refusals(
        &svc.pool,
        actor,
        now,
        "group.set_member",
        "group",
        group_id,
        result,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_is_normalised_and_checked() {
        assert_eq!(parse_login(" Ada.Lovelace "), Ok("ada.lovelace".into()));
        assert_eq!(
            parse_login("ada lovelace").unwrap_err().field(),
            Some("login")
        );
        assert_eq!(parse_login("").unwrap_err().field(), Some("login"));
    }

    #[test]
    fn role_names_reject_unknown() {
        let roles =
            parse_role_names(&["approver".into(), "admin".into(), "approver".into()]).unwrap();
        assert_eq!(roles, vec![Role::Admin, Role::Approver]);
        assert_eq!(
            parse_role_names(&["root".into()]).unwrap_err().field(),
            Some("roles")
        );
    }
}
