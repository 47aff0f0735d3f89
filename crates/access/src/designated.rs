//! The one table that says which element carries a resource type's clinical date
//! (constraints.md §4, OP-13).
//!
//! Order of precedence: the spec's designated-parameter overrides, then the standard R4 `date`
//! search parameter, then our documented fallbacks for types with neither (OP-13). Types in
//! [`EXEMPT_TYPES`] are never date-filtered. Every other type — including types not listed —
//! has no date element, so under a `data_period` it has "no value" and is excluded: the
//! narrowing choice, which is always within the promise.

/// Never date-filtered (constraints.md §4, PT-DP-07).
pub const EXEMPT_TYPES: [&str; 9] = [
    "Patient",
    "RelatedPerson",
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "Location",
    "Coverage",
    "Device",
    "Medication",
];

/// Where the designated date lives in a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateElement {
    /// A plain element holding a date/dateTime/instant or a `Period` (e.g. `recordedDate`,
    /// `Encounter.period`).
    Plain(&'static str),
    /// A choice element `name[x]`: `nameDateTime`, `nameInstant`, `nameDate`, `namePeriod`
    /// (other choices such as `Timing`, `string`, `Age` carry no date: no value).
    Choice(&'static str),
    /// `Goal.target[].dueDate` (several targets: their envelope, which is exactly what the
    /// two one-sided FHIR search comparisons `ge`/`le` match on a multi-valued element).
    GoalTargetDue,
    /// `Specimen.collection.collected[x]`.
    SpecimenCollected,
}

/// How a resource type relates to `data_period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateRule {
    /// Never date-filtered.
    Exempt,
    /// Filtered on this element (missing or unparseable value ⇒ excluded).
    Element(DateElement),
    /// No designated or fallback element: always "no value" ⇒ excluded under a window.
    NoElement,
}

/// The date rule for a resource type.
pub fn date_rule(resource_type: &str) -> DateRule {
    use DateElement::{Choice, GoalTargetDue, Plain, SpecimenCollected};
    if EXEMPT_TYPES.contains(&resource_type) {
        return DateRule::Exempt;
    }
    let element = match resource_type {
        // Spec overrides (constraints.md §4 table, PT-DP-03).
        "Condition" => Plain("recordedDate"),
        "Goal" => GoalTargetDue,
        "MedicationDispense" => Plain("whenHandedOver"),
        "MedicationRequest" => Plain("authoredOn"),
        "Provenance" => Plain("recorded"),
        "QuestionnaireResponse" => Plain("authored"),
        "ServiceRequest" => Plain("authoredOn"),
        "Specimen" => SpecimenCollected,
        // Standard R4 `date` search parameters (PT-DP-04).
        "AllergyIntolerance" => Plain("recordedDate"),
        "CarePlan" | "CareTeam" | "EpisodeOfCare" | "Flag" | "Encounter" => Plain("period"),
        "ClinicalImpression"
        | "Composition"
        | "FamilyMemberHistory"
        | "List"
        | "DocumentReference" => Plain("date"),
        "Consent" => Plain("dateTime"),
        "DiagnosticReport" | "Observation" => Choice("effective"),
        "Immunization" | "RiskAssessment" => Choice("occurrence"),
        "Procedure" => Choice("performed"),
        "SupplyRequest" => Plain("authoredOn"),
        "Appointment" => Plain("start"),
        // Documented fallbacks for types without an R4 `date` parameter (OP-13, PT-DP-08).
        "MedicationAdministration" | "MedicationStatement" => Choice("effective"),
        "ImagingStudy" => Plain("started"),
        "Media" => Plain("created"),
        "Claim" | "ExplanationOfBenefit" => Plain("created"),
        "DeviceRequest" | "CommunicationRequest" => Plain("authoredOn"),
        "Communication" => Plain("sent"),
        _ => return DateRule::NoElement,
    };
    DateRule::Element(element)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pt_dp_03_overrides_and_pt_dp_07_exempt() {
        assert_eq!(
            date_rule("Condition"),
            DateRule::Element(DateElement::Plain("recordedDate"))
        );
        assert_eq!(
            date_rule("MedicationRequest"),
            DateRule::Element(DateElement::Plain("authoredOn"))
        );
        for t in EXEMPT_TYPES {
            assert_eq!(date_rule(t), DateRule::Exempt);
        }
        assert_eq!(date_rule("Binary"), DateRule::NoElement);
    }
}
