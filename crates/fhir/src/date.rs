//! FHIR `date` / `dateTime` / `instant` values as closed UTC ranges at their own precision,
//! and search-value prefixes (`eq ne gt lt ge le sa eb ap`).
//!
//! FHIR R4 search (§3.1.1.4.9 / "date"): every date is an implicit range — `2013` covers the
//! whole year, `2013-01-14` the whole day. We represent a value as `[lo, hi]` in unix seconds,
//! both inclusive; a value without a zone is read in UTC (the server's zone, OP-24).

use thiserror::Error;

/// Earliest representable instant (0001-01-01T00:00:00Z): an open Period start.
pub const MIN_INSTANT: i64 = -62_135_596_800;
/// Latest representable instant (9999-12-31T23:59:59Z): an open Period end.
pub const MAX_INSTANT: i64 = 253_402_300_799;

/// A closed range of UTC unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    /// First second covered.
    pub lo: i64,
    /// Last second covered.
    pub hi: i64,
}

/// Why a date string is not a FHIR date.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("not a FHIR date/dateTime: {0}")]
pub struct DateError(pub &'static str);

/// A FHIR search comparison prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatePrefix {
    /// The resource range lies within the search range.
    Eq,
    /// Not `eq`.
    Ne,
    /// The resource range reaches past the end of the search range.
    Gt,
    /// The resource range starts before the search range.
    Lt,
    /// `gt` or `eq`.
    Ge,
    /// `lt` or `eq`.
    Le,
    /// The resource range starts after the search range ends.
    Sa,
    /// The resource range ends before the search range starts.
    Eb,
    /// The ranges overlap once the search range is widened by 10% of its length (≥ 1 day).
    Ap,
}

impl DatePrefix {
    /// Splits a leading two-letter prefix off a search value (`eq` when there is none).
    pub fn split(value: &str) -> (DatePrefix, &str) {
        let table = [
            ("eq", DatePrefix::Eq),
            ("ne", DatePrefix::Ne),
            ("gt", DatePrefix::Gt),
            ("lt", DatePrefix::Lt),
            ("ge", DatePrefix::Ge),
            ("le", DatePrefix::Le),
            ("sa", DatePrefix::Sa),
            ("eb", DatePrefix::Eb),
            ("ap", DatePrefix::Ap),
        ];
        for (text, prefix) in table {
            if let Some(rest) = value.strip_prefix(text) {
                return (prefix, rest);
            }
        }
        (DatePrefix::Eq, value)
    }

    /// Reference semantics of the prefix: does a resource range `r` satisfy `prefix search`?
    /// Backends translate the same inequalities into their query language.
    pub fn matches(self, search: DateRange, r: DateRange) -> bool {
        let eq = r.lo >= search.lo && r.hi <= search.hi;
        match self {
            DatePrefix::Eq => eq,
            DatePrefix::Ne => !eq,
            DatePrefix::Gt => r.hi > search.hi,
            DatePrefix::Lt => r.lo < search.lo,
            DatePrefix::Ge => r.hi > search.hi || eq,
            DatePrefix::Le => r.lo < search.lo || eq,
            DatePrefix::Sa => r.lo > search.hi,
            DatePrefix::Eb => r.hi < search.lo,
            DatePrefix::Ap => {
                let w = search.approximate();
                r.hi >= w.lo && r.lo <= w.hi
            }
        }
    }
}

impl DateRange {
    /// The range widened for `ap`: 10% of its length on each side, at least one day.
    pub fn approximate(self) -> DateRange {
        let margin = ((self.hi - self.lo) / 10).max(86_400);
        DateRange {
            lo: self.lo.saturating_sub(margin).max(MIN_INSTANT),
            hi: self.hi.saturating_add(margin).min(MAX_INSTANT),
        }
    }
}

/// Parses a FHIR `date`, `dateTime` or `instant` (also the `hh:mm` form search allows) into
/// the range its precision covers.
pub fn parse_date_range(s: &str) -> Result<DateRange, DateError> {
    let b = s.as_bytes();
    if s.len() > 40 || !s.is_ascii() {
        return Err(DateError("too long or non-ASCII"));
    }
    let year = digits(b, 0, 4).ok_or(DateError("year must be four digits"))?;
    if b.len() == 4 {
        let lo = days_from_civil(year, 1, 1) * 86_400;
        let hi = days_from_civil(year + 1, 1, 1) * 86_400 - 1;
        return Ok(DateRange { lo, hi });
    }
    expect(b, 4, b'-')?;
    let month = digits(b, 5, 2).ok_or(DateError("month must be two digits"))?;
    if !(1..=12).contains(&month) {
        return Err(DateError("month out of range"));
    }
    if b.len() == 7 {
        let lo = days_from_civil(year, month, 1) * 86_400;
        let (ny, nm) = if month == 12 {
            (year + 1, 1)
        } else {
            (year, month + 1)
        };
        let hi = days_from_civil(ny, nm, 1) * 86_400 - 1;
        return Ok(DateRange { lo, hi });
    }
    expect(b, 7, b'-')?;
    let day = digits(b, 8, 2).ok_or(DateError("day must be two digits"))?;
    if day < 1 || day > days_in_month(year, month) {
        return Err(DateError("day out of range"));
    }
    let day_start = days_from_civil(year, month, day) * 86_400;
    if b.len() == 10 {
        return Ok(DateRange {
            lo: day_start,
            hi: day_start + 86_399,
        });
    }
    expect(b, 10, b'T')?;
    let hour = digits(b, 11, 2).ok_or(DateError("hour must be two digits"))?;
    expect(b, 13, b':')?;
    let minute = digits(b, 14, 2).ok_or(DateError("minute must be two digits"))?;
    if hour > 23 || minute > 59 {
        return Err(DateError("time out of range"));
    }
    let mut pos = 16;
    let mut second = None;
    if b.get(pos) == Some(&b':') {
        let sec = digits(b, pos + 1, 2).ok_or(DateError("second must be two digits"))?;
        if sec > 59 {
            return Err(DateError("second out of range"));
        }
        second = Some(sec);
        pos += 3;
        if b.get(pos) == Some(&b'.') {
            pos += 1;
            let start = pos;
            while b.get(pos).is_some_and(u8::is_ascii_digit) {
                pos += 1;
            }
            if pos == start {
                return Err(DateError("empty fraction"));
            }
        }
    }
    let offset = parse_zone(&b[pos..])?;
    let lo = day_start + hour * 3600 + minute * 60 + second.unwrap_or(0) - offset;
    let hi = if second.is_some() { lo } else { lo + 59 };
    Ok(DateRange { lo, hi })
}

/// Offset east of UTC in seconds; an absent zone is UTC.
fn parse_zone(z: &[u8]) -> Result<i64, DateError> {
    match z {
        [] | [b'Z'] => Ok(0),
        [sign @ (b'+' | b'-'), ..] if z.len() == 6 => {
            let h = digits(z, 1, 2).ok_or(DateError("zone hour"))?;
            expect(z, 3, b':')?;
            let m = digits(z, 4, 2).ok_or(DateError("zone minute"))?;
            if h > 14 || m > 59 {
                return Err(DateError("zone out of range"));
            }
            let off = h * 3600 + m * 60;
            Ok(if *sign == b'-' { -off } else { off })
        }
        _ => Err(DateError("bad time zone")),
    }
}

fn expect(b: &[u8], at: usize, c: u8) -> Result<(), DateError> {
    if b.get(at) == Some(&c) {
        Ok(())
    } else {
        Err(DateError("unexpected character"))
    }
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<i64> {
    let part = b.get(at..at + n)?;
    let mut v = 0i64;
    for &c in part {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(v)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_widens_to_the_whole_unit() {
        let y = parse_date_range("2021").unwrap();
        assert_eq!(
            y,
            DateRange {
                lo: 1_609_459_200,
                hi: 1_640_995_199
            }
        );
        let m = parse_date_range("2024-02").unwrap();
        assert_eq!(m.hi - m.lo + 1, 29 * 86_400);
        let d = parse_date_range("2021-10-12").unwrap();
        assert_eq!(
            d,
            DateRange {
                lo: 1_633_996_800,
                hi: 1_633_996_800 + 86_399
            }
        );
        let s = parse_date_range("2021-10-12T00:00:00Z").unwrap();
        assert_eq!(
            s,
            DateRange {
                lo: 1_633_996_800,
                hi: 1_633_996_800
            }
        );
        let z = parse_date_range("2021-10-12T02:00:00.123+02:00").unwrap();
        assert_eq!(z.lo, 1_633_996_800);
        let minute = parse_date_range("2021-10-12T00:00").unwrap();
        assert_eq!(minute.hi - minute.lo, 59);
    }

    #[test]
    fn malformed_dates_are_rejected() {
        for bad in [
            "",
            "21",
            "2021-13",
            "2021-02-30",
            "2021-1-01",
            "2021-10-12T25:00",
            "2021-10-12X",
            "2021-10-12T00:00:00+15:00",
            "2021-10-12T00:00:00.",
            "abcd",
            "2021-10-12T00:00:00ZZ",
        ] {
            assert!(parse_date_range(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn prefixes_follow_r4_range_semantics() {
        let day = parse_date_range("2021-10-12").unwrap();
        let inside = parse_date_range("2021-10-12T10:00:00Z").unwrap();
        let next = parse_date_range("2021-10-13").unwrap();
        let span = DateRange {
            lo: day.lo,
            hi: next.hi,
        };
        assert!(DatePrefix::Eq.matches(day, inside));
        assert!(!DatePrefix::Eq.matches(day, span));
        assert!(DatePrefix::Ne.matches(day, span));
        assert!(DatePrefix::Gt.matches(day, span));
        assert!(DatePrefix::Ge.matches(day, inside));
        assert!(!DatePrefix::Gt.matches(day, inside));
        assert!(DatePrefix::Lt.matches(next, span));
        assert!(DatePrefix::Le.matches(day, inside));
        assert!(DatePrefix::Sa.matches(day, next));
        assert!(DatePrefix::Eb.matches(next, day));
        assert!(DatePrefix::Ap.matches(day, next));
        assert_eq!(DatePrefix::split("ge2021"), (DatePrefix::Ge, "2021"));
        assert_eq!(DatePrefix::split("2021"), (DatePrefix::Eq, "2021"));
    }
}
