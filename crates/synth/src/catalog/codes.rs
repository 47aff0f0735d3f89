//! Terminology used by the generator: real LOINC, SNOMED CT, ICD-10-CM, RxNorm, CVX, CPT and
//! UCUM codes with their display strings, and the v3-ActCode security labels.

pub(crate) const LOINC: &str = "http://loinc.org";
pub(crate) const SNOMED: &str = "http://snomed.info/sct";
pub(crate) const ICD10: &str = "http://hl7.org/fhir/sid/icd-10-cm";
pub(crate) const RXNORM: &str = "http://www.nlm.nih.gov/research/umls/rxnorm";
pub(crate) const CVX: &str = "http://hl7.org/fhir/sid/cvx";
pub(crate) const UCUM: &str = "http://unitsofmeasure.org";
pub(crate) const CPT: &str = "http://www.ama-assn.org/go/cpt";
/// The code system of the sensitivity and privacy-law security labels.
pub const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";

/// A security label carried in `meta.security`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Label {
    /// Sexuality and reproductive health information.
    Sex,
    /// Mental health information.
    Mh,
    /// Substance abuse information.
    Eth,
    /// HIV/AIDS information.
    Hiv,
    /// Sexually transmitted disease information.
    Std,
    /// Restricted from the health plan: the patient paid out of pocket (HIPAA §164.522).
    HipaaSelfPay,
}

impl Label {
    /// Every label, in output order.
    pub const ALL: [Label; 6] = [
        Self::Sex,
        Self::Mh,
        Self::Eth,
        Self::Hiv,
        Self::Std,
        Self::HipaaSelfPay,
    ];

    /// The v3-ActCode code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Sex => "SEX",
            Self::Mh => "MH",
            Self::Eth => "ETH",
            Self::Hiv => "HIV",
            Self::Std => "STD",
            Self::HipaaSelfPay => "HIPAASelfPay",
        }
    }

    /// The v3-ActCode display.
    pub fn display(self) -> &'static str {
        match self {
            Self::Sex => "sexuality and reproductive health information sensitivity",
            Self::Mh => "mental health information sensitivity",
            Self::Eth => "substance abuse information sensitivity",
            Self::Hiv => "HIV/AIDS information sensitivity",
            Self::Std => "sexually transmitted disease information sensitivity",
            Self::HipaaSelfPay => "HIPAA self-pay",
        }
    }
}

/// A code in a code system.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Code {
    pub(crate) system: &'static str,
    pub(crate) code: &'static str,
    pub(crate) display: &'static str,
}

const fn snomed(code: &'static str, display: &'static str) -> Code {
    Code {
        system: SNOMED,
        code,
        display,
    }
}
const fn loinc(code: &'static str, display: &'static str) -> Code {
    Code {
        system: LOINC,
        code,
        display,
    }
}
const fn icd10(code: &'static str, display: &'static str) -> Code {
    Code {
        system: ICD10,
        code,
        display,
    }
}
const fn rxnorm(code: &'static str, display: &'static str) -> Code {
    Code {
        system: RXNORM,
        code,
        display,
    }
}
const fn cvx(code: &'static str, display: &'static str) -> Code {
    Code {
        system: CVX,
        code,
        display,
    }
}

/// A medication order template.
#[derive(Debug)]
pub(crate) struct MedSpec {
    pub(crate) code: Code,
    pub(crate) text: &'static str,
    pub(crate) sig: &'static str,
}

/// A condition template, with the medication usually ordered for it.
#[derive(Debug)]
pub(crate) struct ConditionSpec {
    pub(crate) key: &'static str,
    pub(crate) snomed: Code,
    pub(crate) icd10: Code,
    pub(crate) text: &'static str,
    pub(crate) label: Option<Label>,
    pub(crate) med: Option<&'static MedSpec>,
}

pub(crate) const METFORMIN: MedSpec = MedSpec {
    code: rxnorm(
        "860975",
        "24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet",
    ),
    text: "metformin ER 500 mg tablet",
    sig: "Take 1 tablet by mouth once daily with the evening meal",
};
pub(crate) const LISINOPRIL: MedSpec = MedSpec {
    code: rxnorm("314076", "lisinopril 10 MG Oral Tablet"),
    text: "lisinopril 10 mg tablet",
    sig: "Take 1 tablet by mouth once daily",
};
pub(crate) const HCTZ: MedSpec = MedSpec {
    code: rxnorm("310798", "hydrochlorothiazide 25 MG Oral Tablet"),
    text: "hydrochlorothiazide 25 mg tablet",
    sig: "Take 1 tablet by mouth every morning",
};
pub(crate) const SIMVASTATIN: MedSpec = MedSpec {
    code: rxnorm("314231", "simvastatin 10 MG Oral Tablet"),
    text: "simvastatin 10 mg tablet",
    sig: "Take 1 tablet by mouth at bedtime",
};
pub(crate) const FLUTICASONE: MedSpec = MedSpec {
    code: rxnorm(
        "895994",
        "120 ACTUAT fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler",
    ),
    text: "fluticasone 44 mcg inhaler",
    sig: "Inhale 2 puffs twice daily",
};
pub(crate) const SERTRALINE: MedSpec = MedSpec {
    code: rxnorm("312940", "sertraline 50 MG Oral Tablet"),
    text: "sertraline 50 mg tablet",
    sig: "Take 1 tablet by mouth once daily",
};
pub(crate) const NALTREXONE: MedSpec = MedSpec {
    code: rxnorm("1483744", "naltrexone hydrochloride 50 MG Oral Tablet"),
    text: "naltrexone 50 mg tablet",
    sig: "Take 1 tablet by mouth once daily",
};
pub(crate) const BIKTARVY: MedSpec = MedSpec {
    code: rxnorm(
        "1999667",
        "bictegravir 50 MG / emtricitabine 200 MG / tenofovir alafenamide 25 MG Oral Tablet",
    ),
    text: "bictegravir/emtricitabine/tenofovir alafenamide tablet",
    sig: "Take 1 tablet by mouth once daily",
};
pub(crate) const AZITHROMYCIN: MedSpec = MedSpec {
    code: rxnorm("308460", "azithromycin 250 MG Oral Tablet"),
    text: "azithromycin 250 mg tablet",
    sig: "Take 4 tablets (1 g) by mouth once",
};
pub(crate) const AMOXICILLIN: MedSpec = MedSpec {
    code: rxnorm("308191", "amoxicillin 500 MG Oral Capsule"),
    text: "amoxicillin 500 mg capsule",
    sig: "Take 1 capsule by mouth three times daily for 7 days",
};
pub(crate) const ACETAMINOPHEN: MedSpec = MedSpec {
    code: rxnorm("313782", "acetaminophen 325 MG Oral Tablet"),
    text: "acetaminophen 325 mg tablet",
    sig: "Take 2 tablets by mouth every 6 hours as needed for fever or pain",
};

pub(crate) const DIABETES: ConditionSpec = ConditionSpec {
    key: "diabetes",
    snomed: snomed("44054006", "Diabetes mellitus type 2 (disorder)"),
    icd10: icd10("E11.9", "Type 2 diabetes mellitus without complications"),
    text: "Type 2 diabetes mellitus",
    label: None,
    med: Some(&METFORMIN),
};
pub(crate) const HYPERTENSION: ConditionSpec = ConditionSpec {
    key: "hypertension",
    snomed: snomed("59621000", "Essential hypertension (disorder)"),
    icd10: icd10("I10", "Essential (primary) hypertension"),
    text: "Essential hypertension",
    label: None,
    med: Some(&LISINOPRIL),
};
pub(crate) const HYPERLIPIDEMIA: ConditionSpec = ConditionSpec {
    key: "hyperlipidemia",
    snomed: snomed("55822004", "Hyperlipidemia (disorder)"),
    icd10: icd10("E78.5", "Hyperlipidemia, unspecified"),
    text: "Hyperlipidemia",
    label: None,
    med: Some(&SIMVASTATIN),
};
pub(crate) const ASTHMA: ConditionSpec = ConditionSpec {
    key: "asthma",
    snomed: snomed("195967001", "Asthma (disorder)"),
    icd10: icd10("J45.909", "Unspecified asthma, uncomplicated"),
    text: "Asthma",
    label: None,
    med: Some(&FLUTICASONE),
};
pub(crate) const OBESITY: ConditionSpec = ConditionSpec {
    key: "obesity",
    snomed: snomed("414916001", "Obesity (disorder)"),
    icd10: icd10("E66.9", "Obesity, unspecified"),
    text: "Obesity",
    label: None,
    med: None,
};
pub(crate) const CKD3: ConditionSpec = ConditionSpec {
    key: "ckd3",
    snomed: snomed("433144002", "Chronic kidney disease stage 3 (disorder)"),
    icd10: icd10("N18.30", "Chronic kidney disease, stage 3 unspecified"),
    text: "Chronic kidney disease stage 3",
    label: None,
    med: Some(&HCTZ),
};
pub(crate) const DEPRESSION: ConditionSpec = ConditionSpec {
    key: "depression",
    snomed: snomed("370143000", "Major depressive disorder (disorder)"),
    icd10: icd10(
        "F32.9",
        "Major depressive disorder, single episode, unspecified",
    ),
    text: "Major depressive disorder",
    label: Some(Label::Mh),
    med: Some(&SERTRALINE),
};
pub(crate) const ANXIETY: ConditionSpec = ConditionSpec {
    key: "anxiety",
    snomed: snomed("21897009", "Generalized anxiety disorder (disorder)"),
    icd10: icd10("F41.1", "Generalized anxiety disorder"),
    text: "Generalized anxiety disorder",
    label: Some(Label::Mh),
    med: None,
};
pub(crate) const ALCOHOL_USE: ConditionSpec = ConditionSpec {
    key: "alcohol-use-disorder",
    snomed: snomed("7200002", "Alcoholism (disorder)"),
    icd10: icd10("F10.20", "Alcohol dependence, uncomplicated"),
    text: "Alcohol use disorder",
    label: Some(Label::Eth),
    med: Some(&NALTREXONE),
};
pub(crate) const HIV: ConditionSpec = ConditionSpec {
    key: "hiv",
    snomed: snomed(
        "86406008",
        "Human immunodeficiency virus infection (disorder)",
    ),
    icd10: icd10("B20", "Human immunodeficiency virus [HIV] disease"),
    text: "HIV infection",
    label: Some(Label::Hiv),
    med: Some(&BIKTARVY),
};
pub(crate) const COVID: ConditionSpec = ConditionSpec {
    key: "covid-19",
    snomed: snomed(
        "840539006",
        "Disease caused by severe acute respiratory syndrome coronavirus 2 (disorder)",
    ),
    icd10: icd10("U07.1", "COVID-19"),
    text: "COVID-19",
    label: None,
    med: Some(&ACETAMINOPHEN),
};
pub(crate) const BRONCHITIS: ConditionSpec = ConditionSpec {
    key: "acute-bronchitis",
    snomed: snomed("10509002", "Acute bronchitis (disorder)"),
    icd10: icd10("J20.9", "Acute bronchitis, unspecified"),
    text: "Acute bronchitis",
    label: None,
    med: Some(&AMOXICILLIN),
};
pub(crate) const SPRAIN: ConditionSpec = ConditionSpec {
    key: "ankle-sprain",
    snomed: snomed("44465007", "Sprain of ankle (disorder)"),
    icd10: icd10(
        "S93.409A",
        "Sprain of unspecified ligament of unspecified ankle, initial encounter",
    ),
    text: "Ankle sprain",
    label: None,
    med: Some(&ACETAMINOPHEN),
};
pub(crate) const CHLAMYDIA: ConditionSpec = ConditionSpec {
    key: "chlamydia",
    snomed: snomed("105629000", "Chlamydial infection (disorder)"),
    icd10: icd10("A74.9", "Chlamydial infection, unspecified"),
    text: "Chlamydial infection",
    label: Some(Label::Std),
    med: Some(&AZITHROMYCIN),
};
pub(crate) const PREGNANCY: ConditionSpec = ConditionSpec {
    key: "pregnancy",
    snomed: snomed("77386006", "Pregnancy (finding)"),
    icd10: icd10("Z33.1", "Pregnant state, incidental"),
    text: "Pregnancy",
    label: Some(Label::Sex),
    med: None,
};

/// A laboratory or survey observation template. Values are in tenths of the unit.
#[derive(Debug)]
pub(crate) struct LabSpec {
    pub(crate) code: Code,
    pub(crate) text: &'static str,
    /// UCUM code (also used as the human unit).
    pub(crate) unit: &'static str,
    /// Reference range in tenths; `None` for scores without one.
    pub(crate) normal: Option<(i64, i64)>,
    /// Range the generator draws from, in tenths.
    pub(crate) draw: (i64, i64),
    /// Whether values are whole numbers.
    pub(crate) integer: bool,
    /// Observation category code (`laboratory`, `survey`).
    pub(crate) category: &'static str,
    pub(crate) label: Option<Label>,
}

const fn lab(
    code: Code,
    text: &'static str,
    unit: &'static str,
    normal: (i64, i64),
    draw: (i64, i64),
    integer: bool,
) -> LabSpec {
    LabSpec {
        code,
        text,
        unit,
        normal: Some(normal),
        draw,
        integer,
        category: "laboratory",
        label: None,
    }
}

pub(crate) const HBA1C: LabSpec = lab(
    loinc("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood"),
    "Hemoglobin A1c",
    "%",
    (40, 56),
    (48, 60),
    false,
);
pub(crate) const GLUCOSE: LabSpec = lab(
    loinc("2345-7", "Glucose [Mass/volume] in Serum or Plasma"),
    "Glucose",
    "mg/dL",
    (700, 990),
    (720, 1180),
    true,
);
pub(crate) const CREATININE: LabSpec = lab(
    loinc("2160-0", "Creatinine [Mass/volume] in Serum or Plasma"),
    "Creatinine",
    "mg/dL",
    (6, 13),
    (6, 14),
    false,
);
pub(crate) const BUN: LabSpec = lab(
    loinc("3094-0", "Urea nitrogen [Mass/volume] in Serum or Plasma"),
    "Urea nitrogen (BUN)",
    "mg/dL",
    (70, 200),
    (80, 240),
    true,
);
pub(crate) const SODIUM: LabSpec = lab(
    loinc("2951-2", "Sodium [Moles/volume] in Serum or Plasma"),
    "Sodium",
    "mmol/L",
    (1350, 1450),
    (1340, 1460),
    true,
);
pub(crate) const POTASSIUM: LabSpec = lab(
    loinc("2823-3", "Potassium [Moles/volume] in Serum or Plasma"),
    "Potassium",
    "mmol/L",
    (35, 51),
    (34, 52),
    false,
);
pub(crate) const CHOLESTEROL: LabSpec = lab(
    loinc("2093-3", "Cholesterol [Mass/volume] in Serum or Plasma"),
    "Total cholesterol",
    "mg/dL",
    (1000, 1990),
    (1400, 2600),
    true,
);
pub(crate) const HDL: LabSpec = lab(
    loinc(
        "2085-9",
        "Cholesterol in HDL [Mass/volume] in Serum or Plasma",
    ),
    "HDL cholesterol",
    "mg/dL",
    (400, 900),
    (320, 780),
    true,
);
pub(crate) const LDL: LabSpec = lab(
    loinc(
        "13457-7",
        "Cholesterol in LDL [Mass/volume] in Serum or Plasma by calculation",
    ),
    "LDL cholesterol (calculated)",
    "mg/dL",
    (0, 990),
    (600, 1900),
    true,
);
pub(crate) const TRIGLYCERIDES: LabSpec = lab(
    loinc("2571-8", "Triglyceride [Mass/volume] in Serum or Plasma"),
    "Triglycerides",
    "mg/dL",
    (0, 1490),
    (600, 2600),
    true,
);
pub(crate) const HEMOGLOBIN: LabSpec = lab(
    loinc("718-7", "Hemoglobin [Mass/volume] in Blood"),
    "Hemoglobin",
    "g/dL",
    (120, 175),
    (110, 170),
    false,
);
pub(crate) const WBC: LabSpec = lab(
    loinc(
        "6690-2",
        "Leukocytes [#/volume] in Blood by Automated count",
    ),
    "White blood cell count",
    "10*3/uL",
    (45, 110),
    (40, 120),
    false,
);
pub(crate) const HIV_VIRAL_LOAD: LabSpec = LabSpec {
    code: loinc(
        "20447-9",
        "HIV 1 RNA [#/volume] (viral load) in Serum or Plasma by NAA with probe amplification",
    ),
    text: "HIV-1 viral load",
    unit: "{copies}/mL",
    normal: None,
    draw: (0, 4000),
    integer: true,
    category: "laboratory",
    label: Some(Label::Hiv),
};
pub(crate) const PHQ9: LabSpec = LabSpec {
    code: loinc(
        "44261-6",
        "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]",
    ),
    text: "PHQ-9 total score",
    unit: "{score}",
    normal: None,
    draw: (20, 220),
    integer: true,
    category: "survey",
    label: Some(Label::Mh),
};
pub(crate) const PHQ2: LabSpec = LabSpec {
    code: loinc(
        "55758-7",
        "Patient Health Questionnaire 2 item (PHQ-2) total score [Reported]",
    ),
    text: "PHQ-2 total score",
    unit: "{score}",
    normal: None,
    draw: (0, 20),
    integer: true,
    category: "survey",
    label: Some(Label::Mh),
};
pub(crate) const AUDIT_C: LabSpec = LabSpec {
    code: loinc("75626-2", "Total score [AUDIT-C]"),
    text: "AUDIT-C total score",
    unit: "{score}",
    normal: None,
    draw: (40, 120),
    integer: true,
    category: "survey",
    label: Some(Label::Eth),
};

/// A lab panel reported by one DiagnosticReport.
#[derive(Debug)]
pub(crate) struct PanelSpec {
    pub(crate) code: Code,
    pub(crate) text: &'static str,
    pub(crate) members: &'static [&'static LabSpec],
}

pub(crate) const BMP: PanelSpec = PanelSpec {
    code: loinc("51990-0", "Basic metabolic panel - Blood"),
    text: "Basic metabolic panel",
    members: &[&GLUCOSE, &BUN, &CREATININE, &SODIUM, &POTASSIUM],
};
pub(crate) const LIPIDS: PanelSpec = PanelSpec {
    code: loinc("24331-1", "Lipid 1996 panel - Serum or Plasma"),
    text: "Lipid panel",
    members: &[&CHOLESTEROL, &HDL, &LDL, &TRIGLYCERIDES],
};
pub(crate) const CBC: PanelSpec = PanelSpec {
    code: loinc("58410-2", "CBC panel - Blood by Automated count"),
    text: "Complete blood count",
    members: &[&HEMOGLOBIN, &WBC],
};

/// Presence tests with a coded result: (code, text, label).
pub(crate) const COVID_PCR: (Code, &str) = (
    loinc(
        "94500-6",
        "SARS-CoV-2 (COVID-19) RNA [Presence] in Respiratory system specimen by NAA with probe detection",
    ),
    "SARS-CoV-2 RNA PCR",
);
pub(crate) const CHLAMYDIA_NAAT: (Code, &str) = (
    loinc(
        "43304-5",
        "Chlamydia trachomatis rRNA [Presence] in Specimen by NAA with probe detection",
    ),
    "Chlamydia trachomatis NAAT",
);
pub(crate) const HCG_URINE: (Code, &str) = (
    loinc(
        "2106-3",
        "Choriogonadotropin (pregnancy test) [Presence] in Urine",
    ),
    "Urine pregnancy test",
);
pub(crate) const DETECTED: Code = snomed("260373001", "Detected (qualifier value)");
pub(crate) const POSITIVE: Code = snomed("10828004", "Positive (qualifier value)");

/// Vital signs.
pub(crate) const BP_PANEL: Code =
    loinc("85354-6", "Blood pressure panel with all children optional");
pub(crate) const SYSTOLIC: Code = loinc("8480-6", "Systolic blood pressure");
pub(crate) const DIASTOLIC: Code = loinc("8462-4", "Diastolic blood pressure");
pub(crate) const WEIGHT: Code = loinc("29463-7", "Body weight");
pub(crate) const HEIGHT: Code = loinc("8302-2", "Body height");
pub(crate) const BMI: Code = loinc("39156-5", "Body mass index (BMI) [Ratio]");
pub(crate) const HEART_RATE: Code = loinc("8867-4", "Heart rate");
pub(crate) const SMOKING: Code = loinc("72166-2", "Tobacco smoking status");
pub(crate) const SMOKING_VALUES: &[Code] = &[
    snomed("266919005", "Never smoked tobacco (finding)"),
    snomed("8517006", "Ex-smoker (finding)"),
    snomed("77176002", "Smoker (finding)"),
];

/// Vaccines (CVX).
pub(crate) const FLU_VACCINE: Code = cvx(
    "150",
    "Influenza, injectable, quadrivalent, preservative free",
);
pub(crate) const COVID_VACCINE: Code = cvx("208", "COVID-19, mRNA, LNP-S, PF, 30 mcg/0.3 mL dose");
pub(crate) const TDAP: Code = cvx("115", "Tdap");
pub(crate) const ZOSTER: Code = cvx("187", "zoster vaccine recombinant");
pub(crate) const HPV: Code = cvx("165", "Human Papillomavirus 9-valent vaccine");

/// Allergy substances (SNOMED CT) with category and a typical reaction.
pub(crate) const ALLERGIES: &[(Code, &str, &str)] = &[
    (
        snomed("764146007", "Penicillin (substance)"),
        "medication",
        "Hives",
    ),
    (
        snomed("387406002", "Sulfonamide (substance)"),
        "medication",
        "Rash",
    ),
    (
        snomed("762952008", "Peanut (substance)"),
        "food",
        "Anaphylaxis",
    ),
    (
        snomed("111088007", "Latex (substance)"),
        "environment",
        "Contact dermatitis",
    ),
    (
        snomed("256259004", "Pollen (substance)"),
        "environment",
        "Rhinitis",
    ),
];

/// Procedures (SNOMED CT).
pub(crate) const MED_RECONCILIATION: Code =
    snomed("430193006", "Medication reconciliation (procedure)");
pub(crate) const COLONOSCOPY: Code = snomed("73761001", "Colonoscopy (procedure)");
pub(crate) const MAMMOGRAPHY: Code = snomed("24623002", "Screening mammography (procedure)");
pub(crate) const CHEST_XRAY: Code = snomed("399208008", "Plain X-ray of chest (procedure)");
pub(crate) const APPENDECTOMY: Code = snomed("80146002", "Excision of appendix (procedure)");
pub(crate) const DEPRESSION_SCREEN: Code = snomed("171207006", "Depression screening (procedure)");
pub(crate) const PSYCHOTHERAPY: Code = snomed("75516001", "Psychotherapy (regime/therapy)");
pub(crate) const REFERRAL: Code = snomed("3457005", "Patient referral (procedure)");

/// Encounter types (SNOMED CT).
pub(crate) const CHECK_UP: Code = snomed("185349003", "Encounter for check up (procedure)");
pub(crate) const FOLLOW_UP: Code = snomed("390906007", "Follow-up encounter (procedure)");
pub(crate) const SYMPTOM_VISIT: Code = snomed("185345009", "Encounter for symptom (procedure)");
pub(crate) const ER_ADMISSION: Code = snomed("50849002", "Emergency room admission (procedure)");
pub(crate) const HOSPITAL_ADMISSION: Code = snomed("32485007", "Hospital admission (procedure)");

/// Clinical note types (LOINC).
pub(crate) const PROGRESS_NOTE: Code = loinc("11506-3", "Progress note");
pub(crate) const ED_NOTE: Code = loinc("34111-5", "Emergency department Note");
pub(crate) const DISCHARGE_SUMMARY: Code = loinc("18842-5", "Discharge summary");
pub(crate) const HISTORY_PHYSICAL: Code = loinc("34117-2", "History and physical note");

/// Professional / institutional billing codes (CPT) for claim lines.
pub(crate) const CPT_OFFICE_VISIT: Code = Code {
    system: CPT,
    code: "99213",
    display: "Office or other outpatient visit, established patient, low MDM",
};
pub(crate) const CPT_PREVENTIVE: Code = Code {
    system: CPT,
    code: "99396",
    display: "Periodic comprehensive preventive medicine, established patient, 40-64 years",
};
pub(crate) const CPT_ED_VISIT: Code = Code {
    system: CPT,
    code: "99284",
    display: "Emergency department visit, moderate MDM",
};
pub(crate) const CPT_INPATIENT: Code = Code {
    system: CPT,
    code: "99223",
    display: "Initial hospital inpatient or observation care, high MDM",
};
pub(crate) const CPT_PSYCHOTHERAPY: Code = Code {
    system: CPT,
    code: "90834",
    display: "Psychotherapy, 45 minutes with patient",
};
