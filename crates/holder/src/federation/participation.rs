//! Verified participation in an OpenID Federation (spec-digest §8 "framework audience";
//! PT-AUD-05): a ticket with `aud_type: "trust_framework"` naming a federation (its anchor's
//! entity ID) is for us only when this Data Holder's own `entity_id` resolves to a trust chain
//! ending at that anchor (with the framework's required trust marks).
//!
//! A verified chain is cached until its earliest statement `exp`; a failed resolution is
//! cached for [`NEGATIVE_TTL`] seconds, so tickets naming a federation we are not (or no longer)
//! part of cannot make every redemption re-walk the chain. Only our own configured entity is
//! ever resolved: the ticket chooses the framework among the configured ones, never a URL.

use std::collections::HashMap;
use std::sync::Mutex;

use tessera_ticket::claims::{AudType, Audience};

use crate::federation::{OidfFramework, OidfFrameworks};

/// Seconds a failed participation check is remembered.
pub const NEGATIVE_TTL: i64 = 60;

/// Cached participation outcomes, by framework id.
#[derive(Debug, Default)]
pub struct Participation {
    cache: Mutex<HashMap<String, Outcome>>,
}

#[derive(Debug, Clone)]
struct Outcome {
    member: bool,
    until: i64,
    reason: Option<String>,
}

impl Participation {
    /// Whether our own entity chains to framework `f`'s anchor at `now`; the error names the
    /// failed check (no `entity_id` configured, or the resolution failure).
    pub async fn check(&self, f: &OidfFramework, now: i64) -> Result<(), String> {
        if let Some(o) = self.cached(&f.id, now) {
            return if o.member {
                Ok(())
            } else {
                Err(o.reason.unwrap_or_default())
            };
        }
        let outcome = match &f.cfg.entity_id {
            None => Outcome {
                member: false,
                until: i64::MAX,
                reason: Some("no entity_id configured for this federation".into()),
            },
            Some(own) => match f.resolve(own.as_str(), &[], now).await {
                Ok(chain) => Outcome {
                    member: true,
                    until: chain.exp,
                    reason: None,
                },
                Err(e) => Outcome {
                    member: false,
                    until: now.saturating_add(NEGATIVE_TTL),
                    reason: Some(e.to_string().chars().take(300).collect()),
                },
            },
        };
        self.store(&f.id, outcome.clone());
        if outcome.member {
            Ok(())
        } else {
            Err(outcome.reason.unwrap_or_default())
        }
    }

    fn cached(&self, id: &str, now: i64) -> Option<Outcome> {
        let cache = match self.cache.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        cache.get(id).filter(|o| now < o.until).cloned()
    }

    fn store(&self, id: &str, o: Outcome) {
        let mut cache = match self.cache.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        cache.insert(id.to_owned(), o);
    }
}

/// The federation half of the audience check: `aud_type: trust_framework` and some `aud`
/// entry names a configured federation whose anchor our own entity chains to. Any other
/// `aud_type`, or entries naming no federation, are left to the other checks (`false`).
pub async fn audience_by_participation(
    oidf: &OidfFrameworks,
    aud: &Audience,
    aud_type: AudType,
    now: i64,
) -> bool {
    if aud_type != AudType::TrustFramework {
        return false;
    }
    for entry in aud.entries() {
        if let Some(f) = oidf.get(entry) {
            match oidf.participation().check(f, now).await {
                Ok(()) => return true,
                Err(reason) => {
                    tracing::info!(framework = %f.id, %reason, "not a verified federation participant");
                }
            }
        }
    }
    false
}
