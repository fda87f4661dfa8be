//! API keys of companies and authorities: `pw_<key id>_<secret>`.
//!
//! Only an Argon2id hash of the secret is stored (PHC string format). Verifying it costs tens of
//! milliseconds on purpose, so a [`Verifier`] remembers, per key id, a keyed fingerprint of the
//! secret it last verified against the stored hash: later requests with the same key compare
//! fingerprints in constant time. The caller still reads the key's row on every request, so a
//! revoked key is refused at once and a rotated key (a new hash) is verified afresh.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::Argon2;
use base64::Engine as _;
use rand::RngCore as _;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

/// A newly created key: shown once, then only its hash is kept.
#[derive(Debug)]
pub struct NewKey {
    pub key_id: String,
    pub secret_hash: String,
    /// The full key the company sends as `Authorization: Bearer <key>`.
    pub token: SecretString,
}

/// Creates a random key.
pub fn generate() -> NewKey {
    let mut rng = rand::thread_rng();
    let mut id = [0u8; 8];
    let mut secret = [0u8; 32];
    rng.fill_bytes(&mut id);
    rng.fill_bytes(&mut secret);
    let key_id = hex::encode(id);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
    NewKey {
        secret_hash: hash(&secret),
        token: format!("pw_{key_id}_{secret}").into(),
        key_id,
    }
}

/// The credentials of an `Authorization` header value with the `Bearer` scheme, whose name is
/// case-insensitive (RFC 9110, 11.1): `Bearer pw_...`, `bearer pw_...`.
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, credentials) = value.trim_start().split_once(' ')?;
    let credentials = credentials.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !credentials.is_empty()).then_some(credentials)
}

/// Splits a presented token into key id and secret.
pub fn split(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix("pw_")?;
    let (key_id, secret) = rest.split_once('_')?;
    (key_id.len() == 16 && !secret.is_empty() && secret.len() <= 128).then_some((key_id, secret))
}

/// The Argon2id hash of a secret, as a PHC string with its own random salt.
fn hash(secret: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    // Hashing with the default parameters cannot fail for a salt generated here.
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .unwrap_or_default()
}

/// Whether `secret` matches `stored_hash`: an Argon2 PHC string, or the hex SHA-256 digest that
/// keys created before Argon2 carry (compared in constant time).
pub fn verify(secret: &str, stored_hash: &str) -> bool {
    if stored_hash.starts_with("$argon2") {
        return PasswordHash::new(stored_hash).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(secret.as_bytes(), &parsed)
                .is_ok()
        });
    }
    let legacy = hex::encode(Sha256::digest(secret.as_bytes()));
    !stored_hash.is_empty() && bool::from(legacy.as_bytes().ct_eq(stored_hash.as_bytes()))
}

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

    fn remembered(&self, key_id: &str, stored_hash: &str) -> Option<[u8; 32]> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret as _;

    #[test]
    fn the_scheme_is_case_insensitive_and_the_credentials_required() {
        assert_eq!(bearer("Bearer pw_a.b"), Some("pw_a.b"));
        assert_eq!(bearer("bearer  pw_a.b "), Some("pw_a.b"));
        assert_eq!(bearer("BEARER pw_a.b"), Some("pw_a.b"));
        assert_eq!(bearer("Basic cHc6eA=="), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("Bearerpw_a.b"), None);
    }

    #[test]
    fn a_generated_key_verifies_and_a_wrong_one_does_not() {
        let key = generate();
        let (key_id, secret) = split(key.token.expose_secret()).expect("well formed");
        assert_eq!(key_id, key.key_id);
        assert!(
            key.secret_hash.starts_with("$argon2id$"),
            "{}",
            key.secret_hash
        );
        assert!(verify(secret, &key.secret_hash));
        assert!(!verify("wrong", &key.secret_hash));
        assert!(!key.token.expose_secret().contains(&key.secret_hash));
        assert!(!format!("{key:?}").contains(secret));
    }

    #[test]
    fn two_keys_with_one_secret_hash_differently() {
        assert_ne!(hash("same"), hash("same"));
    }

    #[test]
    fn keys_hashed_before_argon2_still_verify() {
        let legacy = hex::encode(Sha256::digest(b"old-secret"));
        assert!(verify("old-secret", &legacy));
        assert!(!verify("other", &legacy));
        assert!(!verify("", ""));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let long = format!("pw_0123456789abcdef_{}", "s".repeat(129));
        for token in [
            "",
            "pw_",
            "pw_abc_def",
            "Bearer",
            "xx_0123456789abcdef_s",
            &long,
        ] {
            assert!(split(token).is_none(), "{token}");
        }
    }

    #[tokio::test]
    async fn the_verifier_remembers_a_verified_key_and_forgets_it_when_the_hash_changes() {
        let verifier = Verifier::default();
        let key = generate();
        let (key_id, secret) = split(key.token.expose_secret()).expect("well formed");
        assert!(verifier.verify(key_id, secret, &key.secret_hash).await);
        // Remembered: the wrong secret is refused by fingerprint, the right one accepted.
        assert!(verifier.remembered(key_id, &key.secret_hash).is_some());
        assert!(!verifier.verify(key_id, "wrong", &key.secret_hash).await);
        assert!(verifier.verify(key_id, secret, &key.secret_hash).await);
        // The key id now has another hash (rotated in the store): verified afresh, and refused.
        let other = generate();
        assert!(verifier.remembered(key_id, &other.secret_hash).is_none());
        assert!(!verifier.verify(key_id, secret, &other.secret_hash).await);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_burst_of_first_requests_with_one_key_runs_argon2_once() {
        let verifier = Verifier::default();
        let key = generate();
        let (key_id, secret) = split(key.token.expose_secret()).expect("well formed");
        let burst = (0..16).map(|_| verifier.verify(key_id, secret, &key.secret_hash));
        let results = futures::future::join_all(burst).await;
        assert!(results.iter().all(|valid| *valid));
        assert_eq!(verifier.argon2_runs(), 1);
        // A wrong secret for the remembered key costs no Argon2 run at all.
        assert!(!verifier.verify(key_id, "wrong", &key.secret_hash).await);
        assert_eq!(verifier.argon2_runs(), 1);
    }

    #[tokio::test]
    async fn a_wrong_secret_tried_again_costs_no_second_argon2_run() {
        let verifier = Verifier::default();
        let key = generate();
        let (key_id, secret) = split(key.token.expose_secret()).expect("well formed");
        for _ in 0..5 {
            assert!(!verifier.verify(key_id, "guess", &key.secret_hash).await);
        }
        assert_eq!(verifier.argon2_runs(), 1, "one run for the wrong secret");
        assert!(verifier.verify(key_id, secret, &key.secret_hash).await);
        assert_eq!(verifier.argon2_runs(), 2);
    }
}
