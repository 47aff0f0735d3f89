//! Subject resolution (PT-SUBJ): exactly one local patient, zero and ambiguous matches refused,
//! identifiers are not a bypass.

use serde_json::{Map, Value, json};

use super::{Check, Fut, custom, ticket};
use crate::ctx::{Ctx, R, fail, skip};
use crate::expect::{self, GRANT, grant};

pub(super) const CHECKS: &[Check] = &[
    custom("PT-SUBJ-01", "unique-match-resolves-the-patient", subj_01),
    ticket(
        "PT-SUBJ-02",
        "no-match",
        |_, m| {
            super::validation::unknown_subject(m);
            Ok(())
        },
        grant("Unable to resolve ticket subject"),
    ),
    ticket(
        "PT-SUBJ-03",
        "ambiguous-match",
        ambiguous,
        grant("Ambiguous ticket subject match"),
    ),
    ticket(
        "PT-SUBJ-07",
        "identifier-with-conflicting-birth-date",
        conflicting_identifier,
        GRANT,
    ),
];

fn ambiguous(c: &Ctx, m: &mut Map<String, Value>) -> R {
    match &c.config.ambiguous_patient {
        Some(p) => {
            m.insert("subject".into(), json!({"patient": p.to_fhir()}));
            Ok(())
        }
        None => {
            skip("kit.toml has no [ambiguous_patient] (demographics matching two local patients)")
        }
    }
}

fn conflicting_identifier(c: &Ctx, m: &mut Map<String, Value>) -> R {
    if c.config.patient.identifier.is_empty() {
        return skip("kit.toml [patient] has no identifier");
    }
    let mut p = c.config.patient.to_fhir();
    p["birthDate"] = "1901-01-01".into();
    p["name"] = json!([{"family": "Conflicting-Kit", "given": ["Other"]}]);
    m.insert("subject".into(), json!({"patient": p}));
    Ok(())
}

fn subj_01(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let t = c.baseline().await?;
        let id = c.patient_id().await?;
        let ex = c.fhir(&format!("{}/Patient/{id}", c.base()), t).await;
        expect::transport(&ex)?;
        let Some(p) = ex.json().filter(|_| ex.code() == 200) else {
            return fail(format!(
                "{}: the resolved Patient is not readable",
                ex.summary()
            ));
        };
        let want = &c.config.patient.birth_date;
        if p.get("birthDate").and_then(Value::as_str) != Some(want) {
            return fail(format!(
                "Patient/{id} does not have the ticket's birthDate {want}"
            ));
        }
        Ok(())
    })
}
