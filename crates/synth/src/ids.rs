//! Deterministic identifiers: resource UUIDs, MRNs and member ids derived from the seed.
//!
//! Nothing here is random: a UUID is a 128-bit hash of `(namespace, kind, indices)` laid out
//! as an RFC 9562 version-8 ("custom") UUID, so re-running the generator reproduces every id
//! and two datasets with different seeds never share patient-level ids. Site-level ids
//! (Organization, Location, Practitioner, payers) do not depend on the seed, so datasets
//! generated with different seeds agree on who the providers are.

use crate::prng::{combine, derive};

/// The cross-site person id (`PERSON_ID_SYSTEM`) of patient `index`.
pub(crate) fn person_id(seed: u64, index: u64) -> String {
    format!("person-{:016x}", derive("person", &[seed, index]))
}

/// A deterministic RFC 9562 version-8 UUID, lower-case hyphenated.
pub(crate) fn uuid(tag: &str, words: &[u64]) -> String {
    let hi = derive(tag, words);
    let lo = combine(hi, 0x5bd1_e995);
    let mut bytes = [0_u8; 16];
    for (slot, byte) in bytes
        .iter_mut()
        .zip(hi.to_be_bytes().into_iter().chain(lo.to_be_bytes()))
    {
        *slot = byte;
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x80; // version 8
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 9562 variant
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(36);
    for (n, byte) in bytes.iter().enumerate() {
        if matches!(n, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

/// A bijection on `0..10^8` keyed by `key`: distinct patients get distinct numbers, so MRNs and
/// member ids never collide (up to 10^8 patients, above our bound).
pub(crate) fn permute_1e8(index: u64, key: u64) -> u64 {
    const MODULUS: u64 = 100_000_000;
    // Any multiplier coprime with 10^8 (odd, not a multiple of 5) is a bijection mod 10^8.
    let mut multiplier = (key % MODULUS) | 1;
    if multiplier.is_multiple_of(5) {
        multiplier += 2;
    }
    let offset = combine(key, 1) % MODULUS;
    ((index % MODULUS) * multiplier + offset) % MODULUS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape_is_rfc9562_v8() {
        let id = uuid("patient", &[42, 0]);
        assert_eq!(id.len(), 36);
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            vec![8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('8'));
        assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
        assert_eq!(id, uuid("patient", &[42, 0]));
        assert_ne!(id, uuid("patient", &[42, 1]));
        assert_ne!(id, uuid("encounter", &[42, 0]));
    }

    #[test]
    fn permutation_is_injective_on_a_sample() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..50_000 {
            assert!(seen.insert(permute_1e8(i, 0xdead_beef)));
        }
        assert!(seen.iter().all(|&v| v < 100_000_000));
    }
}
