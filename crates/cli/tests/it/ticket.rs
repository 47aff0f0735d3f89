//! `tessera ticket inspect | verify | mint`.

use serde_json::{Value, json};

use crate::{fails_with, ok, path_str, tessera, vector};

const UC1: &str = "seed/uc1-4b33cc1d-0f6b-44bf-bd33-80f6d7140f3e.jwt";
const UC1_V2: &str = "seed/uc1-4b33cc1d-0f6b-44bf-bd33-80f6d7140f3e-v2.jwt";
const UC1_IAT: i64 = 1782329950;
const UC1_V2_IAT: i64 = 1781061866;

fn issuer_key() -> String {
    path_str(&vector("keys/spec-issuer.public.jwk.json")).to_owned()
}

#[test]
fn inspect_prints_unverified_header_and_payload() {
    let out = ok(&tessera(
        &["ticket", "inspect", path_str(&vector(UC1))],
        None,
    ));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["unverified"], true);
    assert_eq!(v["header"]["alg"], "ES256");
    assert_eq!(
        v["payload"]["jti"],
        "uc1-4b33cc1d-0f6b-44bf-bd33-80f6d7140f3e"
    );
    // From stdin too.
    let token = std::fs::read_to_string(vector(UC1)).unwrap();
    let out = ok(&tessera(&["ticket", "inspect", "-"], Some(&token)));
    assert!(out.contains("\"unverified\": true"));
    fails_with(
        &tessera(&["ticket", "inspect", "-"], Some("not.a-token")),
        "invalid_grant: Malformed permission ticket",
    );
}

#[test]
fn verify_seed_at_iat_plus_60() {
    let at = (UC1_IAT + 60).to_string();
    let out = ok(&tessera(
        &[
            "ticket",
            "verify",
            "--jwks",
            &issuer_key(),
            "--at",
            &at,
            path_str(&vector(UC1)),
        ],
        None,
    ));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["jti"], "uc1-4b33cc1d-0f6b-44bf-bd33-80f6d7140f3e");
    assert_eq!(
        v["access"]["smart_scopes"][0],
        "patient/AllergyIntolerance.rs"
    );
    // The JWKS form of the key works as well as the bare JWK, and stdin as well as a file.
    let dir = tempfile::tempdir().unwrap();
    let jwks = dir.path().join("jwks.json");
    let set = ok(&tessera(&["jwks", &issuer_key()], None));
    std::fs::write(&jwks, set).unwrap();
    let token = std::fs::read_to_string(vector(UC1)).unwrap();
    ok(&tessera(
        &[
            "ticket",
            "verify",
            "--jwks",
            path_str(&jwks),
            "--at",
            &at,
            "-",
        ],
        Some(&token),
    ));
}

#[test]
fn verify_failures_print_one_oauth_line() {
    let uc1 = path_str(&vector(UC1)).to_owned();
    // PT-VAL-12: at the real clock the seed tickets are expired.
    fails_with(
        &tessera(&["ticket", "verify", "--jwks", &issuer_key(), &uc1], None),
        "invalid_grant: Ticket expired",
    );
    // Wrong key (another kid).
    let evidence = path_str(&vector("keys/spec-evidence-issuer.public.jwk.json")).to_owned();
    let at = (UC1_IAT + 60).to_string();
    fails_with(
        &tessera(
            &["ticket", "verify", "--jwks", &evidence, "--at", &at, &uc1],
            None,
        ),
        "invalid_grant: Ticket signature verification failed",
    );
    // PT-FIELD-05: legacy permissions rejected by default, translated on request.
    let v2 = path_str(&vector(UC1_V2)).to_owned();
    let at = (UC1_V2_IAT + 60).to_string();
    fails_with(
        &tessera(
            &[
                "ticket",
                "verify",
                "--jwks",
                &issuer_key(),
                "--at",
                &at,
                &v2,
            ],
            None,
        ),
        "invalid_grant: Unsupported access constraint: permissions",
    );
    let out = ok(&tessera(
        &[
            "ticket",
            "verify",
            "--jwks",
            &issuer_key(),
            "--at",
            &at,
            "--legacy-access-shapes",
            &v2,
        ],
        None,
    ));
    assert!(out.contains("patient/Observation.rs"));
}

fn quality_gap_claims(exp: i64) -> Value {
    json!({
        "iss": "https://payer.example.com", "aud": "https://fhir.provider.example.org",
        "exp": exp,
        "ticket_type": "https://smarthealthit.org/permission-ticket-type/payer-quality-gap-v1",
        "subject": {"patient": {"resourceType": "Patient", "birthDate": "1957-11-02"}},
        "requester": {"resourceType": "Organization", "name": "Plan"},
        "measure": {"coding": [{"system": "https://www.cms.gov/medicare/quality/measures", "code": "CMS122v12"}]},
        "access": {"smart_scopes": ["patient/Observation.rs?code=http://loinc.org|4548-4"],
                   "data_period": {"start": "2026-01-01", "end": "2026-12-31"}}
    })
}

#[test]
fn mint_fills_iat_and_jti_and_refuses_rule_violations() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.json");
    std::fs::write(&key, ok(&tessera(&["keygen"], None))).unwrap();
    let jwks = dir.path().join("jwks.json");
    std::fs::write(&jwks, ok(&tessera(&["jwks", path_str(&key)], None))).unwrap();
    let claims = dir.path().join("claims.json");
    // Far-future exp: the binary fills iat from its own clock.
    std::fs::write(&claims, quality_gap_claims(4_000_000_000).to_string()).unwrap();
    let token = ok(&tessera(
        &[
            "ticket",
            "mint",
            "--key",
            path_str(&key),
            "--claims",
            path_str(&claims),
        ],
        None,
    ));
    let out = ok(&tessera(
        &["ticket", "verify", "--jwks", path_str(&jwks), "-"],
        Some(&token),
    ));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!(v["iat"].as_i64().unwrap() > 1_700_000_000);
    assert_eq!(v["jti"].as_str().unwrap().len(), 36, "UUID jti");

    let mut broken = quality_gap_claims(4_000_000_000);
    broken.as_object_mut().unwrap().remove("measure");
    std::fs::write(&claims, broken.to_string()).unwrap();
    fails_with(
        &tessera(
            &[
                "ticket",
                "mint",
                "--key",
                path_str(&key),
                "--claims",
                path_str(&claims),
            ],
            None,
        ),
        "invalid_grant: Ticket missing required claim: measure",
    );
}
