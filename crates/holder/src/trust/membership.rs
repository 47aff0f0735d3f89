//! Framework-aware audience (`aud_type: trust_framework`, PT-AUD-05): a ticket addressed to a
//! trust framework is accepted only if this Data Holder participates in that framework at the
//! time of the check.
//!
//! Participation is *verified* where the framework offers a proof, by a [`MembershipProof`]
//! (UDAP: our community certificate chains to the community's anchor at `now`; OpenID
//! Federation: our `entity_id` chains to the anchor, plugged in by the federation module), and
//! *configured* (top-level `trust_frameworks = [...]`) only for frameworks no prover knows.
//! A prover that knows a framework decides alone: a failed proof is not rescued by a config
//! line.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tessera_ticket::ExpectedAudience;

/// What [`MembershipProof::proves`] returns: asynchronous, because a proof may need the network
/// (an OpenID Federation trust chain for our own entity is resolved through the bounded
/// fetcher).
pub type ProofFuture<'a> = Pin<Box<dyn Future<Output = Option<bool>> + Send + 'a>>;

/// A framework type that can prove this Data Holder's membership.
///
/// The seam between the audience check and each framework type: `proves(id, now)` answers
/// `None` when `id` is not a framework of this type (the next prover is asked), and otherwise
/// whether membership holds at `now`. Implementations must not fetch anything a configured
/// framework does not name.
pub trait MembershipProof: Send + Sync + std::fmt::Debug {
    /// The `framework_type` this prover verifies (`udap`, `oidf`), for the audit row.
    fn framework_type(&self) -> &'static str;
    /// Whether we are a member of `framework_id` at `now`; `None` if it is not ours to say.
    fn proves<'a>(&'a self, framework_id: &'a str, now: i64) -> ProofFuture<'a>;
}

/// How membership of one framework was established.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    /// Proven at the time of the check (the framework type that proved it).
    Verified(&'static str),
    /// Listed in `trust_frameworks` (frameworks that offer no proof).
    Configured,
    /// Not a member.
    NotMember,
}

impl Membership {
    /// The audit wording: `verified:{type}` or `configured`.
    pub fn audit(&self) -> Option<String> {
        match self {
            Membership::Verified(t) => Some(format!("verified:{t}")),
            Membership::Configured => Some("configured".into()),
            Membership::NotMember => None,
        }
    }
}

/// The frameworks this Data Holder belongs to: provers first, then the configured list.
#[derive(Debug, Default, Clone)]
pub struct Memberships {
    configured: Vec<String>,
    provers: Vec<Arc<dyn MembershipProof>>,
}

impl Memberships {
    /// Over the top-level `trust_frameworks` list.
    pub fn new(configured: Vec<String>) -> Memberships {
        Memberships {
            configured,
            provers: Vec::new(),
        }
    }

    /// Adds a framework type that verifies membership.
    pub fn with_prover(mut self, prover: Arc<dyn MembershipProof>) -> Memberships {
        self.provers.push(prover);
        self
    }

    /// Membership of `framework_id` at `now`.
    pub async fn participates(&self, framework_id: &str, now: i64) -> Membership {
        for p in &self.provers {
            match p.proves(framework_id, now).await {
                Some(true) => return Membership::Verified(p.framework_type()),
                Some(false) => return Membership::NotMember,
                None => {}
            }
        }
        if self.configured.iter().any(|c| c == framework_id) {
            Membership::Configured
        } else {
            Membership::NotMember
        }
    }

    /// The audience for a ticket whose `aud` names `candidates` as frameworks: our base URLs
    /// and the first candidate we belong to now, with how that was established.
    pub async fn expected_audience(
        &self,
        base_urls: &[String],
        candidates: &[&str],
        now: i64,
    ) -> (ExpectedAudience, Option<Membership>) {
        let mut found = None;
        for c in candidates {
            let m = self.participates(c, now).await;
            if m != Membership::NotMember {
                found = Some((*c, m));
                break;
            }
        }
        let expected = ExpectedAudience {
            data_holder_urls: base_urls.to_vec(),
            trust_frameworks: found.iter().map(|(c, _)| (*c).to_owned()).collect(),
        };
        (expected, found.map(|(_, m)| m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Until(&'static str, i64);

    impl MembershipProof for Until {
        fn framework_type(&self) -> &'static str {
            "udap"
        }
        fn proves<'a>(&'a self, id: &'a str, now: i64) -> ProofFuture<'a> {
            Box::pin(async move { (id == self.0).then_some(now < self.1) })
        }
    }

    #[tokio::test]
    async fn a_prover_decides_alone_and_the_list_covers_the_rest() {
        let m = Memberships::new(vec!["https://listed".into(), "https://proven".into()])
            .with_prover(Arc::new(Until("https://proven", 100)));
        let verdict = |id: &'static str, now: i64| {
            let m = m.clone();
            async move { m.participates(id, now).await }
        };
        assert_eq!(
            verdict("https://proven", 99).await,
            Membership::Verified("udap")
        );
        // Expired proof: the config line naming it does not rescue it.
        assert_eq!(verdict("https://proven", 100).await, Membership::NotMember);
        assert_eq!(verdict("https://listed", 0).await, Membership::Configured);
        assert_eq!(verdict("https://other", 0).await, Membership::NotMember);
        let (aud, how) = m
            .expected_audience(
                &["https://h/fhir".into()],
                &["https://other", "https://proven"],
                1,
            )
            .await;
        assert_eq!(aud.trust_frameworks, vec!["https://proven".to_owned()]);
        assert_eq!(
            how.and_then(|h| h.audit()).as_deref(),
            Some("verified:udap")
        );
    }
}
