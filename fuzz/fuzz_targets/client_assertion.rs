//! Fuzz target: `private_key_jwt` client authentication (RFC 7523 as profiled by SMART Backend
//! Services) through the holder's public `RegisteredClients` authenticator, with one client
//! registered under a static ES256 key and an in-memory replay cache.
//!
//! Input layout: byte 0 picks `client_assertion_type` (the JWT bearer URN, another URN,
//! absent) and whether the rest is used as the assertion itself (raw mode) or as a claims JSON
//! that the harness signs with the registered client's key (signed mode, which reaches the
//! claim checks the fuzzer could not otherwise get past the signature); byte 1 picks the
//! `client_id` form parameter (absent, the registered id, another id).
//!
//! Checks, beyond "no panic": an accepted (or replayed) assertion names the registered client as both `iss`
//! and `sub`, agrees with any `client_id` parameter, carries the registered key's thumbprint
//! as `jkt`, an `aud` equal to the token endpoint, an `exp` inside the acceptance window and a
//! bounded `jti`; `claimed_client_id` (the audit helper) reports the same client.
#![no_main]

use std::sync::{Arc, LazyLock};

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use tessera_holder::config::{ClientConfig, HttpLimits, KeySourceConfig};
use tessera_holder::token::client_auth::{
    AuthContext, ClientAuthError, ClientAuthenticator, ClientCredentials, JWT_BEARER_ASSERTION,
    MAX_ASSERTION_JTI_LEN, MAX_ASSERTION_LIFETIME, RegisteredClients, claimed_client_id,
};
use tessera_holder::token::replay_guard::ReplayGuard;
use tessera_holder::trust::fetch::Fetcher;
use tessera_holder::trust::keys::KeyResolver;
use tessera_jose::{JwkSigner, PrivateJwk, sign_compact};

const CLIENT_ID: &str = "https://client.example/app";
const TOKEN_URL: &str = "https://holder.example/token";
const NOW: i64 = 1_750_000_000;
const LEEWAY: i64 = 30;

struct Fixture {
    key: PrivateJwk,
    signer: JwkSigner,
    clients: RegisteredClients,
}

fn fixture() -> Fixture {
    let key = tessera_fuzz::private_key(tessera_fuzz::OTHER_ES256);
    let jwks = serde_json::json!({ "keys": [key.public().to_value()] });
    let config = ClientConfig {
        client_id: CLIENT_ID.to_owned(),
        keys: KeySourceConfig::Static(jwks),
        scopes: None,
        acts_for: Vec::new(),
        framework_identity: None,
        introspection: false,
        disabled: false,
    };
    let limits = HttpLimits {
        timeout_ms: 1000,
        max_response_bytes: 1 << 20,
        max_cache_seconds: 3600,
    };
    let fetcher = Fetcher::new(limits, false).expect("fetcher builds");
    let clients = RegisteredClients::new(&[config], Arc::new(KeyResolver::new(fetcher)))
        .expect("registry builds");
    Fixture {
        signer: key.signer().expect("test key signs"),
        key,
        clients,
    }
}

/// One registry for every input (building the HTTP client per input would dominate). A
/// `Replayed` outcome (a `jti` the store holds as spent) is held to the same invariants as an
/// acceptance, since the spec orders replay after every other check.
static FIXTURE: LazyLock<Fixture> = LazyLock::new(fixture);

fuzz_target!(|data: &[u8]| {
    let [mode, id_sel, rest @ ..] = data else {
        return;
    };
    let Ok(rest) = std::str::from_utf8(rest) else {
        return;
    };
    let assertion_type = match mode % 3 {
        0 => Some(JWT_BEARER_ASSERTION),
        1 => Some("urn:ietf:params:oauth:client-assertion-type:saml2-bearer"),
        _ => None,
    };
    let client_id = match id_sel % 3 {
        0 => None,
        1 => Some(CLIENT_ID),
        _ => Some("https://other.example/app"),
    };
    let fx = &*FIXTURE;
    let assertion = if mode & 0x80 != 0 {
        let Ok(Value::Object(claims)) = serde_json::from_str::<Value>(rest) else {
            return;
        };
        let bytes = serde_json::to_vec(&claims).expect("a JSON map serializes");
        sign_compact(&Map::new(), &bytes, &fx.signer).expect("signing succeeds")
    } else {
        rest.to_owned()
    };
    let creds = ClientCredentials {
        assertion_type,
        assertion: Some(&assertion),
        client_id,
    };
    let audiences = [TOKEN_URL.to_owned()];
    // A guard per input: nothing is committed here, so a `jti` is spent only within one
    // input (the server's commit decides a spend durably).
    let replay = ReplayGuard::new();
    let ctx = AuthContext {
        audiences: &audiences,
        now: NOW,
        leeway: LEEWAY,
        replay: &replay,
    };
    let result = tessera_fuzz::poll_once(fx.clients.authenticate(creds, ctx))
        .expect("static keys and an in-memory cache never wait");
    match result {
        Ok(client) => {
            assert_eq!(client.client_id, CLIENT_ID);
            assert_eq!(client.jkt, fx.key.public().thumbprint());
        }
        Err(ClientAuthError::Replayed) => {}
        Err(_) => return,
    }
    assert_eq!(assertion_type, Some(JWT_BEARER_ASSERTION));
    assert!(client_id.is_none_or(|c| c == CLIENT_ID));
    assert_eq!(claimed_client_id(&assertion).as_deref(), Some(CLIENT_ID));
    let jws = tessera_jose::decode(&assertion, &tessera_jose::Limits::client()).expect("decodes");
    let c = jws.claims();
    assert_eq!(c.get("iss"), c.get("sub"));
    let aud_ok = match c.get("aud") {
        Some(Value::String(a)) => a == TOKEN_URL,
        Some(Value::Array(list)) => list.iter().any(|v| v.as_str() == Some(TOKEN_URL)),
        _ => false,
    };
    assert!(aud_ok, "accepted audience {:?}", c.get("aud"));
    let exp = c.get("exp").and_then(Value::as_i64).expect("exp accepted");
    assert!(exp > NOW - LEEWAY && exp <= NOW + MAX_ASSERTION_LIFETIME + LEEWAY);
    let jti = c.get("jti").and_then(Value::as_str).expect("jti accepted");
    assert!(!jti.is_empty() && jti.len() <= MAX_ASSERTION_JTI_LEN);
});
