//! The handles every domain operation needs: the database, the clock and the settings.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use url::Url;

use crate::clock::Clock;
use crate::domain::role_map::RoleMap;
use crate::notify::config::NotifySettings;

/// Settings the domain reads at run time.
#[derive(Clone, Debug)]
pub struct Settings {
    /// How long a request may stay pending before it expires.
    pub request_deadline: Duration,
    /// The URL people use to reach Writ, for links.
    pub public_url: Url,
    /// How far ahead the dashboard's "expiring soon" list looks, and how long before a grant's
    /// expiry its holder is told.
    pub expiring_soon: Duration,
    /// E-mail, Slack and approval-link settings.
    pub notify: NotifySettings,
    /// How people sign in.
    pub sign_in: SignInSettings,
}

/// How people sign in to the console.
#[derive(Clone, Debug)]
pub struct SignInSettings {
    /// Whether local accounts other than the bootstrap administrator may sign in.
    pub local: bool,
    /// Whether sign-in through an OpenID provider is configured.
    pub oidc: bool,
    /// Console roles per provider group.
    pub role_map: RoleMap,
}

impl Default for SignInSettings {
    fn default() -> Self {
        Self {
            local: true,
            oidc: false,
            role_map: RoleMap::default(),
        }
    }
}

impl Settings {
    /// Settings with the documented defaults and the given public URL.
    pub fn with_public_url(public_url: Url) -> Self {
        Self {
            request_deadline: Duration::from_secs(24 * 3600),
            public_url,
            expiring_soon: Duration::from_secs(3600),
            sign_in: SignInSettings::default(),
            notify: NotifySettings::default(),
        }
    }
}

/// Database, clock and settings, cheap to clone.
#[derive(Clone, Debug)]
pub struct Services {
    pub pool: PgPool,
    pub clock: Arc<dyn Clock>,
    pub settings: Arc<Settings>,
}

impl Services {
    /// Returns the injected clock's current time.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Makes an absolute URL for `path` on this Writ.
    pub fn url(&self, path: &str) -> String {
        let base = self.settings.public_url.as_str().trim_end_matches('/');
        format!("{base}{path}")
    }
}
