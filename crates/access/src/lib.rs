//! Access algebra: SMART v2 scopes and ticket constraints combined into a Grant that judges
//! resources and compiles to storage filters. Pure: no I/O, no clock, no HTTP.
//!
//! Entry points: [`compute_grant`] (token endpoint), [`Grant::decide`] and
//! [`Grant::to_filter`] (FHIR API), [`extract_facts`] (storage ingest).

mod compute;
pub mod date;
pub mod designated;
mod error;
mod facts;
mod filter;
mod grant;
mod holder_filter;
mod intersect;
mod narrow;
mod policy;
mod public_health;
pub mod scope;
mod supporting;

pub use compute::{GrantRequest, MAX_SCOPES, compute_grant};
pub use error::{AccessError, OAuthCode};
pub use facts::{ResourceFacts, Token, extract_facts};
pub use filter::{Filter, TokenDim};
pub use grant::{
    Decision, Grant, GrantedScope, Interaction, NotGranted, PersonScope, SHARED_TYPES, Violation,
    Window,
};
pub use holder_filter::check_holder_filter;
pub use policy::{
    DEFAULT_PAYER_CLAIMS_TYPES, DEFAULT_SENSITIVE_CODES, DEFAULT_SERVED_TYPES, HolderProfile,
    Label, LocalPolicy, PAYER_TYPES, V3_ACT_CODE, V3_CONFIDENTIALITY,
};
pub use public_health::{
    COVID_LAB_CODES, COVID_VACCINE_CODES, DisclosurePolicy, default_public_health,
    validate_public_health,
};
pub use supporting::{MAX_SUPPORTING, shared_references};
