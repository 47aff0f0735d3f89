//! Civil-date arithmetic for the proleptic Gregorian calendar, without a clock.
//!
//! Every date in the output is an offset from the reference date passed in the config; the
//! wall clock is never read, so output depends only on `(seed, patients, reference date)`.
//! The day-count algorithms are Howard Hinnant's `days_from_civil` / `civil_from_days`.

use std::fmt;

/// A calendar date, as days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(i64);

/// Why a date string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a date YYYY-MM-DD between 1900-01-01 and 2999-12-31, got {0:?}")]
pub struct DateParseError(pub String);

impl Date {
    /// The date for `year-month-day`, or `None` if it does not exist.
    pub fn from_ymd(year: i64, month: u32, day: u32) -> Option<Self> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Self(days_from_civil(year, month, day)))
    }

    /// Parse `YYYY-MM-DD` (years 1900..=2999).
    pub fn parse(text: &str) -> Result<Self, DateParseError> {
        let err = || DateParseError(text.chars().take(40).collect());
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
            return Err(err());
        }
        let year: i64 = text
            .get(0..4)
            .and_then(|s| s.parse().ok())
            .ok_or_else(err)?;
        let month: u32 = text
            .get(5..7)
            .and_then(|s| s.parse().ok())
            .ok_or_else(err)?;
        let day: u32 = text
            .get(8..10)
            .and_then(|s| s.parse().ok())
            .ok_or_else(err)?;
        if !(1900..=2999).contains(&year) {
            return Err(err());
        }
        Self::from_ymd(year, month, day).ok_or_else(err)
    }

    /// Days since 1970-01-01.
    pub fn days(self) -> i64 {
        self.0
    }

    /// This date moved by `days`.
    pub fn plus_days(self, days: i64) -> Self {
        Self(self.0.saturating_add(days))
    }

    /// `(year, month, day)`.
    pub fn ymd(self) -> (i64, u32, u32) {
        civil_from_days(self.0)
    }

    /// The year.
    pub fn year(self) -> i64 {
        self.ymd().0
    }

    /// The month (1..=12).
    pub fn month(self) -> u32 {
        self.ymd().1
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` at `seconds` past midnight UTC (clamped to the day).
    pub fn at(self, seconds: i64) -> String {
        let s = seconds.clamp(0, 86_399);
        format!("{self}T{:02}:{:02}:{:02}Z", s / 3600, (s / 60) % 60, s % 60)
    }

    /// Unix seconds at midnight UTC.
    pub fn unix(self) -> i64 {
        self.0.saturating_mul(86_400)
    }

    /// The date containing unix second `secs`.
    pub fn from_unix(secs: i64) -> Self {
        Self(secs.div_euclid(86_400))
    }

    /// Whole years from `self` (a birth date) to `on`.
    pub fn age_on(self, on: Date) -> i64 {
        let (by, bm, bd) = self.ymd();
        let (y, m, d) = on.ymd();
        let mut age = y - by;
        if (m, d) < (bm, bd) {
            age -= 1;
        }
        age
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for unix seconds.
pub fn datetime(secs: i64) -> String {
    Date::from_unix(secs).at(secs.rem_euclid(86_400))
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // day is 1..=31 and month 1..=12 by construction of the algorithm.
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_known_values() {
        let d = Date::parse("2026-01-01").unwrap();
        assert_eq!(d.unix(), 1_767_225_600);
        assert_eq!(d.to_string(), "2026-01-01");
        assert_eq!(Date::parse("1970-01-01").unwrap().days(), 0);
        assert_eq!(
            Date::parse("2024-02-29").unwrap().plus_days(1).to_string(),
            "2024-03-01"
        );
        for days in -30_000..30_000 {
            let date = Date(days);
            assert_eq!(
                Date::parse(&date.to_string())
                    .map(Date::days)
                    .unwrap_or(days),
                days
            );
        }
    }

    #[test]
    fn rejects_bad_dates() {
        for bad in [
            "2025-02-29",
            "2025-13-01",
            "2025-1-01",
            "20250101",
            "1899-12-31",
            "abcd-ef-gh",
        ] {
            assert!(Date::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ages_and_times() {
        let born = Date::parse("1980-06-15").unwrap();
        assert_eq!(born.age_on(Date::parse("2026-06-14").unwrap()), 45);
        assert_eq!(born.age_on(Date::parse("2026-06-15").unwrap()), 46);
        assert_eq!(born.at(9 * 3600 + 30 * 60), "1980-06-15T09:30:00Z");
    }
}
