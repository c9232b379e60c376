//! Recent behaviour per principal, for the decision context: denials in the last hour and the
//! countries seen before.
//!
//! The tracker lives in memory in each Writ process and starts empty, so with several replicas
//! each one counts the decisions it made itself.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use policy::Behaviour;
use uuid::Uuid;

/// Principals tracked before the tracker starts over.
const MAX_PRINCIPALS: usize = 100_000;
/// Countries remembered per principal.
const MAX_COUNTRIES: usize = 64;
/// Denials remembered per principal; the count saturates here.
const MAX_DENIALS: usize = 1_000;

#[derive(Debug, Default)]
struct History {
    denials: VecDeque<DateTime<Utc>>,
    countries: Vec<String>,
}

/// Denials and countries per principal.
#[derive(Debug, Default)]
pub struct BehaviourTracker {
    principals: Mutex<HashMap<Uuid, History>>,
}

impl BehaviourTracker {
    /// Returns the principal's recent behaviour as of `now`, for a request from `country`.
    pub fn recent(&self, principal: Uuid, country: Option<&str>, now: DateTime<Utc>) -> Behaviour {
        let mut principals = self.lock();
        let Some(history) = principals.get_mut(&principal) else {
            return Behaviour::default();
        };
        let hour_ago = now - Duration::hours(1);
        while history.denials.front().is_some_and(|at| *at <= hour_ago) {
            history.denials.pop_front();
        }
        let new_country = match country {
            Some(country) => {
                !history.countries.is_empty() && !history.countries.iter().any(|c| c == country)
            }
            None => false,
        };
        Behaviour {
            denials_last_hour: history.denials.len() as i64,
            new_country,
        }
    }

    /// Notes a decision's outcome and country.
    pub fn note(&self, principal: Uuid, country: Option<&str>, allow: bool, now: DateTime<Utc>) {
        let mut principals = self.lock();
        if principals.len() >= MAX_PRINCIPALS && !principals.contains_key(&principal) {
            principals.clear();
        }
        let history = principals.entry(principal).or_default();
        if !allow {
            if history.denials.len() >= MAX_DENIALS {
                history.denials.pop_front();
            }
            history.denials.push_back(now);
        }
        if let Some(country) = country
            && !history.countries.iter().any(|c| c == country)
            && history.countries.len() < MAX_COUNTRIES
        {
            history.countries.push(country.to_owned());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, History>> {
        self.principals
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denials_leave_after_an_hour() {
        let tracker = BehaviourTracker::default();
        let id = Uuid::new_v4();
        let start = Utc::now();
        tracker.note(id, None, false, start);
        tracker.note(id, None, true, start);
        assert_eq!(tracker.recent(id, None, start).denials_last_hour, 1);
        let later = start + Duration::hours(1);
        assert_eq!(tracker.recent(id, None, later).denials_last_hour, 0);
    }

    #[test]
    fn only_unseen_country_is_new() {
        let tracker = BehaviourTracker::default();
        let id = Uuid::new_v4();
        let now = Utc::now();
        assert!(!tracker.recent(id, Some("DE"), now).new_country);
        tracker.note(id, Some("DE"), true, now);
        assert!(!tracker.recent(id, Some("DE"), now).new_country);
        assert!(tracker.recent(id, Some("BR"), now).new_country);
    }
}
