//! Integration tests of tessera-fhir (one test binary; modules per area).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod fuzz_regressions;
mod props;
