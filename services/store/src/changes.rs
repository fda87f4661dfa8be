//! Changes one process announces to the others through the database, so that what they keep in
//! memory (API keys, the authority directory, open alert streams) follows at once. PostgreSQL
//! carries them with `NOTIFY`; SQLite has no such thing, and its readers re-read after a short
//! time instead.

use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::{Backend, Store, StoreError};

/// What is announced; the payload names what changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A company's API key was revoked; the payload is its key id.
    ApiKeyRevoked,
    /// An authority's key was revoked; the payload is its key id.
    AuthorityKeyRevoked,
    /// An authority's directory entry was created or changed; the payload is its country.
    Directory,
}

impl Change {
    const ALL: [Change; 3] = [
        Change::ApiKeyRevoked,
        Change::AuthorityKeyRevoked,
        Change::Directory,
    ];

    /// The PostgreSQL notification channel.
    fn channel(self) -> &'static str {
        match self {
            Change::ApiKeyRevoked => "pw_key_revocations",
            Change::AuthorityKeyRevoked => "pw_authority_key_revocations",
            Change::Directory => "pw_directory",
        }
    }

    fn from_channel(channel: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|change| change.channel() == channel)
    }
}

/// What a follower hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// This changed, naming this (a key id, a country).
    Changed(Change, String),
    /// The connection to the database was lost and found again: announcements made meanwhile
    /// are not repeated, so anything kept in memory may be stale.
    MayHaveMissed,
}

impl Store {
    /// Announces a change to every follower (nothing on SQLite). Sent after the change is
    /// committed, so a follower that reads again sees it.
    pub(crate) async fn announce(&self, change: Change, payload: &str) -> Result<(), StoreError> {
        if self.backend != Backend::Postgres {
            return Ok(());
        }
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(change.channel())
            .bind(payload)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Whether changes are announced at all (PostgreSQL): where not, whatever is kept in
    /// memory must be read again after a short time.
    pub fn announces_changes(&self) -> bool {
        self.backend == Backend::Postgres
    }

    async fn listener(&self, changes: &[Change]) -> Result<PgListener, StoreError> {
        let mut listener = PgListener::connect(&self.url).await?;
        let channels: Vec<&str> = changes.iter().map(|change| change.channel()).collect();
        listener.listen_all(channels).await?;
        Ok(listener)
    }
}

/// Calls `heard` with every announcement of `changes` until `shutdown`; returns at once on
/// SQLite, which announces nothing. The listener reconnects by itself when its connection is
/// lost, and then `heard` gets [`Heard::MayHaveMissed`].
pub async fn follow(
    store: Store,
    changes: &[Change],
    mut heard: impl FnMut(Heard) + Send,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    if !store.announces_changes() {
        return Ok(());
    }
    let pause = Duration::from_secs(1);
    let mut listener = loop {
        match store.listener(changes).await {
            Ok(listener) => break listener,
            Err(error) => {
                tracing::warn!(%error, ?changes, "cannot listen for announced changes, retrying");
                tokio::select! {
                    () = shutdown.cancelled() => return Ok(()),
                    () = tokio::time::sleep(pause) => {}
                }
            }
        }
    };
    loop {
        let received = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            received = listener.try_recv() => received,
        };
        match received {
            Ok(Some(notification)) => {
                if let Some(change) = Change::from_channel(notification.channel()) {
                    heard(Heard::Changed(change, notification.payload().to_owned()));
                }
            }
            // The connection was lost; the next call reconnects.
            Ok(None) => heard(Heard::MayHaveMissed),
            Err(error) => {
                tracing::warn!(%error, ?changes, "listening for announced changes failed, retrying");
                heard(Heard::MayHaveMissed);
                tokio::select! {
                    () = shutdown.cancelled() => return Ok(()),
                    () = tokio::time::sleep(pause) => {}
                }
            }
        }
    }
}

/// Announcements of changes heard once per process and handed to every part of it that waits
/// for one (each open alert stream waits for its own key's revocation). Cheap to clone.
#[derive(Clone)]
pub struct Announcements {
    sender: broadcast::Sender<Heard>,
}

impl Announcements {
    /// Announcements of `changes`, and the task that hears them from the database until
    /// `shutdown` (to be spawned).
    pub fn follow(
        store: Store,
        changes: &'static [Change],
        shutdown: CancellationToken,
    ) -> (
        Self,
        impl std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
    ) {
        let (sender, _) = broadcast::channel(256);
        let heard = {
            let sender = sender.clone();
            move |heard: Heard| {
                // Nobody waiting is no error.
                let _ = sender.send(heard);
            }
        };
        let task = follow(store, changes, heard, shutdown);
        (Self { sender }, task)
    }

    /// Announcements from now on.
    pub fn subscribe(&self) -> Subscription {
        Subscription {
            receiver: self.sender.subscribe(),
        }
    }
}

/// One waiter's announcements.
pub struct Subscription {
    receiver: broadcast::Receiver<Heard>,
}

impl Subscription {
    /// Returns when `change` naming `name` is announced, or when announcements may have been
    /// missed (the connection to the database was lost, or this waiter fell behind): then the
    /// caller checks for itself. Never returns when nothing announces changes (SQLite).
    pub async fn until(&mut self, change: Change, name: &str) {
        loop {
            match self.receiver.recv().await {
                Ok(Heard::Changed(heard, named)) if heard == change && named == name => return,
                Ok(Heard::Changed(..)) => {}
                Ok(Heard::MayHaveMissed) | Err(broadcast::error::RecvError::Lagged(_)) => return,
                Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Change;

    #[test]
    fn every_change_has_its_own_channel() {
        for change in Change::ALL {
            assert_eq!(Change::from_channel(change.channel()), Some(change));
        }
        assert_eq!(Change::from_channel("pw_other"), None);
    }
}
