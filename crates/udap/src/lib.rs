//! UDAP trust for Tessera (HL7 UDAP Security IG STU 2): X.509 chain validation to a
//! community's anchors with CRL revocation, x5c-signed JWTs (software statements, client
//! assertions, signed metadata), and a PKCS#8 signer for our own community certificate.
//!
//! Pure: no HTTP, no clock, no storage. `now` is a parameter; CRLs are bytes the caller
//! fetched (its distribution points come from [`X5cJwt::distribution_points`]).
//!
//! ```text
//! X5cJwt::decode(token, algs)  -> chain, distribution points     (not trusted yet)
//!   .verify(&Anchors, &CrlSet, now, Purpose) -> VerifiedX5c       (path + signature)
//! claims::check(&VerifiedX5c, Signer::San | Signer::Client, Rules) (iss/sub/aud/exp/jti)
//! metadata::sign_metadata / verify_metadata                         (signed_metadata)
//! ```
//!
//! Path validation is rustls-webpki's (RFC 5280 path building, CRLs); certificate fields it
//! does not expose (URI SANs, keyUsage, distribution points, the key) are read with
//! x509-parser. See docs/decisions.md, "UDAP and dynamic client registration".

mod cert;
mod chain;
pub mod claims;
mod error;
pub mod metadata;
mod signer;
mod x5c;

#[cfg(feature = "pki")]
pub mod pki;

pub use cert::{CertInfo, MAX_CERT_LEN, inspect};
pub use chain::{
    Anchors, CrlSet, Purpose, ValidatedChain, distribution_points, parse_pem_certs, validate,
};
pub use error::{ErrorClass, UdapError};
pub use signer::Pkcs8Signer;
pub use x5c::{MAX_X5C_JWT_LEN, VerifiedX5c, X5cJwt, sign_x5c};

/// Most certificates accepted in one `x5c` chain (leaf, intermediates, optional anchor).
pub const MAX_CHAIN_LEN: usize = 5;

/// The `udap` version this implementation speaks (`udap_versions_supported`).
pub const UDAP_VERSION: &str = "1";
