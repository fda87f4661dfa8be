//! Who is looking: an operator (the operators' token) or one authority (its API key), signed in
//! with a session cookie.
//!
//! Sessions live in this process: a restart signs everyone out, and several console instances
//! need sticky sessions. A session of an authority ends as soon as its key is revoked, because
//! the key's row is read on every request.

use runtime::{ExposeSecret as _, SecretString};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use store::{Store, StoreError};
use subtle::ConstantTimeEq as _;

/// The session cookie's name.
pub const COOKIE: &str = "pw_console";

/// Who is signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// Sees the whole pipeline and every alert.
    Operator,
    /// Sees only the alerts delivered to its own country's authority.
    Authority { country: String, key_id: String },
}

impl Viewer {
    /// The country whose alerts the viewer may see; `None` for every country.
    pub fn country(&self) -> Option<&str> {
        match self {
            Viewer::Operator => None,
            Viewer::Authority { country, .. } => Some(country),
        }
    }

    /// Whether the viewer is an operator.
    pub fn is_operator(&self) -> bool {
        matches!(self, Viewer::Operator)
    }
}

/// Why a sign-in was refused.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("this key or token is not valid")]
    Invalid,
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct Session {
    viewer: Viewer,
    expires: Instant,
}

/// Checks credentials and keeps the sessions; cheap to clone.
#[derive(Clone)]
pub struct Sessions {
    store: Store,
    operator_token: Option<SecretString>,
    verifier: keys::Verifier,
    lifetime: Duration,
    /// By the SHA-256 of the session token: the tokens themselves are not kept.
    open: Arc<Mutex<HashMap<[u8; 32], Session>>>,
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Sessions {
    /// Sessions that last `lifetime`; operators sign in with `operator_token` (no operator
    /// sign-in without one).
    pub fn new(store: Store, operator_token: Option<SecretString>, lifetime: Duration) -> Self {
        Self {
            store,
            operator_token,
            verifier: keys::Verifier::default(),
            lifetime,
            open: Arc::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Session>> {
        // Inserts and removals leave the map whole.
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Who `credential` belongs to: the operators' token, or an authority's valid API key.
    pub async fn authenticate(&self, credential: &str) -> Result<Viewer, SignInError> {
        let credential = credential.trim();
        if let Some(token) = &self.operator_token {
            if bool::from(
                credential
                    .as_bytes()
                    .ct_eq(token.expose_secret().as_bytes()),
            ) {
                return Ok(Viewer::Operator);
            }
        }
        let (key_id, secret) = keys::split(credential).ok_or(SignInError::Invalid)?;
        let key = self
            .store
            .authority_key(key_id)
            .await?
            .ok_or(SignInError::Invalid)?;
        if key.revoked || !self.verifier.verify(key_id, secret, &key.secret_hash).await {
            return Err(SignInError::Invalid);
        }
        Ok(Viewer::Authority {
            country: key.country,
            key_id: key_id.to_owned(),
        })
    }

    /// Opens a session for `viewer`; returns its token, the cookie's value.
    pub fn open(&self, viewer: Viewer) -> String {
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        let token = hex::encode(bytes);
        let now = Instant::now();
        let mut open = self.lock();
        open.retain(|_, session| session.expires > now);
        open.insert(
            digest(&token),
            Session {
                viewer,
                expires: now + self.lifetime,
            },
        );
        token
    }

    /// Ends a session.
    pub fn close(&self, token: &str) {
        self.lock().remove(&digest(token));
    }

    /// The viewer of a session still open; an authority's only while its key is not revoked.
    pub async fn viewer(&self, token: &str) -> Result<Option<Viewer>, StoreError> {
        let key = digest(token);
        let viewer = {
            let mut open = self.lock();
            match open.get(&key) {
                Some(session) if session.expires > Instant::now() => session.viewer.clone(),
                Some(_) => {
                    open.remove(&key);
                    return Ok(None);
                }
                None => return Ok(None),
            }
        };
        if let Viewer::Authority { key_id, .. } = &viewer {
            let valid = self
                .store
                .authority_key(key_id)
                .await?
                .is_some_and(|key| !key.revoked);
            if !valid {
                self.close(token);
                return Ok(None);
            }
        }
        Ok(Some(viewer))
    }

    /// Sessions open now.
    pub fn count(&self) -> usize {
        let now = Instant::now();
        self.lock()
            .values()
            .filter(|session| session.expires > now)
            .count()
    }
}

/// The anti-forgery token of a session's forms: derived from the session's token, which only
/// the browser holding the (HttpOnly) cookie knows, and which no page of another site can read.
pub fn form_token(session: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"precursor-watch console form\0");
    hasher.update(session.as_bytes());
    hex::encode(hasher.finalize())
}

/// The session token in a `Cookie` header, if any.
pub fn session_cookie(headers: &axum::http::HeaderMap) -> Option<String> {
    cookie(headers, COOKIE)
}

/// The value of the cookie `wanted` of the request.
pub fn cookie(headers: &axum::http::HeaderMap, wanted: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            axum::http::header::COOKIE,
            "theme=dark; pw_console=abc123; other=1".parse().unwrap(),
        );
        assert_eq!(session_cookie(&headers).as_deref(), Some("abc123"));
        headers.insert(axum::http::header::COOKIE, "pw_consolex=1".parse().unwrap());
        assert_eq!(session_cookie(&headers), None);
    }
}
