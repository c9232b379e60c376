//! Signals: a client reports a change of an identity's risk score or device posture, and Writ
//! re-checks that identity's live grants against the active policy set.
//!
//! A grant the policy no longer allows is revoked when the signal carried a risk score, and
//! suspended when it carried only device posture, because posture is often restored within
//! minutes. A suspended grant that the policy allows again after a later signal is resumed until
//! its original expiry.

use app::error::AppError;
use app::model::Source;
use chrono::{DateTime, Utc};
use policy::{Facts, GrantFact};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::Decider;
use super::cache::{ClientEntry, load_principal, load_target};
use crate::domain::actor::Actor;
use crate::domain::audit::{self, Entry};
use crate::domain::notifications::{self, Event, EventKind};
use crate::error::Result;
use crate::services::Services;

/// A reported change for one identity, checked by [`Signal::from_json`].
#[derive(Debug)]
pub struct Signal {
    /// Identity id or external id.
    pub identity: String,
    pub risk_score: Option<i64>,
    pub device: Option<DeviceSignal>,
}

/// Device posture as a signal reports it.
#[derive(Debug, Serialize)]
pub struct DeviceSignal {
    pub managed: bool,
    pub compliant: bool,
    pub disk_encrypted: bool,
}

/// The re-check of one live grant and its resulting state.
#[derive(Debug, Serialize)]
pub struct GrantCheck {
    pub grant_id: Uuid,
    pub allowed: bool,
    pub state: String,
    pub policies: Vec<String>,
    pub reason: String,
}

/// The result of a signal.
#[derive(Debug, Serialize)]
pub struct SignalResult {
    pub identity_id: Uuid,
    pub grants: Vec<GrantCheck>,
}

/// Maximum length in characters of a signal's identity, as for decision requests.
const MAX_IDENTITY_CHARS: usize = 256;

impl Signal {
    /// Parses and checks a signal body, rejecting each invalid field with its JSON path.
    pub fn from_json(body: &Value) -> std::result::Result<Signal, AppError> {
        let object = body
            .as_object()
            .ok_or_else(|| AppError::invalid("body", "must be a JSON object"))?;
        if let Some(unknown) = object
            .keys()
            .find(|key| !["identity", "risk_score", "device"].contains(&key.as_str()))
        {
            return Err(AppError::invalid(
                unknown.clone(),
                "is not a signal field; use identity, risk_score and device",
            ));
        }
        let identity = match object.get("identity") {
            Some(Value::String(text))
                if !text.trim().is_empty()
                    && text.chars().count() <= MAX_IDENTITY_CHARS
                    && !text.chars().any(char::is_control) =>
            {
                text.clone()
            }
            _ => {
                return Err(AppError::invalid(
                    "identity",
                    format!(
                        "must be the identity's id or external id, 1 to {MAX_IDENTITY_CHARS} \
                         characters without control characters"
                    ),
                ));
            }
        };
        let risk_score = match object.get("risk_score") {
            None => None,
            Some(value) => match value.as_i64() {
                Some(score) if (0..=100).contains(&score) => Some(score),
                _ => {
                    return Err(AppError::invalid(
                        "risk_score",
                        format!("must be a whole number from 0 to 100, got {value}"),
                    ));
                }
            },
        };
        let device = object.get("device").map(device).transpose()?;
        if risk_score.is_none() && device.is_none() {
            return Err(AppError::invalid(
                "risk_score",
                "a signal needs risk_score, device, or both",
            ));
        }
        Ok(Signal {
            identity,
            risk_score,
            device,
        })
    }
}

/// Parses the `device` object of a signal.
fn device(value: &Value) -> std::result::Result<DeviceSignal, AppError> {
    const FIELDS: [&str; 3] = ["managed", "compliant", "disk_encrypted"];
    let object = value.as_object().ok_or_else(|| {
        AppError::invalid(
            "device",
            "must be an object with managed, compliant and disk_encrypted",
        )
    })?;
    if let Some(unknown) = object.keys().find(|key| !FIELDS.contains(&key.as_str())) {
        return Err(AppError::invalid(
            format!("device.{unknown}"),
            "is not a device field; use managed, compliant and disk_encrypted",
        ));
    }
    let mut flags = [false; 3];
    for (flag, name) in flags.iter_mut().zip(FIELDS) {
        *flag = object.get(name).and_then(Value::as_bool).ok_or_else(|| {
            AppError::invalid(format!("device.{name}"), "is required: true or false")
        })?;
    }
    let [managed, compliant, disk_encrypted] = flags;
    Ok(DeviceSignal {
        managed,
        compliant,
        disk_encrypted,
    })
}

/// Returns the actor a decision client acts as in the audit log.
pub fn client_actor(client: &ClientEntry) -> Actor {
    Actor {
        user_id: None,
        label: format!("decision client {}", client.name),
        roles: Vec::new(),
        identity_id: None,
        source: Source::Api,
    }
}

/// Records `signal` and re-checks the identity's live grants.
pub async fn record(
    svc: &Services,
    decider: &Decider,
    client: &ClientEntry,
    signal: Signal,
) -> Result<SignalResult> {
    let now = svc.now();
    let actor = client_actor(client);
    let entry = load_principal(&svc.pool, signal.identity.trim())
        .await?
        .ok_or_else(|| {
            AppError::invalid(
                "identity",
                format!(
                    "no identity has id or external id {:?}",
                    signal.identity.trim()
                ),
            )
        })?;
    let identity_id = entry.principal.id;
    let device = signal.device.as_ref();
    let mut tx = svc.pool.begin().await?;
    sqlx::query!(
        r#"
        insert into identity_signals
            (identity_id, risk_score, managed, compliant, disk_encrypted, updated_at, updated_by)
        values ($1, $2, $3, $4, $5, $6, $7)
        on conflict (identity_id) do update set
            risk_score = coalesce(excluded.risk_score, identity_signals.risk_score),
            managed = coalesce(excluded.managed, identity_signals.managed),
            compliant = coalesce(excluded.compliant, identity_signals.compliant),
            disk_encrypted = coalesce(excluded.disk_encrypted, identity_signals.disk_encrypted),
            updated_at = excluded.updated_at,
            updated_by = excluded.updated_by
        "#,
        identity_id,
        signal.risk_score.map(|score| score as i32),
        device.map(|device| device.managed),
        device.map(|device| device.compliant),
        device.map(|device| device.disk_encrypted),
        now,
        client.id
    )
    .execute(&mut *tx)
    .await?;
    audit::append(
        &mut tx,
        &actor,
        now,
        Entry::success("signal.recorded", "identity", identity_id).details(json!({
            "risk_score": signal.risk_score,
            "device": signal.device,
        })),
    )
    .await?;
    tx.commit().await?;

    // Re-read the identity so that the checks see the signal just stored.
    let entry = load_principal(&svc.pool, &identity_id.to_string())
        .await?
        .ok_or_else(|| AppError::not_found("the identity was deleted"))?;
    let grants = sqlx::query!(
        r#"
        select id, resource_id, state, starts_at, expires_at from grants
        where subject_id = $1 and state in ('scheduled', 'active', 'suspended') and expires_at > $2
        order by starts_at
        "#,
        identity_id,
        now
    )
    .fetch_all(&svc.pool)
    .await?;
    let engine = decider.cache.policy();
    let mut checks = Vec::with_capacity(grants.len());
    for grant in grants {
        let Some(target) = load_target(&svc.pool, &grant.resource_id.to_string()).await? else {
            continue;
        };
        let fact = GrantFact {
            id: grant.id,
            resource: grant.resource_id,
            starts_at: grant.starts_at,
            expires_at: grant.expires_at,
        };
        let facts = Facts {
            principal: &entry.principal,
            resource: &target,
            grants: std::slice::from_ref(&fact),
            now,
        };
        let outcome = engine.engine.decide_grant(&facts, &fact);
        let new_state = match (outcome.allow, grant.state.as_str()) {
            (true, "suspended") => Some("active"),
            (false, "suspended") if signal.risk_score.is_some() => Some("revoked"),
            (false, "scheduled" | "active") if signal.risk_score.is_some() => Some("revoked"),
            (false, "scheduled" | "active") => Some("suspended"),
            _ => None,
        };
        let state = match new_state {
            Some(state) => {
                change_state(svc, &actor, grant.id, state, &outcome.reason, now).await?;
                state.to_owned()
            }
            None => grant.state,
        };
        checks.push(GrantCheck {
            grant_id: grant.id,
            allowed: outcome.allow,
            state,
            policies: outcome.policies,
            reason: outcome.reason,
        });
    }
    Ok(SignalResult {
        identity_id,
        grants: checks,
    })
}

/// Moves a live grant to `state` and audits it. A grant that ended meanwhile is left alone.
async fn change_state(
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    state: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut tx = svc.pool.begin().await?;
    let changed = if state == "revoked" {
        sqlx::query!(
            r#"
            update grants set state = 'revoked', ended_at = $2, end_reason = $3
            where id = $1 and state in ('scheduled', 'active', 'suspended') and expires_at > $2
            "#,
            id,
            now,
            format!("revoked after a signal: {reason}")
        )
        .execute(&mut *tx)
        .await?
        .rows_affected()
    } else {
        sqlx::query!(
            r#"
            update grants set state = $2
            where id = $1 and state in ('scheduled', 'active', 'suspended') and expires_at > $3
            "#,
            id,
            state,
            now
        )
        .execute(&mut *tx)
        .await?
        .rows_affected()
    };
    if changed == 0 {
        return Ok(());
    }
    if state == "revoked" {
        notifications::enqueue(
            &mut tx,
            svc,
            Event::Grant {
                grant_id: id,
                kind: EventKind::GrantRevoked,
            },
        )
        .await?;
    }
    let action = match state {
        "revoked" => "grant.revoked",
        "suspended" => "grant.suspended",
        _ => "grant.resumed",
    };
    audit::append(
        &mut tx,
        actor,
        now,
        Entry::success(action, "grant", id).reason(format!("after a signal: {reason}")),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
