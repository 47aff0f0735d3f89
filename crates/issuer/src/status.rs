//! Revocation status lists as served (spec-digest §15, OP-08):
//! `{"kid": "<active ticket-signing kid>", "bits": base64url(gzip(bitstring))}`, bit *i* being
//! `byte[i/8] >> (i % 8) & 1` (LSB-first, as the IETF Token Status List), a set bit meaning
//! revoked.

use std::io::Write;

use serde::Serialize;
use tessera_jose::b64;

/// The JSON body of a status list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusListBody {
    /// Informational key-family id: the issuer's active ticket-signing `kid`.
    pub kid: String,
    /// base64url (no padding) of the gzip of the bitstring.
    pub bits: String,
}

/// The bitstring of a list of `size` bits with `revoked` set. A revoked index beyond `size`
/// (a list shrunk in the config after issuance) grows the list rather than being dropped: a
/// verifier must never read a revoked ticket as valid.
pub fn bitstring(size: u64, revoked: &[u64]) -> Vec<u8> {
    let needed = revoked.iter().map(|i| i / 8 + 1).max().unwrap_or(0);
    let bytes = usize::try_from((size / 8).max(needed)).unwrap_or(0);
    let mut bits = vec![0u8; bytes];
    for &i in revoked {
        if let Some(byte) = usize::try_from(i / 8).ok().and_then(|b| bits.get_mut(b)) {
            *byte |= 1 << (i % 8);
        }
    }
    bits
}

/// gzip + base64url of a bitstring.
pub fn encode_bits(bits: &[u8]) -> String {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing into a Vec cannot fail; `finish` only fails on a failing writer.
    let gz = enc
        .write_all(bits)
        .and_then(|()| enc.finish())
        .unwrap_or_default();
    b64::encode(gz)
}

#[cfg(test)]
mod tests {
    use super::*;

    // PT-REV-06 / OP-08: LSB-first numbering.
    #[test]
    fn bits_are_lsb_first() {
        let bits = bitstring(16, &[0, 7, 8]);
        assert_eq!(bits, vec![0b1000_0001, 0b0000_0001]);
        let bits = bitstring(8, &[4722]);
        assert_eq!(bits.len(), 591);
        assert_eq!(bits[590], 1 << 2);
    }

    #[test]
    fn encoding_round_trips_through_gzip() {
        use std::io::Read;
        let bits = bitstring(131_072, &[5, 99_999]);
        let gz = b64::decode(&encode_bits(&bits)).unwrap();
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(gz.as_slice())
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, bits);
    }
}
