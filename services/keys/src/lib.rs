//! API keys of companies and authorities: `pw_<key id>_<secret>`.
//!
//! Only an Argon2id hash of the secret is stored (PHC string format). Verifying it costs tens of
//! milliseconds on purpose, so a [`Verifier`] remembers, per key id, a keyed fingerprint of the
//! secret it last verified against the stored hash: later requests with the same key compare
//! fingerprints in constant time. The caller still reads the key's row on every request, so a
//! revoked key is refused at once and a rotated key (a new hash) is verified afresh.

mod hash;
mod token;
mod verifier;

pub use hash::verify;
pub use token::{bearer, generate, split, NewKey};
pub use verifier::Verifier;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::hash;
    use secrecy::ExposeSecret as _;
    use sha2::{Digest as _, Sha256};

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
