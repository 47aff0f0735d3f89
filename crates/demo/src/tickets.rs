//! The claims of every demo ticket, as the JSON a minting client sends to an issuer's
//! `POST /tickets` (the issuer adds `iss`, `iat`, `jti`, `exp` and `revocation`), and the ID
//! token the demo identity provider signs as subject identity evidence.

use serde_json::{Map, Value, json};
use tessera_access::V3_ACT_CODE;
use tessera_jose::{PrivateJwk, sign_compact};
use tessera_synth::Date;
use tessera_ticket::ROLE_CODE_SYSTEM;
use tessera_ticket::claims::{
    TYPE_DELEGATED_ACCESS, TYPE_PAYER_CLAIMS, TYPE_PUBLIC_HEALTH, TYPE_QUALITY_GAP,
    TYPE_SELF_ACCESS,
};

use crate::cast::{Cast, Record};
use crate::env::{
    FRAMEWORK, IAL2, IDP_CLIENT_OF_ISSUER, IDP_ISS, NPI_SYSTEM, PHA_ENTITY, QUALITY_ENTITY,
};
use crate::error::DemoError;

/// The mint request for `claims`: the claims plus the verification record the issuer keeps by
/// `jti` (PT-ISS-06), naming the facts the ticket's type attests. The demo's "verification" is
/// the synthetic cast itself, and the record says so.
pub fn mint_request(claims: &Value, verified_at: i64) -> Value {
    let facts = claims
        .get("ticket_type")
        .and_then(Value::as_str)
        .and_then(tessera_ticket::TicketType::from_uri)
        .map(tessera_issuer::required_facts)
        .unwrap_or_default();
    let mut request = claims.clone();
    request["verification"] = json!({
        "facts": facts,
        "method": "synthetic demo cast (tessera-synth); no real person was verified",
        "verified_by": "tessera demo",
        "verified_at": verified_at,
    });
    request
}

/// LOINC HbA1c (Hemoglobin A1c/Hemoglobin.total in Blood).
pub const HBA1C: &str = "4548-4";
/// The quality-gap ticket's only scope.
pub const HBA1C_SCOPE: &str = "patient/Observation.rs?code=http://loinc.org|4548-4";
/// SNOMED CT COVID-19.
pub const COVID_19: &str = "840539006";
/// The public health ticket's scopes.
pub const PUBLIC_HEALTH_SCOPES: [&str; 3] = [
    "patient/Condition.rs",
    "patient/Observation.rs",
    "patient/DiagnosticReport.rs",
];
/// The guardian ticket's scopes.
pub const GUARDIAN_SCOPES: [&str; 4] = [
    "patient/AllergyIntolerance.rs",
    "patient/Condition.rs",
    "patient/Immunization.rs",
    "patient/MedicationRequest.rs",
];

/// `subject.patient`: match demographics plus the site's MRN.
pub fn patient(r: &Record) -> Value {
    json!({
        "resourceType": "Patient",
        "name": [{ "family": r.family, "given": [r.given] }],
        "birthDate": r.birth_date,
        "gender": r.gender,
        "identifier": [{ "system": r.mrn_system, "value": r.mrn }],
    })
}

fn jkt(thumbprint: &str) -> Value {
    json!({ "method": "jkt", "jkt": thumbprint })
}

fn framework_binding(framework: &str, entity: &str) -> Value {
    json!({
        "method": "trust_framework_client",
        "trust_framework": framework,
        "framework_type": "udap",
        "entity_uri": entity,
    })
}

/// Patient self access: bound to the patient's app key, with the identity provider's ID token
/// as evidence, every type the Data Holder serves.
pub fn self_access(cast: &Cast, app_jkt: &str, id_token: &str) -> Value {
    json!({
        "ticket_type": TYPE_SELF_ACCESS,
        "aud": FRAMEWORK,
        "aud_type": "trust_framework",
        "presenter_binding": jkt(app_jkt),
        "subject": { "patient": patient(&cast.patient) },
        "subject_identity_evidence": {
            "source": "embedded", "token_type": "id_token", "jwt": id_token,
        },
        "access": { "smart_scopes": ["patient/*.rs"] },
    })
}

/// One delegate of the older patient, with the authority the issuer verified.
#[derive(Debug, Clone, Copy)]
pub struct Delegate {
    /// v3-RoleCode authority (`DELEGATEE`, `HPOWATT`, `GUARD`).
    pub authority: &'static str,
    /// Given name.
    pub given: &'static str,
    /// Family name (`None`: the patient's).
    pub family: Option<&'static str>,
    /// How the issuer verified the authority (display only).
    pub relationship: &'static str,
}

/// The three delegates.
pub const DELEGATES: [Delegate; 3] = [
    Delegate {
        authority: "DELEGATEE",
        given: "Maya",
        family: None,
        relationship: "daughter, designated by the patient in the issuer's delegation workflow",
    },
    Delegate {
        authority: "HPOWATT",
        given: "Daniel",
        family: None,
        relationship: "son, holder of a healthcare power of attorney",
    },
    Delegate {
        authority: "GUARD",
        given: "Ruth",
        family: Some("Alvarez"),
        relationship: "court-appointed guardian",
    },
];

/// Delegated access for `d`, bound to the family app, authority valid for a year from `now`.
/// `access` differs per delegate (what the patient or instrument allows).
pub fn delegated(cast: &Cast, d: &Delegate, app_jkt: &str, access: Value, now: i64) -> Value {
    let family = d.family.unwrap_or(&cast.elder.family);
    json!({
        "ticket_type": TYPE_DELEGATED_ACCESS,
        "aud": FRAMEWORK,
        "aud_type": "trust_framework",
        "presenter_binding": jkt(app_jkt),
        "subject": { "patient": patient(&cast.elder) },
        "requester": {
            "resourceType": "RelatedPerson",
            "relationship": [{ "coding": [{ "system": ROLE_CODE_SYSTEM, "code": d.authority }] }],
            "name": [{ "family": family, "given": [d.given] }],
            "period": { "end": date(Date::from_unix(now).plus_days(365)) },
        },
        "access": access,
    })
}

/// The daughter's access: everything except mental-health-labelled records.
pub fn delegatee_access() -> Value {
    json!({
        "smart_scopes": ["patient/*.rs"],
        "sensitivity_withhold": { "codes": [{ "system": V3_ACT_CODE, "code": "MH" }] },
    })
}

/// The daughter's first delegation, later withdrawn: everything.
pub fn revocable_access() -> Value {
    json!({ "smart_scopes": ["patient/*.rs"] })
}

/// The POA agent's access: everything from the last three years of data.
pub fn poa_access(cast: &Cast) -> Value {
    json!({
        "smart_scopes": ["patient/*.rs"],
        "data_period": {
            "start": format!("{}-01-01", cast.measurement_year - 2),
            "end": cast.window_end,
        },
    })
}

/// The guardian's access: the problem list, allergies, immunizations and medications.
pub fn guardian_access() -> Value {
    json!({ "smart_scopes": GUARDIAN_SCOPES })
}

/// The payer as a requester.
fn payer(cast: &Cast) -> Value {
    json!({
        "resourceType": "Organization",
        "name": cast.payer.name,
        "identifier": [{ "system": NPI_SYSTEM, "value": cast.payer.npi }],
    })
}

/// Payer claims adjudication, self-issued by the Data Holder for one submitted claim: `aud` is
/// the Data Holder itself, the subject carries the direct record hint, release is bounded by
/// the claim's one encounter. Unbound: the payer's registered client acts for the payer.
pub fn payer_claims(cast: &Cast, base_url: &str) -> Value {
    json!({
        "ticket_type": TYPE_PAYER_CLAIMS,
        "aud": base_url,
        "aud_type": "data_holder_url",
        "subject": {
            "patient": patient(&cast.patient),
            "patient_reference": format!("{base_url}/Patient/{}", cast.patient.patient_id),
        },
        "requester": payer(cast),
        "access": {
            "claim_linkage": {
                "encounter": [{
                    "reference": format!("{base_url}/Encounter/{}", cast.claim.encounter_id),
                }],
                "claim": {
                    "identifier": { "system": cast.claim.system, "value": cast.claim.control_number },
                },
            },
        },
    })
}

/// The quality measure of the gap query.
pub fn measure() -> Value {
    json!({
        "coding": [{
            "system": "https://www.cms.gov/medicare/quality/measures",
            "code": "CMS122v12",
            "display": "Diabetes: Glycemic Status Assessment Greater Than 9%",
        }],
        "text": "Diabetes glycemic status (HbA1c)",
    })
}

/// Payer quality gap for CMS122v12: HbA1c results only, over the measurement year, bound to
/// the payer's quality program by its UDAP identity (certificate SAN in the payers' community).
pub fn quality_gap(cast: &Cast, base_url: &str) -> Value {
    let y = cast.measurement_year;
    json!({
        "ticket_type": TYPE_QUALITY_GAP,
        "aud": base_url,
        "aud_type": "data_holder_url",
        "presenter_binding": framework_binding(crate::udap::UDAP_COMMUNITY, QUALITY_ENTITY),
        "subject": { "patient": patient(&cast.patient) },
        "requester": payer(cast),
        "measure": measure(),
        "access": {
            "smart_scopes": [HBA1C_SCOPE],
            "data_period": { "start": format!("{y}-01-01"), "end": format!("{y}-12-31") },
        },
    })
}

/// Public health investigation of a COVID-19 case: Data Holders in the case's state only, a
/// window around the report, conditions, observations and reports.
pub fn public_health(cast: &Cast) -> Result<Value, DemoError> {
    let reported = Date::parse(&cast.case.date)
        .map_err(|e| DemoError::Data(format!("COVID-19 case date: {e:?}")))?;
    Ok(json!({
        "ticket_type": TYPE_PUBLIC_HEALTH,
        "aud": FRAMEWORK,
        "aud_type": "trust_framework",
        "presenter_binding": framework_binding(FRAMEWORK, PHA_ENTITY),
        "subject": { "patient": patient(&cast.case.record) },
        "requester": {
            "resourceType": "Organization",
            "name": format!("{} Department of Health, Epidemiology Unit", cast.state),
            "identifier": [{ "system": "urn:ietf:rfc:3986", "value": PHA_ENTITY }],
        },
        "reportable_condition": {
            "coding": [{ "system": "http://snomed.info/sct", "code": COVID_19, "display": "COVID-19" }],
        },
        "access": {
            "smart_scopes": PUBLIC_HEALTH_SCOPES,
            "data_period": {
                "start": date(reported.plus_days(-30)),
                "end": date(reported.plus_days(90)),
            },
            "data_holder_filter": [
                { "kind": "jurisdiction", "address": { "country": "US", "state": cast.state } },
            ],
        },
    }))
}

/// The identity provider's ID token about `r`, issued to the network issuer (its OIDC client)
/// at `now`: IAL2, with the demographics the Data Holder corroborates the subject with.
pub fn id_token(idp: &PrivateJwk, r: &Record, now: i64) -> Result<String, DemoError> {
    let claims = json!({
        "iss": IDP_ISS,
        "sub": format!("idp-{}", r.mrn.to_lowercase()),
        "aud": IDP_CLIENT_OF_ISSUER,
        "iat": now - 60,
        "exp": now + 600,
        "auth_time": now - 60,
        "acr": IAL2,
        "given_name": r.given,
        "family_name": r.family,
        "birthdate": r.birth_date,
    });
    let mut header = Map::new();
    header.insert("typ".into(), "JWT".into());
    let signer = idp.signer().map_err(|e| DemoError::Keys(e.to_string()))?;
    let payload = serde_json::to_vec(&claims).map_err(|e| DemoError::Keys(e.to_string()))?;
    sign_compact(&header, &payload, &signer).map_err(|e| DemoError::Keys(e.to_string()))
}

/// `YYYY-MM-DD`.
fn date(d: Date) -> String {
    let (y, m, day) = d.ymd();
    format!("{y:04}-{m:02}-{day:02}")
}
