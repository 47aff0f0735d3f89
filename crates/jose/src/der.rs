//! A minimal DER reader: just enough to pull the RSA components out of the PKCS#8 document
//! aws-lc-rs produces for a freshly generated key (it exposes no component getters).
//!
//! Input is our own crypto library's output, never peer data, but the reader is still strict
//! and bounds-checked.

use crate::JoseError;

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;

/// The integers of a PKCS#1 `RSAPrivateKey`, big-endian without sign padding.
pub(crate) struct RsaComponents {
    pub n: Vec<u8>,
    pub e: Vec<u8>,
    pub d: Vec<u8>,
    pub p: Vec<u8>,
    pub q: Vec<u8>,
    pub dp: Vec<u8>,
    pub dq: Vec<u8>,
    pub qi: Vec<u8>,
}

/// Parses PKCS#8 `PrivateKeyInfo` wrapping an RSA `RSAPrivateKey`.
pub(crate) fn rsa_from_pkcs8(der: &[u8]) -> Result<RsaComponents, JoseError> {
    let mut outer = Reader(read_tlv(&mut Reader(der), SEQUENCE)?);
    let _version = read_tlv(&mut outer, INTEGER)?;
    let _algorithm = read_tlv(&mut outer, SEQUENCE)?;
    let private_key = read_tlv(&mut outer, OCTET_STRING)?;
    let mut rsa = Reader(read_tlv(&mut Reader(private_key), SEQUENCE)?);
    let _v = read_tlv(&mut rsa, INTEGER)?;
    let mut next = || read_tlv(&mut rsa, INTEGER).map(unsigned);
    Ok(RsaComponents {
        n: next()?,
        e: next()?,
        d: next()?,
        p: next()?,
        q: next()?,
        dp: next()?,
        dq: next()?,
        qi: next()?,
    })
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, JoseError> {
        let (&b, rest) = self.0.split_first().ok_or(BAD)?;
        self.0 = rest;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], JoseError> {
        if n > self.0.len() {
            return Err(BAD);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
}

const BAD: JoseError = JoseError::Crypto("unexpected DER from key generation");

fn read_tlv<'a>(r: &mut Reader<'a>, tag: u8) -> Result<&'a [u8], JoseError> {
    if r.byte()? != tag {
        return Err(BAD);
    }
    let first = r.byte()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return Err(BAD);
        }
        let mut len = 0usize;
        for _ in 0..count {
            len = (len << 8) | usize::from(r.byte()?);
        }
        len
    };
    r.take(len)
}

/// DER integers carry a leading 0x00 when the high bit is set; JWK values do not.
fn unsigned(b: &[u8]) -> Vec<u8> {
    let start = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    b.get(start..).unwrap_or_default().to_vec()
}
