//! The supported ticket types as an enum: `ticket_type` is the sole processing discriminator,
//! so after step 5 the code matches on this, never on URI strings.

use std::fmt;

use crate::claims::{
    TYPE_DELEGATED_ACCESS, TYPE_PAYER_CLAIMS, TYPE_PUBLIC_HEALTH, TYPE_QUALITY_GAP,
    TYPE_SELF_ACCESS,
};

/// A ticket type this implementation understands (ticket-types.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TicketType {
    /// Patient Self Access.
    SelfAccess,
    /// Patient-Delegated Access.
    DelegatedAccess,
    /// Payer Claims Adjudication (self-issued by the Data Holder).
    PayerClaims,
    /// Payer Quality Gap Queries.
    QualityGap,
    /// Public Health Investigation (modeled, deferred by the spec; OP-41).
    PublicHealth,
}

impl TicketType {
    /// Every supported type.
    pub const ALL: [TicketType; 5] = [
        TicketType::SelfAccess,
        TicketType::DelegatedAccess,
        TicketType::PayerClaims,
        TicketType::QualityGap,
        TicketType::PublicHealth,
    ];

    /// The `ticket_type` URI.
    pub fn uri(self) -> &'static str {
        match self {
            TicketType::SelfAccess => TYPE_SELF_ACCESS,
            TicketType::DelegatedAccess => TYPE_DELEGATED_ACCESS,
            TicketType::PayerClaims => TYPE_PAYER_CLAIMS,
            TicketType::QualityGap => TYPE_QUALITY_GAP,
            TicketType::PublicHealth => TYPE_PUBLIC_HEALTH,
        }
    }

    /// The type a URI names, if supported.
    pub fn from_uri(uri: &str) -> Option<TicketType> {
        TicketType::ALL.into_iter().find(|t| t.uri() == uri)
    }

    /// Individual-access types must be presenter-bound (PT-BIND-04).
    pub fn requires_binding(self) -> bool {
        matches!(self, TicketType::SelfAccess | TicketType::DelegatedAccess)
    }
}

impl fmt::Display for TicketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.uri())
    }
}
