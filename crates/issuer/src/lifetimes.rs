//! Ticket lifetimes per type (spec-digest §16): the `exp` given when the caller names none, and
//! the longest `exp - iat` accepted.
//!
//! Defaults follow the spec's guidance and examples: interactive individual access 1 h (UC1),
//! payer claims 60 days (45–75), quality gap 120 days (the reporting window), public health a
//! 24 h batch. The caps allow standing authorizations up to a year, which the spec permits when
//! the ticket is revocable, and every ticket we mint is.

use tessera_ticket::TicketType;

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

/// Default and maximum lifetime of one type, seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    /// Used when the caller gives no `exp`.
    pub default: i64,
    /// The longest accepted `exp - iat`.
    pub max: i64,
}

/// Lifetimes of every type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifetimes {
    by_type: [Lifetime; 5],
}

impl Default for Lifetimes {
    fn default() -> Lifetimes {
        let l = |default, max| Lifetime { default, max };
        Lifetimes {
            by_type: [
                l(HOUR, 365 * DAY),
                l(HOUR, 365 * DAY),
                l(60 * DAY, 75 * DAY),
                l(120 * DAY, 365 * DAY),
                l(24 * HOUR, 365 * DAY),
            ],
        }
    }
}

fn slot(t: TicketType) -> usize {
    match t {
        TicketType::SelfAccess => 0,
        TicketType::DelegatedAccess => 1,
        TicketType::PayerClaims => 2,
        TicketType::QualityGap => 3,
        TicketType::PublicHealth => 4,
    }
}

impl Lifetimes {
    /// The lifetime of a type.
    pub fn get(&self, t: TicketType) -> Lifetime {
        self.by_type.get(slot(t)).copied().unwrap_or(Lifetime {
            default: HOUR,
            max: HOUR,
        })
    }

    /// Replaces the lifetime of a type.
    pub fn set(&mut self, t: TicketType, lifetime: Lifetime) {
        if let Some(s) = self.by_type.get_mut(slot(t)) {
            *s = lifetime;
        }
    }

    /// The longest `max` of any type: how long a retired key may still have valid tickets.
    pub fn longest_max(&self) -> i64 {
        self.by_type.iter().map(|l| l.max).max().unwrap_or(0)
    }
}

/// Parses a duration: integer seconds, or a string `<n>[s|m|h|d]`. Must be positive.
pub fn parse_duration(value: &toml::Value) -> Result<i64, String> {
    let secs = match value {
        toml::Value::Integer(n) => *n,
        toml::Value::String(s) => parse_duration_str(s)?,
        _ => return Err("expected seconds or a string like \"4h\"".into()),
    };
    if secs <= 0 {
        return Err("must be positive".into());
    }
    Ok(secs)
}

fn parse_duration_str(s: &str) -> Result<i64, String> {
    let bad = || format!("{s:?} is not a duration like \"90s\", \"15m\", \"4h\" or \"60d\"");
    let (digits, unit) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (s.get(..i).unwrap_or(""), Some(c)),
        _ => (s, None),
    };
    let n: i64 = digits.parse().map_err(|_| bad())?;
    let mult = match unit {
        None | Some('s') => 1,
        Some('m') => 60,
        Some('h') => HOUR,
        Some('d') => DAY,
        Some(_) => return Err(bad()),
    };
    n.checked_mul(mult).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let s = |t: &str| parse_duration(&toml::Value::String(t.into()));
        assert_eq!(s("90s"), Ok(90));
        assert_eq!(s("15m"), Ok(900));
        assert_eq!(s("4h"), Ok(14_400));
        assert_eq!(s("60d"), Ok(5_184_000));
        assert_eq!(s("120"), Ok(120));
        assert_eq!(parse_duration(&toml::Value::Integer(5)), Ok(5));
        assert!(s("4w").is_err());
        assert!(s("h").is_err());
        assert!(s("0s").is_err());
        assert!(parse_duration(&toml::Value::Integer(-1)).is_err());
    }

    #[test]
    fn defaults_follow_spec_guidance() {
        let l = Lifetimes::default();
        assert_eq!(l.get(TicketType::SelfAccess).default, HOUR);
        assert_eq!(l.get(TicketType::PayerClaims).default, 60 * DAY);
        assert_eq!(l.get(TicketType::PayerClaims).max, 75 * DAY);
        assert_eq!(l.get(TicketType::QualityGap).default, 120 * DAY);
        assert_eq!(l.longest_max(), 365 * DAY);
    }
}
