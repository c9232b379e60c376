//! Recent behaviour per principal, for the decision context: denials in the last hour and the
//! countries seen before.
//!
//! Each Writ process keeps the counts in memory. The first time it meets a principal it loads
//! the principal's denials of the last hour from the decision log and its countries from
//! `principal_countries`, so a restart or another replica starts from what the log holds. After
//! that a process counts its own decisions, and adds each country that is new for a principal to
//! `principal_countries` for the others.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use policy::Behaviour;
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::Result;

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
#[derive(Debug)]
pub struct BehaviourTracker {
    pool: PgPool,
    principals: Mutex<HashMap<Uuid, History>>,
}

impl BehaviourTracker {
    /// Starts an empty tracker that loads principals from `pool` as it meets them.
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            principals: Mutex::default(),
        }
    }

    /// Returns the principal's recent behaviour as of `now`, for a request from `country`.
    pub async fn recent(
        &self,
        principal: Uuid,
        country: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Behaviour> {
        if !self.lock().contains_key(&principal) {
            let history = load(&self.pool, principal, now).await?;
            // A concurrent request may have loaded the principal meanwhile, and either copy will do.
            self.lock().entry(principal).or_insert(history);
        }
        Ok(self.count(principal, country, now))
    }

    fn count(&self, principal: Uuid, country: Option<&str>, now: DateTime<Utc>) -> Behaviour {
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

    /// Notes a decision's outcome and country. A country new to the principal is also stored
    /// for other processes.
    pub async fn note(
        &self,
        principal: Uuid,
        country: Option<&str>,
        allow: bool,
        now: DateTime<Utc>,
    ) {
        if self.remember(principal, country, allow, now)
            && let Some(country) = country
        {
            store_country(&self.pool, principal, country, now).await;
        }
    }

    /// Adds a decision to the principal's history and returns whether its country was new.
    fn remember(
        &self,
        principal: Uuid,
        country: Option<&str>,
        allow: bool,
        now: DateTime<Utc>,
    ) -> bool {
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
        match country {
            Some(country)
                if !history.countries.iter().any(|c| c == country)
                    && history.countries.len() < MAX_COUNTRIES =>
            {
                history.countries.push(country.to_owned());
                true
            }
            _ => false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, History>> {
        self.principals
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Loads a principal's denials of the hour before `now` and its known countries.
async fn load(pool: &PgPool, principal: Uuid, now: DateTime<Utc>) -> Result<History> {
    let mut denials = sqlx::query_scalar!(
        r#"
        select decided_at from decisions
        where principal_id = $1 and not allow and decided_at > $2 and decided_at <= $3
        order by decided_at desc
        limit $4
        "#,
        principal,
        now - Duration::hours(1),
        now,
        MAX_DENIALS as i64,
    )
    .fetch_all(pool)
    .await?;
    denials.reverse();
    let countries = sqlx::query_scalar!(
        "select country from principal_countries where principal_id = $1
         order by first_seen, country limit $2",
        principal,
        MAX_COUNTRIES as i64,
    )
    .fetch_all(pool)
    .await?;
    Ok(History {
        denials: denials.into(),
        countries,
    })
}

/// Records that `principal` was first seen in `country` at `now`, unless a row exists already.
async fn store_country(pool: &PgPool, principal: Uuid, country: &str, now: DateTime<Utc>) {
    let stored = sqlx::query!(
        "insert into principal_countries (principal_id, country, first_seen)
         values ($1, $2, $3) on conflict do nothing",
        principal,
        country,
        now,
    )
    .execute(pool)
    .await;
    if let Err(error) = stored {
        // The country stays known in this process, and other processes treat it as new.
        tracing::warn!(%error, %principal, %country, "storing a principal's new country failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Returns a tracker that already contains `principal`. Its pool, on a closed loopback port,
    /// is never used by these tests.
    fn tracker_with(principal: Uuid) -> BehaviourTracker {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .connect_lazy("postgres://127.0.0.1:1/unused")
            .unwrap();
        let tracker = BehaviourTracker::new(pool);
        tracker.lock().insert(principal, History::default());
        tracker
    }

    #[tokio::test]
    async fn denials_leave_after_an_hour() {
        let id = Uuid::new_v4();
        let tracker = tracker_with(id);
        let start = Utc::now();
        tracker.remember(id, None, false, start);
        tracker.remember(id, None, true, start);
        assert_eq!(tracker.count(id, None, start).denials_last_hour, 1);
        let later = start + Duration::hours(1);
        assert_eq!(tracker.count(id, None, later).denials_last_hour, 0);
    }

    #[tokio::test]
    async fn only_unseen_country_is_new() {
        let id = Uuid::new_v4();
        let tracker = tracker_with(id);
        let now = Utc::now();
        assert!(!tracker.count(id, Some("DE"), now).new_country);
        assert!(tracker.remember(id, Some("DE"), true, now));
        assert!(!tracker.remember(id, Some("DE"), true, now));
        assert!(!tracker.count(id, Some("DE"), now).new_country);
        assert!(tracker.count(id, Some("BR"), now).new_country);
    }
}
