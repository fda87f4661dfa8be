//! The authority directory kept in memory: read once, read again as soon as any process
//! announces a change to an entry (on SQLite, which announces nothing, after a few seconds).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use store::{Authority, Change, Heard, Store, StoreError};
use tokio_util::sync::CancellationToken;

/// How long the directory is trusted when changes are announced: a safety net only.
const ANNOUNCED_TTL: Duration = Duration::from_secs(60);

/// How long it is trusted when nothing announces changes.
const UNANNOUNCED_TTL: Duration = Duration::from_secs(2);

/// Authorities by country.
pub type Entries = Arc<HashMap<String, Authority>>;

/// The directory as last read. Shared between the handler and the follower of changes.
pub struct Directory {
    state: Mutex<State>,
    ttl: Duration,
}

#[derive(Default)]
struct State {
    entries: Option<(Entries, Instant)>,
    /// Counts announced changes, so that a read which began before a change is not kept.
    generation: u64,
}

impl Directory {
    /// An empty directory for `store`, read at first use.
    pub fn new(store: &Store) -> Arc<Self> {
        let ttl = if store.announces_changes() {
            ANNOUNCED_TTL
        } else {
            UNANNOUNCED_TTL
        };
        Arc::new(Self {
            state: Mutex::default(),
            ttl,
        })
    }

    /// The directory, from memory or else from the store.
    pub async fn get(&self, store: &Store) -> Result<Entries, StoreError> {
        let generation = {
            let state = self.lock();
            if let Some((entries, read_at)) = &state.entries {
                if read_at.elapsed() < self.ttl {
                    return Ok(Arc::clone(entries));
                }
            }
            state.generation
        };
        let entries: Entries = Arc::new(
            store
                .authorities()
                .await?
                .into_iter()
                .map(|authority| (authority.country.clone(), authority))
                .collect(),
        );
        let mut state = self.lock();
        if state.generation == generation {
            state.entries = Some((Arc::clone(&entries), Instant::now()));
        }
        Ok(entries)
    }

    /// Forgets what was read: the next use reads again.
    pub fn invalidate(&self) {
        let mut state = self.lock();
        state.entries = None;
        state.generation += 1;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state holds no invariant a panic could break.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Forgets the directory each time a change to it is announced, until `shutdown`.
pub async fn follow(
    store: Store,
    directory: Arc<Directory>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let heard = move |heard: Heard| {
        if let Heard::Changed(_, country) = &heard {
            tracing::info!(country, "authority directory changed");
        }
        directory.invalidate();
    };
    store::follow(store, &[Change::Directory], heard, shutdown).await
}
