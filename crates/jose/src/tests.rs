//! Unit tests of the JOSE crate: RFC 7638 vectors, the spec keys, sign/verify round trips and
//! every rejection path.

use serde_json::{Map, Value, json};

use crate::*;

fn vector_key(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../test-vectors/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// RFC 7638 §3.1: the example RSA key and its thumbprint.
#[test]
fn rfc7638_rsa_example_thumbprint() {
    let key = Jwk::from_value(&json!({
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29"
    }))
    .unwrap();
    assert_eq!(
        key.thumbprint(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
}

/// PT-BIND-03: the spec keys' kids are their RFC 7638 thumbprints.
#[test]
fn spec_key_kids_are_thumbprints() {
    for file in [
        "spec-issuer.public.jwk.json",
        "spec-issuer.private.jwk.json",
        "spec-evidence-issuer.public.jwk.json",
        "spec-client.public.jwk.json",
        "spec-client.private.jwk.json",
    ] {
        let key = Jwk::from_json(&vector_key(file)).unwrap();
        assert_eq!(Some(key.thumbprint()), key.kid, "{file}");
    }
    let client = Jwk::from_json(&vector_key("spec-client.public.jwk.json")).unwrap();
    assert_eq!(
        client.thumbprint(),
        "JuI6ibZHcMPQICaIZ55PbXpnsudQmKt00D0BiEXNrMc"
    );
}

/// RFC 8037 Appendix A.3: the Ed25519 example key thumbprint.
#[test]
fn rfc8037_okp_thumbprint() {
    let key = Jwk::from_value(&json!({
        "kty": "OKP", "crv": "Ed25519",
        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    }))
    .unwrap();
    assert_eq!(
        key.thumbprint(),
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    );
    assert!(matches!(
        key.check_alg(Alg::Es256),
        Err(JoseError::KeyAlgorithmMismatch(_))
    ));
}

fn header() -> Map<String, Value> {
    Map::new()
}

#[test]
fn spec_private_keys_sign_and_verify() {
    for (file, alg) in [
        ("spec-issuer.private.jwk.json", Alg::Es256),
        ("spec-client.private.jwk.json", Alg::Rs256),
    ] {
        let private = PrivateJwk::from_json(&vector_key(file)).unwrap();
        let signer = private.signer().unwrap();
        assert_eq!(signer.alg(), alg);
        let token = sign_compact(&header(), br#"{"a":1}"#, &signer).unwrap();
        let jws = decode(&token, &Limits::ticket()).unwrap();
        assert_eq!(jws.header().alg, alg);
        assert_eq!(jws.header().kid.as_deref(), private.kid());
        jws.verify_with(private.public()).unwrap();
        jws.verify_with_set(&JwkSet::new(vec![private.public().clone()]))
            .unwrap();
    }
}

#[test]
fn generated_keys_round_trip() {
    for alg in [Alg::Es256, Alg::Es384, Alg::Rs256] {
        let key = PrivateJwk::generate(alg).unwrap();
        assert_eq!(key.kid(), Some(key.public().thumbprint().as_str()));
        // The exported JSON re-imports to the same key, and the public view has no secrets.
        let again = PrivateJwk::from_value(&key.to_value()).unwrap();
        assert_eq!(again, key);
        let public = key.public().to_value();
        assert!(public.get("d").is_none());
        let token = sign_compact(&header(), br#"{"x":true}"#, &key.signer().unwrap()).unwrap();
        let jws = decode(&token, &Limits::client()).unwrap();
        jws.verify_with(key.public()).unwrap();
        // A different key of the same type does not verify it.
        let other = PrivateJwk::generate(alg).unwrap();
        assert_eq!(
            jws.verify_with(other.public()),
            Err(JoseError::BadSignature)
        );
    }
}

#[test]
fn seed_ticket_verifies_with_spec_issuer() {
    let token = std::fs::read_to_string(format!(
        "{}/../../test-vectors/seed/uc1-4b33cc1d-0f6b-44bf-bd33-80f6d7140f3e.jwt",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let keys = JwkSet::from_json_set_or_key(&vector_key("spec-issuer.public.jwk.json")).unwrap();
    let jws = decode(token.trim(), &Limits::ticket()).unwrap();
    jws.verify_with_set(&keys).unwrap();
    // The evidence issuer's key has another kid.
    let other =
        JwkSet::from_json_set_or_key(&vector_key("spec-evidence-issuer.public.jwk.json")).unwrap();
    assert_eq!(jws.verify_with_set(&other), Err(JoseError::UnknownKid));
}

fn es256() -> PrivateJwk {
    PrivateJwk::from_json(&vector_key("spec-issuer.private.jwk.json")).unwrap()
}

fn raw_token(header: &Value, payload: &[u8], sig: &[u8]) -> String {
    jws::assemble(
        &jws::signing_input(header.to_string().as_bytes(), payload),
        sig,
    )
}

#[test]
fn decode_rejections() {
    let limits = Limits::ticket();
    let good = sign_compact(&header(), br#"{"a":1}"#, &es256().signer().unwrap()).unwrap();
    let err = |t: &str| decode(t, &limits).unwrap_err();

    assert!(matches!(err("a.b"), JoseError::Malformed(_)));
    assert!(matches!(err(&format!("{good}.x")), JoseError::Malformed(_)));
    assert!(matches!(err(&format!("{good}=")), JoseError::Malformed(_)));
    let (input, _) = good.rsplit_once('.').unwrap();
    assert!(matches!(err(&format!(".{input}")), JoseError::Malformed(_)));
    // An empty signature decodes but never verifies.
    let unsigned = decode(&format!("{input}."), &limits).unwrap();
    assert_eq!(
        unsigned.verify_with(es256().public()),
        Err(JoseError::BadSignature)
    );
    assert_eq!(err(&"a".repeat(70_000)), JoseError::TooLarge);

    let kid = es256().kid().unwrap().to_owned();
    let t = |h: Value, p: &[u8]| raw_token(&h, p, b"sig");
    assert_eq!(
        err(&t(json!({"alg":"none","kid":kid}), b"{}")),
        JoseError::AlgorithmNotAllowed("none".into())
    );
    assert_eq!(
        err(&t(json!({"alg":"HS256","kid":kid}), b"{}")),
        JoseError::AlgorithmNotAllowed("HS256".into())
    );
    assert_eq!(
        err(&t(json!({"alg":"ES384","kid":kid}), b"{}")),
        JoseError::AlgorithmNotAllowed("ES384".into()),
        "ES384 is not allowed for tickets"
    );
    assert_eq!(
        err(&t(json!({"kid":kid}), b"{}")),
        JoseError::AlgorithmNotAllowed(String::new())
    );
    assert_eq!(
        err(&t(json!({"alg":"ES256"}), b"{}")),
        JoseError::MissingKid
    );
    assert_eq!(
        err(&t(json!({"alg":"ES256","kid":kid,"crit":["b64"]}), b"{}")),
        JoseError::CriticalHeader
    );
    assert_eq!(
        err(&t(json!({"alg":"ES256","kid":kid}), b"[]")),
        JoseError::InvalidJson("payload")
    );
    assert_eq!(
        err(&t(json!({"alg":"ES256","kid":kid}), b"not json")),
        JoseError::InvalidJson("payload")
    );
    let deep = format!("{{\"a\":{}1{}}}", "[".repeat(40), "]".repeat(40));
    assert_eq!(
        err(&t(json!({"alg":"ES256","kid":kid}), deep.as_bytes())),
        JoseError::TooDeep
    );
    assert!(matches!(
        err(&t(
            json!({"alg":"ES256","kid":kid,"jwk":{"kty":"EC","crv":"P-256","x":"AA","y":"AA","d":"AA"}}),
            b"{}"
        )),
        JoseError::Malformed(_)
    ));
    // A header that is JSON but not an object.
    assert_eq!(
        err(&jws::assemble(&jws::signing_input(b"[1]", b"{}"), b"s")),
        JoseError::InvalidJson("header")
    );
}

#[test]
fn verify_rejections() {
    let key = es256();
    let public = key.public().clone();
    let token = sign_compact(&header(), br#"{"a":1}"#, &key.signer().unwrap()).unwrap();
    let limits = Limits::ticket();

    // Flipped signature byte.
    let (input, sig) = token.rsplit_once('.').unwrap();
    let mut sig = b64::decode(sig).unwrap();
    sig[5] ^= 1;
    let flipped = decode(&jws::assemble(input, &sig), &limits).unwrap();
    assert_eq!(flipped.verify_with(&public), Err(JoseError::BadSignature));

    // Truncated signature.
    let short = decode(&jws::assemble(input, &sig[..63]), &limits).unwrap();
    assert_eq!(short.verify_with(&public), Err(JoseError::BadSignature));

    // kty/crv must fit alg: an RS256 header against the EC key.
    let rs_header = json!({"alg":"RS256","kid": key.kid()});
    let forged = decode(&raw_token(&rs_header, b"{}", &[0u8; 256]), &limits).unwrap();
    assert_eq!(
        forged.verify_with(&public),
        Err(JoseError::KeyAlgorithmMismatch("RS256"))
    );
    assert_eq!(
        forged.verify_with_set(&JwkSet::new(vec![public.clone()])),
        Err(JoseError::KeyAlgorithmMismatch("RS256"))
    );

    // A JWK that declares another alg or use.
    let mut declared = public.clone();
    declared.alg = Some("ES384".into());
    let ok = decode(&token, &limits).unwrap();
    assert!(matches!(
        ok.verify_with(&declared),
        Err(JoseError::KeyAlgorithmMismatch(_))
    ));
    let mut enc = public.clone();
    enc.use_ = Some("enc".into());
    assert!(matches!(
        ok.verify_with(&enc),
        Err(JoseError::KeyAlgorithmMismatch(_))
    ));

    // Unknown kid.
    let mut renamed = public.clone();
    renamed.kid = Some("other".into());
    assert_eq!(
        ok.verify_with_set(&JwkSet::new(vec![renamed])),
        Err(JoseError::UnknownKid)
    );
}

#[test]
fn jwks_parsing() {
    // Unknown kty skipped, known kty malformed rejected, set-or-key accepted.
    let set = JwkSet::from_json(
        br#"{"keys":[{"kty":"oct","k":"AAAA"},{"kty":"EC","crv":"P-256","x":"ASaeb7zovIrhlPmGWYX0nEGeG9iYA09BBLNkr3QsHFE","y":"sWXJnfUM7k89RC__zSAJwM3io6nusZvvnPTH1kN6SoE","kid":"k1"}]}"#,
    )
    .unwrap();
    assert_eq!(set.keys.len(), 1);
    assert!(set.find("k1").is_some());
    assert!(set.find("k2").is_none());
    assert!(
        JwkSet::from_json(br#"{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}"#).is_err()
    );
    assert!(JwkSet::from_json(br#"{"keys":{}}"#).is_err());
    assert!(JwkSet::from_json(b"[]").is_err());
    let single = JwkSet::from_json_set_or_key(&vector_key("spec-client.private.jwk.json")).unwrap();
    assert_eq!(single.keys.len(), 1);
    // Never private members in the public view.
    let text = single.to_value().to_string();
    for private in ["\"d\"", "\"p\"", "\"q\"", "\"dp\"", "\"dq\"", "\"qi\""] {
        assert!(!text.contains(private), "{private} leaked");
    }
    // A public key has no private half.
    assert!(PrivateJwk::from_json(&vector_key("spec-issuer.public.jwk.json")).is_err());
}
