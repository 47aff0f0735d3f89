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

use std::sync::Arc;

use tessera_ticket::ExpectedAudience;

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
    fn proves(&self, framework_id: &str, now: i64) -> Option<bool>;
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
    pub fn participates(&self, framework_id: &str, now: i64) -> Membership {
        for p in &self.provers {
            match p.proves(framework_id, now) {
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
    pub fn expected_audience(
        &self,
        base_urls: &[String],
        candidates: &[&str],
        now: i64,
    ) -> (ExpectedAudience, Option<Membership>) {
        let found = candidates
            .iter()
            .map(|c| (*c, self.participates(c, now)))
            .find(|(_, m)| *m != Membership::NotMember);
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
        fn proves(&self, id: &str, now: i64) -> Option<bool> {
            (id == self.0).then_some(now < self.1)
        }
    }

    #[test]
    fn a_prover_decides_alone_and_the_list_covers_the_rest() {
        let m = Memberships::new(vec!["https://listed".into(), "https://proven".into()])
            .with_prover(Arc::new(Until("https://proven", 100)));
        assert_eq!(
            m.participates("https://proven", 99),
            Membership::Verified("udap")
        );
        // Expired proof: the config line naming it does not rescue it.
        assert_eq!(m.participates("https://proven", 100), Membership::NotMember);
        assert_eq!(m.participates("https://listed", 0), Membership::Configured);
        assert_eq!(m.participates("https://other", 0), Membership::NotMember);
        let (aud, how) = m.expected_audience(
            &["https://h/fhir".into()],
            &["https://other", "https://proven"],
            1,
        );
        assert_eq!(aud.trust_frameworks, vec!["https://proven".to_owned()]);
        assert_eq!(
            how.and_then(|h| h.audit()).as_deref(),
            Some("verified:udap")
        );
    }
}
