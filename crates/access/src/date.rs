//! FHIR `date` / `dateTime` / `instant` values as closed UTC ranges (unix seconds).
//!
//! FHIR search compares dates by *precision*: a value stands for the whole interval its
//! precision names. The rules implemented here (one place, used by ingest and by the grant):
//!
//! | Value | Range |
//! |---|---|
//! | `2024` | 2024-01-01T00:00:00Z ..= 2024-12-31T23:59:59Z |
//! | `2024-03` | 2024-03-01T00:00:00Z ..= 2024-03-31T23:59:59Z |
//! | `2024-03-05` | that whole day in UTC (OP-24: the server's zone is UTC) |
//! | `2024-03-05T10:11:12+02:00` | exactly 08:11:12Z ..= 08:11:12Z (fractions truncated) |
//! | `2024-03-05T10:11:12` (no zone) | read as UTC at ingest; rejected in tickets ([`Strictness`]) |
//! | leap second `:60` | clamped to `:59` |
//!
//! A `Period` covers `[start.lo, end.hi]`; a missing start is `i64::MIN`, a missing end
//! `i64::MAX` (an ongoing encounter overlaps every later window). Anything unparseable yields
//! `None`, which the data-period filter treats as "no value" (excluded).

use time::{Date, Month, util::days_in_month};

/// Whether a dateTime without a zone is acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    /// Stored resources: a zone-less time is read as UTC.
    Lenient,
    /// Ticket values (OP-24): a dateTime must carry a zone.
    RequireZone,
}

/// Parses a FHIR date, dateTime or instant into the closed UTC range it stands for.
pub fn parse_range(s: &str, strictness: Strictness) -> Option<(i64, i64)> {
    let b = s.as_bytes();
    if b.len() > 40 {
        return None;
    }
    let year = digits(b, 0, 4)?;
    if year == 0 {
        return None;
    }
    let year = i32::try_from(year).ok()?;
    if b.len() == 4 {
        let lo = day_start(year, Month::January, 1)?;
        let hi = day_start(year, Month::December, 31)? + 86_399;
        return Some((lo, hi));
    }
    if b.get(4) != Some(&b'-') {
        return None;
    }
    let month = Month::try_from(u8::try_from(digits(b, 5, 2)?).ok()?).ok()?;
    if b.len() == 7 {
        let last = days_in_month(month, year);
        return Some((
            day_start(year, month, 1)?,
            day_start(year, month, last)? + 86_399,
        ));
    }
    if b.get(7) != Some(&b'-') {
        return None;
    }
    let day = u8::try_from(digits(b, 8, 2)?).ok()?;
    let midnight = day_start(year, month, day)?;
    if b.len() == 10 {
        return Some((midnight, midnight + 86_399));
    }
    if b.get(10) != Some(&b'T') || b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    let hour = digits(b, 11, 2)?;
    let minute = digits(b, 14, 2)?;
    let second = digits(b, 17, 2)?;
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = b.get(19..)?;
    if rest.first() == Some(&b'.') {
        let frac = rest
            .iter()
            .skip(1)
            .take_while(|c| c.is_ascii_digit())
            .count();
        if frac == 0 {
            return None;
        }
        rest = rest.get(1 + frac..)?;
    }
    let offset = match rest {
        [] if strictness == Strictness::Lenient => 0,
        [] => return None,
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), ..] if rest.len() == 6 && rest.get(3) == Some(&b':') => {
            let oh = digits(rest, 1, 2)?;
            let om = digits(rest, 4, 2)?;
            if oh > 14 || om > 59 || (oh == 14 && om > 0) {
                return None;
            }
            let off = i64::from(oh * 3600 + om * 60);
            if *sign == b'-' { -off } else { off }
        }
        _ => return None,
    };
    let secs = i64::from(hour * 3600 + minute * 60 + second.min(59));
    let t = midnight + secs - offset;
    Some((t, t))
}

/// Reads `len` ASCII digits at `at` as a number.
fn digits(b: &[u8], at: usize, len: usize) -> Option<u32> {
    let part = b.get(at..at + len)?;
    part.iter().try_fold(0u32, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

fn day_start(year: i32, month: Month, day: u8) -> Option<i64> {
    let date = Date::from_calendar_date(year, month, day).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp())
}

/// The range a FHIR `Period` JSON object stands for: `[start.lo, end.hi]`, open ends
/// unbounded. `None` if neither bound is usable, a bound is malformed, or start > end.
pub fn period_range(start: Option<&str>, end: Option<&str>) -> Option<(i64, i64)> {
    if start.is_none() && end.is_none() {
        return None;
    }
    let lo = match start {
        Some(s) => parse_range(s, Strictness::Lenient)?.0,
        None => i64::MIN,
    };
    let hi = match end {
        Some(e) => parse_range(e, Strictness::Lenient)?.1,
        None => i64::MAX,
    };
    (lo <= hi).then_some((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;
    // 2024-03-05T00:00:00Z
    const MAR5: i64 = 1_709_596_800;

    #[test]
    fn precision_widening() {
        let lenient = Strictness::Lenient;
        assert_eq!(
            parse_range("2024-03-05", lenient),
            Some((MAR5, MAR5 + DAY - 1))
        );
        let (lo, hi) = parse_range("2024-03", lenient).unwrap();
        assert_eq!(lo, MAR5 - 4 * DAY);
        assert_eq!(hi, MAR5 + 27 * DAY - 1);
        let (lo, hi) = parse_range("2024", lenient).unwrap();
        assert_eq!((hi - lo + 1) / DAY, 366);
        assert_eq!(
            parse_range("2024-03-05T10:11:12+02:00", lenient),
            Some((
                MAR5 + 8 * 3600 + 11 * 60 + 12,
                MAR5 + 8 * 3600 + 11 * 60 + 12
            ))
        );
        assert_eq!(
            parse_range("2024-03-05T00:00:00.123-08:00", lenient),
            Some((MAR5 + 8 * 3600, MAR5 + 8 * 3600))
        );
        assert_eq!(
            parse_range("2024-03-05T00:00:60Z", lenient),
            Some((MAR5 + 59, MAR5 + 59))
        );
    }

    #[test]
    fn zone_required_in_strict_mode() {
        assert_eq!(
            parse_range("2024-03-05T00:00:00", Strictness::Lenient),
            Some((MAR5, MAR5))
        );
        assert_eq!(
            parse_range("2024-03-05T00:00:00", Strictness::RequireZone),
            None
        );
        assert!(parse_range("2024-03-05", Strictness::RequireZone).is_some());
    }

    #[test]
    fn malformed_values_are_none() {
        for bad in [
            "",
            "24",
            "2024-",
            "2024-13",
            "2024-02-30",
            "2024-3-05",
            "2024-03-05T",
            "0000",
            "2024-03-05T25:00:00Z",
            "2024-03-05T10:00Z",
            "2024-03-05T10:00:00+15:00",
            "2024-03-05T10:00:00.Z",
            "2024-03-05 10:00:00Z",
            "２０２４",
            "2024-03-05T10:00:00+0200",
        ] {
            assert_eq!(parse_range(bad, Strictness::Lenient), None, "{bad}");
        }
    }

    #[test]
    fn periods() {
        assert_eq!(period_range(None, None), None);
        assert_eq!(
            period_range(Some("2024-03-05"), None),
            Some((MAR5, i64::MAX))
        );
        assert_eq!(
            period_range(None, Some("2024-03-05")),
            Some((i64::MIN, MAR5 + DAY - 1))
        );
        assert_eq!(period_range(Some("2024-03-06"), Some("2024-03-05")), None);
        assert_eq!(period_range(Some("bad"), Some("2024-03-05")), None);
    }
}
