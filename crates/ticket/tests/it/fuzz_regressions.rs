//! Inputs the fuzz targets found (docs/security.md, "Findings"), kept as regression tests.

use std::sync::LazyLock;

use serde_json::{Map, Value};
use tessera_jose::{Alg, JwkSet, PrivateJwk, sign_compact};
use tessera_ticket::{VerifyOptions, check_payload, verify};

static KEY: LazyLock<PrivateJwk> = LazyLock::new(|| PrivateJwk::generate(Alg::Es256).unwrap());

/// Fuzz target `ticket_claims`, finding 3: the payload holds, inside a carried unknown member,
/// an integer too large for i64 (it becomes an f64). Read as a `Value` first (`check_payload`,
/// what an issuer checks) and read straight from the signed bytes (`verify`, what a Data Holder
/// sees), it must be the same number: a float parser that is not correctly rounded gave two
/// values one ulp apart.
#[test]
fn pt_field_01_issuer_check_and_holder_verify_see_the_same_claims_bit_for_bit() {
    let bytes =
        include_bytes!("../../../../fuzz/corpus/ticket_claims/finding-3-float-rounding.json");
    let payload: Map<String, Value> = serde_json::from_slice(bytes).unwrap();
    let opts = VerifyOptions {
        leeway: 0,
        ..VerifyOptions::default()
    };
    let checked = check_payload(&payload, &opts).unwrap();
    let signed = serde_json::to_vec(&payload).unwrap();
    let token = sign_compact(&Map::new(), &signed, &KEY.signer().unwrap()).unwrap();
    let keys = JwkSet::new(vec![KEY.public().clone()]);
    let now = payload["iat"].as_i64().unwrap();
    let verified = verify(&token, &keys, now, &opts).unwrap();
    assert_eq!(checked.claims(), verified.claims());
}
