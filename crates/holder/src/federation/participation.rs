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

use crate::federation::{OidfFramework, OidfFrameworks};
use crate::trust::membership::{MembershipProof, ProofFuture};

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

/// The federation half of the audience check (`trust::membership`): a framework id naming a
/// configured federation is ours when our own entity chains to its anchor; other ids are left
/// to the other provers and the configured list (`None`).
impl MembershipProof for OidfFrameworks {
    fn framework_type(&self) -> &'static str {
        "oidf"
    }

    fn proves<'a>(&'a self, framework_id: &'a str, now: i64) -> ProofFuture<'a> {
        Box::pin(async move {
            let f = self.get(framework_id)?;
            match self.participation().check(f, now).await {
                Ok(()) => Some(true),
                Err(reason) => {
                    tracing::info!(framework = %f.id, %reason, "not a verified federation participant");
                    Some(false)
                }
            }
        })
    }
}
