//! `tessera keygen` and `tessera jwks`.

use serde_json::Value;
use tessera_jose::{Jwk, PrivateJwk};

use crate::{ok, path_str, tessera, vector};

#[test]
fn keygen_prints_private_jwk_with_thumbprint_kid() {
    for (alg, kty) in [("ES256", "EC"), ("RS256", "RSA")] {
        let out = ok(&tessera(&["keygen", "--alg", alg], None));
        let jwk: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(jwk["kty"], kty);
        assert!(jwk.get("d").is_some());
        let key = PrivateJwk::from_value(&jwk).unwrap();
        assert_eq!(key.kid(), Some(key.public().thumbprint().as_str()));
    }
    // Default is ES256.
    let jwk: Value = serde_json::from_str(&ok(&tessera(&["keygen"], None))).unwrap();
    assert_eq!(jwk["crv"], "P-256");
    // Anything else is a usage error.
    assert_eq!(
        tessera(&["keygen", "--alg", "HS256"], None).status.code(),
        Some(2)
    );
}

#[test]
fn jwks_prints_public_members_only() {
    let private = vector("keys/spec-client.private.jwk.json");
    let public = vector("keys/spec-issuer.public.jwk.json");
    let out = ok(&tessera(
        &["jwks", path_str(&private), path_str(&public)],
        None,
    ));
    let set: Value = serde_json::from_str(&out).unwrap();
    let keys = set["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    for k in keys {
        for private_member in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(k.get(private_member).is_none(), "{private_member} leaked");
        }
        let jwk = Jwk::from_value(k).unwrap();
        assert_eq!(jwk.kid, Some(jwk.thumbprint()));
    }
    let missing = tessera(&["jwks", "/nonexistent/key.json"], None);
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&missing.stderr).lines().count(), 1);
}
