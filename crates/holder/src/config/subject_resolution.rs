//! `[subject_resolution]`: the Proposal 001 fallback (spec-digest §11, §19; PT-SUBJ-09). Off by
//! default: a subject that resolves to no local patient, or to several, is `invalid_grant`.
//! On, such a failure for an otherwise acceptable *consumer* ticket (self or delegated access)
//! is answered `interaction_required` with a `launch` value; B2B types keep `invalid_grant`.

use serde::Deserialize;

use super::{ConfigError, invalid};

/// Default lifetime of a launch value, seconds (short-lived, Proposal 001).
pub const DEFAULT_LAUNCH_TTL: i64 = 300;
/// Longest configurable launch lifetime, seconds.
pub const MAX_LAUNCH_TTL: i64 = 900;

/// `[subject_resolution]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSubjectResolution {
    /// Answer `interaction_required` + `launch` for consumer tickets whose subject cannot be
    /// resolved (Proposal 001, draft). Default false.
    #[serde(default)]
    pub interaction_fallback: bool,
    /// Lifetime of a launch value in seconds (default 300, at most 900).
    #[serde(default)]
    pub launch_ttl_seconds: Option<i64>,
}

/// Validated `[subject_resolution]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubjectResolutionConfig {
    /// Proposal 001 fallback on.
    pub interaction_fallback: bool,
    /// Launch lifetime, seconds.
    pub launch_ttl: i64,
}

impl Default for SubjectResolutionConfig {
    fn default() -> Self {
        SubjectResolutionConfig {
            interaction_fallback: false,
            launch_ttl: DEFAULT_LAUNCH_TTL,
        }
    }
}

pub(super) fn validate_subject_resolution(
    f: FileSubjectResolution,
) -> Result<SubjectResolutionConfig, ConfigError> {
    let launch_ttl = f.launch_ttl_seconds.unwrap_or(DEFAULT_LAUNCH_TTL);
    if !(1..=MAX_LAUNCH_TTL).contains(&launch_ttl) {
        return Err(invalid(
            "subject_resolution.launch_ttl_seconds",
            format!("must be between 1 and {MAX_LAUNCH_TTL}"),
        ));
    }
    if f.launch_ttl_seconds.is_some() && !f.interaction_fallback {
        return Err(invalid(
            "subject_resolution.launch_ttl_seconds",
            "only meaningful with interaction_fallback = true",
        ));
    }
    Ok(SubjectResolutionConfig {
        interaction_fallback: f.interaction_fallback,
        launch_ttl,
    })
}
