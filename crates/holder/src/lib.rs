//! The Data Holder: token endpoint (RFC 8693), FHIR R4 API, discovery, audit.

pub mod app;
pub mod audit;
pub mod auth;
pub mod config;
pub mod discovery;
pub mod evidence;
pub mod federation;
pub mod fhir;
pub mod network;
pub mod ops;
pub mod registration;
pub mod serve;
pub mod state;
pub mod subject;
pub mod token;
pub mod trust;
pub mod udap;
pub mod workbench;

pub use fhir::{FhirState, fhir_router};

pub use app::app;
pub use config::Config;
pub use state::{Clock, FixedClock, HolderState};
