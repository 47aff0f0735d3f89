//! RFC 5280 path validation of an `x5c` chain to a community's trust anchors, by webpki
//! (rustls-webpki over aws-lc-rs): path building through the supplied intermediates,
//! signatures, validity at `now`, basic constraints, name constraints, extended key usage,
//! and revocation against the CRLs the caller supplies. On top of webpki, two checks of ours:
//! the leaf's keyUsage must allow digitalSignature, and every certificate that names a CRL
//! distribution point must have a CRL from its issuer at hand (fail closed).

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, UnixTime};
use tessera_jose::Jwk;
use webpki::{
    CertRevocationList, EndEntityCert, ExpirationPolicy, KeyUsage, OwnedCertRevocationList,
    RevocationCheckDepth, RevocationOptionsBuilder, UnknownStatusPolicy,
};

use crate::cert::{CertInfo, inspect};
use crate::error::from_webpki;
use crate::{MAX_CHAIN_LEN, UdapError};

/// Certificate and CRL signature algorithms accepted on a path (an allow-list: ECDSA P-256 and
/// P-384, RSA PKCS#1 v1.5 and PSS with 2048–8192-bit keys; no SHA-1, no Ed25519, no ML-DSA).
static CERT_SIGNATURE_ALGS: &[&dyn rustls_pki_types::SignatureVerificationAlgorithm] = &[
    webpki::aws_lc_rs::ECDSA_P256_SHA256,
    webpki::aws_lc_rs::ECDSA_P256_SHA384,
    webpki::aws_lc_rs::ECDSA_P384_SHA256,
    webpki::aws_lc_rs::ECDSA_P384_SHA384,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA384,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA512,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
];

/// What the leaf certificate is used for (its extended key usage, when it has one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A client: software statements, client assertions (`id-kp-clientAuth` if EKU present).
    Client,
    /// A server or issuer: signed metadata (`id-kp-serverAuth` if EKU present).
    Server,
}

/// A community's trust anchors (DER certificates).
#[derive(Debug, Clone, Default)]
pub struct Anchors {
    certs: Vec<CertificateDer<'static>>,
}

impl Anchors {
    /// Reads one or more PEM `CERTIFICATE` blocks; each must be a usable anchor.
    pub fn from_pem(pem: &[u8]) -> Result<Anchors, UdapError> {
        let certs = parse_pem_certs(pem)?;
        Anchors::from_der(certs)
    }

    /// Anchors from DER certificates.
    pub fn from_der(certs: Vec<Vec<u8>>) -> Result<Anchors, UdapError> {
        if certs.is_empty() {
            return Err(UdapError::malformed("trust anchors", "no certificate"));
        }
        let certs: Vec<CertificateDer<'static>> =
            certs.into_iter().map(CertificateDer::from).collect();
        for c in &certs {
            webpki::anchor_from_trusted_cert(c)
                .map_err(|e| UdapError::malformed("trust anchor", format!("{e:?}")))?;
        }
        Ok(Anchors { certs })
    }

    /// The anchors' DER certificates.
    pub fn certificates(&self) -> impl Iterator<Item = &[u8]> {
        self.certs.iter().map(|c| c.as_ref())
    }
}

/// Reads PEM `CERTIFICATE` blocks (leaf first for chains).
pub fn parse_pem_certs(pem: &[u8]) -> Result<Vec<Vec<u8>>, UdapError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .map(|r| r.map(|c| c.as_ref().to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| UdapError::malformed("PEM certificates", e))?;
    if certs.is_empty() {
        return Err(UdapError::malformed(
            "PEM certificates",
            "no CERTIFICATE block",
        ));
    }
    Ok(certs)
}

/// CRLs at hand (configured files and those fetched from distribution points).
#[derive(Debug, Default)]
pub struct CrlSet {
    crls: Vec<(Vec<u8>, CertRevocationList<'static>)>,
}

impl CrlSet {
    /// An empty set.
    pub fn new() -> CrlSet {
        CrlSet::default()
    }

    /// Adds a CRL given as DER or PEM (`X509 CRL`).
    pub fn add(&mut self, bytes: &[u8]) -> Result<(), UdapError> {
        let der = if bytes.starts_with(b"-----") {
            CertificateRevocationListDer::from_pem_slice(bytes)
                .map_err(|e| UdapError::malformed("CRL", e))?
                .as_ref()
                .to_vec()
        } else {
            bytes.to_vec()
        };
        let issuer = crate::cert::crl_issuer(&der)?;
        let owned = OwnedCertRevocationList::from_der(&der)
            .map_err(|e| UdapError::CrlInvalid(format!("{e:?}")))?;
        self.crls.push((issuer, owned.into()));
        Ok(())
    }

    /// Number of CRLs.
    pub fn len(&self) -> usize {
        self.crls.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.crls.is_empty()
    }

    fn has_issuer(&self, issuer_raw: &[u8]) -> bool {
        self.crls.iter().any(|(i, _)| i == issuer_raw)
    }
}

/// A chain that validated: its leaf's facts and the anchor it reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedChain {
    /// The leaf certificate (DER).
    pub leaf_der: Vec<u8>,
    /// The leaf's facts.
    pub leaf: CertInfo,
    /// The leaf's public key (EC or RSA).
    pub leaf_key: Jwk,
    /// The subject of the anchor reached, for audit.
    pub anchor_subject: String,
}

impl ValidatedChain {
    /// The leaf's URI subjectAltNames.
    pub fn uri_sans(&self) -> &[String] {
        &self.leaf.uri_sans
    }
}

/// The CRL distribution point URIs of every certificate of `chain` (leaf first), deduplicated:
/// what a caller fetches before [`validate`].
pub fn distribution_points(chain: &[Vec<u8>]) -> Result<Vec<String>, UdapError> {
    let mut out: Vec<String> = Vec::new();
    for der in chain.iter().take(MAX_CHAIN_LEN) {
        for uri in inspect(der)?.crl_distribution_points {
            if !out.contains(&uri) {
                out.push(uri);
            }
        }
    }
    Ok(out)
}

/// Validates `chain` (leaf first, then intermediates; an anchor copy at the end is allowed)
/// to one of `anchors` at `now` for `purpose`, checking revocation against `crls`.
pub fn validate(
    chain: &[Vec<u8>],
    anchors: &Anchors,
    crls: &CrlSet,
    now: i64,
    purpose: Purpose,
) -> Result<ValidatedChain, UdapError> {
    if chain.len() > MAX_CHAIN_LEN {
        return Err(UdapError::ChainTooLong(MAX_CHAIN_LEN));
    }
    let (leaf_der, intermediates) = chain
        .split_first()
        .ok_or(UdapError::X5c("empty certificate chain"))?;
    let infos = chain
        .iter()
        .map(|c| inspect(c))
        .collect::<Result<Vec<_>, _>>()?;
    let leaf = infos
        .first()
        .cloned()
        .ok_or(UdapError::X5c("empty certificate chain"))?;
    if !leaf.digital_signature {
        return Err(UdapError::KeyUsage("leaf keyUsage lacks digitalSignature"));
    }
    // Fail closed: webpki only checks revocation where it finds an authoritative CRL.
    for info in &infos {
        if let Some(uri) = info.crl_distribution_points.first()
            && !crls.has_issuer(&info.issuer_raw)
        {
            return Err(UdapError::CrlUnavailable(uri.clone()));
        }
    }
    let leaf_cert = CertificateDer::from(leaf_der.as_slice());
    let ee = EndEntityCert::try_from(&leaf_cert)
        .map_err(|e| UdapError::malformed("leaf certificate", format!("{e:?}")))?;
    let trust_anchors = anchors
        .certs
        .iter()
        .map(webpki::anchor_from_trusted_cert)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| UdapError::malformed("trust anchor", format!("{e:?}")))?;
    let inter: Vec<CertificateDer<'_>> = intermediates
        .iter()
        .map(|c| CertificateDer::from(c.as_slice()))
        .collect();
    let crl_refs: Vec<&CertRevocationList<'static>> = crls.crls.iter().map(|(_, c)| c).collect();
    let revocation = match RevocationOptionsBuilder::new(&crl_refs) {
        Ok(b) => Some(
            b.with_depth(RevocationCheckDepth::Chain)
                .with_status_policy(UnknownStatusPolicy::Allow)
                .with_expiration_policy(ExpirationPolicy::Enforce)
                .build(),
        ),
        Err(_) => None, // no CRLs at all: nothing names a distribution point (checked above)
    };
    let usage = match purpose {
        Purpose::Client => KeyUsage::client_auth(),
        Purpose::Server => KeyUsage::server_auth(),
    };
    let secs = u64::try_from(now).map_err(|_| UdapError::Path("time before 1970".into()))?;
    let path = ee
        .verify_for_usage(
            CERT_SIGNATURE_ALGS,
            &trust_anchors,
            &inter,
            UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs)),
            usage,
            revocation,
            None,
        )
        .map_err(|e| from_webpki(&e))?;
    let anchor = path.anchor();
    let anchor_subject = anchors
        .certs
        .iter()
        .filter_map(|c| inspect(c).ok())
        .find(|i| strip_seq(&i.subject_raw) == anchor.subject.as_ref())
        .map(|i| i.subject)
        .unwrap_or_default();
    let leaf_key = leaf.public_key.clone().ok_or(UdapError::KeyAlgorithm(
        "(unsupported certificate key)".into(),
    ))?;
    Ok(ValidatedChain {
        leaf_der: leaf_der.clone(),
        leaf,
        leaf_key,
        anchor_subject,
    })
}

/// webpki's anchor subject is the Name's content without its SEQUENCE header.
fn strip_seq(name: &[u8]) -> &[u8] {
    match name {
        [0x30, len, rest @ ..] if *len < 0x80 => rest,
        [0x30, 0x81, _, rest @ ..] => rest,
        [0x30, 0x82, _, _, rest @ ..] => rest,
        _ => name,
    }
}
