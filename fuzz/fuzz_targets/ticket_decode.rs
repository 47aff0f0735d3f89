//! Fuzz target: the first thing a Data Holder does with an attacker's `subject_token` — compact
//! JWS decoding (`tessera_jose::decode`) and step-3 ticket parsing
//! (`tessera_ticket::UnverifiedTicket::parse`), under the production ticket limits.
//!
//! Checks, beyond "no panic": the two agree — a ticket that parses also decodes, and what
//! decodes over the size limit never parses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_ticket::{Limits, UnverifiedTicket};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let limits = Limits::ticket();
    let decoded = tessera_jose::decode(input, &limits);
    let parsed = UnverifiedTicket::parse(input, &limits);
    if let Ok(t) = &parsed {
        assert!(decoded.is_ok());
        assert!(!t.kid().is_empty());
        let _ = (t.issuer(), t.alg(), t.envelope());
    }
    if input.len() > limits.max_token_len {
        assert!(parsed.is_err());
    }
});
