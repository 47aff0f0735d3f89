//! [`UdapError`]: the one error of the UDAP crate. Every variant names the check that failed;
//! [`UdapError::class`] sorts them into trust failures (the community does not vouch for this
//! certificate) and token defects (the signed JWT itself is wrong), the split RFC 7591 §3.2.2
//! makes between `unapproved_software_statement` and `invalid_software_statement`.

/// What kind of failure an error is, for mapping onto protocol codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The certificate chain is not trusted (untrusted root, expired, revoked, CRL missing).
    Trust,
    /// The signed JWT is defective (shape, signature, claims, lifetime, replay).
    Token,
}

/// Why a UDAP check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UdapError {
    /// Not PEM/DER we can read (anchors, chain, CRL, key).
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// What was being read.
        what: &'static str,
        /// The parser's complaint.
        detail: String,
    },
    /// The JWT is not a compact JWS we accept (size, shape, `alg`).
    #[error("malformed signed JWT: {0}")]
    MalformedJwt(String),
    /// The JWT header has no usable `x5c`.
    #[error("x5c header: {0}")]
    X5c(&'static str),
    /// More certificates than [`crate::MAX_CHAIN_LEN`].
    #[error("certificate chain longer than {0}")]
    ChainTooLong(usize),
    /// No path from the leaf to a configured anchor.
    #[error("certificate chain does not lead to a trusted anchor")]
    UntrustedChain,
    /// A certificate of the path has expired.
    #[error("certificate expired")]
    CertificateExpired,
    /// A certificate of the path is not valid yet.
    #[error("certificate not valid yet")]
    CertificateNotYetValid,
    /// A certificate of the path is on its issuer's CRL.
    #[error("certificate revoked")]
    Revoked,
    /// A certificate names a CRL distribution point and no CRL from its issuer is at hand.
    #[error("CRL unavailable for a certificate that names distribution point {0}")]
    CrlUnavailable(String),
    /// A CRL is expired, badly signed or unsupported.
    #[error("CRL not usable: {0}")]
    CrlInvalid(String),
    /// The leaf may not sign (key usage) or is not for this purpose (extended key usage).
    #[error("certificate key usage: {0}")]
    KeyUsage(&'static str),
    /// Any other path validation failure, named by the validator.
    #[error("certificate path invalid: {0}")]
    Path(String),
    /// The leaf's key cannot verify this `alg` (or is of a kind we do not use).
    #[error("certificate key does not fit alg {0}")]
    KeyAlgorithm(String),
    /// The JWT signature does not verify with the leaf certificate's key.
    #[error("signature does not verify with the x5c leaf certificate")]
    BadSignature,
    /// The leaf has no URI subjectAltName.
    #[error("certificate has no URI subjectAltName")]
    NoUriSan,
    /// `iss` is not a URI SAN of the leaf.
    #[error("iss is not a URI subjectAltName of the certificate")]
    IssNotSan,
    /// `sub` differs from `iss`.
    #[error("sub must equal iss")]
    SubNotIss,
    /// `aud` is not the expected URL.
    #[error("aud must be {0}")]
    Audience(String),
    /// A required claim is absent or of the wrong type.
    #[error("claim {0} missing or invalid")]
    Claim(&'static str),
    /// `exp` has passed.
    #[error("expired")]
    Expired,
    /// `iat` in the future, or `exp` − `iat` over the allowed lifetime.
    #[error("lifetime not acceptable (at most {0} s, not issued in the future)")]
    Lifetime(i64),
    /// The signed metadata disagrees with the unsigned metadata.
    #[error("signed_metadata {0} differs from the metadata document")]
    MetadataMismatch(&'static str),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Signing(String),
}

impl UdapError {
    /// Trust failure or token defect.
    pub fn class(&self) -> ErrorClass {
        match self {
            UdapError::UntrustedChain
            | UdapError::CertificateExpired
            | UdapError::CertificateNotYetValid
            | UdapError::Revoked
            | UdapError::CrlUnavailable(_)
            | UdapError::CrlInvalid(_)
            | UdapError::KeyUsage(_)
            | UdapError::ChainTooLong(_)
            | UdapError::Path(_) => ErrorClass::Trust,
            _ => ErrorClass::Token,
        }
    }

    pub(crate) fn malformed(what: &'static str, detail: impl std::fmt::Display) -> UdapError {
        UdapError::Malformed {
            what,
            detail: detail.to_string(),
        }
    }
}

/// Maps a webpki path-building error onto ours.
pub(crate) fn from_webpki(e: &webpki::Error) -> UdapError {
    use webpki::Error as W;
    match e {
        // A same-named but different issuer: the chain does not lead to our anchor.
        W::UnknownIssuer | W::InvalidSignatureForPublicKey => UdapError::UntrustedChain,
        W::CertExpired { .. } => UdapError::CertificateExpired,
        W::CertNotValidYet { .. } => UdapError::CertificateNotYetValid,
        W::CertRevoked => UdapError::Revoked,
        W::CrlExpired { .. } => UdapError::CrlInvalid("CRL next update has passed".into()),
        W::InvalidCrlSignatureForPublicKey => UdapError::CrlInvalid("bad CRL signature".into()),
        W::IssuerNotCrlSigner => UdapError::CrlInvalid("CRL issuer may not sign CRLs".into()),
        W::UnknownRevocationStatus => UdapError::CrlUnavailable("(issuer CRL)".into()),
        W::RequiredEkuNotFoundContext(_) => {
            UdapError::KeyUsage("extended key usage does not allow this purpose")
        }
        W::CaUsedAsEndEntity => UdapError::KeyUsage("a CA certificate used as the leaf"),
        W::MaximumPathDepthExceeded => UdapError::ChainTooLong(crate::MAX_CHAIN_LEN),
        other => UdapError::Path(format!("{other:?}")),
    }
}
