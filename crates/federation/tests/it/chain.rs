//! Trust chain validation: every signature, time, shape, anchor, constraint and trust-mark
//! rule, each with a negative test (PT-TRUST-02/03, PT-CA-09 rely on these).

use serde_json::json;
use tessera_federation::{ChainOptions, FederationError, validate};
use tessera_jose::JoseError;

use crate::fixtures::{Entity, Fed, MARK, NOW};

fn opts() -> ChainOptions {
    ChainOptions::at(NOW)
}

#[test]
fn pt_trust_02_valid_chain_resolves_policy_applied_metadata() {
    let f = Fed::new();
    let chain = validate(&f.chain(), &[f.anchor.anchor()], &opts()).unwrap();
    assert_eq!(chain.entity_id, f.app.id);
    assert_eq!(chain.anchor_id, f.anchor.id);
    assert_eq!(chain.exp, NOW + 3600);
    let md = chain.entity_metadata("oauth_client").unwrap();
    // subset_of dropped implicit; add merged from both levels; default filled in.
    assert_eq!(
        md["grant_types"],
        json!([
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:token-exchange"
        ])
    );
    assert_eq!(
        md["contacts"],
        json!(["ops@anchor.example.org", "ops@int.example.org"])
    );
    assert_eq!(md["token_endpoint_auth_signing_alg"], json!("ES256"));
}

#[test]
fn pt_trust_03_protocol_keys_come_from_metadata_not_federation_keys() {
    let f = Fed::new();
    let chain = validate(&f.chain(), &[f.anchor.anchor()], &opts()).unwrap();
    let client = chain.metadata_jwks("oauth_client").unwrap();
    let federation = chain.federation_keys().unwrap();
    assert_eq!(client.keys[0], *f.app_key.public());
    assert_ne!(federation.keys[0], client.keys[0]);
    assert!(client.find(f.app.key.kid().unwrap()).is_none());
    assert!(matches!(
        chain.metadata_jwks("smart_permission_ticket_issuer"),
        Err(FederationError::MissingClaim(_))
    ));
}

#[test]
fn pt_trust_02_unknown_anchor_refused() {
    let f = Fed::new();
    let other = Entity::new("https://other-anchor.example.org");
    let err = validate(&f.chain(), &[other.anchor()], &opts()).unwrap_err();
    assert_eq!(err, FederationError::UnknownAnchor(f.anchor.id.clone()));
}

#[test]
fn pt_trust_02_anchor_keys_are_configured_not_self_asserted() {
    let f = Fed::new();
    // Same entity ID, different (configured) keys: the anchor's statements do not verify.
    let impostor = Entity::new(&f.anchor.id);
    let err = validate(&f.chain(), &[impostor.anchor()], &opts()).unwrap_err();
    assert!(
        matches!(
            err,
            FederationError::BadSignature { .. } | FederationError::UnknownKid { .. }
        ),
        "{err:?}"
    );
}

#[test]
fn pt_trust_02_expired_statement_refused() {
    let f = Fed::new();
    let mut c = f.chain();
    c[2] = f.about_intermediate(json!({"exp": NOW - 100}));
    let err = validate(&c, &[f.anchor.anchor()], &opts()).unwrap_err();
    assert_eq!(
        err,
        FederationError::Expired {
            iss: f.anchor.id.clone(),
            sub: f.intermediate.id.clone()
        }
    );
}

#[test]
fn pt_trust_02_statement_from_the_future_refused() {
    let f = Fed::new();
    let mut c = f.chain();
    c[1] = f.about_app(json!({"iat": NOW + 3000}));
    let err = validate(&c, &[f.anchor.anchor()], &opts()).unwrap_err();
    assert!(
        matches!(err, FederationError::NotYetValid { .. }),
        "{err:?}"
    );
}

#[test]
fn pt_trust_02_statement_signed_by_wrong_key_refused() {
    let f = Fed::new();
    let mut c = f.chain();
    // The "intermediate" statement about the app signed by an unrelated key with the
    // intermediate's kid.
    let forger = Entity {
        id: f.intermediate.id.clone(),
        key: tessera_jose::PrivateJwk::generate(tessera_jose::Alg::Es256).unwrap(),
    };
    let claims = json!({"iss": f.intermediate.id, "sub": f.app.id, "iat": NOW - 1,
        "exp": NOW + 60, "jwks": f.app.jwks()});
    let mut h = serde_json::Map::new();
    h.insert("typ".into(), "entity-statement+jwt".into());
    h.insert("kid".into(), f.intermediate.key.kid().unwrap().into());
    c[1] = tessera_jose::sign_compact(
        &h,
        claims.to_string().as_bytes(),
        &forger.key.signer().unwrap(),
    )
    .unwrap();
    let err = validate(&c, &[f.anchor.anchor()], &opts()).unwrap_err();
    assert_eq!(
        err,
        FederationError::BadSignature {
            iss: f.intermediate.id.clone(),
            sub: f.app.id.clone()
        }
    );
}

#[test]
fn pt_trust_02_leaf_keys_must_match_superior_statement() {
    let f = Fed::new();
    let mut c = f.chain();
    // The superior vouches for different keys than the leaf signs with.
    let stranger = Entity::new(&f.app.id);
    c[1] = f.intermediate.subordinate(&stranger, json!({}));
    let err = validate(&c, &[f.anchor.anchor()], &opts()).unwrap_err();
    assert!(matches!(err, FederationError::UnknownKid { .. }), "{err:?}");
}

#[test]
fn pt_trust_02_broken_chain_refused() {
    let f = Fed::new();
    let mut c = f.chain();
    let other = Entity::new("https://other.example.org");
    c[2] = f.anchor.subordinate(&other, json!({}));
    let err = validate(&c, &[f.anchor.anchor()], &opts()).unwrap_err();
    assert_eq!(err, FederationError::ChainBroken { position: 2 });
}

#[test]
fn pt_trust_02_leaf_must_be_entity_configuration() {
    let f = Fed::new();
    let c = f.chain()[1..].to_vec();
    let err = validate(&c, &[f.anchor.anchor()], &opts()).unwrap_err();
    assert_eq!(err, FederationError::StatementShape { position: 0 });
}

#[test]
fn pt_trust_02_wrong_typ_refused() {
    let f = Fed::new();
    let mut c = f.chain();
    c[1] = f.intermediate.sign_typ(
        "JWT",
        &json!({"iss": f.intermediate.id, "sub": f.app.id, "iat": NOW, "exp": NOW + 60, "jwks": f.app.jwks()}),
    );
    let err = validate(&c, &[f.anchor.anchor()], &opts()).unwrap_err();
    assert_eq!(
        err,
        FederationError::WrongType {
            expected: "entity-statement+jwt",
            found: Some("JWT".into())
        }
    );
}

#[test]
fn pt_trust_02_alg_outside_allow_list_refused() {
    let f = Fed::new();
    let mut c = f.chain();
    let header = json!({"alg": "none", "typ": "entity-statement+jwt", "kid": "k"});
    let payload = json!({"iss": f.app.id, "sub": f.app.id, "iat": NOW, "exp": NOW + 60, "jwks": f.app.jwks()});
    let input = tessera_jose::jws::signing_input(
        header.to_string().as_bytes(),
        payload.to_string().as_bytes(),
    );
    c[0] = format!("{input}.");
    let err = validate(&c, &[f.anchor.anchor()], &opts()).unwrap_err();
    assert_eq!(
        err,
        FederationError::Jose(JoseError::AlgorithmNotAllowed("none".into()))
    );
}

#[test]
fn pt_trust_02_missing_kid_refused() {
    let f = Fed::new();
    let mut c = f.chain();
    let mut key = f.app.key.to_value();
    key.as_object_mut().unwrap().remove("kid");
    let nokid = tessera_jose::PrivateJwk::from_value(&key).unwrap();
    let mut h = serde_json::Map::new();
    h.insert("typ".into(), "entity-statement+jwt".into());
    let payload = json!({"iss": f.app.id, "sub": f.app.id, "iat": NOW, "exp": NOW + 60, "jwks": f.app.jwks()});
    c[0] = tessera_jose::sign_compact(&h, payload.to_string().as_bytes(), &nokid.signer().unwrap())
        .unwrap();
    let err = validate(&c, &[f.anchor.anchor()], &opts()).unwrap_err();
    assert_eq!(err, FederationError::Jose(JoseError::MissingKid));
}

#[test]
fn pt_trust_02_crit_claim_fails_closed() {
    let f = Fed::new();
    let mut c = f.chain();
    c[1] = f.about_app(json!({"crit": ["jti"], "jti": "x"}));
    let err = validate(&c, &[f.anchor.anchor()], &opts()).unwrap_err();
    assert_eq!(err, FederationError::UnsupportedCritical("jti".into()));
}

#[test]
fn pt_trust_02_unsupported_critical_policy_operator_fails_closed() {
    let f = Fed::new();
    let mut c = f.chain();
    c[2] = f.about_intermediate(json!({
        "metadata_policy": {"oauth_client": {"client_name": {"regexp": "^A"}}},
        "metadata_policy_crit": ["regexp"],
    }));
    let err = validate(&c, &[f.anchor.anchor()], &opts()).unwrap_err();
    assert_eq!(
        err,
        FederationError::UnsupportedPolicyOperator("regexp".into())
    );
}

#[test]
fn unknown_non_critical_policy_operator_is_ignored() {
    let f = Fed::new();
    let mut c = f.chain();
    c[2] = f.about_intermediate(json!({
        "metadata_policy": {"oauth_client": {"client_name": {"regexp": "^Z"}}},
    }));
    let chain = validate(&c, &[f.anchor.anchor()], &opts()).unwrap();
    assert_eq!(
        chain.entity_metadata("oauth_client").unwrap()["client_name"],
        json!("App")
    );
}

#[test]
fn pt_trust_02_conflicting_policies_refused() {
    let f = Fed::new();
    let mut c = f.chain();
    c[2] = f.about_intermediate(json!({
        "metadata_policy": {"oauth_client": {"token_endpoint_auth_signing_alg": {"value": "ES256"}}},
    }));
    c[1] = f.about_app(json!({
        "metadata_policy": {"oauth_client": {"token_endpoint_auth_signing_alg": {"value": "RS256"}}},
    }));
    let err = validate(&c, &[f.anchor.anchor()], &opts()).unwrap_err();
    assert_eq!(
        err,
        FederationError::PolicyConflict {
            entity_type: "oauth_client".into(),
            parameter: "token_endpoint_auth_signing_alg".into(),
            operator: "value"
        }
    );
}

#[test]
fn pt_trust_02_metadata_violating_policy_refused() {
    let f = Fed::new();
    let mut c = f.chain();
    c[2] = f.about_intermediate(json!({
        "metadata_policy": {"oauth_client": {"token_endpoint_auth_method": {"one_of": ["tls_client_auth"]}}},
    }));
    let err = validate(&c, &[f.anchor.anchor()], &opts()).unwrap_err();
    assert_eq!(
        err,
        FederationError::PolicyViolation {
            entity_type: "oauth_client".into(),
            parameter: "token_endpoint_auth_method".into(),
            operator: "one_of"
        }
    );
}

#[test]
fn superior_metadata_overrides_leaf_before_policy() {
    let f = Fed::new();
    let mut c = f.chain();
    c[1] = f.about_app(json!({"metadata": {"oauth_client": {"client_name": "Vetted App"}}}));
    let chain = validate(&c, &[f.anchor.anchor()], &opts()).unwrap();
    assert_eq!(
        chain.entity_metadata("oauth_client").unwrap()["client_name"],
        json!("Vetted App")
    );
}

#[test]
fn pt_trust_02_max_path_length_enforced() {
    let f = Fed::new();
    let mut c = f.chain();
    // One intermediate sits between the anchor and the app.
    c[2] = f.about_intermediate(json!({"constraints": {"max_path_length": 0}}));
    let err = validate(&c, &[f.anchor.anchor()], &opts()).unwrap_err();
    assert_eq!(
        err,
        FederationError::MaxPathLength {
            set_by: f.anchor.id.clone(),
            allowed: 0,
            actual: 1
        }
    );
    c[2] = f.about_intermediate(json!({"constraints": {"max_path_length": 1}}));
    assert!(validate(&c, &[f.anchor.anchor()], &opts()).is_ok());
}

#[test]
fn pt_trust_02_naming_constraints_enforced() {
    let f = Fed::new();
    let mut c = f.chain();
    c[2] = f.about_intermediate(
        json!({"constraints": {"naming_constraints": {"excluded": ["app.example.org"]}}}),
    );
    let err = validate(&c, &[f.anchor.anchor()], &opts()).unwrap_err();
    assert_eq!(
        err,
        FederationError::NamingConstraint {
            set_by: f.anchor.id.clone(),
            entity: f.app.id.clone()
        }
    );
    c[2] = f.about_intermediate(
        json!({"constraints": {"naming_constraints": {"permitted": [".health.example"]}}}),
    );
    let err = validate(&c, &[f.anchor.anchor()], &opts()).unwrap_err();
    assert!(matches!(err, FederationError::NamingConstraint { .. }));
    c[2] = f.about_intermediate(
        json!({"constraints": {"naming_constraints": {"permitted": [".example.org"]}}}),
    );
    assert!(validate(&c, &[f.anchor.anchor()], &opts()).is_ok());
}

#[test]
fn allowed_entity_types_filter_leaf_metadata() {
    let f = Fed::new();
    let mut c = f.chain();
    c[2] = f.about_intermediate(
        json!({"constraints": {"allowed_entity_types": ["openid_relying_party"]}}),
    );
    let chain = validate(&c, &[f.anchor.anchor()], &opts()).unwrap();
    assert!(chain.entity_metadata("oauth_client").is_none());
}

#[test]
fn chain_longer_than_bound_refused() {
    let f = Fed::new();
    let o = ChainOptions {
        max_chain_len: 3,
        ..opts()
    };
    assert_eq!(
        validate(&f.chain(), &[f.anchor.anchor()], &o).unwrap_err(),
        FederationError::TooDeep(3)
    );
}

#[test]
fn oversized_statement_refused() {
    let f = Fed::new();
    let o = ChainOptions {
        max_statement_len: 200,
        ..opts()
    };
    assert_eq!(
        validate(&f.chain(), &[f.anchor.anchor()], &o).unwrap_err(),
        FederationError::Jose(JoseError::TooLarge)
    );
}

fn no_keys(_: &str) -> Option<tessera_jose::JwkSet> {
    None
}

#[test]
fn pt_trust_02_trust_mark_from_listed_issuer_verifies() {
    let f = Fed::new();
    let mut chain = validate(&f.chain(), &[f.anchor.anchor()], &opts()).unwrap();
    let keys = f.intermediate.key_set();
    let lookup = |iss: &str| (iss == f.intermediate.id).then(|| keys.clone());
    chain
        .verify_trust_marks(&[MARK.to_owned()], &lookup, &opts())
        .unwrap();
    assert_eq!(chain.trust_marks.len(), 1);
    assert_eq!(chain.trust_marks[0].iss, f.intermediate.id);
}

#[test]
fn pt_trust_02_missing_required_trust_mark_refused() {
    let f = Fed::new();
    let mut chain = validate(&f.chain(), &[f.anchor.anchor()], &opts()).unwrap();
    let keys = f.intermediate.key_set();
    let lookup = |_: &str| Some(keys.clone());
    let other = "https://anchor.example.org/marks/payer".to_owned();
    assert_eq!(
        chain
            .verify_trust_marks(std::slice::from_ref(&other), &lookup, &opts())
            .unwrap_err(),
        FederationError::MissingTrustMark(other)
    );
}

fn mark_failure(f: &Fed, mark: String) -> FederationError {
    let mut c = f.chain();
    c[0] = f.app.configuration(json!({
        "authority_hints": [f.intermediate.id],
        "metadata": f.app_metadata(),
        "trust_marks": [{"trust_mark_type": MARK, "trust_mark": mark}],
    }));
    let mut chain = validate(&c, &[f.anchor.anchor()], &opts()).unwrap();
    let keys = f.intermediate.key_set();
    let lookup = |_: &str| Some(keys.clone());
    chain
        .verify_trust_marks(&[MARK.to_owned()], &lookup, &opts())
        .unwrap_err()
}

fn reason(e: FederationError) -> String {
    match e {
        FederationError::TrustMarkInvalid { reason, .. } => reason,
        other => panic!("{other:?}"),
    }
}

#[test]
fn pt_trust_02_trust_mark_rules_each_refused() {
    let f = Fed::new();
    // Issuer not in the anchor's trust_mark_issuers.
    let rogue = Entity::new("https://rogue.example.org");
    let m = rogue.trust_mark(&f.app.id, MARK, json!({}));
    assert!(reason(mark_failure(&f, m)).contains("not allowed"));
    // Expired.
    let m = f
        .intermediate
        .trust_mark(&f.app.id, MARK, json!({"exp": NOW - 100}));
    assert_eq!(reason(mark_failure(&f, m)), "expired");
    // About another entity.
    let m = f
        .intermediate
        .trust_mark("https://other.example.org", MARK, json!({}));
    assert_eq!(reason(mark_failure(&f, m)), "sub is not the entity");
    // Signed by a key that is not the issuer's.
    let forger = Entity::new(&f.intermediate.id);
    let m = forger.trust_mark(&f.app.id, MARK, json!({}));
    assert_eq!(reason(mark_failure(&f, m)), "signature does not verify");
    // Wrong typ.
    let m = f.intermediate.sign_typ(
        "JWT",
        &json!({"iss": f.intermediate.id, "sub": f.app.id, "trust_mark_type": MARK, "iat": NOW}),
    );
    assert_eq!(reason(mark_failure(&f, m)), "typ is not trust-mark+jwt");
}

#[test]
fn trust_mark_issuer_keys_unavailable_is_refused() {
    let f = Fed::new();
    let mut chain = validate(&f.chain(), &[f.anchor.anchor()], &opts()).unwrap();
    let err = chain
        .verify_trust_marks(&[MARK.to_owned()], &no_keys, &opts())
        .unwrap_err();
    assert_eq!(reason(err), "issuer keys unavailable");
}

#[test]
fn anchor_alone_is_a_chain_of_one() {
    let f = Fed::new();
    let chain = validate(&[f.anchor_configuration()], &[f.anchor.anchor()], &opts()).unwrap();
    assert_eq!(chain.entity_id, f.anchor.id);
    assert!(chain.anchor_configuration.is_some());
}
