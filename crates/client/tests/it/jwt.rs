//! The signed JWTs: client assertion and DPoP proof contents, checked by verifying them with
//! tessera-jose.

use serde_json::json;
use tessera_client::ClientKey;
use tessera_client::jwt::{access_token_hash, client_assertion, dpop_proof, htu};
use tessera_jose::{Alg, Limits, PrivateJwk, decode};
use url::Url;

const NOW: i64 = 1_800_000_000;

fn spec_client_key() -> ClientKey {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../test-vectors/keys/spec-client.private.jwk.json"
    );
    ClientKey::from_json(&std::fs::read(path).unwrap()).unwrap()
}

// SMART Backend Services / RFC 7523: iss = sub = client id, aud = token endpoint, exp = now + 60.
#[test]
fn client_assertion_claims_and_signature() {
    for key in [
        ClientKey::new(PrivateJwk::generate(Alg::Es256).unwrap()).unwrap(),
        spec_client_key(),
    ] {
        let jwt =
            client_assertion(&key, "app-1", "https://dh.example.org/token", NOW, "j-1").unwrap();
        let jws = decode(&jwt, &Limits::client()).unwrap();
        jws.verify_with(key.jwk().public()).unwrap();
        let h = jws.header();
        assert_eq!(h.alg, key.alg());
        assert_eq!(h.kid.as_deref(), key.jwk().kid());
        assert_eq!(h.typ.as_deref(), Some("JWT"));
        assert_eq!(
            serde_json::Value::Object(jws.claims().clone()),
            json!({
                "iss": "app-1", "sub": "app-1", "aud": "https://dh.example.org/token",
                "jti": "j-1", "iat": NOW, "exp": NOW + 60
            })
        );
    }
    assert_eq!(spec_client_key().alg(), Alg::Rs256);
}

#[test]
fn client_assertion_needs_id_audience_and_jti() {
    let key = spec_client_key();
    assert!(client_assertion(&key, "", "https://a", NOW, "j").is_err());
    assert!(client_assertion(&key, "c", "", NOW, "j").is_err());
    assert!(client_assertion(&key, "c", "https://a", NOW, "").is_err());
}

// RFC 9449 §4.2: typ dpop+jwt, public jwk in the header, htm, htu without query/fragment,
// iat, jti, and ath = base64url(SHA-256(token)) when a token is presented.
#[test]
fn dpop_proof_contents() {
    let key = ClientKey::new(PrivateJwk::generate(Alg::Es256).unwrap()).unwrap();
    let url = Url::parse("https://dh.example.org/fhir/Observation?code=x#frag").unwrap();
    let proof = dpop_proof(&key, "GET", &url, NOW, "p-1", Some("tok")).unwrap();
    let jws = decode(&proof, &Limits::client()).unwrap();
    let h = jws.header();
    assert_eq!(h.typ.as_deref(), Some("dpop+jwt"));
    assert_eq!(h.kid, None);
    let header_key = h.jwk.clone().unwrap();
    assert_eq!(header_key.thumbprint(), key.thumbprint());
    jws.verify_with(&header_key).unwrap();
    assert!(!h.raw["jwk"].as_object().unwrap().contains_key("d"));
    assert_eq!(
        serde_json::Value::Object(jws.claims().clone()),
        json!({
            "jti": "p-1", "htm": "GET", "htu": "https://dh.example.org/fhir/Observation",
            "iat": NOW, "ath": access_token_hash("tok")
        })
    );
    // RFC 9449 appendix: ath of a known token.
    assert_eq!(
        access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
        "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
    );
    let token_proof = dpop_proof(&key, "POST", &url, NOW, "p-2", None).unwrap();
    let jws = decode(&token_proof, &Limits::client()).unwrap();
    assert!(!jws.claims().contains_key("ath"));
    assert_eq!(htu(&url), "https://dh.example.org/fhir/Observation");
}

#[test]
fn keys_that_cannot_authenticate_a_client_are_refused() {
    let public_only = br#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;
    assert!(ClientKey::from_json(public_only).is_err());
    assert!(ClientKey::from_json(b"{}").is_err());
}
