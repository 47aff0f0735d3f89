//! Regression tests for findings of the fuzz targets (fuzz/README.md), one per finding, each
//! naming its target; the figures and the story of each finding are in docs/security.md.

use std::sync::Arc;

use serde_json::{Value, json};
use tessera_holder::config::{ClientConfig, HttpLimits, KeySourceConfig};
use tessera_holder::token::client_auth::{
    AuthContext, ClientAuthError, ClientAuthenticator, ClientCredentials, JWT_BEARER_ASSERTION,
    RegisteredClients,
};
use tessera_holder::token::replay_guard::ReplayGuard;
use tessera_holder::trust::fetch::Fetcher;
use tessera_holder::trust::keys::KeyResolver;
use tessera_jose::{Alg, PrivateJwk, sign_compact};

const CLIENT: &str = "https://client.example/app";
const TOKEN_URL: &str = "https://holder.example/token";
const NOW: i64 = 1_800_000_000;

fn registry(key: &PrivateJwk) -> RegisteredClients {
    let config = ClientConfig {
        client_id: CLIENT.to_owned(),
        keys: KeySourceConfig::Static(json!({ "keys": [key.public().to_value()] })),
        scopes: None,
        acts_for: Vec::new(),
        framework_identity: None,
        introspection: false,
        disabled: false,
    };
    let limits = HttpLimits {
        timeout_ms: 1000,
        max_response_bytes: 1 << 20,
        max_cache_seconds: 60,
    };
    let resolver = KeyResolver::new(Fetcher::new(limits, false).unwrap());
    RegisteredClients::new(&[config], Arc::new(resolver)).unwrap()
}

async fn authenticate(claims: &Value) -> Result<String, ClientAuthError> {
    let key = PrivateJwk::generate(Alg::Es256).unwrap();
    let payload = serde_json::to_vec(claims).unwrap();
    let assertion =
        sign_compact(&serde_json::Map::new(), &payload, &key.signer().unwrap()).unwrap();
    let audiences = [TOKEN_URL.to_owned()];
    let creds = ClientCredentials {
        assertion_type: Some(JWT_BEARER_ASSERTION),
        assertion: Some(&assertion),
        client_id: None,
    };
    let replay = ReplayGuard::new();
    let ctx = AuthContext {
        audiences: &audiences,
        now: NOW,
        leeway: 30,
        replay: &replay,
    };
    registry(&key)
        .authenticate(creds, ctx)
        .await
        .map(|c| c.client_id)
}

// Fuzz target `client_assertion` (finding 2): `exp - iat` overflowed for an `iat` near
// i64::MIN — a panic where overflow checks are on, and in a release build a wrapped negative
// lifetime that passed the 300 s bound. PT-CA-04: the assertion lifetime is bounded (≤ 5 min).
#[tokio::test]
async fn pt_ca_04_extreme_iat_is_a_lifetime_error_not_an_overflow() {
    for iat in [i64::MIN, i64::MIN + 1, -(1 << 62)] {
        let claims = json!({"iss": CLIENT, "sub": CLIENT, "aud": TOKEN_URL,
            "jti": format!("j{iat}"), "iat": iat, "exp": NOW + 60});
        assert_eq!(
            authenticate(&claims).await,
            Err(ClientAuthError::Lifetime),
            "iat {iat}"
        );
    }
    let ok = json!({"iss": CLIENT, "sub": CLIENT, "aud": TOKEN_URL, "jti": "j-ok",
        "iat": NOW, "exp": NOW + 60});
    assert_eq!(authenticate(&ok).await.as_deref(), Ok(CLIENT));
}
