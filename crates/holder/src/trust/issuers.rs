//! Ticket-issuer trust (spec-digest §8, PT-TRUST): which `iss` values are known at all (so
//! keys are never fetched for anyone else, OP-05), and for which ticket types each is trusted.

use std::collections::HashMap;

use crate::config::IssuerConfig;
use crate::trust::keys::KeySource;

/// One configured issuer.
#[derive(Debug, Clone)]
pub struct TrustedIssuer {
    /// `iss`.
    pub iss: String,
    /// Its ticket-signing keys.
    pub keys: KeySource,
    /// Ticket types it is trusted for.
    pub ticket_types: Vec<String>,
    /// The Data Holder itself (payer claims, OP-21).
    pub self_issued: bool,
}

impl TrustedIssuer {
    /// Trusted for this ticket type?
    pub fn trusted_for(&self, ticket_type: &str) -> bool {
        self.ticket_types.iter().any(|t| t == ticket_type)
    }
}

/// The static allow-list of issuers.
#[derive(Debug, Clone, Default)]
pub struct IssuerRegistry {
    by_iss: HashMap<String, TrustedIssuer>,
}

impl IssuerRegistry {
    /// Builds the registry; a bad static key set names the issuer.
    pub fn from_config(list: &[IssuerConfig]) -> Result<IssuerRegistry, String> {
        let mut by_iss = HashMap::new();
        for (i, c) in list.iter().enumerate() {
            let keys = KeySource::for_entity(&c.keys, &c.iss)
                .map_err(|e| format!("config key `issuer[{i}]` keys: {e}"))?;
            by_iss.insert(
                c.iss.clone(),
                TrustedIssuer {
                    iss: c.iss.clone(),
                    keys,
                    ticket_types: c.ticket_types.clone(),
                    self_issued: c.self_issued,
                },
            );
        }
        Ok(IssuerRegistry { by_iss })
    }

    /// The issuer, if any trust policy names it.
    pub fn get(&self, iss: &str) -> Option<&TrustedIssuer> {
        self.by_iss.get(iss)
    }

    /// Every configured issuer (start-up cache warming).
    pub fn all(&self) -> impl Iterator<Item = &TrustedIssuer> {
        self.by_iss.values()
    }

    /// Every ticket type some issuer is trusted for (what discovery advertises).
    pub fn supported_types(&self) -> Vec<String> {
        let mut types: Vec<String> = tessera_ticket::claims::SUPPORTED_TICKET_TYPES
            .iter()
            .filter(|t| self.by_iss.values().any(|i| i.trusted_for(t)))
            .map(|t| t.to_string())
            .collect();
        types.dedup();
        types
    }
}
