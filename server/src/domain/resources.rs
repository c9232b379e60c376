//! Requestable resources and who may request and approve them.

use std::time::Duration;

use app::error::AppError;
use app::model::{Page, PrincipalRef, Resource, ResourceInput, Role, Sensitivity};
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::actor::Actor;
use super::audit::{self, Entry};
use super::identities::{optional_text, required_text};
use super::page;
use crate::error::{Result, conflict_on};

/// Lower bound on a resource's maximum grant duration.
pub const MIN_MAX_DURATION: Duration = Duration::from_secs(60);
/// Upper bound on a resource's maximum grant duration (one year).
pub const MAX_MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// A user or group named on a resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Principal {
    User(Uuid),
    Group(Uuid),
}

/// Validated resource fields.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceFields {
    pub name: String,
    pub target: String,
    pub role: String,
    pub description: String,
    pub sensitivity: Sensitivity,
    pub max_duration_secs: i32,
    pub required_approvals: i32,
    pub requesters: Vec<Principal>,
    pub approvers: Vec<Principal>,
}

/// Checks the form's fields, naming the first bad one.
pub fn parse_input(input: &ResourceInput) -> Result<ResourceFields, AppError> {
    let name = required_text("name", &input.name, 200)?;
    let target = required_text("target", &input.target, 200)?;
    let role = required_text("role", &input.role, 200)?;
    let description = optional_text("description", &input.description, 2000)?.unwrap_or_default();
    let sensitivity = input
        .sensitivity
        .trim()
        .parse::<Sensitivity>()
        .map_err(|message| AppError::invalid("sensitivity", message))?;
    let max_duration = crate::config::parse_duration(&input.max_duration)
        .map_err(|message| AppError::invalid("max_duration", message))?;
    if max_duration < MIN_MAX_DURATION || max_duration > MAX_MAX_DURATION {
        return Err(AppError::invalid(
            "max_duration",
            "must be between 1m and 365d",
        ));
    }
    let required_approvals = input
        .required_approvals
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|count| (1..=10).contains(count))
        .ok_or_else(|| {
            AppError::invalid("required_approvals", "must be a whole number from 1 to 10")
        })?;
    let requesters = parse_principals("requesters", &input.requesters)?;
    let approvers = parse_principals("approvers", &input.approvers)?;
    if approvers.is_empty() {
        return Err(AppError::invalid(
            "approvers",
            "name at least one user or group who may approve requests",
        ));
    }
    Ok(ResourceFields {
        name,
        target,
        role,
        description,
        sensitivity,
        max_duration_secs: max_duration.as_secs() as i32,
        required_approvals,
        requesters,
        approvers,
    })
}

/// Parses `user:<id>` and `group:<id>` entries, ignoring empty ones and repeats.
pub fn parse_principals(field: &str, values: &[String]) -> Result<Vec<Principal>, AppError> {
    let mut principals = Vec::new();
    for value in values
        .iter()
        .map(|value| value.trim())
        .filter(|value| !value.is_empty())
    {
        let (kind, id) = value.split_once(':').ok_or_else(|| {
            AppError::invalid(field, format!("{value:?} must be user:<id> or group:<id>"))
        })?;
        let id = Uuid::parse_str(id)
            .map_err(|_| AppError::invalid(field, format!("{value:?} has an invalid id")))?;
        let principal = match kind {
            "user" => Principal::User(id),
            "group" => Principal::Group(id),
            _ => {
                return Err(AppError::invalid(
                    field,
                    format!("{value:?} must start with user: or group:"),
                ));
            }
        };
        if !principals.contains(&principal) {
            principals.push(principal);
        }
    }
    Ok(principals)
}

/// Lists resources by name; archived ones only for admins who ask.
pub async fn list(
    pool: &PgPool,
    actor: &Actor,
    include_archived: bool,
    cursor: Option<&str>,
) -> Result<Page<Resource>> {
    actor.user()?;
    let include_archived = include_archived && actor.has(Role::Admin);
    let after = page::decode::<String>(cursor)?;
    let rows = sqlx::query!(
        r#"
        select id, name from resources
        where ($1 or archived_at is null) and ($2::text is null or name > $2)
        order by name
        limit $3
        "#,
        include_archived,
        after,
        page::PAGE_SIZE + 1
    )
    .fetch_all(pool)
    .await?;
    let keyed: Vec<(String, Uuid)> = rows.into_iter().map(|row| (row.name, row.id)).collect();
    let keys = page::split(keyed, |key| key.0.clone());
    let mut conn = pool.acquire().await?;
    let mut resources = Vec::with_capacity(keys.items.len());
    for (_, id) in keys.items {
        resources.push(load(&mut conn, id).await?);
    }
    Ok(Page {
        items: resources,
        next: keys.next,
    })
}

/// Lists the resources `actor` may request.
pub async fn requestable(pool: &PgPool, actor: &Actor) -> Result<Vec<Resource>> {
    let user_id = actor.user()?;
    if !actor.has(Role::Requester) {
        return Ok(Vec::new());
    }
    let ids = sqlx::query_scalar!(
        r#"
        select r.id from resources r
        where r.archived_at is null
            and (not exists (select 1 from resource_principals p
                    where p.resource_id = r.id and p.relation = 'requester')
                or exists (select 1 from resource_principals p
                    where p.resource_id = r.id and p.relation = 'requester'
                        and (p.user_id = $1 or p.group_id in
                            (select group_id from group_members where user_id = $1))))
        order by r.name
        "#,
        user_id
    )
    .fetch_all(pool)
    .await?;
    let mut conn = pool.acquire().await?;
    let mut resources = Vec::with_capacity(ids.len());
    for id in ids {
        resources.push(load(&mut conn, id).await?);
    }
    Ok(resources)
}

/// Loads one resource for a signed-in caller.
pub async fn get(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<Resource> {
    actor.user()?;
    let mut conn = pool.acquire().await?;
    load(&mut conn, id).await
}

/// Loads one resource with its requesters and approvers, or `NotFound`.
pub async fn load(conn: &mut PgConnection, id: Uuid) -> Result<Resource> {
    let row = sqlx::query!(
        r#"
        select id, name, target, role, description, sensitivity as "sensitivity: Sensitivity",
            max_duration_secs, required_approvals, archived_at
        from resources where id = $1
        "#,
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| AppError::not_found(format!("resource {id} does not exist")))?;
    let principals = sqlx::query!(
        r#"
        select p.relation, p.user_id, p.group_id,
            coalesce(u.display_name, g.name) as "name!"
        from resource_principals p
        left join users u on u.id = p.user_id
        left join groups g on g.id = p.group_id
        where p.resource_id = $1
        order by 4
        "#,
        id
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut requesters = Vec::new();
    let mut approvers = Vec::new();
    for principal in principals {
        let reference = PrincipalRef {
            user_id: principal.user_id,
            group_id: principal.group_id,
            name: principal.name,
        };
        if principal.relation == "requester" {
            requesters.push(reference);
        } else {
            approvers.push(reference);
        }
    }
    Ok(Resource {
        id: row.id,
        name: row.name,
        target: row.target,
        role: row.role,
        description: row.description,
        sensitivity: row.sensitivity,
        max_duration_secs: row.max_duration_secs,
        required_approvals: row.required_approvals,
        archived_at: row.archived_at,
        requesters,
        approvers,
    })
}

/// Creates a resource; only admins may.
pub async fn create(
    pool: &PgPool,
    actor: &Actor,
    now: DateTime<Utc>,
    input: &ResourceInput,
) -> Result<Resource> {
    let result = create_checked(pool, actor, now, input).await;
    audit::refusals(
        pool,
        actor,
        now,
        "resource.create",
        "resource",
        "new",
        result,
    )
    .await
}

async fn create_checked(
    pool: &PgPool,
    actor: &Actor,
    now: DateTime<Utc>,
    input: &ResourceInput,
) -> Result<Resource> {
    actor.require(Role::Admin)?;
    let fields = parse_input(input)?;
    let mut tx = pool.begin().await?;
    let id = sqlx::query_scalar!(
        r#"
        insert into resources (name, target, role, description, sensitivity, max_duration_secs,
            required_approvals, created_at, updated_at)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $8)
        returning id
        "#,
        fields.name,
        fields.target,
        fields.role,
        fields.description,
        fields.sensitivity.as_str(),
        fields.max_duration_secs,
        fields.required_approvals,
        now,
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(conflict_on(
        "resources_name_key",
        "name: another resource already has this name",
    ))?;
    replace_principals(&mut tx, id, &fields).await?;
    check_approvable(&mut tx, id, fields.required_approvals).await?;
    let resource = load(&mut tx, id).await?;
    audit::append(
        &mut tx,
        actor,
        now,
        Entry::success("resource.created", "resource", id).details(details(&resource)),
    )
    .await?;
    tx.commit().await?;
    Ok(resource)
}

/// Replaces a resource's fields; only admins may. Pending requests keep the approval count
/// they were filed with.
pub async fn update(
    pool: &PgPool,
    actor: &Actor,
    now: DateTime<Utc>,
    id: Uuid,
    input: &ResourceInput,
) -> Result<Resource> {
    let result = update_checked(pool, actor, now, id, input).await;
    audit::refusals(pool, actor, now, "resource.update", "resource", id, result).await
}

async fn update_checked(
    pool: &PgPool,
    actor: &Actor,
    now: DateTime<Utc>,
    id: Uuid,
    input: &ResourceInput,
) -> Result<Resource> {
    actor.require(Role::Admin)?;
    let fields = parse_input(input)?;
    let mut tx = pool.begin().await?;
    let before = load(&mut tx, id).await?;
    sqlx::query!(
        r#"
        update resources set name = $2, target = $3, role = $4, description = $5,
            sensitivity = $6, max_duration_secs = $7, required_approvals = $8, updated_at = $9
        where id = $1
        "#,
        id,
        fields.name,
        fields.target,
        fields.role,
        fields.description,
        fields.sensitivity.as_str(),
        fields.max_duration_secs,
        fields.required_approvals,
        now,
    )
    .execute(&mut *tx)
    .await
    .map_err(conflict_on(
        "resources_name_key",
        "name: another resource already has this name",
    ))?;
    replace_principals(&mut tx, id, &fields).await?;
    check_approvable(&mut tx, id, fields.required_approvals).await?;
    let after = load(&mut tx, id).await?;
    audit::append(
        &mut tx,
        actor,
        now,
        Entry::success("resource.updated", "resource", id)
            .details(json!({ "before": details(&before), "after": details(&after) })),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Archives or restores a resource; only admins may. Live grants are not touched.
pub async fn set_archived(
    pool: &PgPool,
    actor: &Actor,
    now: DateTime<Utc>,
    id: Uuid,
    archived: bool,
) -> Result<Resource> {
    let result = set_archived_checked(pool, actor, now, id, archived).await;
    audit::refusals(
        pool,
        actor,
        now,
        "resource.set_archived",
        "resource",
        id,
        result,
    )
    .await
}

async fn set_archived_checked(
    pool: &PgPool,
    actor: &Actor,
    now: DateTime<Utc>,
    id: Uuid,
    archived: bool,
) -> Result<Resource> {
    actor.require(Role::Admin)?;
    let mut tx = pool.begin().await?;
    let changed = sqlx::query!(
        r#"
        update resources set archived_at = case when $2 then $3::timestamptz else null end, updated_at = $3
        where id = $1 and (archived_at is null) = $2
        "#,
        id,
        archived,
        now
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let mut cancelled = Vec::new();
    if changed == 1 && archived {
        cancelled = sqlx::query_scalar!(
            r#"
            update access_requests set state = 'cancelled', decided_at = $2
            where resource_id = $1 and state = 'pending'
            returning id
            "#,
            id,
            now
        )
        .fetch_all(&mut *tx)
        .await?;
    }
    let resource = load(&mut tx, id).await?;
    if changed == 1 {
        let action = if archived {
            "resource.archived"
        } else {
            "resource.restored"
        };
        audit::append(&mut tx, actor, now, Entry::success(action, "resource", id)).await?;
        for request_id in cancelled {
            let entry = Entry::success("request.cancelled", "access_request", request_id)
                .reason("the resource was archived");
            audit::append(&mut tx, actor, now, entry).await?;
        }
    }
    tx.commit().await?;
    Ok(resource)
}

/// Fails unless enough distinct enabled users with the approver role are named (directly or
/// through a group) to give `required` approvals.
async fn check_approvable(conn: &mut PgConnection, id: Uuid, required: i32) -> Result<()> {
    let eligible = sqlx::query_scalar!(
        r#"
        select count(distinct u.id) as "count!" from users u
        join resource_principals p on p.resource_id = $1 and p.relation = 'approver'
        where u.disabled_at is null and 'approver' = any(u.roles)
            and (p.user_id = u.id
                or p.group_id in (select group_id from group_members where user_id = u.id))
        "#,
        id
    )
    .fetch_one(&mut *conn)
    .await?;
    if eligible < i64::from(required) {
        return Err(AppError::invalid(
            "approvers",
            format!(
                "{eligible} of the named approvers are enabled users with the approver role, but \
                 {required} approvals are required; name more approvers or lower the count"
            ),
        )
        .into());
    }
    Ok(())
}

async fn replace_principals(
    conn: &mut PgConnection,
    id: Uuid,
    fields: &ResourceFields,
) -> Result<()> {
    sqlx::query!("delete from resource_principals where resource_id = $1", id)
        .execute(&mut *conn)
        .await?;
    for (relation, principals) in [
        ("requester", &fields.requesters),
        ("approver", &fields.approvers),
    ] {
        for principal in principals {
            let (user_id, group_id) = match principal {
                Principal::User(id) => (Some(*id), None),
                Principal::Group(id) => (None, Some(*id)),
            };
            sqlx::query!(
                r#"
                insert into resource_principals (resource_id, relation, user_id, group_id)
                values ($1, $2, $3, $4)
                "#,
                id,
                relation,
                user_id,
                group_id
            )
            .execute(&mut *conn)
            .await
            .map_err(|error| {
                if crate::error::violated_constraint(&error)
                    .is_some_and(|name| name.ends_with("_fkey"))
                {
                    AppError::invalid(
                        format!("{relation}s"),
                        "names a user or group that does not exist",
                    )
                    .into()
                } else {
                    crate::error::Error::Database(error)
                }
            })?;
        }
    }
    Ok(())
}

/// Whether `user_id`, holding `roles`, may request `resource_id`.
pub async fn may_request(
    conn: &mut PgConnection,
    user_id: Uuid,
    roles: &[Role],
    resource_id: Uuid,
) -> Result<bool> {
    if !roles.contains(&Role::Requester) {
        return Ok(false);
    }
    let allowed = sqlx::query_scalar!(
        r#"
        select not exists (select 1 from resource_principals p
                where p.resource_id = $1 and p.relation = 'requester')
            or exists (select 1 from resource_principals p
                where p.resource_id = $1 and p.relation = 'requester'
                    and (p.user_id = $2 or p.group_id in
                        (select group_id from group_members where user_id = $2)))
            as "allowed!"
        "#,
        resource_id,
        user_id
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(allowed)
}

/// Whether `user_id` is named, directly or through a group, as an approver of `resource_id`
/// and holds the approver role and an enabled account.
pub async fn is_approver(
    conn: &mut PgConnection,
    user_id: Uuid,
    resource_id: Uuid,
) -> Result<bool> {
    let eligible = sqlx::query_scalar!(
        r#"
        select exists (
            select 1 from users u
            join resource_principals p on p.resource_id = $1 and p.relation = 'approver'
            where u.id = $2 and u.disabled_at is null and 'approver' = any(u.roles)
                and (p.user_id = u.id or p.group_id in
                    (select group_id from group_members where user_id = u.id))
        ) as "eligible!"
        "#,
        resource_id,
        user_id
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(eligible)
}

fn details(resource: &Resource) -> serde_json::Value {
    json!({
        "name": resource.name,
        "target": resource.target,
        "role": resource.role,
        "sensitivity": resource.sensitivity,
        "max_duration_secs": resource.max_duration_secs,
        "required_approvals": resource.required_approvals,
        "requesters": resource.requesters.iter().map(|p| &p.name).collect::<Vec<_>>(),
        "approvers": resource.approvers.iter().map(|p| &p.name).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ResourceInput {
        ResourceInput {
            name: "prod-db admin".into(),
            target: "postgres://prod-db".into(),
            role: "admin".into(),
            sensitivity: "high".into(),
            max_duration: "8h".into(),
            required_approvals: "2".into(),
            approvers: vec![format!("user:{}", Uuid::nil())],
            ..ResourceInput::default()
        }
    }

    #[test]
    fn parse_accepts_valid_input() {
        let fields = parse_input(&input()).unwrap();
        assert_eq!(fields.max_duration_secs, 8 * 3600);
        assert_eq!(fields.required_approvals, 2);
        assert_eq!(fields.approvers, vec![Principal::User(Uuid::nil())]);
    }

    #[test]
    fn parse_requires_an_approver() {
        let error = parse_input(&ResourceInput {
            approvers: vec![],
            ..input()
        })
        .unwrap_err();
        assert_eq!(error.field(), Some("approvers"));
    }

    #[test]
    fn parse_bounds_duration_and_approvals() {
        let short = parse_input(&ResourceInput {
            max_duration: "30s".into(),
            ..input()
        });
        assert_eq!(short.unwrap_err().field(), Some("max_duration"));
        let many = parse_input(&ResourceInput {
            required_approvals: "11".into(),
            ..input()
        });
        assert_eq!(many.unwrap_err().field(), Some("required_approvals"));
    }

    #[test]
    fn principals_reject_unknown_prefix() {
        let error = parse_principals("approvers", &["team:x".into()]).unwrap_err();
        assert_eq!(error.field(), Some("approvers"));
    }
}
