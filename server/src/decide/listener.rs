//! Listens on PostgreSQL's `writ_*_changed` channels and drops the cache entries each change
//! makes stale. When the connection drops, notifications may have been missed, so the whole
//! cache is emptied before listening again.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use uuid::Uuid;

use super::Decider;

/// Channels the triggers in the migrations notify.
const CHANNELS: [&str; 5] = [
    "writ_policy_changed",
    "writ_identity_changed",
    "writ_resource_changed",
    "writ_grant_changed",
    "writ_client_changed",
];

/// Wait before reconnecting after the listener's connection failed.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

#[derive(Deserialize)]
struct GrantChange {
    subject_id: Uuid,
}

/// Starts listening and returns once the listener is subscribed, so that no change made after
/// this returns is missed.
pub async fn start(pool: PgPool, decider: Arc<Decider>) -> crate::error::Result<()> {
    let listener = subscribe(&pool).await?;
    tokio::spawn(run(pool, decider, listener));
    Ok(())
}

async fn subscribe(pool: &PgPool) -> sqlx::Result<PgListener> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen_all(CHANNELS).await?;
    Ok(listener)
}

async fn run(pool: PgPool, decider: Arc<Decider>, mut listener: PgListener) {
    // The listener keeps one of the pool's connections, and closing the pool waits for every
    // connection to come back, so the task ends as soon as the pool starts closing.
    let closing = pool.close_event();
    tokio::pin!(closing);
    loop {
        let received = tokio::select! {
            () = &mut closing => return,
            received = listener.try_recv() => received,
        };
        match received {
            Ok(Some(notification)) => {
                apply(&decider, notification.channel(), notification.payload()).await;
            }
            Ok(None) => {
                tracing::warn!("cache listener lost its connection; emptying the decision cache");
                reset(&decider).await;
            }
            Err(error) => {
                tracing::error!(error = %error, "cache listener failed; reconnecting");
                tokio::select! {
                    () = &mut closing => return,
                    () = tokio::time::sleep(RECONNECT_DELAY) => {}
                }
                match subscribe(&pool).await {
                    Ok(fresh) => {
                        listener = fresh;
                        reset(&decider).await;
                    }
                    Err(error) => {
                        tracing::error!(error = %error, "cache listener could not reconnect");
                    }
                }
            }
        }
    }
}

async fn reset(decider: &Decider) {
    if let Err(error) = decider.cache.reset().await {
        tracing::error!(error = %error, "reloading the decision cache failed");
    }
}

async fn apply(decider: &Decider, channel: &str, payload: &str) {
    let cache = &decider.cache;
    match channel {
        "writ_policy_changed" => {
            if let Err(error) = cache.policy_changed().await {
                tracing::error!(error = %error, "reloading the active policy set failed");
            }
        }
        "writ_identity_changed" => match Uuid::parse_str(payload) {
            Ok(id) => cache.identity_changed(id),
            Err(_) => reset(decider).await,
        },
        "writ_resource_changed" => match Uuid::parse_str(payload) {
            Ok(id) => cache.resource_changed(id),
            Err(_) => reset(decider).await,
        },
        "writ_grant_changed" => match serde_json::from_str::<GrantChange>(payload) {
            Ok(change) => cache.identity_changed(change.subject_id),
            Err(_) => reset(decider).await,
        },
        "writ_client_changed" => cache.clients_changed(),
        other => tracing::warn!(channel = other, "notification on an unexpected channel"),
    }
}
