//! The key format: `pw_<key id>_<secret>`, how a new one is made and how a presented one is
//! read.

use base64::Engine as _;
use rand::RngCore as _;
use secrecy::SecretString;

use crate::hash::hash;

/// A newly created key: shown once, then only its hash is kept.
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

/// A new key's id only: its hash is no one's business in a log, and the token is secret.
impl std::fmt::Debug for NewKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewKey")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}
