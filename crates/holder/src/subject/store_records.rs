//! [`LocalRecords`] over the resource store: unfiltered lookups for the token endpoint's own
//! decisions (subject resolution, claim linkage, payer relationship). Nothing read here is
//! returned to a client.

use std::sync::Arc;

use serde_json::Value;
use tessera_access::Filter;
use tessera_fhir::parse_search;
use tessera_store::{ResourceStore, Scope};

use crate::subject::{LocalRecords, MAX_CANDIDATES};

/// The resource store as [`LocalRecords`].
#[derive(Clone)]
pub struct StoreRecords(pub Arc<dyn ResourceStore>);

impl std::fmt::Debug for StoreRecords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreRecords")
    }
}

impl StoreRecords {
    fn read(&self, rtype: &str, id: &str) -> Result<Option<Value>, String> {
        if !tessera_fhir::is_valid_id(id) {
            return Ok(None);
        }
        let bytes = self
            .0
            .read(Scope::Network, rtype, id, &Filter::All)
            .map_err(|e| e.to_string())?;
        bytes
            .map(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
            .transpose()
    }

    fn search(&self, rtype: &str, param: &str, value: &str) -> Result<Vec<Value>, String> {
        // Candidates only: the total would cost a second statement nobody reads.
        let pairs = vec![
            (param.to_owned(), value.to_owned()),
            ("_count".to_owned(), (MAX_CANDIDATES + 1).to_string()),
            ("_total".to_owned(), "none".to_owned()),
        ];
        let query = parse_search(rtype, &pairs).map_err(|e| e.to_string())?;
        let page = self
            .0
            .search(Scope::Network, &query, &Filter::All)
            .map_err(|e| e.to_string())?;
        page.resources
            .iter()
            .map(|r| serde_json::from_slice(&r.json).map_err(|e| e.to_string()))
            .collect()
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
    fn patient(&self, id: &str) -> Result<Option<Value>, String> {
        self.read("Patient", id)
    }

    fn patients_by_identifier(&self, system: &str, value: &str) -> Result<Vec<Value>, String> {
        self.search(
            "Patient",
            "identifier",
            &format!("{}|{}", escape(system), escape(value)),
        )
    }

    fn patients_by_birth_date(&self, date: &str) -> Result<Vec<Value>, String> {
        // Only full dates: a partial date would widen the match.
        if date.len() != 10 {
            return Ok(Vec::new());
        }
        self.search("Patient", "birthdate", &format!("eq{date}"))
    }

    fn encounter(&self, id: &str) -> Result<Option<Value>, String> {
        self.read("Encounter", id)
    }

    fn coverages(&self, patient_id: &str) -> Result<Vec<Value>, String> {
        self.search("Coverage", "patient", &format!("Patient/{patient_id}"))
    }

    fn organization(&self, id: &str) -> Result<Option<Value>, String> {
        self.read("Organization", id)
    }
}
