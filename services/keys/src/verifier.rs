//! Verifying presented keys against their stored hashes, remembering what was verified so that
//! Argon2 runs once per key and not once per request.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rand::RngCore as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

use crate::hash::verify;

/// Most keys a [`Verifier`] remembers; past that it starts afresh.
const REMEMBERED_KEYS: usize = 10_000;

/// Verifies keys, remembering the ones verified already. Cheap to clone; clones share memory.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<VerifierInner>,
}

struct VerifierInner {
    /// Random per process: a fingerprint is useless outside it.
    pepper: [u8; 32],
    /// Key id -> (stored hash it was verified against, fingerprint of the secret).
    verified: Mutex<HashMap<String, (String, [u8; 32])>>,
    /// Key id -> the turn to run Argon2 for it: one verification of a key at a time, so a burst
    /// of first requests with one key runs it once and the others find the key remembered.
    turns: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// "Key id, stored hash" -> fingerprints of secrets found wrong for it (the latest few), so
    /// that the same wrong secret tried again costs no second Argon2 run.
    refused: Mutex<HashMap<String, Vec<[u8; 32]>>>,
    /// Argon2 verifications run so far.
    argon2_runs: AtomicU64,
}

/// Wrong secrets remembered per key.
const REFUSED_PER_KEY: usize = 16;

impl Default for Verifier {
    fn default() -> Self {
        let mut pepper = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut pepper);
        Self {
            inner: Arc::new(VerifierInner {
                pepper,
                verified: Mutex::new(HashMap::new()),
                turns: Mutex::new(HashMap::new()),
                refused: Mutex::new(HashMap::new()),
                argon2_runs: AtomicU64::new(0),
            }),
        }
    }
}

impl Verifier {
    /// Whether `secret` is the secret of key `key_id` whose stored hash is `stored_hash`. The
    /// first verification of a key runs Argon2 on a blocking thread.
    pub async fn verify(&self, key_id: &str, secret: &str, stored_hash: &str) -> bool {
        let fingerprint = self.fingerprint(secret);
        if let Some(known) = self.remembered(key_id, stored_hash) {
            return bool::from(known.ct_eq(&fingerprint));
        }
        let turn = {
            let mut turns = self
                .inner
                .turns
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if turns.len() >= REMEMBERED_KEYS {
                turns.clear();
            }
            turns.entry(key_id.to_owned()).or_default().clone()
        };
        let _turn = turn.lock().await;
        // Verified meanwhile by the request whose turn it was.
        if let Some(known) = self.remembered(key_id, stored_hash) {
            return bool::from(known.ct_eq(&fingerprint));
        }
        if self.refused_before(key_id, stored_hash, &fingerprint) {
            return false;
        }
        self.inner.argon2_runs.fetch_add(1, Ordering::Relaxed);
        let (secret, stored) = (secret.to_owned(), stored_hash.to_owned());
        let valid = tokio::task::spawn_blocking(move || verify(&secret, &stored))
            .await
            .unwrap_or(false);
        if valid {
            let mut verified = self.lock();
            if verified.len() >= REMEMBERED_KEYS {
                verified.clear();
            }
            verified.insert(key_id.to_owned(), (stored_hash.to_owned(), fingerprint));
        } else {
            let mut refused = self
                .inner
                .refused
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if refused.len() >= REMEMBERED_KEYS {
                refused.clear();
            }
            let wrong = refused
                .entry(format!("{key_id} {stored_hash}"))
                .or_default();
            if wrong.len() >= REFUSED_PER_KEY {
                wrong.remove(0);
            }
            wrong.push(fingerprint);
        }
        valid
    }

    /// Whether this secret was found wrong before for the key with this stored hash.
    fn refused_before(&self, key_id: &str, stored_hash: &str, fingerprint: &[u8; 32]) -> bool {
        let refused = self
            .inner
            .refused
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        refused
            .get(&format!("{key_id} {stored_hash}"))
            .is_some_and(|wrong| {
                wrong
                    .iter()
                    .any(|known| bool::from(known.ct_eq(fingerprint)))
            })
    }

    /// How many times Argon2 ran: once per key and process while its secret is right.
    pub fn argon2_runs(&self) -> u64 {
        self.inner.argon2_runs.load(Ordering::Relaxed)
    }

    pub(crate) fn remembered(&self, key_id: &str, stored_hash: &str) -> Option<[u8; 32]> {
        let verified = self.lock();
        let (hash, fingerprint) = verified.get(key_id)?;
        (hash == stored_hash).then_some(*fingerprint)
    }

    fn fingerprint(&self, secret: &str) -> [u8; 32] {
        let mut digest = Sha256::new();
        digest.update(self.inner.pepper);
        digest.update(secret.as_bytes());
        digest.finalize().into()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, [u8; 32])>> {
        // The map holds no invariant a panic could break.
        self.inner
            .verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
