//! A small UDAP PKI for tests and demos (feature `pki`): a root, an intermediate, and leaves
//! with URI SANs, chosen validity, CRL distribution points and keys (EC P-256 or RSA), plus
//! CRLs. Generated in-process with rcgen; never used by the Data Holder itself.

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CertifiedIssuer,
    CrlDistributionPoint, DnType, ExtendedKeyUsagePurpose, IsCa, KeyIdMethod, KeyPair,
    KeyUsagePurpose, RevocationReason, RevokedCertParams, SanType, SerialNumber,
};
use time::OffsetDateTime;

/// A generated certificate authority hierarchy: root → intermediate → leaves.
pub struct Pki {
    root: CertifiedIssuer<'static, KeyPair>,
    intermediate: CertifiedIssuer<'static, KeyPair>,
    next_serial: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pki").finish_non_exhaustive()
    }
}

/// What leaf to issue.
#[derive(Debug, Clone)]
pub struct LeafSpec {
    /// URI subjectAltNames.
    pub uri_sans: Vec<String>,
    /// notBefore, unix seconds.
    pub not_before: i64,
    /// notAfter, unix seconds.
    pub not_after: i64,
    /// A CRL distribution point URI.
    pub crl_uri: Option<String>,
    /// RSA 2048 instead of EC P-256.
    pub rsa: bool,
    /// Extended key usage: client auth (true) or server auth (false).
    pub client_auth: bool,
    /// keyUsage includes digitalSignature.
    pub digital_signature: bool,
}

impl LeafSpec {
    /// An EC client leaf for `san`, valid `[from, until]`.
    pub fn client(san: &str, from: i64, until: i64) -> LeafSpec {
        LeafSpec {
            uri_sans: vec![san.to_owned()],
            not_before: from,
            not_after: until,
            crl_uri: None,
            rsa: false,
            client_auth: true,
            digital_signature: true,
        }
    }

    /// An EC server/issuer leaf for `san`.
    pub fn server(san: &str, from: i64, until: i64) -> LeafSpec {
        LeafSpec {
            client_auth: false,
            ..LeafSpec::client(san, from, until)
        }
    }
}

/// An issued leaf.
#[derive(Debug, Clone)]
pub struct Leaf {
    /// DER chain: leaf, intermediate.
    pub chain: Vec<Vec<u8>>,
    /// PEM chain (leaf first).
    pub chain_pem: String,
    /// PKCS#8 private key, PEM.
    pub key_pem: String,
    /// Serial number (for CRLs).
    pub serial: u64,
}

fn time(t: i64) -> Result<OffsetDateTime, String> {
    OffsetDateTime::from_unix_timestamp(t).map_err(|e| e.to_string())
}

fn ca_params(
    cn: &str,
    from: i64,
    until: i64,
    crl_uri: Option<&str>,
) -> Result<CertificateParams, String> {
    let mut p = CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.not_before = time(from)?;
    p.not_after = time(until)?;
    p.use_authority_key_identifier_extension = true;
    p.key_identifier_method = KeyIdMethod::Sha256;
    if let Some(u) = crl_uri {
        p.crl_distribution_points = vec![CrlDistributionPoint {
            uris: vec![u.to_owned()],
        }];
    }
    Ok(p)
}

impl Pki {
    /// A root and intermediate named after `name`, valid `[from, until]`. With
    /// `intermediate_crl_uri`, the intermediate names that CRL distribution point (the root's
    /// CRL).
    pub fn new(
        name: &str,
        from: i64,
        until: i64,
        intermediate_crl_uri: Option<&str>,
    ) -> Result<Pki, String> {
        let root_key = KeyPair::generate().map_err(|e| e.to_string())?;
        let root = CertifiedIssuer::self_signed(
            ca_params(&format!("{name} Root CA"), from, until, None)?,
            root_key,
        )
        .map_err(|e| e.to_string())?;
        let int_key = KeyPair::generate().map_err(|e| e.to_string())?;
        let mut ip = ca_params(
            &format!("{name} Intermediate CA"),
            from,
            until,
            intermediate_crl_uri,
        )?;
        ip.serial_number = Some(SerialNumber::from(2u64));
        let intermediate =
            CertifiedIssuer::signed_by(ip, int_key, &root).map_err(|e| e.to_string())?;
        Ok(Pki {
            root,
            intermediate,
            next_serial: std::sync::atomic::AtomicU64::new(100),
        })
    }

    /// The root certificate, PEM (the trust anchor).
    pub fn root_pem(&self) -> String {
        self.root.pem()
    }

    /// The root certificate, DER.
    pub fn root_der(&self) -> Vec<u8> {
        self.root.der().as_ref().to_vec()
    }

    /// The intermediate certificate, DER.
    pub fn intermediate_der(&self) -> Vec<u8> {
        self.intermediate.der().as_ref().to_vec()
    }

    /// Issues a leaf under the intermediate.
    pub fn leaf(&self, spec: &LeafSpec) -> Result<Leaf, String> {
        let serial = self
            .next_serial
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let key = if spec.rsa {
            KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
        } else {
            KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        }
        .map_err(|e| e.to_string())?;
        let mut p = CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
        p.distinguished_name.push(
            DnType::CommonName,
            spec.uri_sans
                .first()
                .cloned()
                .unwrap_or_else(|| "leaf".into()),
        );
        p.subject_alt_names = spec
            .uri_sans
            .iter()
            .map(|u| {
                u.as_str()
                    .try_into()
                    .map(SanType::URI)
                    .map_err(|e: rcgen::Error| e.to_string())
            })
            .collect::<Result<_, _>>()?;
        p.not_before = time(spec.not_before)?;
        p.not_after = time(spec.not_after)?;
        p.serial_number = Some(SerialNumber::from(serial));
        p.key_usages = if spec.digital_signature {
            vec![KeyUsagePurpose::DigitalSignature]
        } else {
            vec![KeyUsagePurpose::KeyEncipherment]
        };
        p.extended_key_usages = vec![if spec.client_auth {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        p.use_authority_key_identifier_extension = true;
        if let Some(u) = &spec.crl_uri {
            p.crl_distribution_points = vec![CrlDistributionPoint {
                uris: vec![u.clone()],
            }];
        }
        let cert = p
            .signed_by(&key, &self.intermediate)
            .map_err(|e| e.to_string())?;
        let chain = vec![cert.der().as_ref().to_vec(), self.intermediate_der()];
        Ok(Leaf {
            chain_pem: format!("{}{}", cert.pem(), self.intermediate.pem()),
            chain,
            key_pem: key.serialize_pem(),
            serial,
        })
    }

    /// A CRL of the intermediate revoking `serials`, valid `[this_update, next_update]`.
    pub fn intermediate_crl(
        &self,
        serials: &[u64],
        this_update: i64,
        next_update: i64,
    ) -> Result<Vec<u8>, String> {
        crl(&self.intermediate, serials, this_update, next_update)
    }

    /// A CRL of the root revoking `serials` (the intermediate is serial 2).
    pub fn root_crl(
        &self,
        serials: &[u64],
        this_update: i64,
        next_update: i64,
    ) -> Result<Vec<u8>, String> {
        crl(&self.root, serials, this_update, next_update)
    }
}

fn crl(
    issuer: &CertifiedIssuer<'static, KeyPair>,
    serials: &[u64],
    this_update: i64,
    next_update: i64,
) -> Result<Vec<u8>, String> {
    let params = CertificateRevocationListParams {
        this_update: time(this_update)?,
        next_update: time(next_update)?,
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: serials
            .iter()
            .map(|s| {
                Ok(RevokedCertParams {
                    serial_number: SerialNumber::from(*s),
                    revocation_time: time(this_update)?,
                    reason_code: Some(RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
            })
            .collect::<Result<_, String>>()?,
        key_identifier_method: KeyIdMethod::Sha256,
    };
    let crl = params.signed_by(issuer).map_err(|e| e.to_string())?;
    Ok(crl.der().as_ref().to_vec())
}
