//! Fuzz target: revocation status-list decoding (`tessera_holder::trust::status_list`), the
//! body an issuer's `revocation.url` serves: JSON → base64url (or standard) → gzip → bits.
//!
//! Input layout: byte 0 and 1 are a little-endian bit index to look up; the rest is the body.
//! Checks, beyond "no panic": a decoded list never exceeds `MAX_LIST_BYTES` (a gzip bomb is
//! refused, not inflated without bound); lookups inside the list succeed and agree with the
//! bit layout (LSB-first), lookups beyond it are `OutOfRange`; re-encoding the decoded bits
//! with `encode_body` decodes to the same list (checked for lists up to 4 KiB).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_holder::trust::status_list::{
    MAX_LIST_BYTES, StatusList, StatusListError, encode_body,
};

fuzz_target!(|data: &[u8]| {
    let [lo, hi, body @ ..] = data else { return };
    let Ok(list) = StatusList::decode(body) else {
        return;
    };
    let len = list.len_bits();
    assert!(len / 8 <= MAX_LIST_BYTES);
    assert!(matches!(
        list.is_revoked(len),
        Err(StatusListError::OutOfRange { .. })
    ));
    assert!(list.is_revoked(u64::MAX).is_err());
    let index = u64::from(u16::from_le_bytes([*lo, *hi]));
    let bit = list.is_revoked(index);
    assert_eq!(bit.is_ok(), index < len);
    // Rebuild the byte string from single-bit lookups and re-encode it (small lists only: a
    // 16 MiB list would take 2^27 lookups).
    if len > 8 * 4096 {
        return;
    }
    let bytes: Vec<u8> = (0..len / 8)
        .map(|i| {
            (0..8).fold(0u8, |acc, b| {
                let set = list.is_revoked(i * 8 + b).expect("inside the list");
                acc | (u8::from(set) << b)
            })
        })
        .collect();
    let again = StatusList::decode(encode_body(list.kid.as_deref(), &bytes).as_bytes())
        .expect("an encoded list decodes");
    assert_eq!(again, list);
});
