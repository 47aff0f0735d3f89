//! Fixtures: generated keys, one valid claims object per ticket type, an issuer with a fixed
//! clock, and client assertions for the API.

use std::sync::Arc;

use serde_json::{Value, json};
use tessera_issuer::{Config, Db, Issuer, KeyRing, MintingClient};
use tessera_jose::{Alg, JwkSet, PrivateJwk, sign_compact};
use tessera_ticket::TicketType;

/// The fixed "now" of these tests.
pub const NOW: i64 = 1_800_000_000;
pub const ISS: &str = "https://issuer.example.org";
pub const CLIENT_ID: &str = "enrollment-portal";

pub fn es256() -> PrivateJwk {
    PrivateJwk::generate(Alg::Es256).unwrap()
}

fn patient(family: &str, given: &str) -> Value {
    json!({
        "resourceType": "Patient",
        "name": [{"family": family, "given": [given]}],
        "birthDate": "1989-09-14",
        "identifier": [{"system": "http://hospital.example.org/mrn", "value": "A12345"}]
    })
}

fn org() -> Value {
    json!({
        "resourceType": "Organization",
        "name": "Example Health Plan",
        "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1093817465"}]
    })
}

/// A valid mint request of each type: the claims (without the issuer-assigned ones) and the
/// verification record naming the facts the type attests (PT-ISS-06).
pub fn claims(t: TicketType) -> Value {
    let mut c = bare_claims(t);
    c["verification"] = verification(tessera_issuer::required_facts(t));
    c
}

/// A verification record of `facts`, made a minute before [`NOW`].
pub fn verification(facts: &[tessera_issuer::Fact]) -> Value {
    json!({
        "facts": facts,
        "method": "in-person photo ID check",
        "verified_by": "front-desk-17",
        "verified_at": NOW - 60,
        "evidence": [{"type": "drivers_license", "reference": "scan-0042"}]
    })
}

/// The claims alone, without a verification record.
pub fn bare_claims(t: TicketType) -> Value {
    let jkt = es256().public().thumbprint();
    let aud = "https://dh.example.org/fhir";
    match t {
        TicketType::SelfAccess => json!({
            "aud": aud,
            "ticket_type": t.uri(),
            "presenter_binding": {"method": "jkt", "jkt": jkt},
            "subject": {"patient": patient("Reyes", "Elena")},
            "access": {
                "smart_scopes": ["patient/Observation.rs", "patient/Condition.rs"],
                "data_period": {"start": "2021-01-01", "end": "2026-01-01"}
            }
        }),
        TicketType::DelegatedAccess => json!({
            "aud": aud,
            "ticket_type": t.uri(),
            "presenter_binding": {"method": "jkt", "jkt": jkt},
            "subject": {"patient": patient("Reyes", "Maria")},
            "requester": {
                "resourceType": "RelatedPerson",
                "relationship": [{"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
                    "code": "DELEGATEE"
                }]}],
                "name": [{"family": "Reyes", "given": ["Elena"]}]
            },
            "access": {"smart_scopes": ["patient/Condition.rs"]}
        }),
        TicketType::PayerClaims => json!({
            "aud": aud,
            "ticket_type": t.uri(),
            "subject": {"patient": patient("Okafor", "Daniel")},
            "requester": org(),
            "access": {"claim_linkage": {"encounter": [
                {"reference": "https://dh.example.org/fhir/Encounter/enc-1"}
            ]}}
        }),
        TicketType::QualityGap => json!({
            "aud": aud,
            "ticket_type": t.uri(),
            "subject": {"patient": patient("Tran", "Lien")},
            "requester": org(),
            "measure": {"coding": [{
                "system": "https://www.cms.gov/medicare/quality/measures", "code": "CMS122v12"
            }]},
            "access": {
                "smart_scopes": ["patient/Observation.rs?code=http://loinc.org|4548-4"],
                "data_period": {"start": "2026-01-01", "end": "2026-12-31"}
            }
        }),
        TicketType::PublicHealth => json!({
            "aud": aud,
            "ticket_type": t.uri(),
            "subject": {"patient": patient("Carter", "Monica")},
            "requester": org(),
            "reportable_condition": {"coding": [{
                "system": "http://snomed.info/sct", "code": "840539006"
            }]},
            "access": {"smart_scopes": ["patient/Condition.rs"]}
        }),
    }
}

/// An issuer with one active key, an in-memory database and no clients.
pub fn issuer(key: &PrivateJwk) -> Issuer {
    Issuer::with_db(config(key), Db::open_in_memory().unwrap())
}

pub fn config(key: &PrivateJwk) -> Config {
    let ring = KeyRing::single(key, 365 * 86_400).unwrap();
    Config::new(ISS, "unused.sqlite3".into(), ring).unwrap()
}

/// Registers `CLIENT_ID` with the public half of `client_key`.
pub fn with_client(mut config: Config, client_key: &PrivateJwk) -> Config {
    config.clients.push(MintingClient {
        client_id: CLIENT_ID.into(),
        jwks: JwkSet::new(vec![client_key.public().clone()]),
        ticket_types: TicketType::ALL.to_vec(),
    });
    config
}

/// A client assertion as the API expects it, with claims overridable.
pub fn assertion(key: &PrivateJwk, overrides: Value) -> String {
    let mut claims = json!({
        "iss": CLIENT_ID,
        "sub": CLIENT_ID,
        "aud": format!("{ISS}/tickets"),
        "jti": uuid::Uuid::new_v4().to_string(),
        "iat": NOW,
        "exp": NOW + 60,
    });
    for (k, v) in overrides.as_object().unwrap() {
        claims[k] = v.clone();
    }
    let signer = key.signer().unwrap();
    sign_compact(
        &serde_json::Map::new(),
        &serde_json::to_vec(&claims).unwrap(),
        &signer,
    )
    .unwrap()
}

pub fn fixed_clock() -> Arc<dyn tessera_issuer::Clock> {
    Arc::new(|| NOW)
}

/// Decodes a served status list body into its bitstring.
pub fn decode_bits(body: &Value) -> Vec<u8> {
    use std::io::Read;
    let gz = tessera_jose::b64::decode(body["bits"].as_str().unwrap()).unwrap();
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(gz.as_slice())
        .read_to_end(&mut out)
        .unwrap();
    out
}

pub fn bit(bits: &[u8], index: u64) -> bool {
    bits[(index / 8) as usize] >> (index % 8) & 1 == 1
}
