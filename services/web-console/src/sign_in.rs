//! What stands between the sign-in form and a guessing attacker: an anti-forgery token bound to
//! the browser that loaded the form, and limits on attempts per key and per client address
//! (checked before any key is verified, so refused guesses cost no Argon2 run).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use rand::RngCore as _;
use subtle::ConstantTimeEq as _;

/// The cookie holding the sign-in form's anti-forgery token.
pub const FORM_COOKIE: &str = "pw_console_form";

/// Attempts one key (or the operators' token) may make per minute, in a burst.
const PER_KEY_PER_MINUTE: u32 = 5;
/// Attempts one client address may make per minute, in a burst.
const PER_ADDRESS_PER_MINUTE: u32 = 20;

/// A new anti-forgery token: sent as a cookie and as a hidden field of the form; a sign-in is
/// taken only when both come back alike (a page of another site can make the browser send the
/// cookie, but cannot read it to fill the field).
pub fn new_form_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Whether the form's token is the one its browser was given.
pub fn form_token_matches(cookie: Option<&str>, field: &str) -> bool {
    cookie.is_some_and(|cookie| {
        !cookie.is_empty() && bool::from(cookie.as_bytes().ct_eq(field.as_bytes()))
    })
}

/// Limits on sign-in attempts. Cheap to clone; clones share counts.
#[derive(Clone)]
pub struct Attempts {
    by_key: Arc<DefaultKeyedRateLimiter<String>>,
    by_address: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl Default for Attempts {
    fn default() -> Self {
        let quota = |per_minute: u32| {
            let n = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
            Quota::per_minute(n).allow_burst(n)
        };
        Self {
            by_key: Arc::new(RateLimiter::keyed(quota(PER_KEY_PER_MINUTE))),
            by_address: Arc::new(RateLimiter::keyed(quota(PER_ADDRESS_PER_MINUTE))),
        }
    }
}

impl Attempts {
    /// Counts an attempt with `credential` from `address`; how long to wait when one of the
    /// limits is reached. A key is counted by its id, so guesses at its secret share a limit.
    pub fn check(&self, credential: &str, address: Option<IpAddr>) -> Result<(), Duration> {
        let clock = DefaultClock::default();
        if let Some(address) = address {
            self.by_address
                .check_key(&address)
                .map_err(|not_until| not_until.wait_time_from(clock.now()))?;
        }
        let key = keys::split(credential.trim())
            .map_or_else(|| "operator".to_owned(), |(key_id, _)| key_id.to_owned());
        self.by_key
            .check_key(&key)
            .map_err(|not_until| not_until.wait_time_from(clock.now()))
    }

    /// Drops the counts of keys and addresses idle for a while.
    pub fn forget_idle(&self) {
        self.by_key.retain_recent();
        self.by_address.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use runtime::ExposeSecret as _;

    fn new_key() -> String {
        keys::generate().token.expose_secret().to_owned()
    }

    #[test]
    fn a_key_and_an_address_are_limited_on_their_own() {
        let attempts = Attempts::default();
        let key = new_key();
        let here = Some(IpAddr::from([10, 0, 0, 1]));
        for _ in 0..PER_KEY_PER_MINUTE {
            attempts.check(&key, here).unwrap();
        }
        let wait = attempts.check(&key, here).unwrap_err();
        assert!(wait > Duration::ZERO, "{wait:?}");
        // Another key from the same address still may.
        attempts.check(&new_key(), here).unwrap();
        // Past the address's limit, any key is refused from it, not from elsewhere.
        for _ in 0..PER_ADDRESS_PER_MINUTE {
            let _ = attempts.check(&new_key(), here);
        }
        assert!(attempts.check(&new_key(), here).is_err());
        assert!(attempts
            .check(&new_key(), Some(IpAddr::from([10, 0, 0, 2])))
            .is_ok());
    }

    #[test]
    fn the_form_token_must_match_its_cookie() {
        let token = new_form_token();
        assert!(form_token_matches(Some(&token), &token));
        assert!(!form_token_matches(Some(&token), &new_form_token()));
        assert!(!form_token_matches(None, &token));
        assert!(!form_token_matches(Some(""), ""));
    }
}
