//! Integration tests of the Data Holder (one test binary; modules per area).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod adversarial;
mod evidence_profiles;
// The independent search-parameter reference the store's tests use, over HTTP here.
#[path = "../../../store/tests/it/expect.rs"]
mod expect;
mod federation_audience;
mod federation_client;
mod federation_issuer;
mod federation_support;
mod fhir_api;
mod fhir_bad_input;
mod fhir_enforcement;
mod fhir_loopback;
mod fhir_refusal_audit;
mod fhir_support;
mod fuzz_regressions;
mod interaction;
mod network;
mod operator_workbench;
mod ops;
mod policy_config;
mod policy_public_health;
mod policy_supporting;
mod refresh;
mod refusals;
mod registration_rfc7591;
mod token_e2e;
mod token_gaps;
mod token_group_commit;
mod token_http;
mod token_pipeline;
mod token_props;
mod token_seed;
mod token_support;
mod udap_audience;
mod udap_e2e;
mod udap_issuer;
mod udap_support;
mod well_known_client;
