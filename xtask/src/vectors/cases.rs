//! The ticket vector cases: a valid baseline of every type (ok/), then each rule broken once
//! (err/). Declared expectations are checked against the verifier before anything is written.

use serde_json::{Map, Value, json};
use tessera_jose::{Signer, b64, jws};
use tessera_ticket::TicketType;

use super::{Case, Keys, signer::hmac_sha256};

const IAT: i64 = 1_800_000_000;
const EXP: i64 = IAT + 3600;
const NOW: i64 = IAT + 60;
const ES_KEYS: &str = "keys/test-issuer-es256.public.jwks.json";
const RS_KEYS: &str = "keys/test-issuer-rs256.public.jwks.json";
/// The spec client key's thumbprint (`keys/spec-client.public.jwk.json`).
const JKT: &str = "JuI6ibZHcMPQICaIZ55PbXpnsudQmKt00D0BiEXNrMc";
const PROVIDER: &str = "https://fhir.provider.tessera.test";

const MALFORMED: &str = "Malformed permission ticket";
const BAD_SIGNATURE: &str = "Ticket signature verification failed";
const EXPIRED: &str = "Ticket expired";

fn patient() -> Value {
    json!({
        "resourceType": "Patient",
        "name": [{"family": "Reyes", "given": ["Elena"]}],
        "birthDate": "1989-09-14",
        "identifier": [{"system": "http://hospital.example.org/mrn", "value": "A12345"}]
    })
}

fn organization() -> Value {
    json!({
        "resourceType": "Organization",
        "name": "Example Health Plan",
        "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1093817465"}]
    })
}

fn framework_binding(entity: &str) -> Value {
    json!({
        "method": "trust_framework_client",
        "trust_framework": "https://directory.example-network.org",
        "framework_type": "udap",
        "entity_uri": entity
    })
}

/// A valid ticket of each type.
fn base(t: TicketType) -> Value {
    let mut p = json!({
        "iss": "https://issuer.tessera.test",
        "aud": "https://network.example.org",
        "aud_type": "trust_framework",
        "iat": IAT,
        "exp": EXP,
        "jti": "vector-0001",
        "ticket_type": t.uri(),
        "subject": {"patient": patient()},
    });
    let extra = match t {
        TicketType::SelfAccess => json!({
            "presenter_binding": {"method": "jkt", "jkt": JKT},
            "access": {
                "smart_scopes": ["patient/AllergyIntolerance.rs", "patient/Condition.rs", "patient/Observation.rs"],
                "data_period": {"start": "2021-01-01", "end": "2026-12-31"}
            }
        }),
        TicketType::DelegatedAccess => json!({
            "presenter_binding": {"method": "jkt", "jkt": JKT},
            "requester": {
                "resourceType": "RelatedPerson",
                "relationship": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "DELEGATEE"}]}],
                "name": [{"family": "Reyes", "given": ["Ana"]}],
                "period": {"end": "2027-12-31"}
            },
            "access": {"smart_scopes": ["patient/Condition.rs", "patient/Immunization.rs"]}
        }),
        TicketType::PayerClaims => json!({
            "iss": PROVIDER, "aud": PROVIDER, "aud_type": "data_holder_url",
            "exp": IAT + 60 * 86400,
            "presenter_binding": framework_binding("https://payer.example.com/organizations/claims-review"),
            "subject": {"patient": patient(), "patient_reference": format!("{PROVIDER}/Patient/A12345")},
            "requester": organization(),
            "access": {"claim_linkage": {
                "encounter": [{"reference": format!("{PROVIDER}/Encounter/enc-1")}],
                "claim": {"type": "Claim", "identifier": {"system": "https://provider.example.org/claims", "value": "CLM-1"}}
            }}
        }),
        TicketType::QualityGap => json!({
            "iss": "https://payer.example.com", "aud": PROVIDER, "aud_type": "data_holder_url",
            "exp": IAT + 120 * 86400,
            "requester": organization(),
            "measure": {"coding": [{"system": "https://www.cms.gov/medicare/quality/measures", "code": "CMS122v12"}], "text": "Diabetes glycemic status (HbA1c)"},
            "access": {
                "smart_scopes": ["patient/Observation.rs?code=http://loinc.org|4548-4"],
                "data_period": {"start": "2026-01-01", "end": "2026-12-31"}
            }
        }),
        TicketType::PublicHealth => json!({
            "iss": "https://issuer.state.example.gov",
            "presenter_binding": framework_binding("https://state.example.gov/organizations/epi-unit"),
            "requester": {"resourceType": "Organization", "name": "State Epidemiology Unit",
                "identifier": [{"system": "urn:ietf:rfc:3986", "value": "https://state.example.gov/organizations/epi-unit"}]},
            "reportable_condition": {"coding": [{"system": "http://snomed.info/sct", "code": "840539006"}]},
            "access": {
                "smart_scopes": ["patient/Condition.rs", "patient/Observation.rs", "patient/DiagnosticReport.rs"],
                "data_period": {"start": "2025-12-01", "end": "2026-06-01"},
                "data_holder_filter": [{"kind": "jurisdiction", "address": {"country": "US", "state": "TX"}}]
            }
        }),
    };
    merge(&mut p, extra);
    p
}

fn merge(p: &mut Value, extra: Value) {
    if let (Value::Object(p), Value::Object(extra)) = (p, extra) {
        p.extend(extra);
    }
}

/// The payload as an object (payloads here always are; anything else is replaced).
fn obj(p: &mut Value) -> &mut Map<String, Value> {
    match p {
        Value::Object(m) => m,
        other => {
            *other = Value::Object(Map::new());
            obj(other)
        }
    }
}

/// A baseline of `t` changed by `f`.
fn with(t: TicketType, f: impl FnOnce(&mut Value)) -> Value {
    let mut p = base(t);
    f(&mut p);
    p
}

fn header(alg: &str, kid: &str) -> Value {
    json!({"alg": alg, "kid": kid})
}

/// Signs `payload` under `header` with `signer` (header used verbatim).
fn sign(h: &Value, payload: &Value, signer: &dyn Signer) -> anyhow::Result<String> {
    let input = jws::signing_input(h.to_string().as_bytes(), payload.to_string().as_bytes());
    Ok(jws::assemble(&input, &signer.sign(input.as_bytes())?))
}

struct Builder<'k> {
    keys: &'k Keys,
    out: Vec<Case>,
}

impl Builder<'_> {
    fn es(&self, payload: &Value) -> anyhow::Result<String> {
        let kid = self.keys.es.kid().unwrap_or_default().to_owned();
        sign(&header("ES256", &kid), payload, &self.keys.es)
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        name: &'static str,
        description: &'static str,
        requirements: &'static [&'static str],
        token: String,
        expected: Option<&'static str>,
    ) {
        self.out.push(Case {
            name,
            description,
            requirements,
            token,
            keys: ES_KEYS,
            now: NOW,
            leeway: 30,
            legacy: false,
            expected,
        });
    }

    /// The last pushed case, to adjust `now`, `leeway`, keys or options.
    fn last(&mut self) -> &mut Case {
        // Only called right after a push.
        let n = self.out.len().saturating_sub(1);
        &mut self.out[n]
    }

    /// An ES256-signed payload expected to fail with `description`.
    fn err(
        &mut self,
        name: &'static str,
        description: &'static str,
        requirements: &'static [&'static str],
        payload: Value,
        expected: &'static str,
    ) -> anyhow::Result<()> {
        let token = self.es(&payload)?;
        self.push(name, description, requirements, token, Some(expected));
        Ok(())
    }

    fn ok(
        &mut self,
        name: &'static str,
        description: &'static str,
        requirements: &'static [&'static str],
        payload: Value,
    ) -> anyhow::Result<()> {
        let token = self.es(&payload)?;
        self.push(name, description, requirements, token, None);
        Ok(())
    }
}

/// Every case, in README order.
pub fn all(keys: &Keys) -> anyhow::Result<Vec<Case>> {
    let mut b = Builder {
        keys,
        out: Vec::new(),
    };
    ok_cases(&mut b)?;
    jws_cases(&mut b)?;
    envelope_cases(&mut b)?;
    access_cases(&mut b)?;
    type_rule_cases(&mut b)?;
    order_cases(&mut b)?;
    Ok(b.out)
}

fn ok_cases(b: &mut Builder) -> anyhow::Result<()> {
    use TicketType::*;
    b.ok(
        "self_access",
        "Patient self access baseline",
        &["PT-TYPE-01", "PT-TYPE-03"],
        base(SelfAccess),
    )?;
    b.ok(
        "delegated_access",
        "Delegated access baseline (DELEGATEE)",
        &["PT-TYPE-04", "PT-TYPE-05", "PT-TYPE-06"],
        base(DelegatedAccess),
    )?;
    b.ok(
        "payer_claims",
        "Payer claims adjudication baseline",
        &["PT-TYPE-08"],
        base(PayerClaims),
    )?;
    b.ok(
        "quality_gap",
        "Payer quality gap baseline",
        &["PT-TYPE-12", "PT-TYPE-13", "PT-TYPE-14"],
        base(QualityGap),
    )?;
    b.ok(
        "public_health",
        "Public health investigation baseline",
        &["PT-TYPE-18"],
        base(PublicHealth),
    )?;
    let rs_kid = b.keys.rs.kid().unwrap_or_default().to_owned();
    let token = sign(&header("RS256", &rs_kid), &base(SelfAccess), &b.keys.rs)?;
    b.push(
        "self_access_rs256",
        "RS256-signed baseline",
        &["PT-VAL-04"],
        token,
        None,
    );
    b.last().keys = RS_KEYS;
    b.ok(
        "unknown_top_level_claim_ignored",
        "Unknown top-level claim is ignored",
        &["PT-FIELD-01"],
        with(SelfAccess, |p| {
            obj(p).insert("x_note".into(), json!({"any": [1, 2]}));
        }),
    )?;
    b.ok(
        "aud_array",
        "`aud` as an array",
        &["PT-AUD-03"],
        with(PayerClaims, |p| {
            p["aud"] = json!(["https://other.example", PROVIDER]);
        }),
    )?;
    b.ok(
        "both_subject_hints_agree",
        "`patient_reference` and a matching relative `recipient_record`",
        &["OP-01"],
        with(PayerClaims, |p| {
            p["subject"]["recipient_record"] =
                json!({"reference": "Patient/A12345", "type": "Patient"});
        }),
    )?;
    b.ok(
        "continuation_with_revocation",
        "`continuation` together with `revocation`",
        &["PT-LIFE-06"],
        with(SelfAccess, |p| {
            obj(p).insert(
                "revocation".into(),
                json!({"url": "https://issuer.tessera.test/status/1", "index": 7}),
            );
            obj(p).insert("continuation".into(), json!({"refresh_until": null}));
        }),
    )?;
    b.ok(
        "payer_claims_with_scopes",
        "Payer claims with an extra `smart_scopes` (narrows; OP-16)",
        &["PT-TYPE-17"],
        with(PayerClaims, |p| {
            p["access"]["smart_scopes"] = json!(["patient/Encounter.rs"]);
        }),
    )?;
    b.ok("data_holder_filter_organization", "Organization `data_holder_filter` entry", &["PT-DHF-04"],
        with(SelfAccess, |p| { p["access"]["data_holder_filter"] = json!([{"kind": "organization",
            "organization": [{"identifier": {"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567890"}, "display": "Clinic"}]}]); }))?;
    b.ok(
        "data_period_datetime",
        "`data_period` with zoned dateTimes, open end",
        &["PT-DP-10", "OP-24"],
        with(SelfAccess, |p| {
            p["access"]["data_period"] = json!({"start": "2024-03-01T08:00:00-05:00"});
        }),
    )?;
    b.ok(
        "empty_must_understand",
        "Empty `must_understand` is harmless",
        &["OP-20"],
        with(SelfAccess, |p| {
            obj(p).insert("must_understand".into(), json!([]));
        }),
    )?;
    b.ok(
        "exp_within_leeway",
        "`now` 10 s past `exp`, within the 30 s leeway",
        &["PT-VAL-14", "OP-06"],
        base(SelfAccess),
    )?;
    b.last().now = EXP + 10;
    b.ok("legacy_permissions_translated", "J10 `permissions` with legacy shapes on", &["OP-02"],
        with(DelegatedAccess, |p| { p["access"] = json!({"permissions": [
            {"kind": "data", "resource_type": "Condition", "interactions": ["read", "search"]},
            {"kind": "data", "resource_type": "Observation", "interactions": ["search", "read"],
             "category_any_of": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}]}); }))?;
    b.last().legacy = true;
    b.ok("legacy_fhir_resources_translated", "mid-June `fhir_resources` with legacy shapes on", &["OP-02"],
        with(SelfAccess, |p| { p["access"] = json!({"fhir_resources": [{"type": "Observation", "interactions": ["read", "search"], "code": {"system": "http://loinc.org", "code": "4548-4"}}]}); }))?;
    b.last().legacy = true;
    b.ok(
        "legacy_context_reportable_condition",
        "J10 public health `context.reportable_condition` with legacy shapes on",
        &["OP-20"],
        with(PublicHealth, |p| {
            let rc = obj(p).remove("reportable_condition").unwrap_or_default();
            obj(p).insert("context".into(), json!({"reportable_condition": rc}));
        }),
    )?;
    b.last().legacy = true;
    Ok(())
}

fn jws_cases(b: &mut Builder) -> anyhow::Result<()> {
    use TicketType::*;
    let good = b.es(&base(SelfAccess))?;
    let (input, sig) = good.rsplit_once('.').unwrap_or_default();
    let kid = b.keys.es.kid().unwrap_or_default().to_owned();

    b.push(
        "truncated_token",
        "Token cut after the payload (two segments)",
        &["PT-VAL-01"],
        input.to_owned(),
        Some(MALFORMED),
    );
    b.push(
        "padded_base64",
        "Signature segment with base64 padding",
        &["PT-VAL-01"],
        format!("{good}="),
        Some(MALFORMED),
    );
    let raw = |h: &Value, p: &[u8], s: &[u8]| {
        jws::assemble(&jws::signing_input(h.to_string().as_bytes(), p), s)
    };
    b.push(
        "payload_not_object",
        "Payload is a JSON array",
        &["PT-VAL-02"],
        raw(&header("ES256", &kid), b"[]", b"x"),
        Some(MALFORMED),
    );
    b.push(
        "payload_not_json",
        "Payload is not JSON",
        &["PT-VAL-01"],
        raw(&header("ES256", &kid), b"hello", b"x"),
        Some(MALFORMED),
    );
    let token = sign(&json!({"alg": "ES256"}), &base(SelfAccess), &b.keys.es)?;
    b.push(
        "missing_kid",
        "Header without `kid`",
        &["PT-VAL-06", "OP-04"],
        token,
        Some(MALFORMED),
    );
    let token = sign(
        &json!({"alg": "ES256", "kid": kid, "crit": ["exp"], "exp": 1}),
        &base(SelfAccess),
        &b.keys.es,
    )?;
    b.push(
        "critical_header",
        "Header with `crit`",
        &["PT-VAL-01"],
        token,
        Some(MALFORMED),
    );
    let deep = with(SelfAccess, |p| {
        let mut v = json!(1);
        for _ in 0..40 {
            v = json!([v]);
        }
        obj(p).insert("x_deep".into(), v);
    });
    b.err(
        "json_too_deep",
        "Payload nested 40 levels deep (bound: 32)",
        &["PT-VAL-01"],
        deep,
        MALFORMED,
    )?;

    let mut bytes = b64::decode(sig)?;
    if let Some(first) = bytes.first_mut() {
        *first ^= 0x01;
    }
    b.push(
        "flipped_signature_byte",
        "One signature bit flipped",
        &["PT-VAL-03"],
        jws::assemble(input, &bytes),
        Some(BAD_SIGNATURE),
    );
    b.push(
        "truncated_signature",
        "Signature cut to 32 bytes",
        &["PT-VAL-03"],
        jws::assemble(input, bytes.get(..32).unwrap_or_default()),
        Some(BAD_SIGNATURE),
    );
    let tampered = with(SelfAccess, |p| {
        p["access"]["smart_scopes"] = json!(["patient/*.rs"]);
    });
    let (_, tampered_payload) =
        b.es(&tampered)?
            .split('.')
            .fold((0, String::new()), |(i, acc), s| {
                if i == 1 {
                    (i + 1, s.to_owned())
                } else {
                    (i + 1, acc)
                }
            });
    let (h, _) = input.split_once('.').unwrap_or_default();
    b.push(
        "payload_swapped",
        "Payload replaced after signing (scopes widened)",
        &["PT-VAL-03"],
        format!("{h}.{tampered_payload}.{sig}"),
        Some(BAD_SIGNATURE),
    );
    let none = jws::signing_input(
        header("none", &kid).to_string().as_bytes(),
        base(SelfAccess).to_string().as_bytes(),
    );
    b.push(
        "alg_none",
        "`alg: none`, empty signature",
        &["PT-VAL-05"],
        format!("{none}."),
        Some(BAD_SIGNATURE),
    );
    let hs_input = jws::signing_input(
        header("HS256", &kid).to_string().as_bytes(),
        base(SelfAccess).to_string().as_bytes(),
    );
    let public_bytes = b
        .keys
        .private
        .get("test-issuer-es256")
        .map(|k| k.public().to_value().to_string())
        .unwrap_or_default();
    b.push(
        "alg_hs256_public_key_as_secret",
        "`HS256` keyed with the issuer's public JWK bytes",
        &["PT-VAL-05"],
        jws::assemble(
            &hs_input,
            &hmac_sha256(public_bytes.as_bytes(), hs_input.as_bytes()),
        ),
        Some(BAD_SIGNATURE),
    );
    let token = sign(
        &header("ES256", "no-such-kid"),
        &base(SelfAccess),
        &b.keys.es,
    )?;
    b.push(
        "unknown_kid",
        "`kid` not in the issuer JWKS",
        &["PT-VAL-06"],
        token,
        Some(BAD_SIGNATURE),
    );
    let token = sign(&header("RS256", &kid), &base(SelfAccess), &b.keys.rs)?;
    b.push(
        "wrong_kty_for_alg",
        "`RS256` header naming the issuer's EC key",
        &["PT-VAL-05", "OP-04"],
        token,
        Some(BAD_SIGNATURE),
    );
    let token = sign(&header("ES256", &kid), &base(SelfAccess), &b.keys.other)?;
    b.push(
        "signed_by_other_key",
        "Issuer `kid`, signed by an unrelated key",
        &["PT-VAL-03"],
        token,
        Some(BAD_SIGNATURE),
    );
    Ok(())
}

fn envelope_cases(b: &mut Builder) -> anyhow::Result<()> {
    use TicketType::*;
    let m = |claim: &'static str| -> &'static str {
        match claim {
            "iss" => "Malformed permission ticket: iss",
            "aud" => "Malformed permission ticket: aud",
            "exp" => "Malformed permission ticket: exp",
            "iat" => "Malformed permission ticket: iat",
            "jti" => "Malformed permission ticket: jti",
            "subject.patient" => "Malformed permission ticket: subject.patient",
            "access" => "Malformed permission ticket: access",
            "presenter_binding" => "Malformed permission ticket: presenter_binding",
            "aud_type" => "Malformed permission ticket: aud_type",
            "subject.recipient_record" => "Malformed permission ticket: subject.recipient_record",
            _ => "Malformed permission ticket: subject_identity_evidence",
        }
    };
    for (name, claim) in [
        ("missing_iss", "iss"),
        ("missing_jti", "jti"),
        ("missing_iat", "iat"),
        ("missing_exp", "exp"),
        ("missing_access", "access"),
    ] {
        b.err(
            name,
            "Required envelope claim removed",
            &["PT-VAL-13"],
            with(SelfAccess, |p| {
                obj(p).remove(claim);
            }),
            m(claim),
        )?;
    }
    b.err(
        "exp_not_integer",
        "`exp` as a string",
        &["PT-VAL-13"],
        with(SelfAccess, |p| {
            p["exp"] = json!(EXP.to_string());
        }),
        m("exp"),
    )?;
    b.err(
        "iat_fractional",
        "`iat` as a float",
        &["PT-VAL-13"],
        with(SelfAccess, |p| {
            p["iat"] = json!(1.5e9);
        }),
        m("iat"),
    )?;
    b.err(
        "aud_empty_array",
        "`aud: []`",
        &["PT-AUD-06"],
        with(SelfAccess, |p| {
            p["aud"] = json!([]);
        }),
        m("aud"),
    )?;
    b.err(
        "aud_empty_entry",
        "`aud` with an empty string entry",
        &["PT-AUD-06"],
        with(SelfAccess, |p| {
            p["aud"] = json!(["https://a.example", ""]);
        }),
        m("aud"),
    )?;
    b.err(
        "aud_non_string_entry",
        "`aud` with a number entry",
        &["PT-AUD-06"],
        with(SelfAccess, |p| {
            p["aud"] = json!([1]);
        }),
        m("aud"),
    )?;
    b.err(
        "missing_subject_patient",
        "`subject` without `patient`",
        &["PT-VAL-13"],
        with(SelfAccess, |p| {
            p["subject"] = json!({});
        }),
        m("subject.patient"),
    )?;
    b.err(
        "access_not_object",
        "`access` is an array",
        &["PT-VAL-13"],
        with(SelfAccess, |p| {
            p["access"] = json!([]);
        }),
        m("access"),
    )?;
    b.err(
        "missing_ticket_type",
        "`ticket_type` removed",
        &["PT-VAL-08"],
        with(SelfAccess, |p| {
            obj(p).remove("ticket_type");
        }),
        "Missing ticket type",
    )?;
    b.err(
        "unsupported_ticket_type",
        "Unknown `ticket_type` URI",
        &["PT-VAL-09"],
        with(SelfAccess, |p| {
            p["ticket_type"] =
                json!("https://smarthealthit.org/permission-ticket-type/network-patient-access-v1");
        }),
        "Unsupported ticket type",
    )?;
    b.err(
        "presenter_binding_array",
        "`presenter_binding` as an array",
        &["PT-BIND-09", "OP-18"],
        with(SelfAccess, |p| {
            p["presenter_binding"] = json!([{"method": "jkt", "jkt": JKT}]);
        }),
        m("presenter_binding"),
    )?;
    b.err(
        "presenter_binding_extra_member",
        "`jkt` binding with an extra member",
        &["PT-BIND-09"],
        with(SelfAccess, |p| {
            p["presenter_binding"]["x"] = json!(1);
        }),
        m("presenter_binding"),
    )?;
    b.err(
        "presenter_binding_unknown_method",
        "Unknown binding `method`",
        &["PT-BIND-09"],
        with(SelfAccess, |p| {
            p["presenter_binding"] = json!({"method": "mtls", "x5t#S256": "abc"});
        }),
        m("presenter_binding"),
    )?;
    b.err(
        "unknown_aud_type",
        "`aud_type: resource_server`",
        &["PT-AUD-06", "OP-42"],
        with(SelfAccess, |p| {
            p["aud_type"] = json!("resource_server");
        }),
        m("aud_type"),
    )?;
    b.err(
        "subject_hints_disagree",
        "`patient_reference` and `recipient_record` name different patients",
        &["OP-01"],
        with(PayerClaims, |p| {
            p["subject"]["recipient_record"] =
                json!({"reference": format!("{PROVIDER}/Patient/OTHER")});
        }),
        m("subject.recipient_record"),
    )?;
    b.err(
        "evidence_wrong_token_type",
        "`subject_identity_evidence` with `token_type: vc`",
        &["PT-EVID-11"],
        with(SelfAccess, |p| {
            obj(p).insert(
                "subject_identity_evidence".into(),
                json!({"source": "embedded", "token_type": "vc", "jwt": "a.b.c"}),
            );
        }),
        m("subject_identity_evidence"),
    )?;

    b.err(
        "expired",
        "`now` one hour after `exp`",
        &["PT-VAL-12"],
        base(SelfAccess),
        EXPIRED,
    )?;
    b.last().now = EXP + 3600;
    b.err(
        "exp_equals_now",
        "`exp == now` with zero leeway counts as expired",
        &["PT-VAL-12", "OP-06"],
        base(SelfAccess),
        EXPIRED,
    )?;
    b.last().now = EXP;
    b.last().leeway = 0;
    b.err(
        "exp_at_leeway_boundary",
        "`now == exp + leeway` counts as expired",
        &["PT-VAL-12", "OP-06"],
        base(SelfAccess),
        EXPIRED,
    )?;
    b.last().now = EXP + 30;
    b.err(
        "iat_in_future",
        "`iat` one hour after `now`",
        &["PT-VAL-14"],
        with(SelfAccess, |p| {
            p["iat"] = json!(NOW + 3600);
            p["exp"] = json!(NOW + 7200);
        }),
        "Ticket issued in the future",
    )?;
    b.err(
        "nbf_in_future",
        "`nbf` one hour after `now`",
        &["OP-06"],
        with(SelfAccess, |p| {
            obj(p).insert("nbf".into(), json!(NOW + 3600));
        }),
        "Ticket not yet valid",
    )?;
    Ok(())
}

fn access_cases(b: &mut Builder) -> anyhow::Result<()> {
    use TicketType::*;
    let set = |member: &'static str, v: Value| {
        move |p: &mut Value| {
            p["access"][member] = v;
        }
    };
    b.err(
        "unknown_access_member",
        "`access.foo`",
        &["PT-FIELD-02"],
        with(SelfAccess, set("foo", json!(true))),
        "Unsupported access constraint: foo",
    )?;
    b.err("url_named_extension_constraint", "URL-named extension constraint", &["PT-FIELD-03"],
        with(SelfAccess, set("https://example.org/permission-ticket/encounter-class-filter", json!({"include": []}))),
        "Unsupported access constraint: https://example.org/permission-ticket/encounter-class-filter")?;
    let permissions =
        json!([{"kind": "data", "resource_type": "Condition", "interactions": ["read", "search"]}]);
    b.err(
        "legacy_permissions",
        "J10 `permissions` (legacy shapes off)",
        &["PT-FIELD-05", "OP-02"],
        with(SelfAccess, |p| {
            p["access"] = json!({"permissions": permissions});
        }),
        "Unsupported access constraint: permissions",
    )?;
    b.err(
        "legacy_fhir_resources",
        "mid-June `fhir_resources` (legacy shapes off)",
        &["PT-FIELD-05"],
        with(SelfAccess, |p| {
            p["access"] =
                json!({"fhir_resources": [{"type": "Condition", "interactions": ["read"]}]});
        }),
        "Unsupported access constraint: fhir_resources",
    )?;
    b.err(
        "legacy_sensitive_data",
        "April `sensitive_data` (legacy shapes off)",
        &["PT-FIELD-05"],
        with(SelfAccess, set("sensitive_data", json!("exclude"))),
        "Unsupported access constraint: sensitive_data",
    )?;
    b.err(
        "legacy_operation",
        "`permissions` with an operation, legacy shapes on",
        &["OP-02", "PT-ACC-08"],
        with(SelfAccess, |p| {
            p["access"] = json!({"permissions": [{"kind": "operation", "name": "$everything"}]});
        }),
        "Cannot enforce access constraint: permissions",
    )?;
    b.last().legacy = true;
    b.err("sensitivity_withhold_not_enforced", "`sensitivity_withhold` where Proposal 005 is off", &["OP-16"],
        with(SelfAccess, set("sensitivity_withhold", json!({"codes": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "ETH"}]}))),
        "Unsupported access constraint: sensitivity_withhold")?;
    b.err(
        "must_understand",
        "Non-empty `must_understand`",
        &["PT-FIELD-06", "OP-20"],
        with(SelfAccess, |p| {
            obj(p).insert("must_understand".into(), json!(["x_claim"]));
        }),
        "Cannot enforce kernel field: must_understand",
    )?;
    b.err(
        "continuation_without_revocation",
        "`continuation` without `revocation`",
        &["PT-LIFE-06", "OP-26"],
        with(SelfAccess, |p| {
            obj(p).insert("continuation".into(), json!({"refresh_until": EXP + 86400}));
        }),
        "Cannot enforce kernel field: continuation",
    )?;
    let scopes = "Malformed permission ticket: access.smart_scopes";
    b.err(
        "smart_scopes_empty",
        "`smart_scopes: []`",
        &["PT-SCOPE-01"],
        with(SelfAccess, set("smart_scopes", json!([]))),
        scopes,
    )?;
    b.err(
        "smart_scope_v1",
        "SMART v1 scope `patient/Observation.read`",
        &["PT-SCOPE-01", "OP-14"],
        with(
            SelfAccess,
            set("smart_scopes", json!(["patient/Observation.read"])),
        ),
        scopes,
    )?;
    b.err(
        "smart_scope_letters_not_canonical",
        "Scope letters `sr` (not c r u d s order)",
        &["OP-14"],
        with(
            SelfAccess,
            set("smart_scopes", json!(["patient/Observation.sr"])),
        ),
        scopes,
    )?;
    b.err(
        "smart_scope_no_context",
        "Scope without `patient/` context",
        &["PT-SCOPE-01"],
        with(SelfAccess, set("smart_scopes", json!(["Observation.rs"]))),
        scopes,
    )?;
    let period = "Malformed permission ticket: access.data_period";
    b.err(
        "data_period_no_bounds",
        "`data_period: {}`",
        &["PT-DP-11", "OP-24"],
        with(SelfAccess, set("data_period", json!({}))),
        period,
    )?;
    b.err(
        "data_period_start_after_end",
        "`data_period` start after end",
        &["PT-DP-11", "OP-24"],
        with(
            SelfAccess,
            set(
                "data_period",
                json!({"start": "2026-01-02", "end": "2026-01-01"}),
            ),
        ),
        period,
    )?;
    b.err(
        "data_period_datetime_without_zone",
        "`data_period` dateTime without zone",
        &["PT-DP-11", "OP-24"],
        with(
            SelfAccess,
            set("data_period", json!({"start": "2026-01-01T10:00:00"})),
        ),
        period,
    )?;
    b.err(
        "data_period_invalid_date",
        "`data_period` with 2026-02-30",
        &["PT-DP-11"],
        with(SelfAccess, set("data_period", json!({"end": "2026-02-30"}))),
        period,
    )?;
    let filter = "Malformed permission ticket: access.data_holder_filter";
    b.err(
        "data_holder_filter_empty",
        "`data_holder_filter: []`",
        &["PT-DHF-08"],
        with(SelfAccess, set("data_holder_filter", json!([]))),
        filter,
    )?;
    b.err("data_holder_filter_org_without_system", "Organization filter identifier without `system`", &["PT-DHF-08", "OP-25"],
        with(SelfAccess, set("data_holder_filter", json!([{"kind": "organization", "organization": [{"identifier": {"value": "123"}}]}]))), filter)?;
    b.err(
        "data_holder_filter_empty_address",
        "Jurisdiction without country or state",
        &["PT-DHF-08"],
        with(
            SelfAccess,
            set(
                "data_holder_filter",
                json!([{"kind": "jurisdiction", "address": {}}]),
            ),
        ),
        filter,
    )?;
    b.err(
        "data_holder_filter_unknown_kind",
        "Filter entry of unknown `kind`",
        &["PT-DHF-08"],
        with(
            SelfAccess,
            set(
                "data_holder_filter",
                json!([{"kind": "network", "id": "x"}]),
            ),
        ),
        filter,
    )?;
    let linkage = "Malformed permission ticket: access.claim_linkage";
    b.err(
        "claim_linkage_no_encounter",
        "`claim_linkage.encounter: []`",
        &["PT-CL-01"],
        with(PayerClaims, |p| {
            p["access"]["claim_linkage"]["encounter"] = json!([]);
        }),
        linkage,
    )?;
    b.err(
        "claim_linkage_extra_member",
        "`claim_linkage` with an extra member",
        &["PT-CL-01"],
        with(PayerClaims, |p| {
            p["access"]["claim_linkage"]["status"] = json!("open");
        }),
        linkage,
    )?;
    Ok(())
}

fn type_rule_cases(b: &mut Builder) -> anyhow::Result<()> {
    use TicketType::*;
    let missing = |c: &'static str| -> &'static str {
        match c {
            "requester" => "Ticket missing required claim: requester",
            "smart_scopes" => "Ticket missing required claim: smart_scopes",
            "claim_linkage" => "Ticket missing required claim: claim_linkage",
            "measure" => "Ticket missing required claim: measure",
            "data_period" => "Ticket missing required claim: data_period",
            _ => "Ticket missing required claim: reportable_condition",
        }
    };
    let remove = |c: &'static str| {
        move |p: &mut Value| {
            obj(p).remove(c);
        }
    };
    let remove_access = |c: &'static str| {
        move |p: &mut Value| {
            obj(&mut p["access"]).remove(c);
        }
    };
    let binding = "Ticket presenter binding required";
    let wrong_requester = "Ticket requester type not valid for this ticket type";
    let authority = "Invalid requester authority";
    let linkage_forbidden = "Access constraint not allowed for this ticket type: claim_linkage";
    let linkage = json!({"encounter": [{"reference": format!("{PROVIDER}/Encounter/enc-1")}]});

    b.err(
        "self_with_requester",
        "Self access carrying a requester",
        &["PT-TYPE-02"],
        with(SelfAccess, |p| {
            obj(p).insert("requester".into(), organization());
        }),
        "Ticket requester not allowed for this ticket type",
    )?;
    b.err(
        "self_unbound",
        "Self access without presenter binding",
        &["PT-BIND-04", "OP-15"],
        with(SelfAccess, remove("presenter_binding")),
        binding,
    )?;
    b.err(
        "self_missing_scopes",
        "Self access without smart_scopes",
        &["PT-TYPE-03"],
        with(SelfAccess, remove_access("smart_scopes")),
        missing("smart_scopes"),
    )?;
    b.err(
        "self_with_claim_linkage",
        "Self access with claim_linkage",
        &["PT-TYPE-17", "OP-16"],
        with(SelfAccess, |p| {
            p["access"]["claim_linkage"] = linkage.clone();
        }),
        linkage_forbidden,
    )?;

    b.err(
        "delegated_missing_requester",
        "Delegated access without requester",
        &["PT-TYPE-04"],
        with(DelegatedAccess, remove("requester")),
        missing("requester"),
    )?;
    b.err(
        "delegated_organization_requester",
        "Delegated access with an Organization requester",
        &["PT-TYPE-04"],
        with(DelegatedAccess, |p| {
            p["requester"] = organization();
        }),
        wrong_requester,
    )?;
    b.err(
        "delegated_two_codings",
        "Two authority codings",
        &["PT-TYPE-05"],
        with(DelegatedAccess, |p| {
            p["requester"]["relationship"][0]["coding"] = json!([
            {"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "DELEGATEE"},
            {"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "GUARD"}]);
        }),
        authority,
    )?;
    b.err(
        "delegated_no_coding",
        "Relationship without coding",
        &["PT-TYPE-05"],
        with(DelegatedAccess, |p| {
            p["requester"]["relationship"] = json!([]);
        }),
        authority,
    )?;
    b.err(
        "delegated_family_code",
        "Family relationship `DAU` instead of an authority code",
        &["PT-TYPE-06"],
        with(DelegatedAccess, |p| {
            p["requester"]["relationship"][0]["coding"][0]["code"] = json!("DAU");
        }),
        authority,
    )?;
    b.err(
        "delegated_wrong_system",
        "Authority code from another system",
        &["PT-TYPE-06"],
        with(DelegatedAccess, |p| {
            p["requester"]["relationship"][0]["coding"][0]["system"] =
                json!("http://snomed.info/sct");
        }),
        authority,
    )?;
    b.err(
        "delegated_unbound",
        "Delegated access without presenter binding",
        &["PT-BIND-04"],
        with(DelegatedAccess, remove("presenter_binding")),
        binding,
    )?;
    b.err(
        "delegated_missing_scopes",
        "Delegated access without smart_scopes",
        &["PT-TYPE-03"],
        with(DelegatedAccess, remove_access("smart_scopes")),
        missing("smart_scopes"),
    )?;

    b.err(
        "claims_missing_claim_linkage",
        "Payer claims without claim_linkage",
        &["PT-TYPE-08"],
        with(PayerClaims, |p| {
            p["access"] = json!({"smart_scopes": ["patient/Encounter.rs"]});
        }),
        missing("claim_linkage"),
    )?;
    b.err(
        "claims_with_data_period",
        "Payer claims with data_period (SHALL NOT)",
        &["PT-TYPE-09", "OP-16"],
        with(PayerClaims, |p| {
            p["access"]["data_period"] = json!({"start": "2026-01-01"});
        }),
        "Access constraint not allowed for this ticket type: data_period",
    )?;
    b.err(
        "claims_missing_requester",
        "Payer claims without requester",
        &["PT-TYPE-08"],
        with(PayerClaims, remove("requester")),
        missing("requester"),
    )?;
    b.err(
        "claims_related_person_requester",
        "Payer claims with a RelatedPerson requester",
        &["PT-TYPE-08"],
        with(PayerClaims, |p| {
            p["requester"] = json!({"resourceType": "RelatedPerson", "name": [{"family": "X"}]});
        }),
        wrong_requester,
    )?;

    b.err(
        "quality_gap_missing_measure",
        "Quality gap without measure",
        &["PT-TYPE-12"],
        with(QualityGap, remove("measure")),
        missing("measure"),
    )?;
    b.err(
        "quality_gap_empty_measure",
        "Quality gap with an empty measure",
        &["PT-TYPE-12"],
        with(QualityGap, |p| {
            p["measure"] = json!({});
        }),
        "Malformed permission ticket: measure",
    )?;
    b.err(
        "quality_gap_missing_data_period",
        "Quality gap without data_period",
        &["PT-TYPE-13"],
        with(QualityGap, remove_access("data_period")),
        missing("data_period"),
    )?;
    b.err(
        "quality_gap_missing_scopes",
        "Quality gap without smart_scopes",
        &["PT-TYPE-13"],
        with(QualityGap, remove_access("smart_scopes")),
        missing("smart_scopes"),
    )?;
    b.err(
        "quality_gap_unnarrowed_scope",
        "Quality gap scope without ?code/?category",
        &["PT-TYPE-14", "OP-17"],
        with(QualityGap, |p| {
            p["access"]["smart_scopes"] = json!([
                "patient/Observation.rs?code=http://loinc.org|4548-4",
                "patient/Observation.rs"
            ]);
        }),
        "Ticket missing required claim: narrowed smart_scopes",
    )?;
    b.err(
        "quality_gap_missing_requester",
        "Quality gap without requester",
        &["PT-TYPE-12"],
        with(QualityGap, remove("requester")),
        missing("requester"),
    )?;
    b.err(
        "quality_gap_with_claim_linkage",
        "Quality gap with claim_linkage",
        &["PT-TYPE-17", "OP-16"],
        with(QualityGap, |p| {
            p["access"]["claim_linkage"] = linkage.clone();
        }),
        linkage_forbidden,
    )?;

    b.err(
        "public_health_missing_condition",
        "Public health without reportable_condition",
        &["PT-TYPE-18"],
        with(PublicHealth, remove("reportable_condition")),
        missing("reportable_condition"),
    )?;
    b.err(
        "public_health_missing_requester",
        "Public health without requester",
        &["PT-TYPE-18"],
        with(PublicHealth, remove("requester")),
        missing("requester"),
    )?;
    b.err(
        "public_health_missing_scopes",
        "Public health without smart_scopes",
        &["PT-TYPE-18"],
        with(PublicHealth, remove_access("smart_scopes")),
        missing("smart_scopes"),
    )?;
    b.err(
        "public_health_legacy_context_without_legacy",
        "J10 `context.reportable_condition` with legacy shapes off",
        &["OP-20"],
        with(PublicHealth, |p| {
            let rc = obj(p).remove("reportable_condition").unwrap_or_default();
            obj(p).insert("context".into(), json!({"reportable_condition": rc}));
        }),
        missing("reportable_condition"),
    )?;
    Ok(())
}

/// PT-VAL-15: with two defects, the earlier pipeline step names the error.
fn order_cases(b: &mut Builder) -> anyhow::Result<()> {
    use TicketType::*;
    let token = sign(
        &header("ES256", b.keys.es.kid().unwrap_or_default()),
        &base(SelfAccess),
        &b.keys.other,
    )?;
    b.push(
        "order_bad_signature_and_expired",
        "Bad signature and expired ⇒ signature error",
        &["PT-VAL-15"],
        token,
        Some(BAD_SIGNATURE),
    );
    b.last().now = EXP + 3600;
    b.err(
        "order_unknown_type_and_expired",
        "Unknown type and expired ⇒ type error",
        &["PT-VAL-15"],
        with(SelfAccess, |p| {
            p["ticket_type"] = json!("urn:x-unknown");
        }),
        "Unsupported ticket type",
    )?;
    b.last().now = EXP + 3600;
    b.err(
        "order_expired_and_unknown_member",
        "Expired and unknown access member ⇒ expired",
        &["PT-VAL-15"],
        with(SelfAccess, |p| {
            p["access"]["foo"] = json!(1);
        }),
        EXPIRED,
    )?;
    b.last().now = EXP + 3600;
    b.err(
        "order_unknown_member_and_missing_claim",
        "Unknown access member and missing required claim ⇒ unsupported constraint",
        &["PT-VAL-15"],
        with(QualityGap, |p| {
            obj(p).remove("measure");
            p["access"]["foo"] = json!(1);
        }),
        "Unsupported access constraint: foo",
    )?;
    b.err(
        "order_unbound_and_unknown_member",
        "Missing required binding and unknown access member ⇒ binding",
        &["PT-VAL-15"],
        with(SelfAccess, |p| {
            obj(p).remove("presenter_binding");
            p["access"]["foo"] = json!(1);
        }),
        "Ticket presenter binding required",
    )?;
    Ok(())
}
