//! Stored secrets: an Argon2id hash per key, and the SHA-256 digests of keys made before it.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

/// The Argon2id hash of a secret, as a PHC string with its own random salt.
pub(crate) fn hash(secret: &str) -> String {
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
