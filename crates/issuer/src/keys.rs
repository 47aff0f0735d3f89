//! The issuer's key ring: one active ticket-signing key, and retired keys kept in the published
//! JWK Set until every ticket they signed has expired.
//!
//! Rotation policy: a key retired at `T` signed nothing after `T`, and no ticket lives longer
//! than the longest configured `max` lifetime `L`, so its tickets are all expired by `T + L`;
//! the issuance records may extend that (a ticket minted under an older, longer cap), and the
//! issuer asks them too. Removing a key earlier would make valid tickets unverifiable;
//! keeping it longer only widens what a stolen retired key could sign for.

use std::sync::Arc;

use tessera_jose::{Alg, Jwk, JwkSet, PrivateJwk, Signer};

use crate::config::{ConfigError, invalid};

/// Whether a configured key signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// The one signing key.
    Active,
    /// Published for verification only.
    Retired {
        /// When it stopped signing (unix seconds).
        retired_at: i64,
    },
}

/// One configured key before validation.
#[derive(Debug, Clone)]
pub struct KeySpec {
    /// Config path for error messages (`key[0]`).
    pub key: String,
    /// The JWK file content.
    pub json: Vec<u8>,
    /// Its status.
    pub status: KeyStatus,
}

/// A retired, still published key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetiredKey {
    /// The public key (with `kid`).
    pub public: Jwk,
    /// When it stopped signing.
    pub retired_at: i64,
}

/// The key ring.
#[derive(Clone)]
pub struct KeyRing {
    signer: Arc<dyn Signer>,
    active: Jwk,
    retired: Vec<RetiredKey>,
    grace: i64,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("active", &self.active.kid)
            .field("retired", &self.retired)
            .field("grace", &self.grace)
            .finish_non_exhaustive()
    }
}

impl KeyRing {
    /// Builds the ring from configured keys: exactly one active private key with a `kid` and a
    /// ticket algorithm (ES256/RS256); retired keys may be public only; kids are unique.
    /// `grace` is how long after retirement a key stays published (the longest lifetime).
    pub fn new(specs: Vec<KeySpec>, grace: i64) -> Result<KeyRing, ConfigError> {
        let mut active = None;
        let mut retired = Vec::new();
        for spec in specs {
            let file = format!("{}.file", spec.key);
            match spec.status {
                KeyStatus::Active => {
                    if active.is_some() {
                        return Err(invalid(
                            format!("{}.status", spec.key),
                            "more than one active key",
                        ));
                    }
                    let private = PrivateJwk::from_json(&spec.json)
                        .map_err(|e| invalid(&file, format!("not a private JWK: {e}")))?;
                    active = Some((file, private));
                }
                KeyStatus::Retired { retired_at } => {
                    let public = Jwk::from_json(&spec.json)
                        .map_err(|e| invalid(&file, format!("not a JWK: {e}")))?;
                    if public.kid.as_deref().is_none_or(str::is_empty) {
                        return Err(invalid(&file, "the JWK has no kid"));
                    }
                    retired.push((file, RetiredKey { public, retired_at }));
                }
            }
        }
        let (file, private) =
            active.ok_or_else(|| invalid("key", "no key has status = \"active\""))?;
        let signer = private
            .signer()
            .map_err(|e| invalid(&file, format!("cannot sign with this key: {e}")))?;
        let ring = KeyRing::with_signer(
            Arc::new(signer),
            private.public().clone(),
            Vec::new(),
            grace,
        )
        .map_err(|p| invalid(&file, p))?;
        retired.into_iter().try_fold(ring, |ring, (file, key)| {
            ring.retire(key).map_err(|p| invalid(file, p))
        })
    }

    /// A ring of one in-memory key (embedding and tests).
    pub fn single(key: &PrivateJwk, grace: i64) -> Result<KeyRing, String> {
        let signer = key.signer().map_err(|e| e.to_string())?;
        KeyRing::with_signer(Arc::new(signer), key.public().clone(), Vec::new(), grace)
    }

    /// A ring whose active key lives elsewhere (HSM, KMS): `signer` signs, `public` is
    /// published. `grace` as in [`KeyRing::new`].
    pub fn with_signer(
        signer: Arc<dyn Signer>,
        public: Jwk,
        retired: Vec<RetiredKey>,
        grace: i64,
    ) -> Result<KeyRing, String> {
        let kid = signer
            .kid()
            .filter(|k| !k.is_empty())
            .ok_or("the signing key has no kid (tickets require one)")?;
        if public.kid.as_deref() != Some(kid) {
            return Err("the published key's kid differs from the signer's".into());
        }
        if !Alg::TICKET.contains(&signer.alg()) {
            return Err(format!(
                "{} is not a ticket algorithm (ES256 or RS256)",
                signer.alg().as_str()
            ));
        }
        let mut active = public;
        active.alg = Some(signer.alg().as_str().to_owned());
        active.use_ = Some("sig".into());
        retired.into_iter().try_fold(
            KeyRing {
                signer,
                active,
                retired: Vec::new(),
                grace,
            },
            KeyRing::retire,
        )
    }

    /// Adds a retired key (kid must be new).
    pub fn retire(mut self, key: RetiredKey) -> Result<KeyRing, String> {
        let kid = key.public.kid.as_deref().unwrap_or_default();
        if kid == self.active_kid()
            || self
                .retired
                .iter()
                .any(|r| r.public.kid.as_deref() == Some(kid))
        {
            return Err(format!("duplicate kid {kid:?}"));
        }
        let mut key = key;
        key.public.use_ = Some("sig".into());
        self.retired.push(key);
        Ok(self)
    }

    /// The active signer.
    pub fn signer(&self) -> &dyn Signer {
        self.signer.as_ref()
    }

    /// The active key's `kid`.
    pub fn active_kid(&self) -> &str {
        self.active.kid.as_deref().unwrap_or_default()
    }

    /// The retired keys, published or not.
    pub fn retired(&self) -> &[RetiredKey] {
        &self.retired
    }

    /// The JWK Set to publish at `now`: the active key, and each retired key while
    /// `now < retired_at + grace` or `still_signs_valid(kid)` says a ticket it signed is
    /// unexpired.
    pub fn published(&self, now: i64, still_signs_valid: impl Fn(&str) -> bool) -> JwkSet {
        let mut keys = vec![self.active.clone()];
        for r in &self.retired {
            let kid = r.public.kid.as_deref().unwrap_or_default();
            if now < r.retired_at.saturating_add(self.grace) || still_signs_valid(kid) {
                keys.push(r.public.clone());
            }
        }
        JwkSet::new(keys)
    }
}
