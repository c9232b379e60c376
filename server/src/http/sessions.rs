//! Session changes at sign-in and on each request: a new id at sign-in and when the user's
//! roles change, and a periodic save that keeps an active session from going idle.

use app::model::{Role, Viewer};
use chrono::{DateTime, Utc};
use tower_sessions::Session;
use uuid::Uuid;

use super::session_store::USER_ID_KEY;

/// Session key holding the roles the session was last issued an id for.
pub const ROLES_KEY: &str = "roles";
/// Session key holding the time of the last save that extended the idle timeout.
pub const LAST_SEEN_KEY: &str = "last_seen_at";
/// Minimum time between two saves that extend a session's idle timeout. The idle timeout is
/// therefore counted from the last request to within this interval.
pub const TOUCH_INTERVAL: chrono::Duration = chrono::Duration::seconds(60);

/// Replaces the session with a new, empty one (new id, so a planted id is never signed in) for
/// `user_id`. The store records the sign-in time when it saves the new record.
pub async fn start(session: &Session, user_id: Uuid) -> Result<(), tower_sessions::session::Error> {
    session.clear().await;
    session.cycle_id().await?;
    session.insert(USER_ID_KEY, user_id).await
}

/// Gives the session a new id when the viewer's roles differ from those it was issued for, and
/// marks it for saving when its idle timeout was last extended more than `TOUCH_INTERVAL` ago.
pub async fn refresh(
    session: &Session,
    viewer: &Viewer,
    now: DateTime<Utc>,
) -> Result<(), tower_sessions::session::Error> {
    let mut roles = viewer.roles.clone();
    roles.sort();
    match session.get::<Vec<Role>>(ROLES_KEY).await? {
        Some(mut held) => {
            held.sort();
            if held != roles {
                session.cycle_id().await?;
                session.insert(ROLES_KEY, &roles).await?;
                tracing::info!(user_id = %viewer.user_id, "roles changed; the session has a new id");
            }
        }
        None => session.insert(ROLES_KEY, &roles).await?,
    }
    let last_seen = session.get::<DateTime<Utc>>(LAST_SEEN_KEY).await?;
    if last_seen.is_none_or(|at| now - at >= TOUCH_INTERVAL) {
        session.insert(LAST_SEEN_KEY, now).await?;
    }
    Ok(())
}
