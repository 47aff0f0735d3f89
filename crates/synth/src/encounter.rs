//! The content of one encounter: vitals, problems, acute episodes, labs, surveys,
//! immunizations, procedures, orders, the clinical note and the claim.
//!
//! Sensitive content carries its label (MH, ETH, HIV, STD, SEX); everything recorded during a
//! self-pay encounter also carries `HIPAASelfPay` and the encounter is never claimed. The note
//! inherits every label of the encounter's content, as real notes repeat what was discussed.

use std::collections::BTreeSet;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::json;

use crate::catalog::SiteKind;
use crate::catalog::codes::{self as codes, Code, ConditionSpec, LabSpec, Label, PanelSpec};
use crate::date::{Date, datetime};
use crate::fhir::clinical::{self, Context};
use crate::fhir::number;
use crate::plan::{Class, EncounterPlan, Gender};
use crate::site::{SiteGen, add_claim};

/// The encounter being filled: its context strings and the labels seen so far.
struct Visit {
    id: String,
    practitioner_id: String,
    practitioner_name: String,
    when: String,
    end: String,
    day: String,
    date: Date,
    class: Class,
    self_pay: bool,
    labels_seen: BTreeSet<Label>,
    diagnoses: Vec<String>,
    topics: Vec<String>,
}

impl SiteGen<'_> {
    /// Generate encounter `n` of this site record.
    pub(crate) fn encounter(&mut self, n: usize, plan: &EncounterPlan) {
        let kind = self.site.spec.kind;
        let clinicians = &self.site.practitioners;
        let which = match plan.class {
            Class::Emergency => 0,
            Class::Inpatient => clinicians.len().saturating_sub(1),
            Class::Ambulatory => self.rng.below(clinicians.len() as u64) as usize,
        };
        let Some(practitioner) = clinicians.get(which) else {
            return;
        };
        let date = plan.date();
        let mut encounter_labels = self.labels(plan.self_pay, plan.acute.and_then(|a| a.label));
        if kind == SiteKind::Behavioral {
            encounter_labels.insert(Label::Mh);
        }
        let check_up = plan.class == Class::Ambulatory
            && plan.acute.is_none()
            && kind != SiteKind::Behavioral
            && self.check_up_years.insert(date.year());
        let (type_code, type_text) = match (plan.class, kind) {
            (Class::Emergency, _) => (codes::ER_ADMISSION, "Emergency department visit"),
            (Class::Inpatient, _) => (codes::HOSPITAL_ADMISSION, "Hospital admission"),
            (_, SiteKind::Behavioral) => (codes::FOLLOW_UP, "Behavioral health visit"),
            _ if plan.acute.is_some() => (codes::SYMPTOM_VISIT, "Sick visit"),
            _ if check_up => (codes::CHECK_UP, "Annual check-up"),
            _ => (codes::FOLLOW_UP, "Follow-up visit"),
        };
        let mut visit = Visit {
            id: self.acc.next_id(),
            practitioner_id: practitioner.id.clone(),
            practitioner_name: practitioner.display(),
            when: datetime(plan.start),
            end: datetime(plan.end),
            day: date.to_string(),
            date,
            class: plan.class,
            self_pay: plan.self_pay,
            labels_seen: encounter_labels.clone(),
            diagnoses: Vec::new(),
            topics: vec![type_text.to_owned()],
        };
        let body = {
            let ctx = self.context(&visit);
            clinical::encounter(
                &ctx,
                (plan.class.code(), plan.class.display()),
                &type_code,
                type_text,
                &visit.when,
                &visit.end,
                plan.acute,
                &self.site.organization_id,
            )
        };
        self.acc.add("Encounter", body, &encounter_labels);
        self.encounters += 1;
        if plan.self_pay {
            self.note_self_pay(&visit.id);
        }

        if n == 0 {
            self.first_visit_history(&mut visit);
        }
        self.problems(&mut visit);
        if kind != SiteKind::Behavioral {
            self.vitals(&mut visit, n == 0);
        }
        if let Some(acute) = plan.acute {
            self.acute(&mut visit, acute);
        }
        self.diabetes_monitoring(&mut visit);
        self.routine_labs(&mut visit, check_up);
        self.surveys(&mut visit, check_up);
        if kind == SiteKind::Clinic && plan.class == Class::Ambulatory {
            self.immunizations(&mut visit);
        }
        self.procedures_and_orders(&mut visit, check_up);
        self.note(&visit);
        self.claim(n, &visit, &encounter_labels);
    }

    fn context<'v>(&'v self, visit: &'v Visit) -> Context<'v> {
        Context {
            patient_id: &self.patient_id,
            patient_name: &self.patient_name,
            encounter_id: &visit.id,
            practitioner_id: &visit.practitioner_id,
            practitioner_name: &visit.practitioner_name,
            location_id: &self.site.location_id,
            site_name: self.site.spec.name,
            when: &visit.when,
            day: &visit.day,
        }
    }

    fn add(
        &mut self,
        visit: &mut Visit,
        resource_type: &'static str,
        body: serde_json::Value,
        label: Option<Label>,
    ) -> String {
        let labels = self.labels(visit.self_pay, label);
        visit.labels_seen.extend(labels.iter().copied());
        self.acc.add(resource_type, body, &labels)
    }

    fn first_visit_history(&mut self, visit: &mut Visit) {
        if let Some(&(substance, category, reaction)) =
            self.plan.allergy.and_then(|a| codes::ALLERGIES.get(a))
        {
            let body = clinical::allergy(&self.context(visit), &substance, category, reaction);
            self.add(visit, "AllergyIntolerance", body, None);
        }
        if self.plan.age_on(visit.date) >= 18 && self.site.spec.kind != SiteKind::Behavioral {
            let value = codes::SMOKING_VALUES
                .get(self.plan.smoking)
                .copied()
                .unwrap_or(codes::SMOKING_VALUES[0]);
            let body = clinical::coded_observation(
                &self.context(visit),
                "social-history",
                &codes::SMOKING,
                "Tobacco smoking status",
                &value,
            );
            self.add(visit, "Observation", body, None);
        }
    }

    /// Record chronic conditions newly known at this site, with their medication.
    fn problems(&mut self, visit: &mut Visit) {
        let kind = self.site.spec.kind;
        let primary = self.primary;
        let due: Vec<_> = self
            .plan
            .chronic
            .iter()
            .filter(|c| {
                c.onset <= visit.date && !self.recorded.iter().any(|(k, _)| *k == c.spec.key)
            })
            .filter(|c| match c.spec.label {
                _ if primary => true,
                Some(Label::Mh | Label::Eth) => kind == SiteKind::Behavioral,
                Some(_) => false,
                None => kind != SiteKind::Behavioral,
            })
            .collect();
        for chronic in due {
            let resolved = chronic
                .resolved
                .filter(|r| *r <= self.window.end)
                .map(|r| r.to_string());
            let body = clinical::condition(
                &self.context(visit),
                chronic.spec,
                true,
                &chronic.onset.to_string(),
                resolved.as_deref(),
            );
            let id = self.add(visit, "Condition", body, chronic.spec.label);
            self.recorded.push((chronic.spec.key, id.clone()));
            visit.diagnoses.push(id.clone());
            visit.topics.push(chronic.spec.text.to_owned());
            if let Some(med) = chronic.spec.med {
                let status = if resolved.is_some() {
                    "stopped"
                } else {
                    "active"
                };
                let body = clinical::medication_request(
                    &self.context(visit),
                    med,
                    status,
                    Some((&id, chronic.spec.text)),
                );
                self.add(visit, "MedicationRequest", body, chronic.spec.label);
            }
        }
    }

    fn vitals(&mut self, visit: &mut Visit, first: bool) {
        let hypertensive = self.plan.has(&codes::HYPERTENSION);
        let (systolic, diastolic) = if hypertensive {
            (self.rng.range(134, 168), self.rng.range(84, 102))
        } else {
            (self.rng.range(104, 132), self.rng.range(62, 84))
        };
        let body = clinical::blood_pressure(
            &self.context(visit),
            &codes::BP_PANEL,
            (&codes::SYSTOLIC, systolic),
            (&codes::DIASTOLIC, diastolic),
        );
        self.add(visit, "Observation", body, None);
        let heart_rate = self.rng.range(58, 98);
        let body = clinical::quantity_observation(
            &self.context(visit),
            "vital-signs",
            &codes::HEART_RATE,
            "Heart rate",
            json!(heart_rate),
            "/min",
            None,
        );
        self.add(visit, "Observation", body, None);
        let weight_hg = self.plan.weight_hg + self.rng.range(-20, 20);
        let body = clinical::quantity_observation(
            &self.context(visit),
            "vital-signs",
            &codes::WEIGHT,
            "Body weight",
            number(weight_hg, false),
            "kg",
            None,
        );
        self.add(visit, "Observation", body, None);
        if first {
            let body = clinical::quantity_observation(
                &self.context(visit),
                "vital-signs",
                &codes::HEIGHT,
                "Body height",
                number(self.plan.height_mm, false),
                "cm",
                None,
            );
            self.add(visit, "Observation", body, None);
        }
        let height = self.plan.height_mm.max(1);
        // BMI in tenths = weight(hg) * 10^7 / height(mm)^2 / 10 ... kept in integer arithmetic.
        let bmi_tenths = weight_hg * 1_000_000 / (height * height);
        let body = clinical::quantity_observation(
            &self.context(visit),
            "vital-signs",
            &codes::BMI,
            "Body mass index",
            number(bmi_tenths, false),
            "kg/m2",
            None,
        );
        self.add(visit, "Observation", body, None);
    }

    fn acute(&mut self, visit: &mut Visit, spec: &'static ConditionSpec) {
        let recovery = if spec.key == codes::PREGNANCY.key {
            270
        } else {
            14
        };
        let end = visit.date.plus_days(recovery);
        let abatement = (end <= self.window.end).then(|| end.to_string());
        let body = clinical::condition(
            &self.context(visit),
            spec,
            false,
            &visit.day,
            abatement.as_deref(),
        );
        let condition_id = self.add(visit, "Condition", body, spec.label);
        visit.diagnoses.push(condition_id.clone());
        visit.topics.push(spec.text.to_owned());
        if spec.key == codes::COVID.key {
            let encounter_id = visit.id.clone();
            self.note_covid(&condition_id, &encounter_id, visit.date);
        }
        let test = match spec.key {
            k if k == codes::COVID.key => Some((codes::COVID_PCR, codes::DETECTED)),
            k if k == codes::CHLAMYDIA.key => Some((codes::CHLAMYDIA_NAAT, codes::DETECTED)),
            k if k == codes::PREGNANCY.key => Some((codes::HCG_URINE, codes::POSITIVE)),
            _ => None,
        };
        if let Some(((code, text), result)) = test {
            let body = clinical::coded_observation(
                &self.context(visit),
                "laboratory",
                &code,
                text,
                &result,
            );
            let obs = self.add(visit, "Observation", body, spec.label);
            let body =
                clinical::diagnostic_report(&self.context(visit), &code, text, &[(obs, text)]);
            self.add(visit, "DiagnosticReport", body, spec.label);
        }
        if let Some(med) = spec.med {
            let body = clinical::medication_request(
                &self.context(visit),
                med,
                "completed",
                Some((&condition_id, spec.text)),
            );
            self.add(visit, "MedicationRequest", body, spec.label);
        }
        if visit.class == Class::Emergency
            && (spec.key == codes::COVID.key || spec.key == codes::BRONCHITIS.key)
        {
            let body = clinical::procedure(&self.context(visit), &codes::CHEST_XRAY, "Chest X-ray");
            self.add(visit, "Procedure", body, spec.label);
        }
    }

    fn diabetes_monitoring(&mut self, visit: &mut Visit) {
        let diabetic = self.recorded.iter().any(|(k, _)| *k == codes::DIABETES.key);
        let due = self
            .last_a1c
            .is_none_or(|last| visit.date.days() - last.days() >= 80);
        let here = match visit.class {
            Class::Ambulatory => self.site.spec.kind != SiteKind::Behavioral,
            _ => self.rng.chance(300),
        };
        if !(diabetic && due && here) {
            return;
        }
        let years = (visit.date.days() - self.window.start.days()) as f64 / 365.25;
        let drift = (self.plan.a1c.per_year as f64 * years) as i64;
        let tenths = (self.plan.a1c.start + drift + self.rng.range(-3, 3)).clamp(52, 140);
        let value = tenths as f64 / 10.0;
        let flag = if tenths > 56 { "H" } else { "N" };
        let body = clinical::quantity_observation(
            &self.context(visit),
            "laboratory",
            &codes::HBA1C.code,
            codes::HBA1C.text,
            json!(value),
            "%",
            Some((json!(4.0), json!(5.6), Some(flag))),
        );
        let obs = self.add(visit, "Observation", body, None);
        let body = clinical::diagnostic_report(
            &self.context(visit),
            &codes::HBA1C.code,
            codes::HBA1C.text,
            &[(obs, codes::HBA1C.text)],
        );
        self.add(visit, "DiagnosticReport", body, None);
        self.last_a1c = Some(visit.date);
        self.a1c.push((visit.date, value));
    }

    fn routine_labs(&mut self, visit: &mut Visit, check_up: bool) {
        let adult = self.plan.age_on(visit.date) >= 18;
        let panels: Vec<&PanelSpec> = match visit.class {
            Class::Ambulatory if check_up && adult => {
                let lipids = self.plan.has(&codes::HYPERLIPIDEMIA)
                    || self.plan.has(&codes::DIABETES)
                    || self.rng.chance(500);
                let mut v = vec![&codes::BMP];
                if lipids {
                    v.push(&codes::LIPIDS);
                }
                if self.rng.chance(400) {
                    v.push(&codes::CBC);
                }
                v
            }
            Class::Emergency | Class::Inpatient if self.rng.chance(700) => {
                vec![&codes::BMP, &codes::CBC]
            }
            _ => Vec::new(),
        };
        for panel in panels {
            let mut results = Vec::with_capacity(panel.members.len());
            for lab in panel.members {
                let tenths = self.lab_value(lab);
                let obs = self.lab_observation(visit, lab, tenths);
                results.push((obs, lab.text));
            }
            let body = clinical::diagnostic_report(
                &self.context(visit),
                &panel.code,
                panel.text,
                &results,
            );
            self.add(visit, "DiagnosticReport", body, None);
        }
        if visit.class != Class::Ambulatory
            || self.site.spec.kind == SiteKind::Behavioral
            || !self.primary
        {
            return;
        }
        if self.recorded.iter().any(|(k, _)| *k == codes::HIV.key) {
            let tenths = if self.rng.chance(800) {
                190
            } else {
                self.rng.range(500, 40_000)
            };
            let obs = self.lab_observation(visit, &codes::HIV_VIRAL_LOAD, tenths);
            let body = clinical::diagnostic_report(
                &self.context(visit),
                &codes::HIV_VIRAL_LOAD.code,
                codes::HIV_VIRAL_LOAD.text,
                &[(obs, codes::HIV_VIRAL_LOAD.text)],
            );
            self.add(visit, "DiagnosticReport", body, Some(Label::Hiv));
        }
    }

    fn lab_value(&mut self, lab: &LabSpec) -> i64 {
        let (lo, hi) = lab.draw;
        let mut tenths = self.rng.range(lo, hi);
        if lab.code.code == codes::GLUCOSE.code.code && self.plan.has(&codes::DIABETES) {
            tenths += self.rng.range(300, 900);
        }
        if lab.code.code == codes::CREATININE.code.code && self.plan.has(&codes::CKD3) {
            tenths += self.rng.range(5, 12);
        }
        tenths
    }

    fn lab_observation(&mut self, visit: &mut Visit, lab: &LabSpec, tenths: i64) -> String {
        let range = lab.normal.map(|(lo, hi)| {
            let flag = if tenths > hi {
                "H"
            } else if tenths < lo {
                "L"
            } else {
                "N"
            };
            (number(lo, lab.integer), number(hi, lab.integer), Some(flag))
        });
        let body = clinical::quantity_observation(
            &self.context(visit),
            lab.category,
            &lab.code,
            lab.text,
            number(tenths, lab.integer),
            lab.unit,
            range,
        );
        self.add(visit, "Observation", body, lab.label)
    }

    fn surveys(&mut self, visit: &mut Visit, check_up: bool) {
        if visit.class != Class::Ambulatory {
            return;
        }
        let behavioral = self.site.spec.kind == SiteKind::Behavioral;
        let mood = self
            .recorded
            .iter()
            .any(|(k, _)| *k == codes::DEPRESSION.key || *k == codes::ANXIETY.key);
        if mood && (self.primary || behavioral) {
            let tenths = self.rng.range(codes::PHQ9.draw.0, codes::PHQ9.draw.1);
            self.lab_observation(visit, &codes::PHQ9, tenths);
        } else if check_up && self.plan.age_on(visit.date) >= 12 && self.rng.chance(500) {
            let tenths = self.rng.range(codes::PHQ2.draw.0, codes::PHQ2.draw.1);
            self.lab_observation(visit, &codes::PHQ2, tenths);
            let body = clinical::procedure(
                &self.context(visit),
                &codes::DEPRESSION_SCREEN,
                "Depression screening",
            );
            self.add(visit, "Procedure", body, Some(Label::Mh));
        }
        if self
            .recorded
            .iter()
            .any(|(k, _)| *k == codes::ALCOHOL_USE.key)
            && (self.primary || behavioral)
        {
            let tenths = self.rng.range(codes::AUDIT_C.draw.0, codes::AUDIT_C.draw.1);
            self.lab_observation(visit, &codes::AUDIT_C, tenths);
        }
        if behavioral {
            let body = clinical::procedure(
                &self.context(visit),
                &codes::PSYCHOTHERAPY,
                "Psychotherapy session",
            );
            self.add(visit, "Procedure", body, Some(Label::Mh));
        }
    }

    fn immunizations(&mut self, visit: &mut Visit) {
        let age = self.plan.age_on(visit.date);
        let year = visit.date.year();
        let mut vaccines: Vec<Code> = Vec::new();
        if visit.date.month() >= 9 && !self.flu_seasons.contains(&year) && self.rng.chance(650) {
            self.flu_seasons.insert(year);
            vaccines.push(codes::FLU_VACCINE);
        }
        if (2021..=2024).contains(&year) && self.rng.chance(150) {
            vaccines.push(codes::COVID_VACCINE);
        }
        if self.rng.chance(25) {
            vaccines.push(codes::TDAP);
        }
        if age >= 50 && self.rng.chance(40) {
            vaccines.push(codes::ZOSTER);
        }
        if (9..=26).contains(&age) && self.rng.chance(80) {
            vaccines.push(codes::HPV);
        }
        for vaccine in vaccines {
            let lot = format!("{}{:06}", &vaccine.code, self.rng.below(1_000_000));
            let body = clinical::immunization(&self.context(visit), &vaccine, &lot);
            self.add(visit, "Immunization", body, None);
        }
    }

    fn procedures_and_orders(&mut self, visit: &mut Visit, check_up: bool) {
        let age = self.plan.age_on(visit.date);
        let mut procedures: Vec<(Code, &str)> = Vec::new();
        match visit.class {
            Class::Inpatient => {
                procedures.push((codes::MED_RECONCILIATION, "Medication reconciliation"));
                if self.rng.chance(200) {
                    procedures.push((codes::APPENDECTOMY, "Appendectomy"));
                }
            }
            Class::Ambulatory if self.site.spec.kind == SiteKind::Clinic => {
                if age >= 45 && self.rng.chance(30) {
                    procedures.push((codes::COLONOSCOPY, "Screening colonoscopy"));
                }
                if check_up
                    && age >= 40
                    && self.plan.gender == Gender::Female
                    && self.rng.chance(300)
                {
                    let body = clinical::service_request(
                        &self.context(visit),
                        &codes::MAMMOGRAPHY,
                        "Screening mammogram",
                        ("363679005", "Imaging"),
                    );
                    self.add(visit, "ServiceRequest", body, None);
                }
                if self.rng.chance(60) {
                    let body = clinical::service_request(
                        &self.context(visit),
                        &codes::REFERRAL,
                        "Specialist referral",
                        ("3457005", "Patient referral"),
                    );
                    self.add(visit, "ServiceRequest", body, None);
                }
            }
            _ => {}
        }
        for (code, text) in procedures {
            let body = clinical::procedure(&self.context(visit), &code, text);
            self.add(visit, "Procedure", body, None);
        }
    }

    fn note(&mut self, visit: &Visit) {
        let kind = match visit.class {
            Class::Emergency => codes::ED_NOTE,
            Class::Inpatient => codes::DISCHARGE_SUMMARY,
            Class::Ambulatory if self.encounters == 1 => codes::HISTORY_PHYSICAL,
            Class::Ambulatory => codes::PROGRESS_NOTE,
        };
        let text = format!(
            "{}\n{}\nPatient: {}  MRN: {}\nDate of service: {}\nClinician: {}\nAssessment: {}\n",
            self.site.spec.name.to_uppercase(),
            kind.display,
            self.patient_name,
            self.mrn,
            visit.day,
            visit.practitioner_name,
            visit.topics.join("; "),
        );
        let data = BASE64.encode(text.as_bytes());
        let body = clinical::document_reference(
            &self.context(visit),
            &kind,
            &data,
            (&visit.when, &visit.end),
        );
        self.acc.add("DocumentReference", body, &visit.labels_seen);
    }

    fn claim(&mut self, n: usize, visit: &Visit, labels: &BTreeSet<Label>) {
        if visit.self_pay || !self.rng.chance(900) {
            return;
        }
        let behavioral = self.site.spec.kind == SiteKind::Behavioral;
        let (service, institutional, charge) = match visit.class {
            Class::Inpatient => (
                codes::CPT_INPATIENT,
                true,
                self.rng.range(800_000, 3_000_000),
            ),
            Class::Emergency => (codes::CPT_ED_VISIT, true, self.rng.range(60_000, 240_000)),
            Class::Ambulatory if behavioral => (
                codes::CPT_PSYCHOTHERAPY,
                false,
                self.rng.range(12_000, 22_000),
            ),
            Class::Ambulatory if visit.topics.first().is_some_and(|t| t == "Annual check-up") => {
                (codes::CPT_PREVENTIVE, false, self.rng.range(18_000, 32_000))
            }
            Class::Ambulatory => (
                codes::CPT_OFFICE_VISIT,
                false,
                self.rng.range(12_000, 26_000),
            ),
        };
        let created = Date::from_unix(0)
            .plus_days(visit.date.days() + 2)
            .to_string();
        let practitioner_id = visit.practitioner_id.clone();
        let diagnoses = visit.diagnoses.clone();
        if let Some((claim_id, control)) = add_claim(
            self,
            &visit.id,
            &practitioner_id,
            n,
            &created,
            &visit.day,
            institutional,
            &service,
            charge,
            &diagnoses,
            labels,
        ) {
            self.claims += 1;
            self.note_claim(&claim_id, &control, &visit.id);
        }
    }
}
