//! Shared helpers of the fuzz targets: fixed test keys (the committed, public test-vector keys,
//! so a crash reproduces byte for byte), a poll-once executor for the holder's async client
//! authentication, and input splitting.
//!
//! Nothing here may hide a failure: a helper that cannot set up its fixture panics, which
//! libFuzzer reports as a crash on the first input (a broken harness is loud, never silent).
#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use tessera_jose::{JwkSigner, PrivateJwk};

/// The fixed ES256 ticket-issuer key of the generated vectors (test-only, public).
pub const ISSUER_ES256: &str =
    include_str!("../../test-vectors/keys/test-issuer-es256.private.jwk.json");
/// An unrelated ES256 key (a client's, a DPoP proof key).
pub const OTHER_ES256: &str =
    include_str!("../../test-vectors/keys/test-other-es256.private.jwk.json");

/// A private key from one of the constants above.
pub fn private_key(json: &str) -> PrivateJwk {
    PrivateJwk::from_json(json.as_bytes()).expect("committed test key parses")
}

/// A signer for one of the constants above.
pub fn signer(json: &str) -> JwkSigner {
    private_key(json)
        .signer()
        .expect("committed test key signs")
}

/// Polls `fut` once with a no-op waker. The holder's client authentication with static keys
/// and an in-memory replay cache never awaits I/O, so one poll finishes it; `None` means it
/// would have waited, which for these fixtures is a harness bug the caller reports.
pub fn poll_once<F: Future>(fut: F) -> Option<F::Output> {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

/// Splits `data` at the first `\n` into (first line, rest); no newline: (all, empty).
pub fn split_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}
