//! The specification's seed tickets (committed under `test-vectors/seed`) redeemed end to end (PT-VAL-16, PT-DISC-03) with the spec's client
//! key, the clock at each ticket's `iat` + 60, and a configuration that matches them.

use std::sync::Arc;

use serde_json::{Value, json};
use tessera_holder::{Config, FixedClock, HolderState, app};
use tessera_jose::PrivateJwk;
use tessera_store::token_db::TokenDb;

use crate::token_support::*;

/// The committed test vectors: `seed/` holds the tickets, `keys/` the spec authors' demo keys.
const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../test-vectors");
const SEED_BASE: &str = "https://fhir.provider.example.org";

fn vector(name: &str) -> String {
    std::fs::read_to_string(format!("{VECTORS}/{name}"))
        .unwrap()
        .trim()
        .to_owned()
}

fn seed_holder(legacy: bool) -> Holder {
    let dir = tempfile::tempdir().unwrap();
    for f in [
        "spec-issuer.public.jwk.json",
        "spec-client.public.jwk.json",
        "spec-evidence-issuer.public.jwk.json",
    ] {
        std::fs::copy(format!("{VECTORS}/keys/{f}"), dir.path().join(f)).unwrap();
    }
    let toml = format!(
        r#"
listen = "127.0.0.1:0"
base_url = "{SEED_BASE}"
store = "sqlite::memory:"
trust_frameworks = ["https://network.org"]
legacy_access_shapes = {legacy}
[[issuer]]
iss = "https://trusted-issuer.org"
jwks_file = "spec-issuer.public.jwk.json"
ticket_types = ["{T_SELF}", "{T_DELEGATED}"]
[[issuer]]
iss = "{SEED_BASE}"
jwks_file = "spec-issuer.public.jwk.json"
ticket_types = ["{T_CLAIMS}", "{T_QG}"]
self_issued = true
[[client]]
client_id = "spec-app"
jwks_file = "spec-client.public.jwk.json"
[[client]]
client_id = "payer-quality"
jwks_file = "spec-client.public.jwk.json"
framework_identity = {{ trust_framework = "https://directory.example-network.org", framework_type = "udap", entity_uri = "https://payer.example.com/organizations/quality", asserted = true }}
[[client]]
client_id = "payer-claims"
jwks_file = "spec-client.public.jwk.json"
framework_identity = {{ trust_framework = "https://directory.example-network.org", framework_type = "udap", entity_uri = "https://payer.example.com/organizations/claims-review", asserted = true }}
[[identity_provider]]
iss = "https://id.example-csp.org"
jwks_file = "spec-evidence-issuer.public.jwk.json"
audience_map = {{ "trusted-issuer-app" = "https://trusted-issuer.org" }}
acr_values = ["https://id.example-csp.org/assurance/ial2"]
"#
    );
    let config = Config::from_toml(&toml, dir.path()).unwrap();
    let clock = Arc::new(FixedClock::new(0));
    let db = Arc::new(TokenDb::open_in_memory().unwrap());
    let state = HolderState::new(config, clock.clone(), fixture_store(&[]), db.clone()).unwrap();
    let router = app(state.clone()).unwrap();
    Holder {
        state,
        router,
        clock,
        db,
        _dir: dir,
    }
}

fn spec_client() -> PrivateJwk {
    PrivateJwk::from_json(vector("keys/spec-client.private.jwk.json").as_bytes()).unwrap()
}

fn iat_of(ticket: &str) -> i64 {
    let payload = tessera_jose::b64::decode(ticket.split('.').nth(1).unwrap()).unwrap();
    serde_json::from_slice::<Value>(&payload).unwrap()["iat"]
        .as_i64()
        .unwrap()
}

async fn redeem_seed(h: &Holder, file: &str, client: &str) -> (http::StatusCode, Value) {
    let ticket = vector(&format!("seed/{file}"));
    h.clock.set(iat_of(&ticket) + 60);
    let key = spec_client();
    let now = h.now();
    let assertion = sign(
        &key,
        &json!({"iss": client, "sub": client, "aud": format!("{SEED_BASE}/token"),
        "jti": uuid::Uuid::new_v4().to_string(), "iat": now, "exp": now + 60}),
    );
    let form = [
        ("grant_type", TOKEN_EXCHANGE),
        ("subject_token_type", SUBJECT_TOKEN_TYPE),
        ("subject_token", ticket.as_str()),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion.as_str()),
    ];
    let (s, _, b) = h.post("/token", &form, &[]).await;
    (s, b)
}

#[tokio::test]
async fn pt_val_16_self_access_seed() {
    let h = seed_holder(false);
    let (s, b) = redeem_seed(
        &h,
        "uc1-4b33cc1d-0f6b-44bf-bd33-80f6d7140f3e.jwt",
        "spec-app",
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["patient"], "elena");
    assert_eq!(
        b["scope"],
        "patient/AllergyIntolerance.rs patient/Condition.rs patient/MedicationRequest.rs patient/Observation.rs"
    );
}

#[tokio::test]
async fn pt_val_16_pt_evid_03_self_access_with_evidence_seed() {
    let h = seed_holder(false);
    let (s, b) = redeem_seed(
        &h,
        "uc1-ev-9f1c2b6a-3a77-4d09-9c4e-5a0d2f81c3b7.jwt",
        "spec-app",
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["patient"], "elena");
}

#[tokio::test]
async fn pt_evid_05_seed_evidence_without_audience_mapping_is_invalid() {
    // A holder configured without the `trusted-issuer-app` audience mapping.
    let dir = tempfile::tempdir().unwrap();
    for f in [
        "spec-issuer.public.jwk.json",
        "spec-client.public.jwk.json",
        "spec-evidence-issuer.public.jwk.json",
    ] {
        std::fs::copy(format!("{VECTORS}/keys/{f}"), dir.path().join(f)).unwrap();
    }
    let toml = format!(
        "listen = \"127.0.0.1:0\"\nbase_url = \"{SEED_BASE}\"\nstore = \"sqlite::memory:\"\ntrust_frameworks = [\"https://network.org\"]\n\
         [[issuer]]\niss = \"https://trusted-issuer.org\"\njwks_file = \"spec-issuer.public.jwk.json\"\nticket_types = [\"{T_SELF}\"]\n\
         [[client]]\nclient_id = \"spec-app\"\njwks_file = \"spec-client.public.jwk.json\"\n\
         [[identity_provider]]\niss = \"https://id.example-csp.org\"\njwks_file = \"spec-evidence-issuer.public.jwk.json\"\n"
    );
    let config = Config::from_toml(&toml, dir.path()).unwrap();
    let clock = Arc::new(FixedClock::new(0));
    let db = Arc::new(TokenDb::open_in_memory().unwrap());
    let state = HolderState::new(config, clock.clone(), fixture_store(&[]), db.clone()).unwrap();
    let h = Holder {
        router: app(state.clone()).unwrap(),
        state,
        clock,
        db,
        _dir: dir,
    };
    let got = redeem_seed(
        &h,
        "uc1-ev-9f1c2b6a-3a77-4d09-9c4e-5a0d2f81c3b7.jwt",
        "spec-app",
    )
    .await;
    assert_error(
        &got,
        400,
        "invalid_grant",
        Some("Invalid identity evidence"),
    );
    // And the plain ticket still works on that holder.
    assert_eq!(
        redeem_seed(
            &h,
            "uc1-4b33cc1d-0f6b-44bf-bd33-80f6d7140f3e.jwt",
            "spec-app"
        )
        .await
        .0,
        200
    );
}

#[tokio::test]
async fn pt_val_16_quality_gap_seed_pt_type_15() {
    let h = seed_holder(false);
    let (s, b) = redeem_seed(
        &h,
        "qg-7b41d6e8-90af-4c33-8d12-64e07f5a21c9.jwt",
        "payer-quality",
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["patient"], "C10288");
    assert_eq!(
        b["scope"],
        "patient/Observation.rs?code=http://loinc.org|4548-4"
    );
    // The identity came from `framework_identity ... asserted = true`: the audit says so.
    let rows = tessera_holder::audit::query_audit(
        h.db.as_ref(),
        Some("qg-7b41d6e8-90af-4c33-8d12-64e07f5a21c9"),
    )
    .unwrap();
    assert_eq!(
        rows[0].binding.as_deref(),
        Some("trust_framework_client:asserted")
    );
    let details: Value = serde_json::from_str(&rows[0].details).unwrap();
    assert_eq!(details["binding_check"], "asserted");
    // Framework-bound to the quality entity: the claims-review client does not match.
    let got = redeem_seed(
        &h,
        "qg-7b41d6e8-90af-4c33-8d12-64e07f5a21c9.jwt",
        "payer-claims",
    )
    .await;
    assert_error(
        &got,
        400,
        "invalid_grant",
        Some("Ticket presenter binding mismatch"),
    );
}

#[tokio::test]
async fn pt_val_16_payer_claims_seed_pt_subj_06() {
    let h = seed_holder(false);
    let (s, b) = redeem_seed(
        &h,
        "uc5-2f9a7c11-5d28-4e6b-9b54-3c1f8a02d977.jwt",
        "payer-claims",
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["patient"], "B77421");
}

#[tokio::test]
async fn pt_field_05_legacy_seeds_rejected_by_default_and_translated_on_request() {
    let h = seed_holder(false);
    let got = redeem_seed(
        &h,
        "uc2-8c6f4ec2-4fb6-4c42-9530-6bbd11c77e49.jwt",
        "spec-app",
    )
    .await;
    assert_error(
        &got,
        400,
        "invalid_grant",
        Some("Unsupported access constraint: permissions"),
    );
    let got = redeem_seed(
        &h,
        "uc1-4b33cc1d-0f6b-44bf-bd33-80f6d7140f3e-v2.jwt",
        "spec-app",
    )
    .await;
    assert_error(
        &got,
        400,
        "invalid_grant",
        Some("Unsupported access constraint: permissions"),
    );
    let h = seed_holder(true);
    let (s, b) = redeem_seed(
        &h,
        "uc2-8c6f4ec2-4fb6-4c42-9530-6bbd11c77e49.jwt",
        "spec-app",
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["patient"], "maria");
}

#[tokio::test]
async fn pt_val_16_public_health_seed_is_not_accepted_here() {
    let h = seed_holder(false);
    let got = redeem_seed(
        &h,
        "uc3-16ff62cf-2d2d-4b30-8c86-6a13d7ab7d16.jwt",
        "spec-app",
    )
    .await;
    // No trust policy names its issuer: rejected before any key fetch (OP-05).
    assert_error(
        &got,
        400,
        "invalid_grant",
        Some("Ticket issuer not trusted: https://issuer.state.example.gov"),
    );
}

#[tokio::test]
async fn pt_val_12_seeds_at_the_real_clock_are_expired() {
    let h = seed_holder(false);
    let ticket = vector("seed/uc1-4b33cc1d-0f6b-44bf-bd33-80f6d7140f3e.jwt");
    h.clock.set(NOW);
    let key = spec_client();
    let assertion = sign(
        &key,
        &json!({"iss": "spec-app", "sub": "spec-app", "aud": format!("{SEED_BASE}/token"),
        "jti": "x1", "iat": NOW, "exp": NOW + 60}),
    );
    let form = [
        ("grant_type", TOKEN_EXCHANGE),
        ("subject_token_type", SUBJECT_TOKEN_TYPE),
        ("subject_token", ticket.as_str()),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion.as_str()),
    ];
    let (s, _, b) = h.post("/token", &form, &[]).await;
    assert_error(&(s, b), 400, "invalid_grant", Some("Ticket expired"));
}
