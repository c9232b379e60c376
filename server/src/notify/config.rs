//! Settings of notifications: SMTP, Slack, approval links and delivery retries.

use std::time::Duration;

use app::model::Sensitivity;
use clap::{Args, ValueEnum};
use url::Url;

/// Flags and environment variables of notifications, flattened into `writ serve`.
#[derive(Clone, Args)]
pub struct NotifyArgs {
    /// SMTP server host name. When unset, Writ sends no e-mail.
    #[arg(long, env = "WRIT_SMTP_HOST")]
    pub smtp_host: Option<String>,
    /// SMTP server port. Defaults to 465 with `tls`, 587 with `starttls` and 25 with `none`.
    #[arg(long, env = "WRIT_SMTP_PORT")]
    pub smtp_port: Option<u16>,
    /// Encryption of the SMTP connection: `tls` (from the start), `starttls` (upgraded,
    /// required) or `none` (plain text, for a relay on the same host only).
    #[arg(long, env = "WRIT_SMTP_TLS", value_enum, default_value_t = SmtpTls::Starttls)]
    pub smtp_tls: SmtpTls,
    /// SMTP user name; set it together with WRIT_SMTP_PASSWORD to authenticate.
    #[arg(long, env = "WRIT_SMTP_USERNAME")]
    pub smtp_username: Option<String>,
    /// SMTP password.
    #[arg(long, env = "WRIT_SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<String>,
    /// Sender of Writ's e-mail, such as `Writ <writ@example.com>`. Required with WRIT_SMTP_HOST.
    #[arg(long, env = "WRIT_SMTP_FROM")]
    pub smtp_from: Option<String>,
    /// How long one SMTP exchange may take before the attempt fails, such as `10s`.
    #[arg(long, env = "WRIT_SMTP_TIMEOUT", default_value = "10s", value_parser = crate::config::parse_duration)]
    pub smtp_timeout: Duration,
    /// Slack bot token (`xoxb-...`) for `chat.postMessage` and `users.lookupByEmail`.
    #[arg(long, env = "WRIT_SLACK_BOT_TOKEN", hide_env_values = true)]
    pub slack_bot_token: Option<String>,
    /// Slack incoming-webhook URL, used for request messages when no bot token is set or a
    /// resource has no Slack channel.
    #[arg(long, env = "WRIT_SLACK_WEBHOOK_URL", hide_env_values = true)]
    pub slack_webhook_url: Option<Url>,
    /// Slack signing secret; enables the interactivity endpoint for in-Slack decisions.
    #[arg(long, env = "WRIT_SLACK_SIGNING_SECRET", hide_env_values = true)]
    pub slack_signing_secret: Option<String>,
    /// Base URL of Slack's Web API.
    #[arg(
        long,
        env = "WRIT_SLACK_API_URL",
        default_value = "https://slack.com/api"
    )]
    pub slack_api_url: Url,
    /// Whether approvers also get a Slack direct message, found by their e-mail address
    /// (needs the bot token).
    #[arg(long, env = "WRIT_SLACK_DIRECT_MESSAGES", default_value_t = true, action = clap::ArgAction::Set)]
    pub slack_direct_messages: bool,
    /// Highest resource sensitivity whose requests an approval link may decide without
    /// signing in: `off`, `low` or `medium`. `high` and `crown_jewel` always need sign-in.
    #[arg(long, env = "WRIT_LINK_ONLY_MAX_SENSITIVITY", value_enum, default_value_t = LinkOnly::Off)]
    pub link_only_max_sensitivity: LinkOnly,
    /// Wait before the first retry of a failed delivery; each later retry waits twice as long.
    #[arg(long, env = "WRIT_NOTIFY_RETRY_DELAY", default_value = "30s", value_parser = crate::config::parse_duration)]
    pub notify_retry_delay: Duration,
    /// Attempts per delivery before it is marked failed.
    #[arg(long, env = "WRIT_NOTIFY_MAX_ATTEMPTS", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=50))]
    pub notify_max_attempts: u16,
}

impl std::fmt::Debug for NotifyArgs {
    // Passwords, tokens, the signing secret and the webhook URL (which is a credential) are
    // printed only as set or unset.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |value: bool| if value { "<set>" } else { "<unset>" };
        f.debug_struct("NotifyArgs")
            .field("smtp_host", &self.smtp_host)
            .field("smtp_port", &self.smtp_port)
            .field("smtp_tls", &self.smtp_tls)
            .field("smtp_username", &self.smtp_username)
            .field("smtp_password", &set(self.smtp_password.is_some()))
            .field("smtp_from", &self.smtp_from)
            .field("slack_bot_token", &set(self.slack_bot_token.is_some()))
            .field("slack_webhook_url", &set(self.slack_webhook_url.is_some()))
            .field(
                "slack_signing_secret",
                &set(self.slack_signing_secret.is_some()),
            )
            .field("slack_api_url", &self.slack_api_url.as_str())
            .field("link_only_max_sensitivity", &self.link_only_max_sensitivity)
            .finish_non_exhaustive()
    }
}

/// Encryption of the SMTP connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SmtpTls {
    /// Plain text, for a relay on the same host only.
    None,
    /// Plain connection upgraded with STARTTLS; a server that cannot upgrade is an error.
    Starttls,
    /// TLS from the first byte (often port 465).
    Tls,
}

/// The `WRIT_LINK_ONLY_MAX_SENSITIVITY` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LinkOnly {
    Off,
    Low,
    Medium,
}

/// SMTP settings, present when e-mail is on.
#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub credentials: Option<(String, String)>,
    pub from: lettre::message::Mailbox,
    pub timeout: Duration,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.credentials.as_ref().map(|(user, _)| user))
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

/// Slack settings, present when a bot token, a webhook or a signing secret is set.
#[derive(Clone)]
pub struct SlackSettings {
    pub api_url: Url,
    pub bot_token: Option<String>,
    pub webhook_url: Option<Url>,
    pub signing_secret: Option<String>,
    pub direct_messages: bool,
}

impl std::fmt::Debug for SlackSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackSettings")
            .field("api_url", &self.api_url.as_str())
            .field("bot_token", &self.bot_token.as_ref().map(|_| "<set>"))
            .field("webhook_url", &self.webhook_url.as_ref().map(|_| "<set>"))
            .field(
                "signing_secret",
                &self.signing_secret.as_ref().map(|_| "<set>"),
            )
            .field("direct_messages", &self.direct_messages)
            .finish()
    }
}

/// Validated notification settings, as the domain and the jobs read them.
#[derive(Clone, Debug)]
pub struct NotifySettings {
    pub smtp: Option<SmtpSettings>,
    pub slack: Option<SlackSettings>,
    /// Highest sensitivity an approval link decides without sign-in; `None` means never.
    pub link_only_max: Option<Sensitivity>,
    pub retry_delay: Duration,
    pub max_attempts: u32,
}

impl Default for NotifySettings {
    /// Notifications off, links always needing sign-in, and the documented retry defaults.
    fn default() -> Self {
        Self {
            smtp: None,
            slack: None,
            link_only_max: None,
            retry_delay: Duration::from_secs(30),
            max_attempts: 8,
        }
    }
}

impl NotifySettings {
    /// Returns whether any channel is configured, so that events produce deliveries.
    pub fn enabled(&self) -> bool {
        self.smtp.is_some()
            || self
                .slack
                .as_ref()
                .is_some_and(|slack| slack.bot_token.is_some() || slack.webhook_url.is_some())
    }

    /// Returns whether an approval link for a resource of `sensitivity` may decide without
    /// sign-in.
    pub fn link_only_allows(&self, sensitivity: Sensitivity) -> bool {
        let allowed = match self.link_only_max {
            Some(max) => sensitivity <= max,
            None => false,
        };
        // High and crown-jewel resources always need a signed-in approver, whatever the setting.
        allowed && sensitivity <= Sensitivity::Medium
    }
}

impl TryFrom<&NotifyArgs> for NotifySettings {
    type Error = anyhow::Error;

    /// Checks the flags together, naming the variable to fix.
    fn try_from(args: &NotifyArgs) -> anyhow::Result<Self> {
        let smtp = match &args.smtp_host {
            None => None,
            Some(host) if host.trim().is_empty() => None,
            Some(host) => {
                let from = args.smtp_from.as_deref().unwrap_or_default();
                if from.trim().is_empty() {
                    anyhow::bail!(
                        "WRIT_SMTP_FROM is missing: set the sender of Writ's e-mail, such as \"Writ <writ@example.com>\""
                    );
                }
                let from = from.parse::<lettre::message::Mailbox>().map_err(|error| {
                    anyhow::anyhow!(
                        "WRIT_SMTP_FROM {from:?} is not a valid address ({error}); use a form such as \"Writ <writ@example.com>\""
                    )
                })?;
                let credentials = match (&args.smtp_username, &args.smtp_password) {
                    (Some(user), Some(password)) => Some((user.clone(), password.clone())),
                    (None, None) => None,
                    _ => anyhow::bail!(
                        "set both WRIT_SMTP_USERNAME and WRIT_SMTP_PASSWORD, or neither"
                    ),
                };
                let port = args.smtp_port.unwrap_or(match args.smtp_tls {
                    SmtpTls::Tls => 465,
                    SmtpTls::Starttls => 587,
                    SmtpTls::None => 25,
                });
                Some(SmtpSettings {
                    host: host.trim().to_owned(),
                    port,
                    tls: args.smtp_tls,
                    credentials,
                    from,
                    timeout: args.smtp_timeout,
                })
            }
        };
        let nonempty =
            |value: &Option<String>| value.clone().filter(|text| !text.trim().is_empty());
        let bot_token = nonempty(&args.slack_bot_token);
        let signing_secret = nonempty(&args.slack_signing_secret);
        let slack = if bot_token.is_some()
            || args.slack_webhook_url.is_some()
            || signing_secret.is_some()
        {
            Some(SlackSettings {
                api_url: args.slack_api_url.clone(),
                bot_token,
                webhook_url: args.slack_webhook_url.clone(),
                signing_secret,
                direct_messages: args.slack_direct_messages,
            })
        } else {
            None
        };
        let link_only_max = match args.link_only_max_sensitivity {
            LinkOnly::Off => None,
            LinkOnly::Low => Some(Sensitivity::Low),
            LinkOnly::Medium => Some(Sensitivity::Medium),
        };
        Ok(Self {
            smtp,
            slack,
            link_only_max,
            retry_delay: args.notify_retry_delay,
            max_attempts: u32::from(args.notify_max_attempts),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        notify: NotifyArgs,
    }

    fn parse(flags: &[&str]) -> anyhow::Result<NotifySettings> {
        let flags = Flags::try_parse_from(std::iter::once("writ").chain(flags.iter().copied()))?;
        NotifySettings::try_from(&flags.notify)
    }

    #[test]
    fn smtp_needs_a_valid_sender() {
        let missing = parse(&["--smtp-host", "smtp.example.com"]).unwrap_err();
        assert!(missing.to_string().contains("WRIT_SMTP_FROM"), "{missing}");
        let invalid = parse(&[
            "--smtp-host",
            "smtp.example.com",
            "--smtp-from",
            "not an address",
        ])
        .unwrap_err();
        assert!(invalid.to_string().contains("WRIT_SMTP_FROM"), "{invalid}");
    }

    #[test]
    fn smtp_credentials_come_in_pairs() {
        let error = parse(&[
            "--smtp-host",
            "smtp.example.com",
            "--smtp-from",
            "writ@example.com",
            "--smtp-username",
            "writ",
        ])
        .unwrap_err();
        assert!(error.to_string().contains("WRIT_SMTP_PASSWORD"), "{error}");
    }

    #[test]
    fn smtp_port_follows_tls_mode() {
        let base = [
            "--smtp-host",
            "smtp.example.com",
            "--smtp-from",
            "writ@example.com",
        ];
        let port = |tls: &str| {
            let mut flags = base.to_vec();
            flags.extend(["--smtp-tls", tls]);
            parse(&flags).unwrap().smtp.unwrap().port
        };
        assert_eq!(port("tls"), 465);
        assert_eq!(port("starttls"), 587);
        assert_eq!(port("none"), 25);
    }

    #[test]
    fn link_only_rejects_high() {
        assert!(parse(&["--link-only-max-sensitivity", "high"]).is_err());
        let medium = parse(&["--link-only-max-sensitivity", "medium"]).unwrap();
        assert_eq!(medium.link_only_max, Some(Sensitivity::Medium));
    }

    #[test]
    fn debug_hides_secrets() {
        let flags = Flags::try_parse_from([
            "writ",
            "--smtp-password",
            "hunter2-password",
            "--slack-bot-token",
            "xoxb-secret-token",
            "--slack-signing-secret",
            "signing-secret-value",
        ])
        .unwrap();
        let printed = format!("{:?}", flags.notify);
        assert!(!printed.contains("hunter2-password"), "{printed}");
        assert!(!printed.contains("xoxb-secret-token"), "{printed}");
        assert!(!printed.contains("signing-secret-value"), "{printed}");
        let settings = NotifySettings::try_from(&flags.notify).unwrap();
        let printed = format!("{settings:?}");
        assert!(!printed.contains("xoxb-secret-token"), "{printed}");
        assert!(!printed.contains("signing-secret-value"), "{printed}");
    }

    #[test]
    fn link_only_never_covers_high_or_crown_jewel() {
        let settings = NotifySettings {
            link_only_max: Some(Sensitivity::CrownJewel),
            ..NotifySettings::default()
        };
        assert!(settings.link_only_allows(Sensitivity::Medium));
        assert!(!settings.link_only_allows(Sensitivity::High));
        assert!(!settings.link_only_allows(Sensitivity::CrownJewel));
    }

    #[test]
    fn link_only_respects_the_maximum() {
        let settings = NotifySettings {
            link_only_max: Some(Sensitivity::Low),
            ..NotifySettings::default()
        };
        assert!(settings.link_only_allows(Sensitivity::Low));
        assert!(!settings.link_only_allows(Sensitivity::Medium));
        assert!(!NotifySettings::default().link_only_allows(Sensitivity::Low));
    }
}
