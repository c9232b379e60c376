//! Types shared by the console pages, the server functions and the server's domain code.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub mod decisions;

pub use decisions::*;

/// Declares a closed set of values stored as lower-case text, with parsing, display and a label.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => ($text:literal, $label:literal)),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[cfg_attr(feature = "ssr", derive(sqlx::Type))]
        #[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "snake_case"))]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in display order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and serialized form.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// A human-readable label for the console.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;

            fn from_str(value: &str) -> Result<Self, Self::Err> {
                match value {
                    $($text => Ok($name::$variant),)+
                    _ => {
                        let allowed: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                        Err(format!("must be one of {}", allowed.join(", ")))
                    }
                }
            }
        }
    };
}

text_enum!(
    /// A console role. A user may hold several.
    Role {
        Admin => ("admin", "Admin"),
        Approver => ("approver", "Approver"),
        Auditor => ("auditor", "Auditor"),
        Requester => ("requester", "Requester"),
    }
);

text_enum!(
    /// What kind of actor an identity is.
    IdentityKind {
        Human => ("human", "Human"),
        ServiceAccount => ("service_account", "Service account"),
        ApiKey => ("api_key", "API key"),
        Workload => ("workload", "Workload"),
        AiAgent => ("ai_agent", "AI agent"),
    }
);

text_enum!(
    /// How much damage misuse of an identity could do.
    Criticality {
        Low => ("low", "Low"),
        Medium => ("medium", "Medium"),
        High => ("high", "High"),
        Critical => ("critical", "Critical"),
    }
);

text_enum!(
    /// Whether an identity may act.
    IdentityStatus {
        Active => ("active", "Active"),
        Disabled => ("disabled", "Disabled"),
    }
);

text_enum!(
    /// How sensitive a requestable resource is.
    Sensitivity {
        Low => ("low", "Low"),
        Medium => ("medium", "Medium"),
        High => ("high", "High"),
        CrownJewel => ("crown_jewel", "Crown jewel"),
    }
);

text_enum!(
    /// Lifecycle of an access request.
    RequestState {
        Pending => ("pending", "Pending"),
        Approved => ("approved", "Approved"),
        Denied => ("denied", "Denied"),
        Cancelled => ("cancelled", "Cancelled"),
        Expired => ("expired", "Expired"),
    }
);

text_enum!(
    /// Lifecycle of a grant.
    GrantState {
        Scheduled => ("scheduled", "Scheduled"),
        Active => ("active", "Active"),
        Suspended => ("suspended", "Suspended"),
        Expired => ("expired", "Expired"),
        Revoked => ("revoked", "Revoked"),
        RevokeFailed => ("revoke_failed", "Revoke failed"),
    }
);

text_enum!(
    /// One approver's decision on a request.
    ReviewDecision {
        Approve => ("approve", "Approve"),
        Deny => ("deny", "Deny"),
    }
);

text_enum!(
    /// Where a review came from.
    Channel {
        Console => ("console", "Console"),
        Email => ("email", "E-mail link"),
        Slack => ("slack", "Slack"),
        Api => ("api", "API"),
    }
);

text_enum!(
    /// Where an audited action came from.
    Source {
        Console => ("console", "Console"),
        Api => ("api", "API"),
        Job => ("job", "Job"),
        Cli => ("cli", "CLI"),
        Slack => ("slack", "Slack"),
    }
);

text_enum!(
    /// Whether an audited action took effect.
    Outcome {
        Success => ("success", "Success"),
        Refused => ("refused", "Refused"),
        Failed => ("failed", "Failed"),
    }
);

impl GrantState {
    /// Whether the grant still gives, or will give, access.
    pub fn is_live(self) -> bool {
        matches!(
            self,
            GrantState::Scheduled | GrantState::Active | GrantState::Suspended
        )
    }
}

/// The signed-in user as the console sees them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub user_id: Uuid,
    pub display_name: String,
    pub email: Option<String>,
    pub roles: Vec<Role>,
    /// The user's own human identity in the inventory.
    pub identity_id: Option<Uuid>,
}

/// How people may sign in to the console.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInMethods {
    /// Sign-in through the OpenID provider is configured.
    pub oidc: bool,
    /// Local accounts other than the bootstrap administrator may sign in.
    pub local: bool,
}

impl Viewer {
    /// Whether the viewer holds `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// One page of a keyset-paginated list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Opaque cursor for the next page, absent on the last page.
    pub next: Option<String>,
}

/// An identity in the inventory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    pub id: Uuid,
    pub kind: IdentityKind,
    pub name: String,
    pub owner_id: Option<Uuid>,
    pub owner_name: Option<String>,
    pub environment: String,
    pub criticality: Criticality,
    pub description: String,
    pub external_id: Option<String>,
    pub status: IdentityStatus,
    pub last_used_at: Option<DateTime<Utc>>,
    pub attributes: serde_json::Value,
    pub user_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Identity {
    /// Whether the identity is non-human and has no accountable owner.
    pub fn is_unowned(&self) -> bool {
        self.kind != IdentityKind::Human && self.owner_id.is_none()
    }
}

/// Filters for the inventory list.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IdentityFilter {
    /// Text matched against name, external id and description.
    pub q: Option<String>,
    pub kind: Option<IdentityKind>,
    pub environment: Option<String>,
    pub status: Option<IdentityStatus>,
    pub owner_id: Option<Uuid>,
    /// Only non-human identities without an owner.
    #[serde(default)]
    pub unowned: bool,
}

/// Fields an admin sets when creating or editing an identity.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IdentityInput {
    pub kind: String,
    pub name: String,
    /// The owner's identity id, empty for none.
    #[serde(default)]
    pub owner_id: String,
    #[serde(default)]
    pub environment: String,
    #[serde(default)]
    pub criticality: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub external_id: String,
    /// A JSON object of free attributes, empty for none.
    #[serde(default)]
    pub attributes: String,
}

/// How a CSV import treats a file with bad rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportMode {
    /// Import nothing when any row is bad.
    AllOrNothing,
    /// Import the good rows and report the bad ones.
    GoodRowsOnly,
}

/// A bad row in a CSV import.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRowError {
    /// Line number in the file, counting the header as line 1.
    pub line: u64,
    pub column: Option<String>,
    pub message: String,
}

/// The outcome of a CSV import.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    pub mode: ImportMode,
    pub rows: u64,
    pub imported: u64,
    pub errors: Vec<ImportRowError>,
}

/// A user or group named on a resource as a requester or approver.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrincipalRef {
    pub user_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
    pub name: String,
}

/// A requestable resource: a target system plus a role on it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    pub id: Uuid,
    pub name: String,
    pub target: String,
    pub role: String,
    pub description: String,
    pub sensitivity: Sensitivity,
    pub max_duration_secs: i32,
    pub required_approvals: i32,
    pub archived_at: Option<DateTime<Utc>>,
    pub requesters: Vec<PrincipalRef>,
    pub approvers: Vec<PrincipalRef>,
}

/// Fields an admin sets on a resource. Principals are `user:<id>` or `group:<id>`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceInput {
    pub name: String,
    pub target: String,
    pub role: String,
    #[serde(default)]
    pub description: String,
    pub sensitivity: String,
    /// A duration such as `8h` or `30m`.
    pub max_duration: String,
    pub required_approvals: String,
    #[serde(default)]
    pub requesters: Vec<String>,
    #[serde(default)]
    pub approvers: Vec<String>,
}

/// A request for time-boxed access, with what the console shows beside it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccessRequest {
    pub id: Uuid,
    pub requester_id: Uuid,
    pub requester_name: String,
    pub subject_id: Uuid,
    pub subject_name: String,
    pub subject_kind: IdentityKind,
    pub resource_id: Uuid,
    pub resource_name: String,
    pub sensitivity: Sensitivity,
    pub reason: String,
    pub ticket: Option<String>,
    pub duration_secs: i32,
    pub scheduled_start: Option<DateTime<Utc>>,
    pub state: RequestState,
    pub required_approvals: i32,
    pub approvals: i64,
    pub pending_deadline: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

/// Fields of the new-request form.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestInput {
    pub resource_id: String,
    /// The identity that receives the access: empty for oneself.
    #[serde(default)]
    pub subject_id: String,
    /// A duration such as `2h` or `45m`.
    pub duration: String,
    pub reason: String,
    #[serde(default)]
    pub ticket: String,
    /// An RFC 3339 time or a `datetime-local` value in UTC, empty to start on approval.
    #[serde(default)]
    pub scheduled_start: String,
}

/// One approver's review.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Review {
    pub reviewer_id: Uuid,
    pub reviewer_name: String,
    pub decision: ReviewDecision,
    pub comment: String,
    pub channel: Channel,
    pub created_at: DateTime<Utc>,
}

/// Time-boxed access produced by an approved request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Grant {
    pub id: Uuid,
    pub request_id: Uuid,
    pub requester_id: Uuid,
    pub requester_name: String,
    pub subject_id: Uuid,
    pub subject_name: String,
    pub resource_id: Uuid,
    pub resource_name: String,
    pub max_duration_secs: i32,
    pub state: GrantState,
    pub starts_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub activated_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub end_reason: Option<String>,
    pub extensions: i32,
}

/// A request with its reviews and grant, for the request page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestDetail {
    pub request: AccessRequest,
    pub reviews: Vec<Review>,
    pub grant: Option<Grant>,
    /// Whether the viewer may approve or deny it now.
    pub can_review: bool,
    /// Why the viewer may not review, when they may not.
    pub review_blocked_reason: Option<String>,
    pub can_cancel: bool,
    /// Whether the viewer may extend the grant (its requester, while it is live).
    pub can_extend_grant: bool,
    /// Whether the viewer may revoke the grant (its requester or an admin, while it is live).
    pub can_revoke_grant: bool,
}

/// One entry of the audit log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub actor_label: String,
    pub action: String,
    pub outcome: Outcome,
    pub subject_type: String,
    pub subject_id: String,
    pub reason: String,
    pub source: Source,
    pub details: serde_json::Value,
    /// Ids of the framework controls the event is evidence for.
    pub controls: Vec<String>,
}

/// Filters for the audit log.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub actor_id: Option<Uuid>,
    pub subject_id: Option<String>,
    pub outcome: Option<Outcome>,
}

/// A console user, for the admin's user list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: Uuid,
    pub issuer: String,
    pub subject: String,
    pub display_name: String,
    pub email: Option<String>,
    pub roles: Vec<Role>,
    pub is_bootstrap: bool,
    pub has_password: bool,
    pub disabled_at: Option<DateTime<Utc>>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
    pub groups: Vec<String>,
}

/// A group of users that can request or approve resources.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub members: Vec<PrincipalRef>,
}

/// An API token's metadata; the secret is shown once at creation only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: Uuid,
    pub name: String,
    pub prefix: String,
    pub roles: Vec<Role>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A newly created API token with its secret, which is never shown again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreatedToken {
    pub token: ApiToken,
    pub secret: String,
}

/// A sign-in link made for a user, shown once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IssuedLink {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// What the dashboard shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    pub pending_approvals: Vec<AccessRequest>,
    pub my_pending_requests: Vec<AccessRequest>,
    pub active_grants: Vec<Grant>,
    pub expiring_soon: Vec<Grant>,
    pub unowned_identities: i64,
}

/// A choice in a select box.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

/// Which grants a grant list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantScope {
    /// Scheduled, active and suspended grants.
    Live,
    /// Expired, revoked and failed grants.
    History,
}

/// Fields of the admin's new-user form.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NewUserInput {
    /// The local sign-in name.
    pub login: String,
    pub display_name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub roles: Vec<String>,
    /// An initial password; empty to issue a one-time sign-in link instead.
    #[serde(default)]
    pub password: String,
}

text_enum!(
    /// What an approval link's confirmation page can offer.
    LinkState {
        Ready => ("ready", "Ready"),
        SignInRequired => ("sign_in_required", "Sign-in required"),
        Refused => ("refused", "Refused"),
    }
);

/// What the confirmation page of an approval link shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApprovalLinkView {
    pub state: LinkState,
    /// Why the link cannot be used, or whom to sign in as.
    pub message: String,
    /// The approver the link was made for.
    pub approver_name: String,
    /// The request, shown only when the link may be used now.
    pub request: Option<AccessRequest>,
    /// Whether the decision will be made without a signed-in session.
    pub link_only: bool,
}

/// The result of deciding through an approval link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApprovalLinkOutcome {
    pub decision: ReviewDecision,
    pub request: AccessRequest,
}

/// One notification delivery, for the admin's notifications page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeliveryRow {
    pub id: Uuid,
    pub event: String,
    pub channel: String,
    pub destination: String,
    pub recipient_name: Option<String>,
    pub request_id: Option<Uuid>,
    pub grant_id: Option<Uuid>,
    /// `pending`, `sent`, `failed` or `skipped`.
    pub state: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// A resource and the Slack channel that hears about its requests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceChannel {
    pub resource_id: Uuid,
    pub resource_name: String,
    pub slack_channel: Option<String>,
}

/// What the admin's notifications page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NotificationsOverview {
    pub email_on: bool,
    pub slack_on: bool,
    pub slack_interactivity_on: bool,
    /// The URL to enter as the Slack app's interactivity request URL.
    pub interactivity_url: String,
    pub deliveries: Vec<DeliveryRow>,
    pub channels: Vec<ResourceChannel>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_enum_round_trips() {
        for kind in IdentityKind::ALL {
            assert_eq!(kind.as_str().parse::<IdentityKind>(), Ok(*kind));
        }
    }

    #[test]
    fn text_enum_lists_allowed_values() {
        let error = "robot".parse::<IdentityKind>().unwrap_err();
        assert_eq!(
            error,
            "must be one of human, service_account, api_key, workload, ai_agent"
        );
    }
}
