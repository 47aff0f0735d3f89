//! Integration tests of the Data Holder (one test binary; modules per area).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod adversarial;
mod fhir_api;
mod fhir_bad_input;
mod fhir_enforcement;
mod fhir_loopback;
mod fhir_support;
mod token_e2e;
mod token_group_commit;
mod token_http;
mod token_pipeline;
mod token_props;
mod token_seed;
mod token_support;
