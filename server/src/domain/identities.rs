//! The identity inventory: listing, creating, editing and disabling identities.

use app::error::AppError;
use app::model::{
    Criticality, Identity, IdentityFilter, IdentityInput, IdentityKind, IdentityStatus, Page, Role,
};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::actor::Actor;
use super::audit::{self, Entry};
use super::page;
use crate::error::{Result, conflict_on};

/// Longest accepted identity name, in characters.
pub const MAX_NAME: usize = 200;
/// Longest accepted environment, in characters.
pub const MAX_ENVIRONMENT: usize = 64;
/// Longest accepted description, in characters.
pub const MAX_DESCRIPTION: usize = 2000;
/// Longest accepted external id, in characters.
pub const MAX_EXTERNAL_ID: usize = 200;
/// Largest accepted attributes object, in bytes of JSON.
pub const MAX_ATTRIBUTES_BYTES: usize = 16 * 1024;

/// Validated identity fields, ready to store.
#[derive(Clone, Debug, PartialEq)]
pub struct IdentityFields {
    pub kind: IdentityKind,
    pub name: String,
    pub owner_id: Option<Uuid>,
    pub environment: String,
    pub criticality: Criticality,
    pub description: String,
    pub external_id: Option<String>,
    pub attributes: Value,
}

/// Checks the form's fields and converts them, naming the first bad field.
pub fn parse_input(input: &IdentityInput) -> Result<IdentityFields, AppError> {
    let kind = input
        .kind
        .trim()
        .parse::<IdentityKind>()
        .map_err(|message| AppError::invalid("kind", message))?;
    let name = required_text("name", &input.name, MAX_NAME)?;
    let owner_id = optional_uuid("owner_id", &input.owner_id)?;
    let environment = optional_text("environment", &input.environment, MAX_ENVIRONMENT)?
        .unwrap_or_default()
        .to_lowercase();
    let criticality = match input.criticality.trim() {
        "" => Criticality::Medium,
        text => text
            .parse::<Criticality>()
            .map_err(|message| AppError::invalid("criticality", message))?,
    };
    let description =
        optional_text("description", &input.description, MAX_DESCRIPTION)?.unwrap_or_default();
    let external_id = optional_text("external_id", &input.external_id, MAX_EXTERNAL_ID)?;
    let attributes = parse_attributes(&input.attributes)?;
    Ok(IdentityFields {
        kind,
        name,
        owner_id,
        environment,
        criticality,
        description,
        external_id,
        attributes,
    })
}

/// Parses the free attributes: empty for none, otherwise a JSON object.
pub fn parse_attributes(text: &str) -> Result<Value, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(json!({}));
    }
    if text.len() > MAX_ATTRIBUTES_BYTES {
        return Err(AppError::invalid(
            "attributes",
            format!("must be at most {MAX_ATTRIBUTES_BYTES} bytes of JSON"),
        ));
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|error| AppError::invalid("attributes", format!("is not valid JSON: {error}")))?;
    if !value.is_object() {
        return Err(AppError::invalid(
            "attributes",
            r#"must be a JSON object such as {"team": "payments"}"#,
        ));
    }
    // PostgreSQL's jsonb cannot store the NUL character, in keys or in strings.
    if value.to_string().contains("\\u0000") {
        return Err(AppError::invalid(
            "attributes",
            "must not contain the NUL character (\\u0000)",
        ));
    }
    Ok(value)
}

/// Trims `value` and fails unless it is non-empty and at most `max` characters.
pub fn required_text(field: &str, value: &str, max: usize) -> Result<String, AppError> {
    optional_text(field, value, max)?.ok_or_else(|| AppError::invalid(field, "is required"))
}

/// Trims `value`; empty becomes `None`, and more than `max` characters fails.
pub fn optional_text(field: &str, value: &str, max: usize) -> Result<Option<String>, AppError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if value.chars().count() > max {
        return Err(AppError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(AppError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    if value.chars().any(is_invisible_format_character) {
        return Err(AppError::invalid(
            field,
            "must not contain invisible formatting characters (zero-width or direction overrides)",
        ));
    }
    Ok(Some(value.to_owned()))
}

/// Whether `c` is a zero-width or bidirectional formatting character, which can make text read
/// differently from what it is.
fn is_invisible_format_character(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// Parses an optional UUID field; empty becomes `None`.
pub fn optional_uuid(field: &str, value: &str) -> Result<Option<Uuid>, AppError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    Uuid::parse_str(value).map(Some).map_err(|_| {
        AppError::invalid(
            field,
            "must be an id such as 0b7c6f7e-52a1-4c1e-9f0e-2b1f3f0b9a51",
        )
    })
}

/// Lists identities matching `filter` in name order, one page after `cursor`.
pub async fn list(
    pool: &PgPool,
    actor: &Actor,
    filter: &IdentityFilter,
    cursor: Option<&str>,
) -> Result<Page<Identity>> {
    actor.require_any(&[Role::Admin, Role::Auditor, Role::Approver, Role::Requester])?;
    let after = page::decode::<(String, Uuid)>(cursor)?;
    if after.as_ref().is_some_and(|(name, _)| name.contains('\0')) {
        return Err(AppError::invalid(
            "cursor",
            "is not a cursor this server issued; start again from the first page",
        )
        .into());
    }
    for (field, value) in [("q", &filter.q), ("environment", &filter.environment)] {
        if value.as_deref().is_some_and(|text| text.contains('\0')) {
            return Err(AppError::invalid(field, "must not contain the NUL character").into());
        }
    }
    let (after_name, after_id) = match after {
        Some((name, id)) => (Some(name), Some(id)),
        None => (None, None),
    };
    let pattern = filter
        .q
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(|q| format!("%{}%", escape_like(q)));
    let environment = filter
        .environment
        .as_deref()
        .map(str::trim)
        .filter(|environment| !environment.is_empty())
        .map(str::to_lowercase);
    let rows = sqlx::query_as!(
        Identity,
        r#"
        select i.id, i.kind as "kind: IdentityKind", i.name, i.owner_id, o.name as "owner_name?",
            i.environment, i.criticality as "criticality: Criticality", i.description,
            i.external_id, i.status as "status: IdentityStatus", i.last_used_at, i.attributes,
            i.user_id, i.created_at, i.updated_at
        from identities i
        left join identities o on o.id = i.owner_id
        where ($1::text is null or i.kind = $1)
            and ($2::text is null or i.environment = $2)
            and ($3::text is null or i.status = $3)
            and ($4::uuid is null or i.owner_id = $4)
            and (not $5 or (i.owner_id is null and i.kind <> 'human'))
            and ($6::text is null
                or (i.name || ' ' || coalesce(i.external_id, '') || ' ' || i.description) ilike $6)
            and ($7::text is null or (i.name, i.id) > ($7, $8::uuid))
        order by i.name, i.id
        limit $9
        "#,
        filter.kind.map(IdentityKind::as_str),
        environment,
        filter.status.map(IdentityStatus::as_str),
        filter.owner_id,
        filter.unowned,
        pattern,
        after_name,
        after_id,
        page::PAGE_SIZE + 1,
    )
    .fetch_all(pool)
    .await?;
    Ok(page::split(rows, |identity| {
        (identity.name.clone(), identity.id)
    }))
}

/// Loads one identity for a signed-in caller.
pub async fn get(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<Identity> {
    actor.require_any(&[Role::Admin, Role::Auditor, Role::Approver, Role::Requester])?;
    let mut conn = pool.acquire().await?;
    load(&mut conn, id).await
}

/// Loads one identity, or `NotFound`.
pub async fn load(conn: &mut PgConnection, id: Uuid) -> Result<Identity> {
    sqlx::query_as!(
        Identity,
        r#"
        select i.id, i.kind as "kind: IdentityKind", i.name, i.owner_id, o.name as "owner_name?",
            i.environment, i.criticality as "criticality: Criticality", i.description,
            i.external_id, i.status as "status: IdentityStatus", i.last_used_at, i.attributes,
            i.user_id, i.created_at, i.updated_at
        from identities i
        left join identities o on o.id = i.owner_id
        where i.id = $1
        "#,
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| AppError::not_found(format!("identity {id} does not exist")).into())
}

/// Adds an identity; only admins may.
pub async fn create(
    pool: &PgPool,
    actor: &Actor,
    now: DateTime<Utc>,
    input: &IdentityInput,
) -> Result<Identity> {
    let result = create_checked(pool, actor, now, input).await;
    audit::refusals(
        pool,
        actor,
        now,
        "identity.create",
        "identity",
        "new",
        result,
    )
    .await
}

async fn create_checked(
    pool: &PgPool,
    actor: &Actor,
    now: DateTime<Utc>,
    input: &IdentityInput,
) -> Result<Identity> {
    actor.require(Role::Admin)?;
    let fields = parse_input(input)?;
    let mut tx = pool.begin().await?;
    check_owner(&mut tx, fields.owner_id, None).await?;
    let id = insert(&mut tx, &fields, None, now).await?;
    let identity = load(&mut tx, id).await?;
    audit::append(
        &mut tx,
        actor,
        now,
        Entry::success("identity.created", "identity", id).details(json!({
            "kind": identity.kind,
            "name": identity.name,
            "owner_id": identity.owner_id,
            "environment": identity.environment,
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(identity)
}

/// Inserts validated fields and returns the new id. `user_id` links a human identity to its
/// console user.
pub async fn insert(
    conn: &mut PgConnection,
    fields: &IdentityFields,
    user_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Uuid> {
    let id = sqlx::query_scalar!(
        r#"
        insert into identities (kind, name, owner_id, environment, criticality, description,
            external_id, attributes, user_id, created_at, updated_at)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
        returning id
        "#,
        fields.kind.as_str(),
        fields.name,
        fields.owner_id,
        fields.environment,
        fields.criticality.as_str(),
        fields.description,
        fields.external_id,
        fields.attributes,
        user_id,
        now,
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(conflict_on(
        "identities_external_id_key",
        "external_id: another identity already has this external id",
    ))?;
    Ok(id)
}

/// Replaces an identity's editable fields; only admins may.
pub async fn update(
    pool: &PgPool,
    actor: &Actor,
    now: DateTime<Utc>,
    id: Uuid,
    input: &IdentityInput,
) -> Result<Identity> {
    let result = update_checked(pool, actor, now, id, input).await;
    audit::refusals(pool, actor, now, "identity.update", "identity", id, result).await
}

async fn update_checked(
    pool: &PgPool,
    actor: &Actor,
    now: DateTime<Utc>,
    id: Uuid,
    input: &IdentityInput,
) -> Result<Identity> {
    actor.require(Role::Admin)?;
    let fields = parse_input(input)?;
    let mut tx = pool.begin().await?;
    // The row lock makes a concurrent owner assignment (which share-locks the owner) wait, so
    // an identity cannot stop being human while someone names it as an owner.
    sqlx::query!("select id from identities where id = $1 for update", id)
        .fetch_optional(&mut *tx)
        .await?;
    let before = load(&mut tx, id).await?;
    if before.kind == IdentityKind::Human && fields.kind != IdentityKind::Human {
        let owned = sqlx::query_scalar!(
            r#"select count(*) as "count!" from identities where owner_id = $1"#,
            id
        )
        .fetch_one(&mut *tx)
        .await?;
        if owned > 0 {
            return Err(AppError::invalid(
                "kind",
                format!("this person owns {owned} identities and must stay human; give them another owner first"),
            )
            .into());
        }
    }
    if before.user_id.is_some() && fields.kind != IdentityKind::Human {
        return Err(AppError::invalid(
            "kind",
            "this identity belongs to a console user and must stay human",
        )
        .into());
    }
    check_owner(&mut tx, fields.owner_id, Some(id)).await?;
    sqlx::query!(
        r#"
        update identities set kind = $2, name = $3, owner_id = $4, environment = $5,
            criticality = $6, description = $7, external_id = $8, attributes = $9,
            updated_at = $10
        where id = $1
        "#,
        id,
        fields.kind.as_str(),
        fields.name,
        fields.owner_id,
        fields.environment,
        fields.criticality.as_str(),
        fields.description,
        fields.external_id,
        fields.attributes,
        now,
    )
    .execute(&mut *tx)
    .await
    .map_err(conflict_on(
        "identities_external_id_key",
        "external_id: another identity already has this external id",
    ))?;
    let after = load(&mut tx, id).await?;
    audit::append(
        &mut tx,
        actor,
        now,
        Entry::success("identity.updated", "identity", id).details(json!({
            "before": summary(&before),
            "after": summary(&after),
        })),
    )
    .await?;
    if before.owner_id != after.owner_id {
        audit::append(
            &mut tx,
            actor,
            now,
            Entry::success("identity.owner_assigned", "identity", id).details(json!({
                "from": before.owner_id,
                "to": after.owner_id,
            })),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(after)
}

/// Disables or re-enables an identity; only admins may.
pub async fn set_status(
    pool: &PgPool,
    actor: &Actor,
    now: DateTime<Utc>,
    id: Uuid,
    status: IdentityStatus,
) -> Result<Identity> {
    let result = set_status_checked(pool, actor, now, id, status).await;
    audit::refusals(
        pool,
        actor,
        now,
        "identity.set_status",
        "identity",
        id,
        result,
    )
    .await
}

async fn set_status_checked(
    pool: &PgPool,
    actor: &Actor,
    now: DateTime<Utc>,
    id: Uuid,
    status: IdentityStatus,
) -> Result<Identity> {
    actor.require(Role::Admin)?;
    let mut tx = pool.begin().await?;
    let changed = sqlx::query!(
        "update identities set status = $2, updated_at = $3 where id = $1 and status <> $2",
        id,
        status.as_str(),
        now
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let identity = load(&mut tx, id).await?;
    if changed == 1 {
        let action = match status {
            IdentityStatus::Disabled => "identity.disabled",
            IdentityStatus::Active => "identity.enabled",
        };
        audit::append(&mut tx, actor, now, Entry::success(action, "identity", id)).await?;
    }
    tx.commit().await?;
    Ok(identity)
}

/// Fails unless `owner_id` is absent or names an existing human identity other than `own_id`.
pub async fn check_owner(
    conn: &mut PgConnection,
    owner_id: Option<Uuid>,
    own_id: Option<Uuid>,
) -> Result<()> {
    let Some(owner_id) = owner_id else {
        return Ok(());
    };
    if Some(owner_id) == own_id {
        return Err(AppError::invalid("owner_id", "an identity cannot own itself").into());
    }
    let kind = sqlx::query_scalar!(
        r#"select kind as "kind: IdentityKind" from identities where id = $1 for share"#,
        owner_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    match kind {
        None => Err(AppError::invalid("owner_id", "no identity has this id").into()),
        Some(IdentityKind::Human) => Ok(()),
        Some(_) => Err(AppError::invalid(
            "owner_id",
            "the owner must be a human identity, the person accountable for this one",
        )
        .into()),
    }
}

/// Escapes `%`, `_` and `\` so that user text matches literally inside a LIKE pattern.
pub fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

fn summary(identity: &Identity) -> Value {
    json!({
        "kind": identity.kind,
        "name": identity.name,
        "owner_id": identity.owner_id,
        "environment": identity.environment,
        "criticality": identity.criticality,
        "external_id": identity.external_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> IdentityInput {
        IdentityInput {
            kind: "service_account".into(),
            name: " billing-exporter ".into(),
            environment: "Production".into(),
            ..IdentityInput::default()
        }
    }

    #[test]
    fn parse_trims_and_defaults() {
        let fields = parse_input(&input()).unwrap();
        assert_eq!(fields.name, "billing-exporter");
        assert_eq!(fields.environment, "production");
        assert_eq!(fields.criticality, Criticality::Medium);
        assert_eq!(fields.attributes, json!({}));
    }

    #[test]
    fn parse_names_bad_kind() {
        let error = parse_input(&IdentityInput {
            kind: "robot".into(),
            ..input()
        })
        .unwrap_err();
        assert_eq!(error.field(), Some("kind"));
    }

    #[test]
    fn parse_requires_name() {
        let error = parse_input(&IdentityInput {
            name: "   ".into(),
            ..input()
        })
        .unwrap_err();
        assert_eq!(error.field(), Some("name"));
    }

    #[test]
    fn attributes_must_be_object() {
        assert_eq!(
            parse_attributes("[1]").unwrap_err().field(),
            Some("attributes")
        );
        assert_eq!(
            parse_attributes("{").unwrap_err().field(),
            Some("attributes")
        );
        assert_eq!(
            parse_attributes(r#"{"team":"x"}"#).unwrap(),
            json!({"team": "x"})
        );
    }

    #[test]
    fn text_rejects_direction_overrides() {
        let error = optional_text("name", "admin\u{202E}gpj.exe", 200).unwrap_err();
        assert_eq!(error.field(), Some("name"));
        assert!(optional_text("name", "zero\u{200B}width", 200).is_err());
        assert_eq!(
            optional_text("name", "Zoë Ångström", 200),
            Ok(Some("Zoë Ångström".into()))
        );
    }

    #[test]
    fn escape_like_escapes_wildcards() {
        assert_eq!(escape_like(r"50%_a\b"), r"50\%\_a\\b");
    }
}
