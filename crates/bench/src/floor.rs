//! The cryptographic floor of one redemption, timed in-process in the same run as the load:
//! ticket parse + ES256 signature verification, client-assertion parse + ES256 verification,
//! and the token work (256 random bits, base64url, SHA-256). Every load figure is reported
//! as a ratio to this sum, so results from different (or busy) machines stay comparable.

use std::time::{Duration, Instant};

use tessera_holder::token::access_token::{new_token_string, token_hash};
use tessera_jose::{JwkSet, Limits, decode};
use tessera_ticket::UnverifiedTicket;

use crate::BenchError;
use crate::fixture::Fixture;

/// Mean time of each part of the floor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Floor {
    /// Ticket parse + signature verification.
    pub ticket_verify: Duration,
    /// Client assertion parse + signature verification.
    pub assertion_verify: Duration,
    /// Token generation and hashing.
    pub token_work: Duration,
}

impl Floor {
    /// The whole floor of one redemption.
    pub fn total(&self) -> Duration {
        self.ticket_verify + self.assertion_verify + self.token_work
    }
}

/// Measures each part over `iterations` runs (inputs signed beforehand).
pub fn measure(fx: &Fixture, iterations: usize) -> Result<Floor, BenchError> {
    let n = iterations.max(1);
    let issuer_keys = JwkSet::new(vec![fx.issuer.public().clone()]);
    let client_key = fx.client.public().clone();
    let tickets = (0..n)
        .map(|i| fx.ticket(i))
        .collect::<Result<Vec<_>, _>>()?;
    let assertions = (0..n)
        .map(|_| fx.assertion())
        .collect::<Result<Vec<_>, _>>()?;

    let t0 = Instant::now();
    for t in &tickets {
        UnverifiedTicket::parse(t, &tessera_ticket::Limits::ticket())
            .map_err(|e| BenchError::of("floor ticket", e))?
            .verify_signature(&issuer_keys)
            .map_err(|e| BenchError::of("floor ticket", e))?;
    }
    let ticket_verify = t0.elapsed() / n as u32;

    let t0 = Instant::now();
    for a in &assertions {
        decode(a, &Limits::client())
            .map_err(|e| BenchError::of("floor assertion", e))?
            .verify_with(&client_key)
            .map_err(|e| BenchError::of("floor assertion", e))?;
    }
    let assertion_verify = t0.elapsed() / n as u32;

    let t0 = Instant::now();
    for _ in 0..n {
        let token = new_token_string().map_err(BenchError)?;
        std::hint::black_box(token_hash(&token));
    }
    let token_work = t0.elapsed() / n as u32;

    Ok(Floor {
        ticket_verify,
        assertion_verify,
        token_work,
    })
}
