//! Wire shape of the Permission Ticket payload (spec-digest §3, [LATEST] plus the J24 renames).
//!
//! These are the only serde types of the ticket crate. They describe what may appear on the
//! wire; the per-type rules (`rules`) and the verifier decide what is acceptable. Objects the
//! spec declares strict carry `deny_unknown_fields`; FHIR datatypes are permissive (the
//! canonical schema uses `catchall`), so they keep unknown members in `extra`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `ticket_type` URI of Patient Self Access.
pub const TYPE_SELF_ACCESS: &str =
    "https://smarthealthit.org/permission-ticket-type/patient-self-access-v1";
/// `ticket_type` URI of Patient-Delegated Access.
pub const TYPE_DELEGATED_ACCESS: &str =
    "https://smarthealthit.org/permission-ticket-type/patient-delegated-access-v1";
/// `ticket_type` URI of Payer Claims Adjudication.
pub const TYPE_PAYER_CLAIMS: &str =
    "https://smarthealthit.org/permission-ticket-type/payer-claims-adjudication-v1";
/// `ticket_type` URI of Payer Quality Gap Queries.
pub const TYPE_QUALITY_GAP: &str =
    "https://smarthealthit.org/permission-ticket-type/payer-quality-gap-v1";
/// `ticket_type` URI of Public Health Investigation (modeled, deferred by the spec; OP-41).
pub const TYPE_PUBLIC_HEALTH: &str =
    "https://smarthealthit.org/permission-ticket-type/public-health-investigation-v1";

/// Every ticket type this implementation understands.
pub const SUPPORTED_TICKET_TYPES: [&str; 5] = [
    TYPE_SELF_ACCESS,
    TYPE_DELEGATED_ACCESS,
    TYPE_PAYER_CLAIMS,
    TYPE_QUALITY_GAP,
    TYPE_PUBLIC_HEALTH,
];

/// The RFC 8693 `subject_token_type` of a Permission Ticket.
pub const SUBJECT_TOKEN_TYPE: &str = "https://smarthealthit.org/token-type/permission-ticket";

/// The ticket payload as signed by the issuer.
///
/// Unknown top-level claims are ignored (PT-FIELD); they are not kept here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketClaims {
    /// Issuer identifier; base of key discovery.
    pub iss: String,
    /// Intended Data Holder audience (URL or framework id, per `aud_type`).
    pub aud: Audience,
    /// How to read `aud`; absent means `data_holder_url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud_type: Option<AudType>,
    /// Expiry, NumericDate.
    pub exp: i64,
    /// Issued-at, NumericDate.
    pub iat: i64,
    /// Not-before (2025 drafts only; OP-06: can only narrow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Unique ticket id; anchors audit. Not a replay key.
    pub jti: String,
    /// The processing discriminator. Optional on the wire so that its absence gets its own
    /// error ("Missing ticket type", PT-VAL-08) rather than a generic parse failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_type: Option<String>,
    /// Who may redeem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presenter_binding: Option<PresenterBinding>,
    /// The patient the ticket concerns.
    pub subject: Subject,
    /// Embedded identity evidence about the subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_identity_evidence: Option<IdentityEvidence>,
    /// Embedded identity evidence about the requester.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester_identity_evidence: Option<IdentityEvidence>,
    /// The real-world party the grant exists for; absent marks self-access.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester: Option<Requester>,
    /// The access constraints (every member enforce-or-reject).
    pub access: Access,
    /// Status-list pointer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation: Option<Revocation>,
    /// Issuer bound on derived refresh credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continuation: Option<Continuation>,
    /// Profile claim of payer quality gap: the measure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measure: Option<CodeableConcept>,
    /// Profile claim of public health investigation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reportable_condition: Option<CodeableConcept>,
    /// Proposal 005 profile claim: sensitivity categories the issuer attests are authorized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitivity_release_authorized: Option<SensitivityRule>,
    /// Removed in June 2026; a non-empty list cannot be honoured (OP-20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub must_understand: Option<Value>,
    /// Removed in June 2026; only read to translate legacy tickets (OP-20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Value>,
}

/// `aud`: one URI or a non-empty array of URIs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience.
    One(String),
    /// Several audiences; any one matching suffices.
    Many(Vec<String>),
}

impl Audience {
    /// The audience entries as a slice-like iterator.
    pub fn entries(&self) -> Vec<&str> {
        match self {
            Audience::One(s) => vec![s.as_str()],
            Audience::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// `aud_type` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AudType {
    /// `aud` entries are Data Holder base URLs (exact match).
    DataHolderUrl,
    /// `aud` entries are trust framework identifiers (membership).
    TrustFramework,
}

/// `presenter_binding`: a discriminated union on `method`; both shapes strict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum PresenterBinding {
    /// Key-bound: RFC 7638 SHA-256 thumbprint of the client's key.
    Jkt {
        /// base64url thumbprint.
        jkt: String,
    },
    /// Framework-bound: the authenticated client's framework identity.
    TrustFrameworkClient {
        /// Trust framework identifier (URI).
        trust_framework: String,
        /// `udap`, `well-known` or `oidf`.
        framework_type: FrameworkType,
        /// The client's entity URI.
        entity_uri: String,
    },
}

/// Trust framework kinds for `trust_framework_client` bindings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FrameworkType {
    /// UDAP (certificate SAN).
    #[serde(rename = "udap")]
    Udap,
    /// Proposal 006 well-known JWKS.
    #[serde(rename = "well-known")]
    WellKnown,
    /// OpenID Federation.
    #[serde(rename = "oidf")]
    Oidf,
}

/// `subject`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    /// Thin FHIR Patient with match demographics.
    pub patient: Patient,
    /// [LATEST] plain URL of the subject's Patient at the Data Holder (a hint only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient_reference: Option<String>,
    /// [J24] the older name/shape of the same hint (OP-01).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_record: Option<Reference>,
}

/// A thin FHIR Patient (permissive: unknown members kept in `extra`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Patient {
    /// Must be `"Patient"`.
    #[serde(rename = "resourceType")]
    pub resource_type: String,
    /// Names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub name: Vec<HumanName>,
    /// FHIR date.
    #[serde(rename = "birthDate", default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<String>,
    /// Business identifiers (MRN, MPI id, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    /// Administrative gender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    /// Everything else the issuer put in the thin resource.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// FHIR HumanName (the parts matching uses).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct HumanName {
    /// Family name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// Given names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub given: Vec<String>,
    /// Full text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// FHIR Identifier (system and/or value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Identifier {
    /// Namespace URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// The value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Everything else (type, use, period, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// FHIR Coding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Coding {
    /// Code system URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// The code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Human display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

/// FHIR CodeableConcept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CodeableConcept {
    /// Codings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coding: Vec<Coding>,
    /// Text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// FHIR Reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Reference {
    /// Literal reference (absolute URL or relative `Type/id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Logical reference by identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<Identifier>,
    /// Target resource type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Display text (logs and screens only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

/// FHIR Period (raw FHIR date/dateTime strings; validated by the rules).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Period {
    /// Inclusive start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// Inclusive end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
}

/// `requester`: a thin FHIR resource, discriminated on `resourceType`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "resourceType")]
pub enum Requester {
    /// Delegated access: the delegate.
    RelatedPerson(RelatedPerson),
    /// B2B types: the payer, agency, ...
    Organization(Organization),
    /// Reserved by the schema; no supported type uses it.
    Practitioner(Map<String, Value>),
    /// Provider consult (parked).
    PractitionerRole(Map<String, Value>),
}

/// Thin RelatedPerson.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RelatedPerson {
    /// The requester's authority (exactly one coding from the closed v3-RoleCode set).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relationship: Vec<CodeableConcept>,
    /// Names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub name: Vec<HumanName>,
    /// Identifiers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    /// Validity of the authority (audit only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    /// Everything else.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Thin Organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Organization {
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Identifiers (NPI, URL, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    /// Everything else.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Embedded identity evidence (strict).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityEvidence {
    /// Only `"embedded"` today.
    pub source: String,
    /// Only `"id_token"` today.
    pub token_type: String,
    /// The compact OIDC ID token.
    pub jwt: String,
}

/// `revocation` (strict).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revocation {
    /// Status list URL.
    pub url: String,
    /// Zero-based bit index.
    pub index: u64,
}

/// `continuation` (strict).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Continuation {
    /// NumericDate or `null` (indefinite).
    pub refresh_until: Option<i64>,
}

/// `access`: the constraints. Unknown members are rejected by the verifier before this type is
/// deserialized (so the error can name the member); legacy shapes are translated first when
/// the `legacy_access_shapes` option is on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Access {
    /// SMART v2 scope strings (raw; `tessera-access` parses them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smart_scopes: Option<Vec<String>>,
    /// Clinical-date window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_period: Option<Period>,
    /// Which Data Holders may answer (OR across entries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_holder_filter: Option<Vec<HolderFilterEntry>>,
    /// Encounters that bound release (payer claims).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_linkage: Option<ClaimLinkage>,
    /// Proposal 005: categories never to release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitivity_withhold: Option<SensitivityRule>,
}

/// The `access` member names this implementation recognizes and enforces.
pub const KNOWN_ACCESS_MEMBERS: [&str; 5] = [
    "smart_scopes",
    "data_period",
    "data_holder_filter",
    "claim_linkage",
    "sensitivity_withhold",
];

/// One `data_holder_filter` entry (strict: `kind` + one payload member).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum HolderFilterEntry {
    /// Matches a Data Holder in this country/state.
    Jurisdiction {
        /// Country and/or state.
        address: FilterAddress,
    },
    /// Matches a Data Holder known by one of these identifiers.
    Organization {
        /// Flattened identifier references.
        organization: Vec<OrganizationRef>,
    },
}

/// Jurisdiction address of a filter entry (country/state-style values only: any other member
/// is malformed, PT-DHF-08).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FilterAddress {
    /// ISO-3166 alpha-2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// USPS state code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// An organization named by identifier in a filter entry (`identifier` + optional `display`;
/// any other member, e.g. a literal `reference`, is malformed, PT-DHF-08).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationRef {
    /// The identifier (system and value both required by our rules, OP-25).
    pub identifier: Identifier,
    /// Display (logs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

/// `claim_linkage` (strict).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimLinkage {
    /// Encounters the claim covers (non-empty).
    pub encounter: Vec<Reference>,
    /// The provider's submission-time claim control number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<Reference>,
}

/// Shape shared by `sensitivity_withhold` and `sensitivity_release_authorized`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SensitivityRule {
    /// Sensitivity categories.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub codes: Vec<Coding>,
    /// Also covers locally classified sensitive data named nowhere.
    #[serde(default)]
    pub unlisted: bool,
}
