//! Subject resolution (spec-digest §11, PT-SUBJ, OP-22): the ticket's `subject.patient` to
//! exactly one local Patient, corroborated by verified identity evidence.
//!
//! The matcher is deterministic and documented:
//! 1. A reference hint (`patient_reference`, or J24 `recipient_record`) that resolves to a
//!    local Patient is a candidate; it is accepted only if consistent (below). An unresolvable
//!    hint falls back to matching; two hints naming different records are rejected.
//! 2. Otherwise, identifiers: every `system|value` of `subject.patient.identifier` is looked up;
//!    the union of hits are the candidates.
//! 3. With no identifier hit: `birthDate` plus family name (both required; never name alone)
//!    select candidates.
//! 4. Every candidate must be consistent with the ticket's demographics and, when present, with
//!    the verified evidence: equal `birthDate`; some name whose normalized family equals a
//!    ticket family and whose givens contain the ticket's first given; equal gender when both
//!    have one; for every identifier system both sides carry, the ticket's value among the
//!    local ones. Exactly one survivor ⇒ match; none ⇒ unresolved; more ⇒ ambiguous.
//!
//! Normalization: Unicode lower-casing, Latin diacritics folded, and everything that is not a
//! letter or digit dropped (so `O'Brien`, `OBrien` and `o brien` compare equal).

use serde_json::Value;
use tessera_ticket::claims::{HumanName, Patient, Subject};

use crate::token::error::TokenError;

pub mod store_records;

/// Largest number of candidates considered (more is treated as ambiguous).
pub const MAX_CANDIDATES: usize = 16;

/// Local lookups the token endpoint needs, unfiltered by any grant (this is the Data Holder
/// deciding whom a ticket is about, not a client reading data).
///
/// Each lookup is a future: on a backend whose reads are round trips (PostgreSQL) it waits on
/// the runtime instead of blocking the worker; an embedded backend answers at once.
pub trait LocalRecords: Send + Sync {
    /// `Patient/{id}`.
    fn patient<'a>(&'a self, id: &'a str) -> Lookup<'a, Option<Value>>;
    /// Patients carrying `system|value`.
    fn patients_by_identifier<'a>(
        &'a self,
        system: &'a str,
        value: &'a str,
    ) -> Lookup<'a, Vec<Value>>;
    /// Patients born on `date` (FHIR date).
    fn patients_by_birth_date<'a>(&'a self, date: &'a str) -> Lookup<'a, Vec<Value>>;
    /// `Encounter/{id}`.
    fn encounter<'a>(&'a self, id: &'a str) -> Lookup<'a, Option<Value>>;
    /// Coverage resources whose beneficiary is `Patient/{patient_id}`.
    fn coverages<'a>(&'a self, patient_id: &'a str) -> Lookup<'a, Vec<Value>>;
    /// `Organization/{id}` (Coverage payors referenced by id).
    fn organization<'a>(&'a self, id: &'a str) -> Lookup<'a, Option<Value>>;
}

/// What a [`LocalRecords`] lookup returns.
pub type Lookup<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, String>> + Send + 'a>>;

/// Demographics from verified identity evidence.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EvidenceDemographics {
    /// `family_name`.
    pub family: Option<String>,
    /// `given_name`.
    pub given: Option<String>,
    /// `birthdate`.
    pub birth_date: Option<String>,
}

/// Resolves the subject; returns the local Patient id. `base_urls` are the own FHIR bases an
/// absolute hint may start with.
pub async fn resolve_subject(
    records: &dyn LocalRecords,
    subject: &Subject,
    evidence: Option<&EvidenceDemographics>,
    base_urls: &[String],
) -> Result<String, TokenError> {
    match matching_records(records, subject, evidence, base_urls)
        .await?
        .as_slice()
    {
        [one] => Ok(one.clone()),
        _ => Err(TokenError::SubjectAmbiguous),
    }
}

/// Steps 1–4 without the final count: every local record the subject matches (at least one;
/// none ⇒ unresolved). A hint that resolves yields exactly its record. Person resolution
/// (`crate::network::person`) decides whether several matches are one person.
pub async fn matching_records(
    records: &dyn LocalRecords,
    subject: &Subject,
    evidence: Option<&EvidenceDemographics>,
    base_urls: &[String],
) -> Result<Vec<String>, TokenError> {
    let internal = |e: String| TokenError::Internal(format!("patient lookup: {e}"));
    let patient = &subject.patient;
    let consistent = |local: &Value| {
        consistent_with_ticket(local, patient)
            && evidence.is_none_or(|e| consistent_with_evidence(local, e))
    };

    // 1. Hints.
    let hint_a = subject
        .patient_reference
        .as_deref()
        .map(|r| local_id(r, "Patient", base_urls));
    let hint_b = subject
        .recipient_record
        .as_ref()
        .and_then(|r| r.reference.as_deref())
        .map(|r| local_id(r, "Patient", base_urls));
    if let (Some(a), Some(b)) = (&hint_a, &hint_b)
        && a != b
    {
        return Err(TokenError::SubjectAmbiguous);
    }
    if let Some(Some(id)) = hint_a.or(hint_b)
        && let Some(local) = records.patient(&id).await.map_err(internal)?
    {
        // A record reached through the hint must still match (PT-SUBJ-05).
        return if consistent(&local) {
            Ok(vec![id])
        } else {
            Err(TokenError::SubjectUnresolved)
        };
    }

    // 2. Identifiers (including a J24 `recipient_record.identifier`).
    let mut identifiers: Vec<(&str, &str)> = patient
        .identifier
        .iter()
        .filter_map(|i| Some((i.system.as_deref()?, i.value.as_deref()?)))
        .collect();
    if let Some(i) = subject
        .recipient_record
        .as_ref()
        .and_then(|r| r.identifier.as_ref())
        && let (Some(s), Some(v)) = (i.system.as_deref(), i.value.as_deref())
    {
        identifiers.push((s, v));
    }
    let mut candidates: Vec<Value> = Vec::new();
    for (system, value) in identifiers.iter().take(MAX_CANDIDATES) {
        for p in records
            .patients_by_identifier(system, value)
            .await
            .map_err(internal)?
        {
            push_unique(&mut candidates, p);
        }
    }

    // 3. Demographics.
    if candidates.is_empty() {
        let has_family = patient
            .name
            .iter()
            .any(|n| n.family.as_deref().is_some_and(|f| !norm(f).is_empty()));
        let Some(birth_date) = patient.birth_date.as_deref() else {
            return Err(TokenError::SubjectUnresolved);
        };
        if !has_family {
            return Err(TokenError::SubjectUnresolved);
        }
        for p in records
            .patients_by_birth_date(birth_date)
            .await
            .map_err(internal)?
        {
            push_unique(&mut candidates, p);
        }
    }

    // 4. Consistency.
    let matches: Vec<String> = candidates
        .iter()
        .filter(|c| consistent(c))
        .filter_map(|c| c.get("id").and_then(Value::as_str).map(str::to_owned))
        .take(MAX_CANDIDATES + 1)
        .collect();
    if matches.is_empty() {
        Err(TokenError::SubjectUnresolved)
    } else {
        Ok(matches)
    }
}

fn push_unique(list: &mut Vec<Value>, p: Value) {
    let id = p.get("id").cloned();
    if id.is_some()
        && !list.iter().any(|q| q.get("id") == id.as_ref())
        && list.len() <= MAX_CANDIDATES
    {
        list.push(p);
    }
}

/// The local id a reference names, if it is `Type/id` or `{own base}/Type/id`.
pub fn local_id(reference: &str, resource_type: &str, base_urls: &[String]) -> Option<String> {
    let relative = base_urls
        .iter()
        .find_map(|b| {
            reference
                .strip_prefix(b.as_str())
                .and_then(|r| r.strip_prefix('/'))
        })
        .or_else(|| (!reference.contains("://")).then_some(reference))?;
    let id = relative.strip_prefix(resource_type)?.strip_prefix('/')?;
    tessera_fhir::is_valid_id(id).then(|| id.to_owned())
}

/// Folds case, Latin diacritics and punctuation/spaces away.
pub fn norm(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(fold_diacritic)
        .filter(|c| c.is_alphanumeric())
        .collect()
}

fn fold_diacritic(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => 'a',
        'ç' | 'ć' | 'č' => 'c',
        'ď' | 'đ' => 'd',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' => 'i',
        'ñ' | 'ń' | 'ň' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' => 'u',
        'ý' | 'ÿ' => 'y',
        'ś' | 'š' | 'ş' => 's',
        'ź' | 'ż' | 'ž' => 'z',
        'ł' => 'l',
        'ř' => 'r',
        'ť' | 'ţ' => 't',
        other => other,
    }
}

fn local_names(local: &Value) -> Vec<HumanName> {
    local
        .get("name")
        .cloned()
        .and_then(|v| serde_json::from_value::<Vec<HumanName>>(v).ok())
        .unwrap_or_default()
}

/// Some local name has this family and contains this given (when a given is supplied).
fn name_matches(locals: &[HumanName], family: &str, given: Option<&str>) -> bool {
    let family = norm(family);
    let given = given.map(norm).filter(|g| !g.is_empty());
    locals.iter().any(|n| {
        n.family.as_deref().map(norm).as_deref() == Some(family.as_str())
            && given.as_ref().is_none_or(|g| {
                n.given
                    .iter()
                    .flat_map(|x| x.split_whitespace())
                    .any(|x| norm(x) == *g)
            })
    })
}

/// The local record agrees with every demographic the ticket supplies that it also has.
pub fn consistent_with_ticket(local: &Value, patient: &Patient) -> bool {
    let local_birth = local.get("birthDate").and_then(Value::as_str);
    if let (Some(a), Some(b)) = (local_birth, patient.birth_date.as_deref())
        && a != b
    {
        return false;
    }
    let names = local_names(local);
    let ticket_names: Vec<&HumanName> =
        patient.name.iter().filter(|n| n.family.is_some()).collect();
    if !ticket_names.is_empty()
        && !names.is_empty()
        && !ticket_names.iter().any(|n| {
            name_matches(
                &names,
                n.family.as_deref().unwrap_or(""),
                n.given.first().map(String::as_str),
            )
        })
    {
        return false;
    }
    if let (Some(a), Some(b)) = (
        local.get("gender").and_then(Value::as_str),
        patient.gender.as_deref(),
    ) && a != b
    {
        return false;
    }
    let local_ids: Vec<(String, String)> = local
        .get("identifier")
        .and_then(Value::as_array)
        .map(|ids| {
            ids.iter()
                .filter_map(|i| {
                    Some((
                        i.get("system")?.as_str()?.to_owned(),
                        i.get("value")?.as_str()?.to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    patient
        .identifier
        .iter()
        .all(|ti| match (ti.system.as_deref(), ti.value.as_deref()) {
            (Some(s), Some(v)) => {
                let same_system: Vec<&(String, String)> =
                    local_ids.iter().filter(|(ls, _)| ls == s).collect();
                same_system.is_empty() || same_system.iter().any(|(_, lv)| lv == v)
            }
            _ => true,
        })
}

/// The local record agrees with the verified evidence (PT-EVID-09).
pub fn consistent_with_evidence(local: &Value, e: &EvidenceDemographics) -> bool {
    if let (Some(a), Some(b)) = (
        local.get("birthDate").and_then(Value::as_str),
        e.birth_date.as_deref(),
    ) && a != b
    {
        return false;
    }
    match &e.family {
        Some(f) => {
            let names = local_names(local);
            names.is_empty() || name_matches(&names, f, e.given.as_deref())
        }
        None => true,
    }
}

/// The ticket's `subject.patient` agrees with the evidence (PT-EVID-08): equal birth date
/// when both have one, and the evidence names match some ticket name.
pub fn ticket_consistent_with_evidence(patient: &Patient, e: &EvidenceDemographics) -> bool {
    if let (Some(a), Some(b)) = (patient.birth_date.as_deref(), e.birth_date.as_deref())
        && a != b
    {
        return false;
    }
    match &e.family {
        Some(f) if !patient.name.is_empty() => name_matches(&patient.name, f, e.given.as_deref()),
        _ => true,
    }
}

#[cfg(test)]
mod tests;
