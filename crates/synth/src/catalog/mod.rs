//! The fixed world the synthetic patients live in: sites, payers, clinicians and names.
//!
//! Sites are listed so that any prefix of the catalog is a useful demo world: the first two
//! are in Texas (public-health scenarios filter on TX), the first four span three states.

pub(crate) mod codes;

/// What kind of care a site gives; drives encounter classes and document types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SiteKind {
    /// Primary care clinic: ambulatory visits only.
    Clinic,
    /// Hospital with an emergency department: emergency, inpatient and some ambulatory.
    Hospital,
    /// Behavioral health practice: ambulatory, mental-health content.
    Behavioral,
}

impl SiteKind {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Clinic => "clinic",
            Self::Hospital => "hospital",
            Self::Behavioral => "behavioral-health",
        }
    }
}

/// One care site: one Organization and one Location.
#[derive(Debug)]
pub(crate) struct SiteSpec {
    pub(crate) slug: &'static str,
    pub(crate) name: &'static str,
    pub(crate) kind: SiteKind,
    pub(crate) street: &'static str,
    pub(crate) city: &'static str,
    pub(crate) state: &'static str,
    pub(crate) zip: &'static str,
    pub(crate) area_code: &'static str,
    /// Prefix of this site's MRNs.
    pub(crate) mrn_prefix: &'static str,
    /// Host used for this site's identifier systems.
    pub(crate) domain: &'static str,
    /// Clinicians: (given, family, credential, NUCC taxonomy code, taxonomy display).
    pub(crate) clinicians: &'static [Clinician],
}

/// A clinician working at a site.
#[derive(Debug)]
pub(crate) struct Clinician {
    pub(crate) given: &'static str,
    pub(crate) family: &'static str,
    pub(crate) credential: &'static str,
    pub(crate) taxonomy: &'static str,
    pub(crate) taxonomy_display: &'static str,
}

const fn doc(
    given: &'static str,
    family: &'static str,
    credential: &'static str,
    taxonomy: &'static str,
    taxonomy_display: &'static str,
) -> Clinician {
    Clinician {
        given,
        family,
        credential,
        taxonomy,
        taxonomy_display,
    }
}

const FAMILY_MED: (&str, &str) = ("207Q00000X", "Family Medicine Physician");
const INTERNAL_MED: (&str, &str) = ("207R00000X", "Internal Medicine Physician");
const EMERGENCY_MED: (&str, &str) = ("207P00000X", "Emergency Medicine Physician");
const PSYCHIATRY: (&str, &str) = ("2084P0800X", "Psychiatry Physician");
const NURSE_PRACTITIONER: (&str, &str) = ("363LF0000X", "Family Nurse Practitioner");
const OBGYN: (&str, &str) = ("207V00000X", "Obstetrics & Gynecology Physician");

/// The site catalog; `Config::sites` takes a prefix of it.
pub(crate) const SITES: &[SiteSpec] = &[
    SiteSpec {
        slug: "lone-star-family-medicine",
        name: "Lone Star Family Medicine",
        kind: SiteKind::Clinic,
        street: "4410 Burnet Rd, Suite 120",
        city: "Austin",
        state: "TX",
        zip: "78756",
        area_code: "512",
        mrn_prefix: "LSF",
        domain: "lonestarfm.example.org",
        clinicians: &[
            doc("Elena", "Vasquez", "MD", FAMILY_MED.0, FAMILY_MED.1),
            doc(
                "Marcus",
                "Reed",
                "NP",
                NURSE_PRACTITIONER.0,
                NURSE_PRACTITIONER.1,
            ),
        ],
    },
    SiteSpec {
        slug: "gulf-coast-medical-center",
        name: "Gulf Coast Medical Center",
        kind: SiteKind::Hospital,
        street: "6700 Bertner Ave",
        city: "Houston",
        state: "TX",
        zip: "77030",
        area_code: "713",
        mrn_prefix: "GCM",
        domain: "gulfcoastmc.example.org",
        clinicians: &[
            doc("Priya", "Raman", "MD", EMERGENCY_MED.0, EMERGENCY_MED.1),
            doc("Thomas", "Okonkwo", "MD", INTERNAL_MED.0, INTERNAL_MED.1),
        ],
    },
    SiteSpec {
        slug: "lakeshore-internal-medicine",
        name: "Lakeshore Internal Medicine",
        kind: SiteKind::Clinic,
        street: "233 E Erie St, Suite 500",
        city: "Chicago",
        state: "IL",
        zip: "60611",
        area_code: "312",
        mrn_prefix: "LIM",
        domain: "lakeshoreim.example.org",
        clinicians: &[
            doc("Hannah", "Kowalski", "MD", INTERNAL_MED.0, INTERNAL_MED.1),
            doc("David", "Chen", "MD", INTERNAL_MED.0, INTERNAL_MED.1),
        ],
    },
    SiteSpec {
        slug: "peachtree-behavioral-health",
        name: "Peachtree Behavioral Health",
        kind: SiteKind::Behavioral,
        street: "1100 Peachtree St NE, Suite 900",
        city: "Atlanta",
        state: "GA",
        zip: "30309",
        area_code: "404",
        mrn_prefix: "PBH",
        domain: "peachtreebh.example.org",
        clinicians: &[doc("Simone", "Baptiste", "MD", PSYCHIATRY.0, PSYCHIATRY.1)],
    },
    SiteSpec {
        slug: "cascade-community-health",
        name: "Cascade Community Health Center",
        kind: SiteKind::Clinic,
        street: "2800 SE Division St",
        city: "Portland",
        state: "OR",
        zip: "97202",
        area_code: "503",
        mrn_prefix: "CCH",
        domain: "cascadechc.example.org",
        clinicians: &[
            doc("Noah", "Lindqvist", "MD", FAMILY_MED.0, FAMILY_MED.1),
            doc("Grace", "Yamamoto", "MD", OBGYN.0, OBGYN.1),
        ],
    },
    SiteSpec {
        slug: "front-range-regional-hospital",
        name: "Front Range Regional Hospital",
        kind: SiteKind::Hospital,
        street: "1635 N Ogden St",
        city: "Denver",
        state: "CO",
        zip: "80218",
        area_code: "303",
        mrn_prefix: "FRR",
        domain: "frontrangerh.example.org",
        clinicians: &[
            doc("Luis", "Ortega", "MD", EMERGENCY_MED.0, EMERGENCY_MED.1),
            doc("Abigail", "Foster", "MD", INTERNAL_MED.0, INTERNAL_MED.1),
        ],
    },
    SiteSpec {
        slug: "hudson-valley-primary-care",
        name: "Hudson Valley Primary Care",
        kind: SiteKind::Clinic,
        street: "45 Washington Ave",
        city: "Albany",
        state: "NY",
        zip: "12210",
        area_code: "518",
        mrn_prefix: "HVP",
        domain: "hudsonvalleypc.example.org",
        clinicians: &[doc("Miriam", "Goldberg", "MD", FAMILY_MED.0, FAMILY_MED.1)],
    },
    SiteSpec {
        slug: "sonoran-desert-health",
        name: "Sonoran Desert Health",
        kind: SiteKind::Clinic,
        street: "3030 N Central Ave",
        city: "Phoenix",
        state: "AZ",
        zip: "85012",
        area_code: "602",
        mrn_prefix: "SDH",
        domain: "sonorandh.example.org",
        clinicians: &[
            doc("Rafael", "Montoya", "MD", FAMILY_MED.0, FAMILY_MED.1),
            doc(
                "Keisha",
                "Holloway",
                "NP",
                NURSE_PRACTITIONER.0,
                NURSE_PRACTITIONER.1,
            ),
        ],
    },
];

/// A health plan.
#[derive(Debug)]
pub(crate) struct PayerSpec {
    pub(crate) slug: &'static str,
    pub(crate) name: &'static str,
    pub(crate) city: &'static str,
    /// Home state of the plan's headquarters.
    pub(crate) state: &'static str,
    pub(crate) zip: &'static str,
    /// States whose residents this plan covers; empty = every state.
    pub(crate) serves: &'static [&'static str],
    pub(crate) member_prefix: &'static str,
    pub(crate) domain: &'static str,
}

/// The payer catalog; index 0 is national and covers everyone not covered by a regional plan.
pub(crate) const PAYERS: &[PayerSpec] = &[
    PayerSpec {
        slug: "summit-national-health",
        name: "Summit National Health Insurance",
        city: "Hartford",
        state: "CT",
        zip: "06103",
        serves: &[],
        member_prefix: "SNH",
        domain: "summithealth.example.com",
    },
    PayerSpec {
        slug: "bluebonnet-health-plan",
        name: "Bluebonnet Health Plan",
        city: "Dallas",
        state: "TX",
        zip: "75201",
        serves: &["TX"],
        member_prefix: "BBH",
        domain: "bluebonnethp.example.com",
    },
    PayerSpec {
        slug: "great-lakes-mutual",
        name: "Great Lakes Mutual Health",
        city: "Milwaukee",
        state: "WI",
        zip: "53202",
        serves: &["IL", "NY"],
        member_prefix: "GLM",
        domain: "greatlakesmutual.example.com",
    },
    PayerSpec {
        slug: "western-states-health",
        name: "Western States Health Cooperative",
        city: "Sacramento",
        state: "CA",
        zip: "95814",
        serves: &["OR", "CO", "AZ", "GA"],
        member_prefix: "WSH",
        domain: "westernstateshealth.example.com",
    },
];

pub(crate) const GIVEN_FEMALE: &[&str] = &[
    "Maria",
    "Aisha",
    "Emily",
    "Sofia",
    "Grace",
    "Mei",
    "Olivia",
    "Fatima",
    "Priya",
    "Hannah",
    "Camila",
    "Zoe",
    "Amara",
    "Lucia",
    "Naomi",
    "Ruth",
    "Ingrid",
    "Yuki",
    "Chloe",
    "Esperanza",
    "Leah",
    "Nadia",
    "Rosa",
    "Tamika",
    "Ava",
    "Mariam",
    "Keiko",
    "Beatriz",
    "Claire",
    "Dana",
];

pub(crate) const GIVEN_MALE: &[&str] = &[
    "James", "Carlos", "Wei", "Marcus", "Daniel", "Omar", "Liam", "Hiroshi", "Andre", "Samuel",
    "Mateo", "Ethan", "Kwame", "Raj", "Noah", "Diego", "Patrick", "Tariq", "Elijah", "Jun",
    "Victor", "Isaac", "Malik", "Arjun", "Henry", "Felipe", "Dmitri", "Gabriel", "Owen", "Luis",
];

pub(crate) const FAMILY: &[&str] = &[
    "Garcia",
    "Johnson",
    "Nguyen",
    "Patel",
    "Smith",
    "Williams",
    "Rodriguez",
    "Kim",
    "Brown",
    "Okafor",
    "Chen",
    "Martinez",
    "Davis",
    "Hernandez",
    "Washington",
    "Lopez",
    "Singh",
    "Miller",
    "Wilson",
    "Tanaka",
    "Anderson",
    "Thomas",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Gomez",
    "Phillips",
    "Evans",
    "Turner",
    "Diaz",
    "Parker",
    "Cruz",
];

pub(crate) const STREETS: &[&str] = &[
    "Oak St",
    "Maple Ave",
    "Cedar Ln",
    "Elm St",
    "Pine Rd",
    "Main St",
    "Lakeview Dr",
    "Washington Blvd",
    "Park Ave",
    "Hillcrest Dr",
    "Sunset Blvd",
    "River Rd",
    "Highland Ave",
    "Willow Way",
    "Church St",
    "Meadow Ln",
];

/// (race OMB code, display, ethnicity OMB code, ethnicity display) choices; CDC Race & Ethnicity.
pub(crate) const RACE_ETHNICITY: &[(&str, &str, &str, &str)] = &[
    ("2106-3", "White", "2186-5", "Not Hispanic or Latino"),
    ("2106-3", "White", "2135-2", "Hispanic or Latino"),
    (
        "2054-5",
        "Black or African American",
        "2186-5",
        "Not Hispanic or Latino",
    ),
    ("2028-9", "Asian", "2186-5", "Not Hispanic or Latino"),
    (
        "1002-5",
        "American Indian or Alaska Native",
        "2186-5",
        "Not Hispanic or Latino",
    ),
    (
        "2076-8",
        "Native Hawaiian or Other Pacific Islander",
        "2186-5",
        "Not Hispanic or Latino",
    ),
];
