//! National Provider Identifiers with a valid check digit.
//!
//! CMS defines the NPI check digit as the Luhn (ISO/IEC 7812) digit computed over the 9-digit
//! base prefixed with the card-issuer prefix `80840`; equivalently, the Luhn sum of the base plus
//! the constant 24. NPIs begin with 1 (individuals, by our convention) or 2 (organizations).

use crate::prng::derive;

/// The FHIR identifier system for NPIs.
pub const NPI_SYSTEM: &str = "http://hl7.org/fhir/sid/us-npi";

/// True when `npi` is ten ASCII digits whose last digit is the NPI Luhn check digit.
pub fn is_valid_npi(npi: &str) -> bool {
    let bytes = npi.as_bytes();
    if bytes.len() != 10 || !bytes.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let full = format!("80840{npi}");
    luhn_valid(&full)
}

/// The check digit for a 9-digit NPI base, or `None` if `base` is not nine ASCII digits.
pub fn npi_check_digit(base: &str) -> Option<u8> {
    let bytes = base.as_bytes();
    if bytes.len() != 9 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // Luhn over "80840" + base + check: double every second digit from the right, where the
    // check digit is position 1, so the base's last digit is doubled.
    let digits = format!("80840{base}");
    let mut sum = 0_u32;
    for (position, byte) in digits.bytes().rev().enumerate() {
        let mut digit = u32::from(byte - b'0');
        if position % 2 == 0 {
            digit *= 2;
            if digit > 9 {
                digit -= 9;
            }
        }
        sum += digit;
    }
    u8::try_from((10 - sum % 10) % 10).ok()
}

/// A deterministic valid NPI for `(kind, index)`: first digit `1` for individuals, `2` for
/// organizations.
pub(crate) fn synthetic_npi(kind: &str, index: u64, organization: bool) -> String {
    let body = derive(kind, &[index]) % 100_000_000;
    let base = format!("{}{body:08}", if organization { 2 } else { 1 });
    let check = npi_check_digit(&base).unwrap_or(0);
    format!("{base}{check}")
}

fn luhn_valid(digits: &str) -> bool {
    let mut sum = 0_u32;
    for (position, byte) in digits.bytes().rev().enumerate() {
        let mut digit = u32::from(byte.wrapping_sub(b'0'));
        if digit > 9 {
            return false;
        }
        if position % 2 == 1 {
            digit *= 2;
            if digit > 9 {
                digit -= 9;
            }
        }
        sum += digit;
    }
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cms_example_npi() {
        // The worked example in the CMS NPI check-digit note: base 123456789, check digit 3.
        assert_eq!(npi_check_digit("123456789"), Some(3));
        assert!(is_valid_npi("1234567893"));
        assert!(!is_valid_npi("1234567890"));
    }

    #[test]
    fn rejects_malformed() {
        assert!(!is_valid_npi("123456789"));
        assert!(!is_valid_npi("12345678a3"));
        assert_eq!(npi_check_digit("12345678"), None);
        assert_eq!(npi_check_digit("12345678x"), None);
    }

    #[test]
    fn synthetic_npis_are_valid_and_typed() {
        for i in 0..1000 {
            let person = synthetic_npi("practitioner", i, false);
            let org = synthetic_npi("site", i, true);
            assert!(is_valid_npi(&person), "{person}");
            assert!(is_valid_npi(&org), "{org}");
            assert!(person.starts_with('1'));
            assert!(org.starts_with('2'));
        }
    }
}
