//! In-process caches behind the decision API: the compiled active policy set, principals with
//! their live grants, resources, and decision clients by token hash.
//!
//! Entries are loaded from PostgreSQL on first use and dropped when a trigger reports a change
//! on one of the `writ_*_changed` channels (see `listener.rs`), so that every replica sees a
//! change made through any other. A load that raced with a change is not stored: each load
//! notes the invalidation epoch first and stores its result only if the epoch did not move.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use policy::{Engine, GrantFact, IdentityKind, Posture, Principal, Sensitivity, Target};
use sqlx::{PgExecutor, PgPool};
use tokio::sync::watch;
use uuid::Uuid;

use crate::error::Result;

/// Entries kept per map before the map is emptied, so that lookups of many distinct unknown
/// names cannot grow memory without bound.
const MAX_ENTRIES: usize = 100_000;

/// The compiled active policy set and the version it came from.
#[derive(Debug)]
pub struct ActivePolicy {
    pub engine: Engine,
    pub version_id: Uuid,
    pub number: i32,
}

/// A principal as the engine needs it, with the grants that are scheduled or active.
#[derive(Clone, Debug)]
pub struct PrincipalEntry {
    pub principal: Principal,
    pub grants: Vec<GrantFact>,
}

/// A registered decision client, found by its token.
#[derive(Clone, Debug)]
pub struct ClientEntry {
    pub id: Uuid,
    pub name: String,
}

type Map<V> = RwLock<HashMap<String, Option<Arc<V>>>>;

/// The caches of one Writ process.
#[derive(Debug)]
pub struct Cache {
    pool: PgPool,
    policy: RwLock<Arc<ActivePolicy>>,
    principals: Map<PrincipalEntry>,
    targets: Map<Target>,
    clients: Map<ClientEntry>,
    epoch: AtomicU64,
    changes: watch::Sender<u64>,
}

impl Cache {
    /// Loads the active policy set and starts with empty entity maps.
    pub async fn load(pool: PgPool) -> Result<Self> {
        let policy = load_active_policy(&pool).await?;
        let (changes, _) = watch::channel(0);
        Ok(Self {
            pool,
            policy: RwLock::new(Arc::new(policy)),
            principals: RwLock::default(),
            targets: RwLock::default(),
            clients: RwLock::default(),
            epoch: AtomicU64::new(0),
            changes,
        })
    }

    /// Returns the active policy set.
    pub fn policy(&self) -> Arc<ActivePolicy> {
        read(&self.policy).clone()
    }

    /// Returns a receiver that sees the invalidation count move after each handled change.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Returns the principal named by `key`, an identity id or external id.
    pub async fn principal(&self, key: &str) -> Result<Option<Arc<PrincipalEntry>>> {
        if let Some(entry) = read(&self.principals).get(key) {
            return Ok(entry.clone());
        }
        let epoch = self.epoch.load(Ordering::Acquire);
        let entry = load_principal(&self.pool, key).await?.map(Arc::new);
        self.store(&self.principals, epoch, key, entry.clone());
        Ok(entry)
    }

    /// Returns the resource named by `key`, a resource name or id.
    pub async fn target(&self, key: &str) -> Result<Option<Arc<Target>>> {
        if let Some(entry) = read(&self.targets).get(key) {
            return Ok(entry.clone());
        }
        let epoch = self.epoch.load(Ordering::Acquire);
        let entry = load_target(&self.pool, key).await?.map(Arc::new);
        self.store(&self.targets, epoch, key, entry.clone());
        Ok(entry)
    }

    /// Returns the enabled client whose token hashes to `token_hash`.
    pub async fn client(&self, token_hash: &[u8]) -> Result<Option<Arc<ClientEntry>>> {
        let key = hex::encode(token_hash);
        if let Some(entry) = read(&self.clients).get(&key) {
            return Ok(entry.clone());
        }
        let epoch = self.epoch.load(Ordering::Acquire);
        let entry = sqlx::query!(
            "select id, name from decision_clients where token_hash = $1 and disabled_at is null",
            token_hash
        )
        .fetch_optional(&self.pool)
        .await?
        .map(|row| {
            Arc::new(ClientEntry {
                id: row.id,
                name: row.name,
            })
        });
        self.store(&self.clients, epoch, &key, entry.clone());
        Ok(entry)
    }

    fn store<V>(&self, map: &Map<V>, epoch: u64, key: &str, entry: Option<Arc<V>>) {
        let mut map = write(map);
        if self.epoch.load(Ordering::Acquire) != epoch {
            return;
        }
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key.to_owned(), entry);
    }

    /// Drops every entry of the identity `id`, and every remembered unknown name.
    pub fn identity_changed(&self, id: Uuid) {
        self.bump();
        write(&self.principals)
            .retain(|_, entry| entry.as_ref().is_some_and(|entry| entry.principal.id != id));
        self.announce();
    }

    /// Drops every entry of the resource `id`, and every remembered unknown name.
    pub fn resource_changed(&self, id: Uuid) {
        self.bump();
        write(&self.targets).retain(|_, entry| entry.as_ref().is_some_and(|entry| entry.id != id));
        self.announce();
    }

    /// Drops every client entry.
    pub fn clients_changed(&self) {
        self.bump();
        write(&self.clients).clear();
        self.announce();
    }

    /// Reloads the active policy set.
    pub async fn policy_changed(&self) -> Result<()> {
        let policy = load_active_policy(&self.pool).await?;
        *write(&self.policy) = Arc::new(policy);
        self.bump();
        self.announce();
        Ok(())
    }

    /// Drops every entry and reloads the policy, after notifications may have been missed.
    pub async fn reset(&self) -> Result<()> {
        self.bump();
        write(&self.principals).clear();
        write(&self.targets).clear();
        write(&self.clients).clear();
        self.policy_changed().await
    }

    fn bump(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    fn announce(&self) {
        self.changes.send_modify(|count| *count += 1);
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    // A panic while holding these locks cannot leave a map half-updated in a way that matters:
    // every write replaces or removes whole entries.
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Compiles the active policy version.
pub async fn load_active_policy(pool: &PgPool) -> Result<ActivePolicy> {
    let row = sqlx::query!(
        r#"
        select v.id, v.number, v.source
        from policy_active a join policy_versions v on v.id = a.version_id
        "#
    )
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| anyhow::anyhow!("no active policy version; run `writ migrate` first"))?;
    let engine = Engine::compile(&row.source).map_err(|problems| {
        anyhow::anyhow!(
            "the active policy version {} does not compile: {problems:?}",
            row.number
        )
    })?;
    Ok(ActivePolicy {
        engine,
        version_id: row.id,
        number: row.number,
    })
}

/// Loads an identity by id or external id, with its latest signals and its live grants.
pub async fn load_principal(pool: &PgPool, key: &str) -> Result<Option<PrincipalEntry>> {
    let id = Uuid::parse_str(key).ok();
    let row = sqlx::query!(
        r#"
        select i.id, i.name, i.kind, i.environment, i.criticality, i.owner_id, i.status,
               s.risk_score as "risk_score?", s.managed as "managed?",
               s.compliant as "compliant?", s.disk_encrypted as "disk_encrypted?"
        from identities i left join identity_signals s on s.identity_id = i.id
        where ($1::uuid is not null and i.id = $1) or ($1::uuid is null and i.external_id = $2)
        "#,
        id,
        key
    )
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let kind = IdentityKind::parse(&row.kind)
        .ok_or_else(|| anyhow::anyhow!("identity {} has unknown kind {}", row.id, row.kind))?;
    let posture = match (row.managed, row.compliant, row.disk_encrypted) {
        (None, None, None) => None,
        (managed, compliant, disk_encrypted) => Some(Posture {
            managed: managed.unwrap_or(false),
            compliant: compliant.unwrap_or(false),
            disk_encrypted: disk_encrypted.unwrap_or(false),
        }),
    };
    let principal = Principal {
        id: row.id,
        name: row.name,
        kind,
        environment: row.environment,
        criticality: row.criticality,
        owner: row.owner_id,
        active: row.status == "active",
        risk_score: row.risk_score.map(i64::from),
        posture,
    };
    let grants = live_grants(pool, row.id).await?;
    Ok(Some(PrincipalEntry { principal, grants }))
}

/// Loads the grants of `subject` that are scheduled or active, whatever their window. The engine
/// decides from the clock whether each one counts.
pub async fn live_grants<'e>(
    executor: impl PgExecutor<'e>,
    subject: Uuid,
) -> Result<Vec<GrantFact>> {
    let rows = sqlx::query!(
        r#"
        select id, resource_id, starts_at, expires_at from grants
        where subject_id = $1 and state in ('scheduled', 'active')
        order by starts_at
        "#,
        subject
    )
    .fetch_all(executor)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| GrantFact {
            id: row.id,
            resource: row.resource_id,
            starts_at: row.starts_at,
            expires_at: row.expires_at,
        })
        .collect())
}

/// Loads a resource by name or id.
pub async fn load_target(pool: &PgPool, key: &str) -> Result<Option<Target>> {
    let id = Uuid::parse_str(key).ok();
    let row = sqlx::query!(
        r#"
        select id, name, target, role, sensitivity, archived_at
        from resources
        where ($1::uuid is not null and id = $1) or name = $2
        order by (id = $1) desc nulls last
        limit 1
        "#,
        id,
        key
    )
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let sensitivity = Sensitivity::parse(&row.sensitivity).ok_or_else(|| {
        anyhow::anyhow!(
            "resource {} has unknown sensitivity {}",
            row.id,
            row.sensitivity
        )
    })?;
    Ok(Some(Target {
        id: row.id,
        name: row.name,
        target: row.target,
        role: row.role,
        sensitivity,
        archived: row.archived_at.is_some(),
    }))
}
