//! Reading the decision log: filtered, keyset-paginated lists and single decisions with their
//! policies and controls.

use app::error::AppError;
use app::model::{ControlRef, DecisionDetail, DecisionFilter, DecisionSummary, Page, Role};
use chrono::{DateTime, NaiveDate, Utc};
use policy::Engine;
use serde_json::Value;
use uuid::Uuid;

use super::actor::Actor;
use super::page;
use crate::controls;
use crate::error::Result;
use crate::services::Services;

/// A filter with its text parsed.
struct Parsed {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    principal: Option<String>,
    principal_id: Option<Uuid>,
    resource: Option<String>,
    resource_id: Option<Uuid>,
    allow: Option<bool>,
    policy: Option<Value>,
    control: Option<Value>,
}

fn nonempty(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// Parses a time bound: an RFC 3339 time, or a date meaning the start of that day in UTC (for
/// `to`, the end of that day).
fn parse_bound(
    field: &str,
    value: &str,
    end_of_day: bool,
) -> Result<Option<DateTime<Utc>>, AppError> {
    let Some(value) = nonempty(value) else {
        return Ok(None);
    };
    if let Ok(time) = DateTime::parse_from_rfc3339(&value) {
        return Ok(Some(time.with_timezone(&Utc)));
    }
    let date = NaiveDate::parse_from_str(&value, "%Y-%m-%d").map_err(|_| {
        AppError::invalid(
            field,
            format!("{value:?} is not a date; use YYYY-MM-DD or an RFC 3339 time such as 2026-12-04T09:00:00Z"),
        )
    })?;
    let date = if end_of_day {
        date.succ_opt().unwrap_or(date)
    } else {
        date
    };
    Ok(date.and_hms_opt(0, 0, 0).map(|time| time.and_utc()))
}

fn parse(filter: &DecisionFilter) -> Result<Parsed, AppError> {
    let allow = match filter.outcome.trim() {
        "" => None,
        "allow" => Some(true),
        "deny" => Some(false),
        other => {
            return Err(AppError::invalid(
                "outcome",
                format!("{other:?} is not an outcome; use allow or deny"),
            ));
        }
    };
    let principal = nonempty(&filter.principal);
    let resource = nonempty(&filter.resource);
    Ok(Parsed {
        from: parse_bound("from", &filter.from, false)?,
        to: parse_bound("to", &filter.to, true)?,
        principal_id: principal
            .as_deref()
            .and_then(|key| Uuid::parse_str(key).ok()),
        resource_id: resource
            .as_deref()
            .and_then(|key| Uuid::parse_str(key).ok()),
        principal,
        resource,
        allow,
        policy: nonempty(&filter.policy).map(|id| Value::from(vec![id])),
        control: nonempty(&filter.control).map(|id| Value::from(vec![id])),
    })
}

fn strings(value: Value) -> Vec<String> {
    match value {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|item| item.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// Lists decisions matching `filter`, newest first. Admins and auditors only.
pub async fn list(
    svc: &Services,
    actor: &Actor,
    filter: &DecisionFilter,
    cursor: Option<&str>,
) -> Result<Page<DecisionSummary>> {
    actor.require_any(&[Role::Admin, Role::Auditor])?;
    let parsed = parse(filter)?;
    let (before_time, before_id) = page::decode_time_key(cursor)?;
    let rows = sqlx::query!(
        r#"
        select id, decided_at, client_label, principal, action, resource, allow, policies,
               controls, latency_us
        from decisions
        where ($1::timestamptz is null or (decided_at, id) < ($1, $2))
            and ($3::timestamptz is null or decided_at >= $3)
            and ($4::timestamptz is null or decided_at < $4)
            and ($5::text is null or principal = $5 or principal_id = $6)
            and ($7::text is null or resource = $7 or resource_id = $8)
            and ($9::boolean is null or allow = $9)
            and ($10::jsonb is null or policies @> $10)
            and ($11::jsonb is null or controls @> $11)
        order by decided_at desc, id desc
        limit $12
        "#,
        before_time,
        before_id,
        parsed.from,
        parsed.to,
        parsed.principal,
        parsed.principal_id,
        parsed.resource,
        parsed.resource_id,
        parsed.allow,
        parsed.policy,
        parsed.control,
        page::PAGE_SIZE + 1
    )
    .fetch_all(&svc.pool)
    .await?;
    let items = rows
        .into_iter()
        .map(|row| DecisionSummary {
            id: row.id,
            decided_at: row.decided_at,
            client: row.client_label,
            principal: row.principal,
            action: row.action,
            resource: row.resource,
            allow: row.allow,
            policies: strings(row.policies),
            controls: strings(row.controls),
            latency_us: row.latency_us,
        })
        .collect();
    Ok(page::split(items, |item: &DecisionSummary| {
        (item.decided_at, item.id)
    }))
}

/// Loads one decision with its context, determining policies and controls.
pub async fn get(svc: &Services, actor: &Actor, id: Uuid) -> Result<DecisionDetail> {
    actor.require_any(&[Role::Admin, Role::Auditor])?;
    let row = sqlx::query!(
        r#"
        select d.id, d.decided_at, d.client_label, d.principal, d.action, d.resource, d.allow,
               d.policies, d.controls, d.latency_us, d.context, d.reason, d.errors, d.policy_hash,
               v.number as "number?", v.source as "source?"
        from decisions d
        left join lateral (
            select number, source from policy_versions
            where hash = d.policy_hash order by number desc limit 1
        ) v on true
        where d.id = $1
        "#,
        id
    )
    .fetch_optional(&svc.pool)
    .await?
    .ok_or_else(|| AppError::not_found("no decision has this id"))?;
    let policies = strings(row.policies);
    let rules = row
        .source
        .as_deref()
        .and_then(|source| Engine::compile(source).ok())
        .map(|engine| {
            super::policies::rules(&engine)
                .into_iter()
                .filter(|rule| policies.contains(&rule.id))
                .collect()
        })
        .unwrap_or_default();
    let control_ids = strings(row.controls);
    let catalogue = controls::catalogue();
    let controls = control_ids
        .iter()
        .filter_map(|id| catalogue.control(id))
        .map(|control| ControlRef {
            id: control.id.clone(),
            framework: control.framework.title().to_owned(),
            title: control.title.clone(),
        })
        .collect();
    Ok(DecisionDetail {
        summary: DecisionSummary {
            id: row.id,
            decided_at: row.decided_at,
            client: row.client_label,
            principal: row.principal,
            action: row.action,
            resource: row.resource,
            allow: row.allow,
            policies,
            controls: control_ids,
            latency_us: row.latency_us,
        },
        context: serde_json::to_string_pretty(&row.context).unwrap_or_default(),
        reason: row.reason,
        errors: strings(row.errors),
        policy_hash: row.policy_hash,
        policy_version: row.number,
        rules,
        controls,
    })
}
