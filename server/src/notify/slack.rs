//! Slack: Web API calls (`chat.postMessage`, `users.lookupByEmail`, `users.info`), incoming
//! webhooks, Block Kit messages, text escaping, and request signature checks.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use uuid::Uuid;

use super::SendError;
use super::config::SlackSettings;
use super::message::Notice;

/// Action id of the in-Slack approve button.
pub const APPROVE_ACTION: &str = "writ_approve";
/// Action id of the in-Slack deny button.
pub const DENY_ACTION: &str = "writ_deny";
/// How far a request's timestamp may be from the clock before it is rejected (five minutes).
pub const MAX_SIGNATURE_AGE: Duration = Duration::from_secs(300);
/// How long one call to Slack may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Slack's limit on a section's text, in characters.
const MAX_SECTION_TEXT: usize = 3000;
/// Slack's limit on a field's text, in characters.
const MAX_FIELD_TEXT: usize = 2000;

/// Escapes text for Slack's `mrkdwn`: `&`, `<` and `>` become entities, so that user text
/// cannot form a mention (`<!channel>`), a user or channel reference, or a link.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A client of Slack's Web API and webhooks.
#[derive(Clone, Debug)]
pub struct SlackClient {
    http: reqwest::Client,
    settings: SlackSettings,
}

impl SlackClient {
    /// Creates a client for `settings`.
    pub fn new(settings: &SlackSettings) -> Result<Self, SendError> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| {
                SendError::permanent(format!("cannot create an HTTP client: {error}"))
            })?;
        Ok(Self {
            http,
            settings: settings.clone(),
        })
    }

    /// Posts a message to a channel or, with a user id as `channel`, a direct message.
    pub async fn post_message(&self, channel: &str, message: &Value) -> Result<(), SendError> {
        let mut body = message.clone();
        body["channel"] = json!(channel);
        self.call_json("chat.postMessage", &body)
            .await
            .map(|_| ())
            .map_err(SendError::from)
    }

    /// Finds the Slack user id of an e-mail address; `None` when no Slack user has it.
    pub async fn lookup_by_email(&self, email: &str) -> Result<Option<String>, SendError> {
        match self
            .call_form("users.lookupByEmail", &[("email", email)])
            .await
        {
            Ok(reply) => Ok(reply["user"]["id"].as_str().map(str::to_owned)),
            Err(CallError::Slack(code)) if code == "users_not_found" => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// Returns the e-mail address on a Slack user's profile, if Slack shares it.
    pub async fn user_email(&self, user_id: &str) -> Result<Option<String>, SendError> {
        let reply = self
            .call_form("users.info", &[("user", user_id)])
            .await
            .map_err(SendError::from)?;
        Ok(reply["user"]["profile"]["email"]
            .as_str()
            .map(str::to_owned))
    }

    /// Posts a message through the incoming webhook.
    pub async fn post_webhook(&self, message: &Value) -> Result<(), SendError> {
        let Some(url) = &self.settings.webhook_url else {
            return Err(SendError::permanent(
                "no Slack webhook URL is set (WRIT_SLACK_WEBHOOK_URL)",
            ));
        };
        self.post_plain(url.as_str(), message, "the Slack webhook")
            .await
    }

    /// Replaces a message, or replies to the user who clicked, through an interaction's
    /// `response_url`.
    pub async fn respond(&self, response_url: &str, message: &Value) -> Result<(), SendError> {
        self.post_plain(response_url, message, "Slack's response URL")
            .await
    }

    async fn post_plain(&self, url: &str, message: &Value, what: &str) -> Result<(), SendError> {
        let response = self
            .http
            .post(url)
            .json(message)
            .send()
            .await
            .map_err(|error| {
                SendError::transient(format!("cannot reach {what}: {}", without_url(&error)))
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let text = response.text().await.unwrap_or_default();
        let message = format!(
            "{what} returned {status}: {}",
            text.chars().take(200).collect::<String>()
        );
        if status.is_server_error() || status.as_u16() == 429 {
            Err(SendError::transient(message))
        } else {
            Err(SendError::permanent(message))
        }
    }

    async fn call_json(&self, method: &str, body: &Value) -> Result<Value, CallError> {
        let request = self.http.post(self.method_url(method)).json(body);
        self.call(method, request).await
    }

    async fn call_form(&self, method: &str, form: &[(&str, &str)]) -> Result<Value, CallError> {
        let request = self.http.post(self.method_url(method)).form(form);
        self.call(method, request).await
    }

    async fn call(
        &self,
        method: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Value, CallError> {
        let Some(token) = &self.settings.bot_token else {
            return Err(CallError::Permanent(format!(
                "{method} needs the Slack bot token (WRIT_SLACK_BOT_TOKEN)"
            )));
        };
        let response = request.bearer_auth(token).send().await.map_err(|error| {
            CallError::Transient(format!(
                "cannot reach Slack for {method}: {}",
                without_url(&error)
            ))
        })?;
        let status = response.status();
        if status.as_u16() == 429 || status.is_server_error() {
            return Err(CallError::Transient(format!(
                "Slack returned {status} for {method}"
            )));
        }
        let reply: Value = response.json().await.map_err(|error| {
            CallError::Transient(format!("Slack's response to {method} is not JSON: {error}"))
        })?;
        if reply["ok"].as_bool() == Some(true) {
            return Ok(reply);
        }
        let code = reply["error"]
            .as_str()
            .unwrap_or("unknown_error")
            .to_owned();
        Err(CallError::Slack(code))
    }

    fn method_url(&self, method: &str) -> String {
        format!(
            "{}/{method}",
            self.settings.api_url.as_str().trim_end_matches('/')
        )
    }
}

/// A failed Web API call.
#[derive(Debug)]
enum CallError {
    Transient(String),
    Permanent(String),
    /// Slack returned `ok: false` with this error code.
    Slack(String),
}

impl From<CallError> for SendError {
    fn from(error: CallError) -> Self {
        match error {
            CallError::Transient(message) => SendError::transient(message),
            CallError::Permanent(message) => SendError::permanent(message),
            CallError::Slack(code) => {
                // Slack's own errors are about the token, the scopes or the channel, except
                // for these, which pass.
                let transient = matches!(
                    code.as_str(),
                    "ratelimited"
                        | "internal_error"
                        | "fatal_error"
                        | "service_unavailable"
                        | "request_timeout"
                );
                let message = format!("Slack returned the error {code}");
                if transient {
                    SendError::transient(message)
                } else {
                    SendError::permanent(message)
                }
            }
        }
    }
}

/// Describes an HTTP error without its URL, which may be a webhook or response URL (a secret).
fn without_url(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "the request timed out"
    } else if error.is_connect() {
        "the connection failed"
    } else {
        "the request failed"
    }
}

/// Buttons a Slack message carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Buttons {
    /// The notice's actions as link buttons only.
    Links,
    /// Approve and Deny buttons decided in Slack (each with Slack's confirmation dialog),
    /// then the notice's link buttons.
    Decide { request_id: Uuid },
}

/// Builds a Block Kit message (with its notification `text`) from `notice`. Every text that
/// can hold user input is escaped and marked `verbatim`, so Slack neither links nor mentions.
pub fn message(notice: &Notice, buttons: Buttons, outcome: Option<&str>) -> Value {
    let mut blocks = vec![json!({
        "type": "section",
        "text": mrkdwn(&format!("*{}*\n{}", escape(&notice.heading), escape(&notice.intro)), MAX_SECTION_TEXT),
    })];
    let (long, short): (Vec<_>, Vec<_>) = notice
        .facts
        .iter()
        .partition(|(label, _)| label == "Reason" || label == "Why it ended");
    // A section contains at most ten fields.
    for chunk in short.chunks(10) {
        let fields: Vec<Value> = chunk
            .iter()
            .map(|(label, value)| {
                mrkdwn(
                    &format!("*{}*\n{}", escape(label), escape(value)),
                    MAX_FIELD_TEXT,
                )
            })
            .collect();
        blocks.push(json!({ "type": "section", "fields": fields }));
    }
    for (label, value) in long {
        blocks.push(json!({
            "type": "section",
            "text": mrkdwn(&format!("*{}*\n{}", escape(label), escape(value)), MAX_SECTION_TEXT),
        }));
    }
    if let Some(outcome) = outcome {
        blocks.push(json!({
            "type": "context",
            "elements": [mrkdwn(&escape(outcome), MAX_FIELD_TEXT)],
        }));
    }
    let mut elements = Vec::new();
    if let Buttons::Decide { request_id } = buttons {
        elements.push(decide_button(
            APPROVE_ACTION,
            "Approve",
            "primary",
            request_id,
        ));
        elements.push(decide_button(DENY_ACTION, "Deny", "danger", request_id));
    }
    for (index, (label, url)) in notice.actions.iter().enumerate() {
        elements.push(json!({
            "type": "button",
            "action_id": format!("writ_link_{index}"),
            "text": { "type": "plain_text", "text": label },
            "url": url,
        }));
    }
    if !elements.is_empty() {
        blocks.push(json!({ "type": "actions", "block_id": "writ_actions", "elements": elements }));
    }
    json!({
        "text": escape(&notice.subject),
        "blocks": blocks,
        "unfurl_links": false,
        "unfurl_media": false,
    })
}

fn mrkdwn(text: &str, max: usize) -> Value {
    let text: String = text.chars().take(max).collect();
    json!({ "type": "mrkdwn", "text": text, "verbatim": true })
}

fn decide_button(action_id: &str, label: &str, style: &str, request_id: Uuid) -> Value {
    let verb = label.to_lowercase();
    json!({
        "type": "button",
        "action_id": action_id,
        "text": { "type": "plain_text", "text": label },
        "style": style,
        "value": request_id.to_string(),
        "confirm": {
            "title": { "type": "plain_text", "text": format!("{label} this request?") },
            "text": { "type": "plain_text", "text": format!("Writ records that you {verb} it, in your name.") },
            "confirm": { "type": "plain_text", "text": label },
            "deny": { "type": "plain_text", "text": "Cancel" },
        },
    })
}

/// The cause of a rejected request to the interactivity endpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the X-Slack-Request-Timestamp or X-Slack-Signature header is missing")]
    Missing,
    #[error("the request timestamp is more than five minutes from Writ's clock")]
    Stale,
    #[error("the request signature does not match the signing secret")]
    Mismatch,
}

/// Checks Slack's signature: `v0=` plus the hex HMAC-SHA256, keyed with the signing secret, of
/// `v0:{timestamp}:{raw body}`, with the timestamp within five minutes of `now`.
pub fn verify_signature(
    signing_secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err(SignatureError::Missing);
    };
    let seconds: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::Stale)?;
    let age = (now.timestamp() - seconds).unsigned_abs();
    if age > MAX_SIGNATURE_AGE.as_secs() {
        return Err(SignatureError::Stale);
    }
    let expected = signature
        .strip_prefix("v0=")
        .and_then(|hex_digest| hex::decode(hex_digest).ok())
        .ok_or(SignatureError::Mismatch)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(signing_secret.as_bytes())
        .map_err(|_| SignatureError::Mismatch)?;
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

/// Computes the `X-Slack-Signature` value for `body` at `timestamp`, as Slack does.
pub fn sign(signing_secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(signing_secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn escape_defuses_mentions_and_links() {
        assert_eq!(escape("<!channel> hi"), "&lt;!channel&gt; hi");
        assert_eq!(
            escape("<https://evil.example|click> & <@U123>"),
            "&lt;https://evil.example|click&gt; &amp; &lt;@U123&gt;"
        );
    }

    #[test]
    fn signature_round_trips_and_rejects_tampering() {
        let now = Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0).unwrap();
        let body = b"payload=%7B%7D";
        let signature = sign("secret", now.timestamp(), body);
        let timestamp = now.timestamp().to_string();
        assert_eq!(
            verify_signature("secret", Some(&timestamp), Some(&signature), body, now),
            Ok(())
        );
        assert_eq!(
            verify_signature(
                "secret",
                Some(&timestamp),
                Some(&signature),
                b"payload=x",
                now
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature("other", Some(&timestamp), Some(&signature), body, now),
            Err(SignatureError::Mismatch)
        );
        let later = now + chrono::Duration::seconds(301);
        assert_eq!(
            verify_signature("secret", Some(&timestamp), Some(&signature), body, later),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_signature("secret", None, Some(&signature), body, now),
            Err(SignatureError::Missing)
        );
    }
}
