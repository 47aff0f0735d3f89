//! [`LocalRecords`] over the resource store: unfiltered lookups for the token endpoint's own
//! decisions (subject resolution, claim linkage, payer relationship). Nothing read here is
//! returned to a client. Reads go through the store's asynchronous reads when it offers them
//! (PostgreSQL: no blocking hand-off per lookup), else they run inline, as on SQLite, where
//! an index read costs less than a hand-off to a blocking thread.

use std::sync::Arc;

use serde_json::Value;
use tessera_access::Filter;
use tessera_fhir::parse_search;
use tessera_store::linkage::PersonOf;
use tessera_store::{ResourceStore, Scope, StoreError};

use crate::subject::{LocalRecords, Lookup, MAX_CANDIDATES};

/// The resource store as [`LocalRecords`].
#[derive(Clone)]
pub struct StoreRecords(pub Arc<dyn ResourceStore>);

impl std::fmt::Debug for StoreRecords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreRecords")
    }
}

impl StoreRecords {
    async fn read(&self, rtype: &str, id: &str) -> Result<Option<Value>, String> {
        if !tessera_fhir::is_valid_id(id) {
            return Ok(None);
        }
        let all = Filter::All;
        let bytes = match self.0.async_reads() {
            Some(reads) => reads.read(Scope::Network, rtype, id, &all).await,
            None => self.0.read(Scope::Network, rtype, id, &all),
        }
        .map_err(|e| e.to_string())?;
        bytes
            .map(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
            .transpose()
    }

    async fn search(&self, rtype: &str, param: &str, value: &str) -> Result<Vec<Value>, String> {
        // Candidates only: the total would cost a second statement nobody reads.
        let pairs = vec![
            (param.to_owned(), value.to_owned()),
            ("_count".to_owned(), (MAX_CANDIDATES + 1).to_string()),
            ("_total".to_owned(), "none".to_owned()),
        ];
        let query = parse_search(rtype, &pairs).map_err(|e| e.to_string())?;
        let all = Filter::All;
        let page = match self.0.async_reads() {
            Some(reads) => reads.search(Scope::Network, &query, &all).await,
            None => self.0.search(Scope::Network, &query, &all),
        }
        .map_err(|e| e.to_string())?;
        page.resources
            .iter()
            .map(|r| serde_json::from_slice(&r.json).map_err(|e| e.to_string()))
            .collect()
    }
}

/// The person a record belongs to, through the store's asynchronous reads when it has them.
pub async fn person_of(store: &dyn ResourceStore, record: &str) -> Result<PersonOf, StoreError> {
    match store.async_reads() {
        Some(reads) => reads.person_of(record).await,
        None => store.person_of(record),
    }
}

/// Escapes FHIR search special characters in a token part (`\`, `|`, `,`, `$`).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '|' | ',' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl LocalRecords for StoreRecords {
    fn patient<'a>(&'a self, id: &'a str) -> Lookup<'a, Option<Value>> {
        Box::pin(self.read("Patient", id))
    }

    fn patients_by_identifier<'a>(
        &'a self,
        system: &'a str,
        value: &'a str,
    ) -> Lookup<'a, Vec<Value>> {
        let token = format!("{}|{}", escape(system), escape(value));
        Box::pin(async move { self.search("Patient", "identifier", &token).await })
    }

    fn patients_by_birth_date<'a>(&'a self, date: &'a str) -> Lookup<'a, Vec<Value>> {
        Box::pin(async move {
            // Only full dates: a partial date would widen the match.
            if date.len() != 10 {
                return Ok(Vec::new());
            }
            self.search("Patient", "birthdate", &format!("eq{date}"))
                .await
        })
    }

    fn encounter<'a>(&'a self, id: &'a str) -> Lookup<'a, Option<Value>> {
        Box::pin(self.read("Encounter", id))
    }

    fn coverages<'a>(&'a self, patient_id: &'a str) -> Lookup<'a, Vec<Value>> {
        let reference = format!("Patient/{patient_id}");
        Box::pin(async move { self.search("Coverage", "patient", &reference).await })
    }

    fn organization<'a>(&'a self, id: &'a str) -> Lookup<'a, Option<Value>> {
        Box::pin(self.read("Organization", id))
    }
}
