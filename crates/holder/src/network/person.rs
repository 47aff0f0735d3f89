//! Subject resolution to one *person* (issue 14, step 14 of the pipeline).
//!
//! 1. The deterministic matcher (`crate::subject::matching_records`) finds the local records
//!    the ticket subject matches; at a site Data Holder only that site's records count.
//! 2. Each match is mapped to its person by the linkage in force. A quarantined match ⇒
//!    ambiguous; matches of two persons ⇒ ambiguous (demographics never merge persons).
//! 3. Every record of the person (at a site: of that site) must agree with the ticket's
//!    demographics and the verified evidence; a missing value is no contradiction, a
//!    different one is `invalid_grant`, naming the record in the audit row.
//! 4. The grant is confined to those records; the token's `patient` is the person's stable id
//!    at the network base, the site's record at a site.

use std::collections::BTreeSet;

use tessera_store::ResourceStore;
use tessera_store::linkage::PersonOf;
use tessera_ticket::claims::Subject;

use crate::network::DataHolder;
use crate::subject::{
    EvidenceDemographics, LocalRecords, consistent_with_evidence, consistent_with_ticket,
    matching_records,
};
use crate::token::error::TokenError;

/// Most records one person may have at one Data Holder. A "person" larger than this is far
/// more likely a bad link source (a shared placeholder identifier) than a patient: refused as
/// ambiguous rather than compiled into an ever longer patient predicate.
pub const MAX_PERSON_RECORDS: usize = 64;

/// The resolved person, as the Data Holder being asked sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedPerson {
    /// The token response's `patient` and the grant's patient.
    pub patient: String,
    /// The person's id in the linkage in force.
    pub person: String,
    /// The records the grant releases (sorted; includes `patient`).
    pub records: Vec<String>,
    /// The sites of those records (sorted).
    pub sites: Vec<String>,
}

/// A resolution failure with the audit detail that explains it.
#[derive(Debug)]
pub struct Refusal {
    /// The token error.
    pub error: TokenError,
    /// `(key, value)` for the audit row's details.
    pub detail: Option<(&'static str, serde_json::Value)>,
}

impl From<TokenError> for Refusal {
    fn from(error: TokenError) -> Self {
        Refusal {
            error,
            detail: None,
        }
    }
}

/// Resolves the ticket subject to one person at `holder`.
pub async fn resolve_person(
    records: &dyn LocalRecords,
    store: &dyn ResourceStore,
    subject: &Subject,
    evidence: Option<&EvidenceDemographics>,
    holder: &DataHolder,
) -> Result<ResolvedPerson, Refusal> {
    let internal = |e: String| TokenError::Internal(format!("person lookup: {e}"));
    let matched = matching_records(records, subject, evidence, &holder.bases).await?;
    let mut persons: BTreeSet<String> = BTreeSet::new();
    let mut person_records: Vec<(String, Option<String>)> = Vec::new();
    let mut considered = 0;
    for id in &matched {
        let of = crate::subject::store_records::person_of(store, id).await;
        match of.map_err(|e| internal(e.to_string()))? {
            PersonOf::Unknown => {}
            PersonOf::Quarantined(c) => {
                // At a site, a quarantined record elsewhere is not this Data Holder's concern.
                if holder.site.is_some() && !record_at(store, id, holder)? {
                    continue;
                }
                return Err(Refusal {
                    error: TokenError::SubjectAmbiguous,
                    detail: Some((
                        "quarantined_record",
                        serde_json::json!({"record": format!("Patient/{}", c.record), "anchors": c.anchors}),
                    )),
                });
            }
            PersonOf::Person {
                id: person,
                records,
            } => {
                let here: Vec<(String, Option<String>)> = records
                    .into_iter()
                    .filter(|(_, site)| holder.site.is_none() || *site == holder.site)
                    .collect();
                let matched_here = here.iter().any(|(r, _)| r == id);
                if !matched_here {
                    continue;
                }
                considered += 1;
                if persons.insert(person) {
                    person_records.extend(here);
                }
            }
        }
    }
    if considered == 0 {
        return Err(TokenError::SubjectUnresolved.into());
    }
    if persons.len() > 1 {
        return Err(Refusal {
            error: TokenError::SubjectAmbiguous,
            detail: Some(("matched_persons", serde_json::json!(persons))),
        });
    }
    person_records.sort();
    person_records.dedup();
    if person_records.len() > MAX_PERSON_RECORDS {
        return Err(Refusal {
            error: TokenError::SubjectAmbiguous,
            detail: Some(("person_too_large", serde_json::json!(person_records.len()))),
        });
    }
    for (record, _) in &person_records {
        // A matched record passed this same check in the matcher; only the person's other
        // records are read here.
        if matched.contains(record) {
            continue;
        }
        let local = records
            .patient(record)
            .await
            .map_err(internal)?
            .ok_or_else(|| internal(format!("linked Patient/{record} vanished")))?;
        let agrees = consistent_with_ticket(&local, &subject.patient)
            && evidence.is_none_or(|e| consistent_with_evidence(&local, e));
        if !agrees {
            return Err(Refusal {
                error: TokenError::LinkedRecordContradicts(record.clone()),
                detail: Some((
                    "contradicting_record",
                    serde_json::json!(format!("Patient/{record}")),
                )),
            });
        }
    }
    let person = persons.into_iter().next().unwrap_or_default();
    let records: Vec<String> = person_records.iter().map(|(r, _)| r.clone()).collect();
    let sites: BTreeSet<String> = person_records
        .iter()
        .filter_map(|(_, s)| s.clone())
        .collect();
    let patient = match &holder.site {
        None if records.contains(&person) => person.clone(),
        _ => records.first().cloned().unwrap_or_default(),
    };
    Ok(ResolvedPerson {
        patient,
        person,
        records,
        sites: sites.into_iter().collect(),
    })
}

/// Whether a (quarantined) record belongs to the site being asked.
fn record_at(store: &dyn ResourceStore, id: &str, holder: &DataHolder) -> Result<bool, Refusal> {
    let Some(site) = &holder.site else {
        return Ok(true);
    };
    let rec = store
        .linked_records()
        .map_err(|e| TokenError::Internal(e.to_string()))?
        .into_iter()
        .find(|r| r.record == id);
    Ok(rec.is_some_and(|r| r.site.as_deref() == Some(site.as_str())))
}
