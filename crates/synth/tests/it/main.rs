//! Integration tests of tessera-synth: determinism, FHIR shape, codes, labels, streaming.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod determinism;
mod shape;
mod stream;
mod support;
