//! Settings of sign-in and sessions: the OpenID provider, local accounts and session lifetimes.

use std::time::Duration;

use clap::Args;
use url::Url;

use super::parse_duration;

/// Sign-in methods and session lifetimes.
#[derive(Clone, Args)]
pub struct SignInArgs {
    /// Issuer URL of the OpenID provider, exactly as its discovery document states it.
    /// OpenID Connect sign-in is off while this is unset.
    #[arg(long, env = "WRIT_OIDC_ISSUER", value_parser = parse_issuer)]
    pub oidc_issuer: Option<String>,
    /// Client id registered for Writ at the provider.
    #[arg(long, env = "WRIT_OIDC_CLIENT_ID", default_value = "")]
    pub oidc_client_id: String,
    /// Client secret registered for Writ at the provider.
    #[arg(
        long,
        env = "WRIT_OIDC_CLIENT_SECRET",
        default_value = "",
        hide_env_values = true
    )]
    pub oidc_client_secret: String,
    /// Scopes to request, separated by spaces; `openid` is always requested.
    #[arg(long, env = "WRIT_OIDC_SCOPES", default_value = "openid email profile")]
    pub oidc_scopes: String,
    /// URL the provider sends people back to. Defaults to WRIT_PUBLIC_URL plus
    /// /sign-in/oidc/callback. Register this URL at the provider.
    #[arg(long, env = "WRIT_OIDC_REDIRECT_URL")]
    pub oidc_redirect_url: Option<Url>,
    /// Claim that carries the user's groups (a list of strings, or one string).
    #[arg(long, env = "WRIT_OIDC_GROUPS_CLAIM", default_value = "groups")]
    pub oidc_groups_claim: String,
    /// Console roles per group, such as `writ-admins=admin;platform=approver,requester`.
    /// The group `*` matches everyone who signs in through the provider.
    #[arg(long, env = "WRIT_OIDC_ROLE_MAP", default_value = "")]
    pub oidc_role_map: String,
    /// Also read claims from the provider's userinfo endpoint at sign-in.
    #[arg(long, env = "WRIT_OIDC_USERINFO", default_value_t = false)]
    pub oidc_userinfo: bool,
    /// Clock skew tolerated when checking an ID token's expiry and issue time, such as `30s`.
    #[arg(long, env = "WRIT_OIDC_CLOCK_LEEWAY", default_value = "30s", value_parser = parse_duration)]
    pub oidc_clock_leeway: Duration,
    /// Whether local accounts may sign in. When false, only the bootstrap administrator can
    /// sign in locally (with a password or a one-time link), as a break-glass account.
    #[arg(long, env = "WRIT_LOCAL_SIGN_IN", default_value_t = true, action = clap::ArgAction::Set)]
    pub local_sign_in: bool,
    /// How long a console session lasts from sign-in, however active, such as `24h`.
    #[arg(long, env = "WRIT_SESSION_ABSOLUTE_TIMEOUT", default_value = "24h", value_parser = parse_duration)]
    pub session_absolute_timeout: Duration,
    /// When expired sessions are deleted, as a cron expression with seconds (default: every
    /// ten minutes).
    #[arg(long, env = "WRIT_SESSION_CLEANUP_SCHEDULE", default_value = "0 */10 * * * *", value_parser = crate::jobs::worker::parse_schedule)]
    pub session_cleanup_schedule: cron::Schedule,
}

impl std::fmt::Debug for SignInArgs {
    // The client secret is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInArgs")
            .field("oidc_issuer", &self.oidc_issuer)
            .field("oidc_client_id", &self.oidc_client_id)
            .field("oidc_scopes", &self.oidc_scopes)
            .field(
                "oidc_redirect_url",
                &self.oidc_redirect_url.as_ref().map(Url::as_str),
            )
            .field("oidc_groups_claim", &self.oidc_groups_claim)
            .field("oidc_role_map", &self.oidc_role_map)
            .field("oidc_userinfo", &self.oidc_userinfo)
            .field("oidc_clock_leeway", &self.oidc_clock_leeway)
            .field("local_sign_in", &self.local_sign_in)
            .field("session_absolute_timeout", &self.session_absolute_timeout)
            .field(
                "session_cleanup_schedule",
                &self.session_cleanup_schedule.to_string(),
            )
            .finish_non_exhaustive()
    }
}

/// Checks that an issuer is an http or https URL and keeps it exactly as written: issuers are
/// compared character by character, so a trailing slash must not be added or removed.
pub fn parse_issuer(value: &str) -> Result<String, String> {
    match Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "https" | "http") => Ok(value.to_owned()),
        Ok(_) => Err(format!("invalid issuer {value:?}: use an https:// URL")),
        Err(error) => Err(format!(
            "invalid issuer {value:?} ({error}); use an https:// URL"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_is_kept_exactly() {
        assert_eq!(
            parse_issuer("https://login.example.com/realms/staff/").as_deref(),
            Ok("https://login.example.com/realms/staff/")
        );
        assert_eq!(
            parse_issuer("https://login.example.com").as_deref(),
            Ok("https://login.example.com")
        );
        assert!(parse_issuer("login.example.com").is_err());
        assert!(parse_issuer("ftp://login.example.com").is_err());
    }
}
