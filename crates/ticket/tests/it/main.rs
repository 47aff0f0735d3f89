//! Integration tests of tessera-ticket, driven by the committed test vectors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod fuzz_regressions;
mod holder_filter_shapes;
mod props;
mod seed;
mod stages;
mod support;
mod vectors;
