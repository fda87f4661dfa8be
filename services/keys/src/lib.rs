//! API keys of companies and authorities: `pw_<key id>_<secret>`. Only a hash of the secret is
//! stored, and it is compared in constant time.

use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

/// A newly created key: shown once, then only its hash is kept.
pub struct NewKey {
    pub key_id: String,
    pub secret_hash: String,
    /// The full key the company sends as `Authorization: Bearer <key>`.
    pub token: String,
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
        token: format!("pw_{key_id}_{secret}"),
        key_id,
    }
}

/// Splits a presented token into key id and secret.
pub fn split(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix("pw_")?;
    let (key_id, secret) = rest.split_once('_')?;
    (key_id.len() == 16 && !secret.is_empty()).then_some((key_id, secret))
}

/// Whether `secret` hashes to `stored_hash`, compared in constant time.
pub fn verify(secret: &str, stored_hash: &str) -> bool {
    hash(secret).as_bytes().ct_eq(stored_hash.as_bytes()).into()
}

fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_verifies_and_a_wrong_one_does_not() {
        let key = generate();
        let (key_id, secret) = split(&key.token).expect("well formed");
        assert_eq!(key_id, key.key_id);
        assert!(verify(secret, &key.secret_hash));
        assert!(!verify("wrong", &key.secret_hash));
        assert!(!key.token.contains(&key.secret_hash));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for token in ["", "pw_", "pw_abc_def", "Bearer", "xx_0123456789abcdef_s"] {
            assert!(split(token).is_none(), "{token}");
        }
    }
}
