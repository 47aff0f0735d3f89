//! Fuzz target: X.509 certificates and chains as a UDAP party presents them (`x5c`, anchors,
//! CRLs): `tessera_udap::inspect` (URI SANs, keyUsage, distribution points, key),
//! `parse_pem_certs`, `distribution_points`, `CrlSet::add` and `validate` of the input as a
//! one-certificate chain against itself as the anchor.
//!
//! Checks, beyond "no panic": a certificate `inspect` accepts is at most `MAX_CERT_LEN`;
//! chain validation of an input that is not a certificate never succeeds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_udap::{
    Anchors, CrlSet, MAX_CERT_LEN, Purpose, distribution_points, inspect, parse_pem_certs, validate,
};

fuzz_target!(|data: &[u8]| {
    let der = data.to_vec();
    let inspected = inspect(data);
    if inspected.is_ok() {
        assert!(data.len() <= MAX_CERT_LEN);
    }
    let _ = distribution_points(std::slice::from_ref(&der));
    let _ = CrlSet::new().add(data);
    if let Ok(certs) = parse_pem_certs(data) {
        let _ = certs.iter().map(|c| inspect(c)).count();
    }
    if let Ok(anchors) = Anchors::from_der(vec![der.clone()]) {
        let validated = validate(
            std::slice::from_ref(&der),
            &anchors,
            &CrlSet::new(),
            1_800_000_000,
            Purpose::Client,
        );
        if validated.is_ok() {
            assert!(
                inspected.is_ok(),
                "a chain validated whose leaf does not parse"
            );
        }
    }
});
