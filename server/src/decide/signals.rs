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
use policy::{Facts, GrantFact, Signal};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::Decider;
use super::cache::{ClientEntry, load_principal, load_target};
use crate::domain::actor::Actor;
use crate::domain::audit::{self, Entry};
use crate::domain::notifications::{self, Event, EventKind};
use crate::error::Result;
use crate::services::Services;

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
