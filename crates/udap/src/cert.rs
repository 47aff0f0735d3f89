//! What we read from one certificate with x509-parser: URI subjectAltNames, key usage, CRL
//! distribution points, the issuer name, and the subject public key as a JWK. Path validation
//! itself is webpki's (`chain.rs`); this module never decides trust.

use tessera_jose::{EcCurve, Jwk, PublicKey};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_PKCS1_RSAENCRYPTION,
};
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey as X509Key;

use crate::UdapError;

/// Largest certificate accepted, bytes.
pub const MAX_CERT_LEN: usize = 16 * 1024;

/// The facts of one certificate this crate uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// URI subjectAltNames, in order.
    pub uri_sans: Vec<String>,
    /// The keyUsage extension allows digitalSignature (true when the extension is absent).
    pub digital_signature: bool,
    /// URIs of the CRL distribution points.
    pub crl_distribution_points: Vec<String>,
    /// DER of the issuer Name.
    pub issuer_raw: Vec<u8>,
    /// DER of the subject Name.
    pub subject_raw: Vec<u8>,
    /// Subject, for display.
    pub subject: String,
    /// Issuer, for display.
    pub issuer: String,
    /// Serial number, hex.
    pub serial: String,
    /// notBefore, unix seconds.
    pub not_before: i64,
    /// notAfter, unix seconds.
    pub not_after: i64,
    /// The subject public key, if of a kind we sign with (EC P-256/P-384, RSA).
    pub public_key: Option<Jwk>,
}

/// Reads a DER certificate.
pub fn inspect(der: &[u8]) -> Result<CertInfo, UdapError> {
    if der.len() > MAX_CERT_LEN {
        return Err(UdapError::malformed("certificate", "too large"));
    }
    let (rest, cert) =
        X509Certificate::from_der(der).map_err(|e| UdapError::malformed("certificate", e))?;
    if !rest.is_empty() {
        return Err(UdapError::malformed("certificate", "trailing data"));
    }
    let mut uri_sans = Vec::new();
    let mut digital_signature = true;
    let mut crl_distribution_points = Vec::new();
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(san) => {
                for n in &san.general_names {
                    if let GeneralName::URI(u) = n {
                        uri_sans.push((*u).to_owned());
                    }
                }
            }
            ParsedExtension::KeyUsage(ku) => digital_signature = ku.digital_signature(),
            ParsedExtension::CRLDistributionPoints(points) => {
                for p in points.iter() {
                    if let Some(DistributionPointName::FullName(names)) = &p.distribution_point {
                        for n in names {
                            if let GeneralName::URI(u) = n {
                                crl_distribution_points.push((*u).to_owned());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(CertInfo {
        uri_sans,
        digital_signature,
        crl_distribution_points,
        issuer_raw: cert.issuer().as_raw().to_vec(),
        subject_raw: cert.subject().as_raw().to_vec(),
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        serial: cert.raw_serial_as_string(),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        public_key: public_jwk(&cert),
    })
}

fn public_jwk(cert: &X509Certificate<'_>) -> Option<Jwk> {
    let spki = cert.public_key();
    let alg = &spki.algorithm.algorithm;
    let key = match spki.parsed().ok()? {
        X509Key::EC(point) if *alg == OID_KEY_TYPE_EC_PUBLIC_KEY => {
            let curve_oid = spki.algorithm.parameters.as_ref()?.as_oid().ok()?;
            let crv = if curve_oid == OID_EC_P256 {
                EcCurve::P256
            } else if curve_oid == OID_NIST_EC_P384 {
                EcCurve::P384
            } else {
                return None;
            };
            let data = point.data();
            let n = crv.coordinate_len();
            // Uncompressed point only: 0x04 || x || y.
            if data.len() != 1 + 2 * n || data.first() != Some(&4) {
                return None;
            }
            PublicKey::Ec {
                crv,
                x: data.get(1..=n)?.to_vec(),
                y: data.get(1 + n..)?.to_vec(),
            }
        }
        X509Key::RSA(rsa) if *alg == OID_PKCS1_RSAENCRYPTION => PublicKey::Rsa {
            n: strip_zeros(rsa.modulus),
            e: strip_zeros(rsa.exponent),
        },
        _ => return None,
    };
    Some(Jwk {
        key,
        kid: None,
        alg: None,
        use_: None,
    })
}

fn strip_zeros(b: &[u8]) -> Vec<u8> {
    let start = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    b.get(start..).unwrap_or_default().to_vec()
}

/// The DER of a CRL's issuer Name, for matching CRLs to certificates.
pub(crate) fn crl_issuer(der: &[u8]) -> Result<Vec<u8>, UdapError> {
    let (_, crl) = x509_parser::revocation_list::CertificateRevocationList::from_der(der)
        .map_err(|e| UdapError::malformed("CRL", e))?;
    Ok(crl.issuer().as_raw().to_vec())
}
