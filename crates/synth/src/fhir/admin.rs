//! Administrative resources: Organization, Location, Practitioner, Patient.

use serde_json::{Value, json};

use super::{hl7_concept, reference, with_identity};
use crate::catalog::{Clinician, PayerSpec, SiteKind, SiteSpec};
use crate::npi::NPI_SYSTEM;

fn npi_identifier(npi: &str) -> Value {
    json!({
        "use": "official",
        "type": hl7_concept("v2-0203", "NPI", "National Provider Identifier"),
        "system": NPI_SYSTEM,
        "value": npi
    })
}

fn split_street(street: &str) -> Vec<&str> {
    street.split(", ").collect()
}

fn site_address(spec: &SiteSpec) -> Value {
    json!({
        "use": "work",
        "line": split_street(spec.street),
        "city": spec.city,
        "state": spec.state,
        "postalCode": spec.zip,
        "country": "US"
    })
}

fn site_phone(spec: &SiteSpec) -> Value {
    json!([{"system": "phone", "value": format!("{}-555-0100", spec.area_code), "use": "work"}])
}

/// A care site's Organization.
pub(crate) fn organization(spec: &SiteSpec, id: &str, npi: &str) -> Value {
    with_identity(
        "Organization",
        id,
        json!({
            "identifier": [npi_identifier(npi)],
            "active": true,
            "type": [hl7_concept("organization-type", "prov", "Healthcare Provider")],
            "name": spec.name,
            "telecom": site_phone(spec),
            "address": [site_address(spec)]
        }),
    )
}

/// A payer's Organization.
pub(crate) fn payer_organization(spec: &PayerSpec, id: &str, npi: &str) -> Value {
    with_identity(
        "Organization",
        id,
        json!({
            "identifier": [npi_identifier(npi)],
            "active": true,
            "type": [hl7_concept("organization-type", "pay", "Payer")],
            "name": spec.name,
            "address": [{"use": "work", "city": spec.city, "state": spec.state, "postalCode": spec.zip, "country": "US"}]
        }),
    )
}

/// A site's Location.
pub(crate) fn location(spec: &SiteSpec, id: &str, organization_id: &str) -> Value {
    let (code, display) = match spec.kind {
        SiteKind::Hospital => ("HOSP", "Hospital"),
        SiteKind::Behavioral => ("PSYCHF", "Psychiatric healthcare facility"),
        SiteKind::Clinic => ("OF", "Outpatient facility"),
    };
    with_identity(
        "Location",
        id,
        json!({
            "status": "active",
            "name": spec.name,
            "mode": "instance",
            "type": [hl7_concept("v3-RoleCode", code, display)],
            "telecom": site_phone(spec),
            "address": site_address(spec),
            "managingOrganization": reference("Organization", organization_id, Some(spec.name))
        }),
    )
}

/// A clinician's Practitioner.
pub(crate) fn practitioner(spec: &SiteSpec, clinician: &Clinician, id: &str, npi: &str) -> Value {
    let mut name = json!({"use": "official", "family": clinician.family, "given": [clinician.given], "suffix": [clinician.credential]});
    if clinician.credential == "MD" {
        name["prefix"] = json!(["Dr."]);
    }
    with_identity(
        "Practitioner",
        id,
        json!({
            "identifier": [npi_identifier(npi)],
            "active": true,
            "name": [name],
            "telecom": site_phone(spec),
            "address": [site_address(spec)],
            "qualification": [{
                "code": {
                    "coding": [{"system": "http://nucc.org/provider-taxonomy", "code": clinician.taxonomy, "display": clinician.taxonomy_display}],
                    "text": clinician.taxonomy_display
                }
            }]
        }),
    )
}

/// The demographics the Patient resource is built from.
#[derive(Debug)]
pub(crate) struct Demographics<'a> {
    pub(crate) person_id: &'a str,
    pub(crate) given: &'a str,
    pub(crate) middle: &'a str,
    pub(crate) family: &'a str,
    pub(crate) gender: &'a str,
    pub(crate) birth_date: &'a str,
    pub(crate) line: &'a str,
    pub(crate) city: &'a str,
    pub(crate) state: &'a str,
    pub(crate) zip: &'a str,
    pub(crate) phone: &'a str,
    pub(crate) race: (&'a str, &'a str),
    pub(crate) ethnicity: (&'a str, &'a str),
}

/// A Patient as one site records it (its own MRN, same demographics everywhere).
pub(crate) fn patient(
    d: &Demographics<'_>,
    mrn_system: &str,
    mrn: &str,
    organization_id: &str,
    site_name: &str,
) -> Value {
    let omb = |url: &str, (code, display): (&str, &str)| {
        json!({
            "url": url,
            "extension": [
                {"url": "ombCategory", "valueCoding": {"system": "urn:oid:2.16.840.1.113883.6.238", "code": code, "display": display}},
                {"url": "text", "valueString": display}
            ]
        })
    };
    json!({
        "extension": [
            omb("http://hl7.org/fhir/us/core/StructureDefinition/us-core-race", d.race),
            omb("http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity", d.ethnicity)
        ],
        "identifier": [{
            "use": "usual",
            "type": hl7_concept("v2-0203", "MR", "Medical record number"),
            "system": mrn_system,
            "value": mrn,
            "assigner": reference("Organization", organization_id, Some(site_name))
        }, {
            "use": "secondary",
            "system": crate::PERSON_ID_SYSTEM,
            "value": d.person_id
        }],
        "active": true,
        "name": [{"use": "official", "family": d.family, "given": [d.given, d.middle]}],
        "telecom": [{"system": "phone", "value": d.phone, "use": "home"}],
        "gender": d.gender,
        "birthDate": d.birth_date,
        "address": [{"use": "home", "line": [d.line], "city": d.city, "state": d.state, "postalCode": d.zip, "country": "US"}],
        "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "en-US", "display": "English (United States)"}], "text": "English"}, "preferred": true}],
        "managingOrganization": reference("Organization", organization_id, Some(site_name))
    })
}
