//! Inventory and grant facts that the server loads and passes to the engine for one decision.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Kind of an identity in the inventory. Each kind is its own Cedar entity type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdentityKind {
    Human,
    ServiceAccount,
    ApiKey,
    Workload,
    AiAgent,
}

impl IdentityKind {
    /// Every kind, in the order of [`IdentityKind::index`].
    pub const ALL: [IdentityKind; 5] = [
        IdentityKind::Human,
        IdentityKind::ServiceAccount,
        IdentityKind::ApiKey,
        IdentityKind::Workload,
        IdentityKind::AiAgent,
    ];

    /// Parses the database and API spelling, such as `service_account`.
    pub fn parse(text: &str) -> Option<IdentityKind> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// Returns the database and API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityKind::Human => "human",
            IdentityKind::ServiceAccount => "service_account",
            IdentityKind::ApiKey => "api_key",
            IdentityKind::Workload => "workload",
            IdentityKind::AiAgent => "ai_agent",
        }
    }

    /// Returns the Cedar entity type name within the `Writ` namespace.
    pub fn cedar_type(self) -> &'static str {
        match self {
            IdentityKind::Human => "Human",
            IdentityKind::ServiceAccount => "ServiceAccount",
            IdentityKind::ApiKey => "ApiKey",
            IdentityKind::Workload => "Workload",
            IdentityKind::AiAgent => "AiAgent",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// Sensitivity of a resource or of one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sensitivity {
    Low,
    Medium,
    High,
    CrownJewel,
}

impl Sensitivity {
    /// Every sensitivity, from lowest to highest.
    pub const ALL: [Sensitivity; 4] = [
        Sensitivity::Low,
        Sensitivity::Medium,
        Sensitivity::High,
        Sensitivity::CrownJewel,
    ];

    /// Parses the database and API spelling, such as `crown_jewel`.
    pub fn parse(text: &str) -> Option<Sensitivity> {
        Self::ALL.into_iter().find(|level| level.as_str() == text)
    }

    /// Returns the database and API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Sensitivity::Low => "low",
            Sensitivity::Medium => "medium",
            Sensitivity::High => "high",
            Sensitivity::CrownJewel => "crown_jewel",
        }
    }

    /// Returns the level that policies compare as `resource.sensitivity_level`: 1 for low up to 4
    /// for crown_jewel.
    pub fn level(self) -> i64 {
        self as i64 + 1
    }
}

/// Device posture as recorded by the last posture signal for an identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posture {
    pub managed: bool,
    pub compliant: bool,
    pub disk_encrypted: bool,
}

/// An identity from the inventory, the principal of a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub id: Uuid,
    pub name: String,
    pub kind: IdentityKind,
    pub environment: String,
    /// `low`, `medium`, `high` or `critical`.
    pub criticality: String,
    /// The human identity that owns this one.
    pub owner: Option<Uuid>,
    /// Whether the identity's status is `active`.
    pub active: bool,
    /// Last risk signal recorded for the identity, 0 to 100.
    pub risk_score: Option<i64>,
    /// Last device-posture signal recorded for the identity.
    pub posture: Option<Posture>,
}

/// A resource from the inventory, the resource of a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub id: Uuid,
    pub name: String,
    /// The system the resource belongs to.
    pub target: String,
    pub role: String,
    pub sensitivity: Sensitivity,
    pub archived: bool,
}

/// A grant of the principal in state `scheduled` or `active`. The engine decides by the server
/// clock whether it is in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrantFact {
    pub id: Uuid,
    /// Id of the granted resource.
    pub resource: Uuid,
    pub starts_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl GrantFact {
    /// Returns whether the grant is in force at `now`: from `starts_at` inclusive until
    /// `expires_at` exclusive.
    pub fn is_active_at(&self, now: DateTime<Utc>) -> bool {
        self.starts_at <= now && now < self.expires_at
    }
}

/// Everything the server loaded for one decision.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub principal: &'a Principal,
    pub resource: &'a Target,
    /// The principal's grants; grants on other resources are ignored.
    pub grants: &'a [GrantFact],
    /// The server clock, which decides whether grants are in force.
    pub now: DateTime<Utc>,
}
