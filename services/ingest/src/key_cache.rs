//! API keys kept in memory: a submission is authenticated without a database read, and a key
//! revoked by any process (the `revoke-key` command) is dropped as soon as PostgreSQL announces
//! it. On SQLite, which announces nothing, an entry is read again after a few seconds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use store::{ApiKeyRecord, Change, Heard, Store, StoreError};
use tokio_util::sync::CancellationToken;

/// Most keys remembered; past that the cache starts afresh.
const REMEMBERED_KEYS: usize = 10_000;

/// How long an entry is trusted when revocations are announced: a safety net only.
const ANNOUNCED_TTL: Duration = Duration::from_secs(60);

/// How long an entry is trusted when nothing announces revocations.
const UNANNOUNCED_TTL: Duration = Duration::from_secs(2);

/// API key records by key id. Cheap to clone; clones share the entries.
#[derive(Clone)]
pub struct KeyCache {
    entries: Arc<Mutex<HashMap<String, (ApiKeyRecord, Instant)>>>,
    ttl: Duration,
}

impl KeyCache {
    /// A cache for keys of `store`.
    pub fn new(store: &Store) -> Self {
        let ttl = if store.announces_changes() {
            ANNOUNCED_TTL
        } else {
            UNANNOUNCED_TTL
        };
        Self {
            entries: Arc::default(),
            ttl,
        }
    }

    /// The key's record, from memory or else from the store. Unknown keys are not remembered,
    /// so a key issued a moment ago works at once.
    pub async fn get(
        &self,
        store: &Store,
        key_id: &str,
    ) -> Result<Option<ApiKeyRecord>, StoreError> {
        if let Some((record, read_at)) = self.lock().get(key_id) {
            if read_at.elapsed() < self.ttl {
                return Ok(Some(record.clone()));
            }
        }
        let record = store.api_key(key_id).await?;
        if let Some(record) = &record {
            let mut entries = self.lock();
            if entries.len() >= REMEMBERED_KEYS {
                entries.clear();
            }
            entries.insert(key_id.to_owned(), (record.clone(), Instant::now()));
        }
        Ok(record)
    }

    /// Forgets one key.
    pub fn forget(&self, key_id: &str) {
        self.lock().remove(key_id);
    }

    /// Forgets every key.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (ApiKeyRecord, Instant)>> {
        // The map holds no invariant a panic could break.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Drops each key from `cache` as its revocation is announced, until `shutdown`. A listener
/// that lost its connection may have missed announcements: then the whole cache is dropped.
pub async fn follow_revocations(
    store: Store,
    cache: KeyCache,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let heard = move |heard: Heard| match heard {
        Heard::Changed(_, key_id) => {
            tracing::info!(key_id, "api key revoked");
            cache.forget(&key_id);
        }
        Heard::MayHaveMissed => cache.clear(),
    };
    store::follow(store, &[Change::ApiKeyRevoked], heard, shutdown).await
}
