//! `GET [base]/metadata`: a CapabilityStatement generated from the search-parameter registry,
//! so it lists exactly what the server does: read and search-type on the 16 types, their
//! parameters, and no `_include`/`_revinclude`.

use serde_json::{Value, json};
use tessera_fhir::{RESOURCES, SearchParam};

/// The CapabilityStatement for the base at `base_url`.
pub fn capability_statement(base_url: &str) -> Value {
    let common = [
        json!({"name": "_id", "type": "token"}),
        json!({"name": "_lastUpdated", "type": "date"}),
    ];
    let resources: Vec<Value> = RESOURCES
        .iter()
        .map(|def| {
            let params: Vec<Value> = common
                .iter()
                .cloned()
                .chain(def.params.iter().map(param))
                .collect();
            json!({
                "type": def.resource_type,
                "interaction": [{"code": "read"}, {"code": "search-type"}],
                "versioning": "no-version",
                "readHistory": false,
                "updateCreate": false,
                "searchInclude": [],
                "searchRevInclude": [],
                "searchParam": params,
            })
        })
        .collect();
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-01-01",
        "kind": "instance",
        "software": {"name": "tessera", "version": env!("CARGO_PKG_VERSION")},
        "implementation": {"description": "Tessera Data Holder FHIR API (Permission Ticket grants enforced in every query)", "url": base_url},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [{
            "mode": "server",
            "documentation": "Reads and searches run under the access token's grant. _count default 50, max 200 (larger is rejected). Unsupported parameters, modifiers, _include, _revinclude and _sort are rejected with 400. Paging is keyset-based via _cursor.",
            "security": {"service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "SMART-on-FHIR"}]}]},
            "resource": resources,
        }],
    })
}

fn param(p: &SearchParam) -> Value {
    json!({"name": p.name, "type": p.kind.fhir_code()})
}
