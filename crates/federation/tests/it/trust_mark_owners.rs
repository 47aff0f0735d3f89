//! Trust mark delegation (OpenID Federation 1.0 §7.2, PT-TRUST-02): when the trust anchor's
//! `trust_mark_owners` names an owner for a trust mark type, a mark of that type is valid only
//! with a `delegation` JWT the owner signed for the mark's issuer. Each rule has its refusal.

use serde_json::{Value, json};
use tessera_federation::{ChainOptions, FederationError, TrustChain, validate};

use crate::fixtures::{Entity, Fed, MARK, NOW};

fn opts() -> ChainOptions {
    ChainOptions::at(NOW)
}

struct Owned {
    fed: Fed,
    owner: Entity,
}

impl Owned {
    fn new() -> Owned {
        Owned {
            fed: Fed::new(),
            owner: Entity::new("https://owner.example.org"),
        }
    }

    /// The anchor configuration, with `owners` as its `trust_mark_owners`.
    fn anchor_configuration(&self, owners: Value) -> String {
        let f = &self.fed;
        f.anchor.configuration(json!({
            "metadata": f.anchor.authority_metadata(),
            "trust_mark_issuers": {MARK: [f.intermediate.id]},
            "trust_mark_owners": owners,
        }))
    }

    fn owners(&self) -> Value {
        json!({MARK: {"sub": self.owner.id, "jwks": self.owner.jwks()}})
    }

    /// A delegation by `signer` (claims overridable by `extra`).
    fn delegation(&self, signer: &Entity, extra: Value) -> String {
        let f = &self.fed;
        let mut c = json!({"iss": self.owner.id, "sub": f.intermediate.id,
            "trust_mark_type": MARK, "iat": NOW - 10, "exp": NOW + 3600});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        signer.sign_typ("trust-mark-delegation+jwt", &c)
    }

    /// Validates the chain whose app carries a mark with `delegation` (None: no claim) under an
    /// anchor with `owners`, and verifies the trust marks requiring MARK.
    fn check(
        &self,
        owners: Value,
        delegation: Option<String>,
    ) -> Result<TrustChain, FederationError> {
        let f = &self.fed;
        let extra = match delegation {
            Some(d) => json!({ "delegation": d }),
            None => json!({}),
        };
        let mark = f.intermediate.trust_mark(&f.app.id, MARK, extra);
        let mut c = f.chain();
        c[0] = f.app.configuration(json!({
            "authority_hints": [f.intermediate.id],
            "metadata": f.app_metadata(),
            "trust_marks": [{"trust_mark_type": MARK, "trust_mark": mark}],
        }));
        c[3] = self.anchor_configuration(owners);
        let mut chain = validate(&c, &[f.anchor.anchor()], &opts())?;
        let keys = f.intermediate.key_set();
        let lookup = |_: &str| Some(keys.clone());
        chain.verify_trust_marks(&[MARK.to_owned()], &lookup, &opts())?;
        Ok(chain)
    }
}

fn reason(e: FederationError) -> String {
    match e {
        FederationError::TrustMarkInvalid { reason, .. } => reason,
        other => panic!("{other:?}"),
    }
}

// PT-TRUST-02: a delegated mark with the owner's valid delegation verifies.
#[test]
fn pt_trust_02_delegated_trust_mark_verifies() {
    let o = Owned::new();
    let d = o.delegation(&o.owner, json!({}));
    let chain = o.check(o.owners(), Some(d)).unwrap();
    assert_eq!(chain.trust_marks.len(), 1);
    assert_eq!(chain.trust_marks[0].iss, o.fed.intermediate.id);
}

// PT-TRUST-02: the owner is named, the mark carries no delegation ⇒ refused.
#[test]
fn pt_trust_02_owned_type_without_delegation_refused() {
    let o = Owned::new();
    assert_eq!(
        reason(o.check(o.owners(), None).unwrap_err()),
        "delegation required by the trust anchor's trust_mark_owners"
    );
}

// PT-TRUST-02: each delegation rule of §7.2.2.
#[test]
fn pt_trust_02_delegation_rules_each_refused() {
    let o = Owned::new();
    let cases = [
        // Signed by someone other than the listed owner (same claimed iss).
        (
            o.delegation(&Entity::new("https://owner.example.org"), json!({})),
            "delegation: signature does not verify with the owner's keys",
        ),
        (
            o.delegation(&o.owner, json!({"iss": "https://not-owner.example.org"})),
            "delegation: iss is not the trust mark owner",
        ),
        (
            o.delegation(&o.owner, json!({"sub": "https://other-issuer.example.org"})),
            "delegation: sub is not the trust mark issuer",
        ),
        (
            o.delegation(
                &o.owner,
                json!({"trust_mark_type": "https://x.example/other"}),
            ),
            "delegation: trust_mark_type differs from the trust mark's",
        ),
        (
            o.delegation(&o.owner, json!({"exp": NOW - 600})),
            "delegation: expired",
        ),
        (
            o.delegation(&o.owner, json!({"iat": NOW + 600})),
            "delegation: iat in the future",
        ),
    ];
    for (d, want) in cases {
        assert_eq!(reason(o.check(o.owners(), Some(d)).unwrap_err()), want);
    }
    // Wrong typ.
    let d = o.owner.sign_typ(
        "JWT",
        &json!({"iss": o.owner.id, "sub": o.fed.intermediate.id, "trust_mark_type": MARK, "iat": NOW}),
    );
    assert_eq!(
        reason(o.check(o.owners(), Some(d)).unwrap_err()),
        "delegation: typ is not trust-mark-delegation+jwt"
    );
}

// A delegation for a type the anchor names no owner for cannot be validated: fails closed.
#[test]
fn delegation_without_a_listed_owner_refused() {
    let o = Owned::new();
    let d = o.delegation(&o.owner, json!({}));
    assert_eq!(
        reason(o.check(json!({}), Some(d)).unwrap_err()),
        "delegation for a trust mark type the trust anchor names no owner for"
    );
}

// A malformed `trust_mark_owners` entry makes the anchor configuration unparseable.
#[test]
fn malformed_trust_mark_owners_refused() {
    let o = Owned::new();
    let err = o
        .check(json!({MARK: {"jwks": o.owner.jwks()}}), None)
        .unwrap_err();
    assert!(
        matches!(
            err,
            FederationError::InvalidClaim {
                claim: "trust_mark_owners",
                ..
            }
        ),
        "{err:?}"
    );
}
