//! Shared fixtures: the corpus resources, default policy and holder, a grant builder.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;
use tessera_access::{AccessError, Grant, GrantRequest, HolderProfile, LocalPolicy, compute_grant};
use tessera_ticket::claims::{
    Access, CodeableConcept, SensitivityRule, TYPE_DELEGATED_ACCESS, TYPE_PAYER_CLAIMS,
    TYPE_PUBLIC_HEALTH, TYPE_QUALITY_GAP, TYPE_SELF_ACCESS,
};

/// The patient every corpus resource belongs to.
pub const PATIENT: &str = "7b2f3c1a-4d5e-4f6a-8b9c-0d1e2f3a4b5c";

pub fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../test-vectors/access")
}

/// `test-vectors/access/resources.json`: small resources copied from the synthetic corpus.
pub fn corpus() -> BTreeMap<String, Value> {
    let text = std::fs::read_to_string(vectors_dir().join("resources.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

pub fn resource(name: &str) -> Value {
    corpus()
        .remove(name)
        .unwrap_or_else(|| panic!("no corpus resource {name}"))
}

/// Short names used by the vectors for the ticket type URIs.
pub fn ticket_type(short: &str) -> &'static str {
    match short {
        "self" => TYPE_SELF_ACCESS,
        "delegated" => TYPE_DELEGATED_ACCESS,
        "payer-claims" => TYPE_PAYER_CLAIMS,
        "quality-gap" => TYPE_QUALITY_GAP,
        "public-health" => TYPE_PUBLIC_HEALTH,
        other => panic!("unknown ticket type {other}"),
    }
}

/// The default test Data Holder: Eastbay Primary Care (NPI 1902847536), Oakland CA.
pub fn holder() -> HolderProfile {
    HolderProfile {
        organization_identifiers: vec![(
            "http://hl7.org/fhir/sid/us-npi".to_owned(),
            "1902847536".to_owned(),
        )],
        jurisdictions: vec![("US".to_owned(), Some("CA".to_owned()))],
    }
}

/// The reference policy with a JSON object merged over it (top-level keys replaced).
pub fn policy_with(patch: Option<&Value>) -> LocalPolicy {
    let mut base = serde_json::to_value(LocalPolicy::reference_defaults()).unwrap();
    if let (Some(Value::Object(patch)), Value::Object(obj)) = (patch, &mut base) {
        for (k, v) in patch {
            assert!(obj.contains_key(k), "unknown policy key {k}");
            obj.insert(k.clone(), v.clone());
        }
    }
    serde_json::from_value(base).unwrap()
}

/// Inputs of one grant computation, owned.
#[derive(Clone)]
pub struct Inputs {
    pub ticket_type: &'static str,
    pub access: Access,
    pub release_authorized: Option<SensitivityRule>,
    pub reportable_condition: Option<CodeableConcept>,
    pub measure: Option<CodeableConcept>,
    pub scope: Option<String>,
    pub client_scopes: Option<Vec<String>>,
    pub patient: String,
    pub claim_encounters: Vec<String>,
    pub holder: HolderProfile,
    pub policy: LocalPolicy,
}

impl Inputs {
    pub fn new(ticket_type: &'static str, access: Value) -> Inputs {
        Inputs {
            ticket_type,
            access: serde_json::from_value(access).unwrap(),
            release_authorized: None,
            reportable_condition: None,
            measure: None,
            scope: None,
            client_scopes: None,
            patient: PATIENT.to_owned(),
            claim_encounters: Vec::new(),
            holder: holder(),
            policy: policy_with(None),
        }
    }

    pub fn scope(mut self, s: &str) -> Inputs {
        self.scope = Some(s.to_owned());
        self
    }

    pub fn grant(&self) -> Result<Grant, AccessError> {
        compute_grant(&GrantRequest {
            ticket_type: self.ticket_type,
            access: &self.access,
            release_authorized: self.release_authorized.as_ref(),
            reportable_condition: self.reportable_condition.as_ref(),
            measure: self.measure.as_ref(),
            requested_scope: self.scope.as_deref(),
            client_scopes: self.client_scopes.as_deref(),
            patient_id: &self.patient,
            claim_encounters: &self.claim_encounters,
            holder: &self.holder,
            policy: &self.policy,
        })
    }

    /// `(error code, description)` of a failing computation.
    pub fn error(&self) -> (&'static str, String) {
        match self.grant() {
            Ok(g) => panic!("expected an error, granted {}", g.scope_string()),
            Err(e) => {
                let (code, desc) = e.oauth();
                (code.as_str(), desc)
            }
        }
    }
}
