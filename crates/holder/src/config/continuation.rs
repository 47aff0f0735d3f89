//! `[continuation]`: whether this Data Holder acts on a ticket's `continuation` claim by
//! issuing refresh tokens (spec-digest §16, OP-26), and their lifetime.
//!
//! Off by default: `continuation` is then ignored wholesale (the spec allows it) and no
//! refresh token is ever issued.

use serde::Deserialize;

use super::{ConfigError, invalid};

/// Default refresh-token lifetime (each token; rotation issues a new one): 30 days.
pub const DEFAULT_REFRESH_TOKEN_TTL: i64 = 30 * 86_400;
/// Longest configurable refresh-token lifetime: a year, the longest standing authorization
/// the spec's lifetime guidance mentions.
pub const MAX_REFRESH_TOKEN_TTL: i64 = 365 * 86_400;

/// `[continuation]` as written by operators.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileContinuation {
    /// Issue refresh tokens for tickets carrying `continuation` (default false).
    #[serde(default)]
    pub enabled: bool,
    /// Lifetime of one refresh token in seconds (default 30 days, 60 s to 1 year).
    #[serde(default)]
    pub refresh_token_ttl_seconds: Option<i64>,
}

/// The validated `[continuation]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContinuationConfig {
    /// Refresh tokens are issued for `continuation` tickets.
    pub enabled: bool,
    /// Lifetime of one refresh token, seconds; never beyond `refresh_until`.
    pub refresh_token_ttl: i64,
}

impl Default for ContinuationConfig {
    fn default() -> ContinuationConfig {
        ContinuationConfig {
            enabled: false,
            refresh_token_ttl: DEFAULT_REFRESH_TOKEN_TTL,
        }
    }
}

pub(super) fn validate_continuation(
    file: FileContinuation,
) -> Result<ContinuationConfig, ConfigError> {
    let ttl = file
        .refresh_token_ttl_seconds
        .unwrap_or(DEFAULT_REFRESH_TOKEN_TTL);
    if !(60..=MAX_REFRESH_TOKEN_TTL).contains(&ttl) {
        return Err(invalid(
            "continuation.refresh_token_ttl_seconds",
            format!("must be between 60 and {MAX_REFRESH_TOKEN_TTL}"),
        ));
    }
    Ok(ContinuationConfig {
        enabled: file.enabled,
        refresh_token_ttl: ttl,
    })
}
