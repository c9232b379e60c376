//! The framework controls catalogue: OWASP NHI Top 10 (2025), NIST CSF 2.0 and NIST AI RMF 1.0,
//! and the controls each audit event and decision is evidence for.
//!
//! The catalogue is the reference data in `server/data/frameworks/`, compiled into the binary.
//! `event-control-map.csv` maps each kind of event Writ emits to control ids. It is Writ's own
//! mapping, not an official crosswalk. AI RMF ids apply when the identity involved is an AI agent,
//! and to policy changes.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Deserialize;

/// The framework a control belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framework {
    OwaspNhi,
    NistCsf,
    NistAiRmf,
}

impl Framework {
    /// Returns the framework's name with its edition.
    pub fn title(self) -> &'static str {
        match self {
            Framework::OwaspNhi => "OWASP NHI Top 10 (2025)",
            Framework::NistCsf => "NIST CSF 2.0",
            Framework::NistAiRmf => "NIST AI RMF 1.0",
        }
    }
}

/// One control of a framework.
#[derive(Clone, Debug, PartialEq)]
pub struct Control {
    pub id: String,
    pub framework: Framework,
    pub title: String,
}

/// The controls one kind of event is evidence for, per framework.
#[derive(Clone, Debug, Default)]
struct EventControls {
    owasp_nhi: Vec<String>,
    nist_csf: Vec<String>,
    nist_ai_rmf: Vec<String>,
}

/// Every control by id, and the event map.
#[derive(Debug)]
pub struct Catalogue {
    controls: HashMap<String, Control>,
    events: HashMap<String, EventControls>,
    /// The controls of a runtime decision, by [`decision_slot`], worked out once because every
    /// decision needs them.
    decisions: [Vec<String>; 4],
}

/// Kinds of event named in `event-control-map.csv`.
pub mod event {
    pub const IDENTITY_REGISTERED: &str = "identity registered in inventory";
    pub const OWNER_ASSIGNED: &str = "owner assigned";
    pub const ACCESS_REQUESTED: &str = "access requested";
    pub const REQUEST_APPROVED: &str = "request approved";
    pub const REQUEST_DENIED: &str = "request denied";
    pub const SELF_APPROVAL_BLOCKED: &str = "self-approval blocked";
    pub const GRANT_ACTIVATED: &str = "grant activated";
    pub const GRANT_EXPIRED: &str = "grant expired and revoked";
    pub const GRANT_REVOKED_EARLY: &str = "grant revoked early by an admin";
    pub const DECISION_ALLOW: &str = "runtime policy decision: allow";
    pub const DECISION_DENY: &str = "runtime policy decision: deny (risk score/device posture/geo)";
    pub const AGENT_INTENT_DECISION: &str = "AI agent intent-based decision";
    pub const POLICY_CHANGED: &str = "policy changed";
}

#[derive(Deserialize)]
struct ControlRow {
    id: String,
    title: String,
}

#[derive(Deserialize)]
struct EventRow {
    event: String,
    owasp_nhi: String,
    nist_csf: String,
    nist_ai_rmf: String,
}

const OWASP_NHI_CSV: &str = include_str!("../data/frameworks/owasp-nhi-top10-2025.csv");
const NIST_CSF_CSV: &str = include_str!("../data/frameworks/nist-csf-2.0.csv");
const NIST_AI_RMF_CSV: &str = include_str!("../data/frameworks/nist-ai-rmf-1.0.csv");
const EVENT_MAP_CSV: &str = include_str!("../data/frameworks/event-control-map.csv");

static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(|| {
    // The files are compiled in and checked by the tests below, so a failure here is a build
    // defect, not an operator's mistake.
    Catalogue::parse().expect("the compiled-in framework catalogue parses")
});

/// Returns the index into [`Catalogue::decisions`] of a decision's outcome and principal kind.
fn decision_slot(allow: bool, ai_agent: bool) -> usize {
    usize::from(allow) * 2 + usize::from(ai_agent)
}

/// Returns the catalogue compiled into this binary.
pub fn catalogue() -> &'static Catalogue {
    &CATALOGUE
}

impl Catalogue {
    fn parse() -> Result<Self, String> {
        let mut controls = HashMap::new();
        for (framework, text) in [
            (Framework::OwaspNhi, OWASP_NHI_CSV),
            (Framework::NistCsf, NIST_CSF_CSV),
            (Framework::NistAiRmf, NIST_AI_RMF_CSV),
        ] {
            for row in csv::Reader::from_reader(text.as_bytes()).deserialize::<ControlRow>() {
                let row = row.map_err(|error| format!("{}: {error}", framework.title()))?;
                controls.insert(
                    row.id.clone(),
                    Control {
                        id: row.id,
                        framework,
                        title: row.title,
                    },
                );
            }
        }
        let mut events = HashMap::new();
        for row in csv::Reader::from_reader(EVENT_MAP_CSV.as_bytes()).deserialize::<EventRow>() {
            let row = row.map_err(|error| format!("event map: {error}"))?;
            let split = |cell: &str| -> Result<Vec<String>, String> {
                let ids: Vec<String> = cell
                    .split(';')
                    .map(str::trim)
                    .filter(|id| !id.is_empty())
                    .map(str::to_owned)
                    .collect();
                match ids.iter().find(|id| !controls.contains_key(*id)) {
                    Some(unknown) => Err(format!("event map names unknown control {unknown}")),
                    None => Ok(ids),
                }
            };
            let entry = EventControls {
                owasp_nhi: split(&row.owasp_nhi)?,
                nist_csf: split(&row.nist_csf)?,
                nist_ai_rmf: split(&row.nist_ai_rmf)?,
            };
            events.insert(row.event, entry);
        }
        let mut catalogue = Self {
            controls,
            events,
            decisions: Default::default(),
        };
        for allow in [false, true] {
            for ai_agent in [false, true] {
                catalogue.decisions[decision_slot(allow, ai_agent)] =
                    catalogue.decision_controls(allow, ai_agent);
            }
        }
        Ok(catalogue)
    }

    /// Returns the control with `id`, if the catalogue has it.
    pub fn control(&self, id: &str) -> Option<&Control> {
        self.controls.get(id)
    }

    /// Returns the number of controls in the catalogue.
    pub fn len(&self) -> usize {
        self.controls.len()
    }

    /// Returns whether the catalogue is empty.
    pub fn is_empty(&self) -> bool {
        self.controls.is_empty()
    }

    /// Returns the control ids `event` is evidence for, AI RMF ids included when `ai` is set.
    pub fn for_event(&self, event: &str, ai: bool) -> Vec<String> {
        let Some(entry) = self.events.get(event) else {
            return Vec::new();
        };
        let mut ids = entry.owasp_nhi.clone();
        ids.extend(entry.nist_csf.iter().cloned());
        if ai {
            ids.extend(entry.nist_ai_rmf.iter().cloned());
        }
        ids
    }

    /// Returns the control ids a runtime decision is evidence for.
    pub fn for_decision(&self, allow: bool, ai_agent: bool) -> &[String] {
        &self.decisions[decision_slot(allow, ai_agent)]
    }

    fn decision_controls(&self, allow: bool, ai_agent: bool) -> Vec<String> {
        let outcome = if allow {
            event::DECISION_ALLOW
        } else {
            event::DECISION_DENY
        };
        let mut ids = self.for_event(outcome, ai_agent);
        if ai_agent {
            for id in self.for_event(event::AGENT_INTENT_DECISION, true) {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        ids
    }

    /// Returns the control ids an audit event is evidence for, from its action, outcome and
    /// reason. Events with no mapping return no ids.
    pub fn for_audit(&self, action: &str, outcome: &str, reason: &str) -> Vec<String> {
        let event = match (action, outcome) {
            ("identity.created" | "identities.imported", "success") => event::IDENTITY_REGISTERED,
            ("identity.owner_assigned", "success") => event::OWNER_ASSIGNED,
            ("request.created", "success") => event::ACCESS_REQUESTED,
            ("request.approved", "success") => event::REQUEST_APPROVED,
            ("request.denied", "success") => event::REQUEST_DENIED,
            ("request.review" | "approval_link.use", "refused")
                if reason.contains("own request") =>
            {
                event::SELF_APPROVAL_BLOCKED
            }
            ("grant.activated", "success") => event::GRANT_ACTIVATED,
            ("grant.expired", "success") => event::GRANT_EXPIRED,
            ("grant.revoked_by_admin" | "grant.revoked" | "grant.suspended", "success") => {
                event::GRANT_REVOKED_EARLY
            }
            ("policy.saved" | "policy.activated" | "policy.rolled_back", "success") => {
                return self.for_event(event::POLICY_CHANGED, true);
            }
            _ => return Vec::new(),
        };
        self.for_event(event, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_has_every_framework() {
        let catalogue = Catalogue::parse().unwrap();
        let nhi = catalogue.control("NHI5:2025").unwrap();
        assert_eq!(nhi.title, "Overprivileged NHI");
        assert_eq!(nhi.framework, Framework::OwaspNhi);
        let csf = catalogue.control("PR.AA-05").unwrap();
        assert_eq!(csf.framework, Framework::NistCsf);
        let ai = catalogue.control("MAP 3.5").unwrap();
        assert_eq!(ai.framework, Framework::NistAiRmf);
    }

    #[test]
    fn every_mapped_event_is_known() {
        let catalogue = Catalogue::parse().unwrap();
        for name in [
            event::IDENTITY_REGISTERED,
            event::OWNER_ASSIGNED,
            event::ACCESS_REQUESTED,
            event::REQUEST_APPROVED,
            event::REQUEST_DENIED,
            event::SELF_APPROVAL_BLOCKED,
            event::GRANT_ACTIVATED,
            event::GRANT_EXPIRED,
            event::GRANT_REVOKED_EARLY,
            event::DECISION_ALLOW,
            event::DECISION_DENY,
            event::AGENT_INTENT_DECISION,
            event::POLICY_CHANGED,
        ] {
            assert!(!catalogue.for_event(name, true).is_empty(), "{name}");
        }
    }

    #[test]
    fn decision_controls_cached_per_slot() {
        let catalogue = Catalogue::parse().unwrap();
        for allow in [false, true] {
            for ai_agent in [false, true] {
                assert_eq!(
                    catalogue.for_decision(allow, ai_agent),
                    catalogue.decision_controls(allow, ai_agent),
                    "allow {allow}, agent {ai_agent}"
                );
            }
        }
        assert_ne!(
            catalogue.for_decision(true, false),
            catalogue.for_decision(false, false)
        );
    }

    #[test]
    fn agent_decisions_add_ai_rmf() {
        let catalogue = Catalogue::parse().unwrap();
        let human = catalogue.for_decision(false, false);
        let agent = catalogue.for_decision(false, true);
        assert!(human.contains(&"PR.AA-05".to_owned()));
        assert!(!human.iter().any(|id| id.starts_with("MAP")));
        assert!(agent.contains(&"MAP 3.5".to_owned()));
        assert!(agent.contains(&"AI 600-1 2.7".to_owned()));
    }

    #[test]
    fn self_review_refusal_maps_to_separation_of_duties() {
        let catalogue = Catalogue::parse().unwrap();
        let ids = catalogue.for_audit(
            "request.review",
            "refused",
            "you cannot review your own request",
        );
        assert!(ids.contains(&"PR.AA-05".to_owned()));
        assert!(ids.contains(&"GV.RR-02".to_owned()));
        assert!(
            catalogue
                .for_audit("user.signed_in", "success", "")
                .is_empty()
        );
    }
}
