//! The search parameters we support, per resource type, as one table.
//!
//! Each parameter exists only on the types where FHIR R4 defines it, with R4's expression
//! reduced to element paths (choice types spelled out, e.g. `effectiveDateTime` and
//! `effectivePeriod`). `_id` and `_lastUpdated` are common to every type and handled apart.
//! The CapabilityStatement is generated from this table, so what we advertise is what we do.

/// How a parameter's values are indexed and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// `system|code` tokens from CodeableConcept, Coding, Identifier or code elements.
    Token,
    /// Date ranges from date/dateTime/instant/Period elements.
    Date,
    /// `Type/id` references.
    Reference,
    /// Case-insensitive prefix match on strings and HumanName parts.
    String,
}

impl ParamKind {
    /// The FHIR `SearchParamType` code.
    pub fn fhir_code(self) -> &'static str {
        match self {
            ParamKind::Token => "token",
            ParamKind::Date => "date",
            ParamKind::Reference => "reference",
            ParamKind::String => "string",
        }
    }
}

/// One search parameter of one resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchParam {
    /// Parameter name as used in the query string.
    pub name: &'static str,
    /// Value kind.
    pub kind: ParamKind,
    /// Dotted element paths (arrays are traversed) whose values the parameter indexes.
    pub paths: &'static [&'static str],
    /// For references: the only target type indexed (e.g. `patient` ⇒ `Patient`).
    pub target: Option<&'static str>,
}

/// A supported resource type and its parameters.
#[derive(Debug)]
pub struct ResourceDef {
    /// `resourceType`.
    pub resource_type: &'static str,
    /// Parameters beyond `_id` and `_lastUpdated`.
    pub params: &'static [SearchParam],
}

impl ResourceDef {
    /// The parameter named `name`, if this type supports it.
    pub fn param(&self, name: &str) -> Option<&'static SearchParam> {
        self.params.iter().find(|p| p.name == name)
    }
}

const fn p(name: &'static str, kind: ParamKind, paths: &'static [&'static str]) -> SearchParam {
    SearchParam {
        name,
        kind,
        paths,
        target: None,
    }
}

const fn r(
    name: &'static str,
    paths: &'static [&'static str],
    target: Option<&'static str>,
) -> SearchParam {
    SearchParam {
        name,
        kind: ParamKind::Reference,
        paths,
        target,
    }
}

use ParamKind::{Date, String as Str, Token};

const IDENT: SearchParam = p("identifier", Token, &["identifier"]);
const PATIENT_SUBJ: SearchParam = r("patient", &["subject"], Some("Patient"));
const SUBJECT: SearchParam = r("subject", &["subject"], None);
const ENCOUNTER: SearchParam = r("encounter", &["encounter"], Some("Encounter"));
const CODE: SearchParam = p("code", Token, &["code"]);
const CATEGORY: SearchParam = p("category", Token, &["category"]);
const STATUS: SearchParam = p("status", Token, &["status"]);
const EFFECTIVE: SearchParam = p(
    "date",
    Date,
    &["effectiveDateTime", "effectivePeriod", "effectiveInstant"],
);

/// Every supported type, in CapabilityStatement order.
pub static RESOURCES: &[ResourceDef] = &[
    ResourceDef {
        resource_type: "Patient",
        params: &[
            IDENT,
            p("family", Str, &["name.family"]),
            p("given", Str, &["name.given"]),
            p("name", Str, &["name"]),
            p("birthdate", Date, &["birthDate"]),
            p("gender", Token, &["gender"]),
        ],
    },
    ResourceDef {
        resource_type: "Encounter",
        params: &[
            IDENT,
            PATIENT_SUBJ,
            SUBJECT,
            p("date", Date, &["period"]),
            STATUS,
            p("type", Token, &["type"]),
            p("class", Token, &["class"]),
        ],
    },
    ResourceDef {
        resource_type: "Observation",
        params: &[
            IDENT,
            PATIENT_SUBJ,
            SUBJECT,
            ENCOUNTER,
            CODE,
            CATEGORY,
            EFFECTIVE,
            STATUS,
        ],
    },
    ResourceDef {
        resource_type: "Condition",
        params: &[
            IDENT,
            PATIENT_SUBJ,
            SUBJECT,
            ENCOUNTER,
            CODE,
            CATEGORY,
            p("clinical-status", Token, &["clinicalStatus"]),
        ],
    },
    ResourceDef {
        resource_type: "DiagnosticReport",
        params: &[
            IDENT,
            PATIENT_SUBJ,
            SUBJECT,
            ENCOUNTER,
            CODE,
            CATEGORY,
            EFFECTIVE,
            STATUS,
        ],
    },
    ResourceDef {
        resource_type: "DocumentReference",
        params: &[
            p("identifier", Token, &["masterIdentifier", "identifier"]),
            PATIENT_SUBJ,
            SUBJECT,
            r("encounter", &["context.encounter"], Some("Encounter")),
            CATEGORY,
            p("type", Token, &["type"]),
            p("date", Date, &["date"]),
            p("period", Date, &["context.period"]),
            STATUS,
        ],
    },
    ResourceDef {
        resource_type: "MedicationRequest",
        params: &[
            IDENT,
            PATIENT_SUBJ,
            SUBJECT,
            ENCOUNTER,
            p("code", Token, &["medicationCodeableConcept"]),
            CATEGORY,
            p("date", Date, &["dosageInstruction.timing.event"]),
            p("authoredon", Date, &["authoredOn"]),
            STATUS,
        ],
    },
    ResourceDef {
        resource_type: "Procedure",
        params: &[
            IDENT,
            PATIENT_SUBJ,
            SUBJECT,
            ENCOUNTER,
            CODE,
            CATEGORY,
            p("date", Date, &["performedDateTime", "performedPeriod"]),
            STATUS,
        ],
    },
    ResourceDef {
        resource_type: "Immunization",
        params: &[
            IDENT,
            r("patient", &["patient"], Some("Patient")),
            p("date", Date, &["occurrenceDateTime"]),
            STATUS,
        ],
    },
    ResourceDef {
        resource_type: "ServiceRequest",
        params: &[
            IDENT,
            PATIENT_SUBJ,
            SUBJECT,
            ENCOUNTER,
            CODE,
            CATEGORY,
            STATUS,
        ],
    },
    ResourceDef {
        resource_type: "Organization",
        params: &[
            IDENT,
            p("name", Str, &["name", "alias"]),
            p("type", Token, &["type"]),
        ],
    },
    ResourceDef {
        resource_type: "Practitioner",
        params: &[
            IDENT,
            p("family", Str, &["name.family"]),
            p("given", Str, &["name.given"]),
            p("name", Str, &["name"]),
            p("gender", Token, &["gender"]),
        ],
    },
    ResourceDef {
        resource_type: "Location",
        params: &[
            IDENT,
            p("name", Str, &["name", "alias"]),
            p("type", Token, &["type"]),
            STATUS,
        ],
    },
    ResourceDef {
        resource_type: "AllergyIntolerance",
        params: &[
            IDENT,
            r("patient", &["patient"], Some("Patient")),
            CODE,
            CATEGORY,
            p("clinical-status", Token, &["clinicalStatus"]),
            p("type", Token, &["type"]),
            p("date", Date, &["recordedDate"]),
        ],
    },
    ResourceDef {
        resource_type: "Coverage",
        params: &[
            IDENT,
            r("patient", &["beneficiary"], Some("Patient")),
            p("type", Token, &["type"]),
            STATUS,
        ],
    },
    ResourceDef {
        resource_type: "Claim",
        params: &[
            IDENT,
            r("patient", &["patient"], Some("Patient")),
            r("encounter", &["item.encounter"], Some("Encounter")),
            STATUS,
        ],
    },
];

/// The definition of a supported resource type.
pub fn resource_def(resource_type: &str) -> Option<&'static ResourceDef> {
    RESOURCES.iter().find(|d| d.resource_type == resource_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_has_the_sixteen_types_without_duplicate_params() {
        assert_eq!(RESOURCES.len(), 16);
        for def in RESOURCES {
            for (i, a) in def.params.iter().enumerate() {
                assert!(
                    def.params[i + 1..].iter().all(|b| b.name != a.name),
                    "{}",
                    a.name
                );
                assert!(!a.paths.is_empty());
            }
        }
        assert!(
            resource_def("Immunization")
                .unwrap()
                .param("code")
                .is_none()
        );
        assert!(resource_def("Encounter").unwrap().param("class").is_some());
        assert!(resource_def("Binary").is_none());
    }
}
