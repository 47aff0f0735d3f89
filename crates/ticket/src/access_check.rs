//! Step 12: process kernel fields. Every `access` member must be recognized and enforceable
//! (unknown ⇒ reject, naming it); legacy shapes are translated only when asked; each member
//! gets its shape check; `must_understand` and `continuation` get the OP-20 / OP-26 rules.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::claims::{Access, CodeableConcept, SensitivityRule, TicketClaims};
use crate::error::ConstraintError;
use crate::legacy::{self, SensitiveData};
use crate::shape;

/// Step-12 switches. Defaults are the secure ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AccessOptions {
    /// OP-02: translate `permissions` / `fhir_resources` / `sensitive_data`, the older
    /// single-`Organization` `data_holder_filter` entry (OP-25) and J10
    /// `context.reportable_condition` instead of rejecting them. Off by default.
    pub legacy_access_shapes: bool,
    /// Proposal 005: the Data Holder enforces `sensitivity_withhold`. Off by default, in which
    /// case the member is rejected as unsupported (OP-16: "reject unless implemented").
    pub sensitivity_withhold: bool,
}

/// Normalizes the raw `access` object into the typed [`Access`], applying the options, and
/// checks the kernel fields of `claims` (which may gain a translated `reportable_condition`).
/// Returns whether a legacy translation happened.
pub(crate) fn check_access(
    raw: &Map<String, Value>,
    claims: &mut TicketClaims,
    opts: &AccessOptions,
) -> Result<(Access, bool), ConstraintError> {
    let mut access = Access::default();
    let mut legacy_scopes: Vec<String> = Vec::new();
    let mut legacy_used = false;
    // serde_json's map is ordered by key, so the member named in an error is deterministic.
    for (name, value) in raw {
        let name = name.as_str();
        match name {
            "smart_scopes" => access.smart_scopes = Some(member(name, value)?),
            "data_period" => access.data_period = Some(member(name, value)?),
            "data_holder_filter" if opts.legacy_access_shapes => {
                let (entries, translated) = legacy::holder_filter(value)?;
                access.data_holder_filter = Some(member(name, &entries)?);
                legacy_used |= translated;
            }
            "data_holder_filter" => access.data_holder_filter = Some(member(name, value)?),
            "claim_linkage" => access.claim_linkage = Some(member(name, value)?),
            "sensitivity_withhold" if opts.sensitivity_withhold => {
                access.sensitivity_withhold = Some(member(name, value)?);
            }
            "permissions" if opts.legacy_access_shapes => {
                legacy_scopes.extend(legacy::permissions_to_scopes(value)?);
                legacy_used = true;
            }
            "fhir_resources" if opts.legacy_access_shapes => {
                legacy_scopes.extend(legacy::fhir_resources_to_scopes(value)?);
                legacy_used = true;
            }
            "sensitive_data" if opts.legacy_access_shapes => {
                legacy_used = true;
                match legacy::sensitive_data(value)? {
                    SensitiveData::Include => {}
                    SensitiveData::Exclude if opts.sensitivity_withhold => {
                        // Only when no explicit rule exists; an explicit one is at least as
                        // specific and is kept.
                        if !raw.contains_key("sensitivity_withhold") {
                            access.sensitivity_withhold = Some(SensitivityRule {
                                codes: Vec::new(),
                                unlisted: true,
                            });
                        }
                    }
                    SensitiveData::Exclude => {
                        return Err(ConstraintError::Unenforceable("sensitive_data".into()));
                    }
                }
            }
            other => return Err(ConstraintError::Unsupported(other.to_owned())),
        }
    }
    if !legacy_scopes.is_empty() {
        access
            .smart_scopes
            .get_or_insert_with(Vec::new)
            .extend(legacy_scopes);
    }
    shape::check_access_shapes(&access)?;

    check_must_understand(claims.must_understand.as_ref())?;
    if claims.continuation.is_some() && claims.revocation.is_none() {
        return Err(ConstraintError::KernelField("continuation"));
    }
    if opts.legacy_access_shapes
        && claims.reportable_condition.is_none()
        && let Some(rc) = legacy_reportable_condition(claims.context.as_ref())
    {
        claims.reportable_condition = Some(rc);
        legacy_used = true;
    }
    Ok((access, legacy_used))
}

fn member<T: DeserializeOwned>(name: &str, value: &Value) -> Result<T, ConstraintError> {
    T::deserialize(value).map_err(|_| ConstraintError::Malformed {
        path: format!("access.{name}"),
        reason: "wrong shape",
    })
}

/// OP-20: a non-empty `must_understand` was minted expecting fail-closed handling we cannot
/// give.
fn check_must_understand(v: Option<&Value>) -> Result<(), ConstraintError> {
    match v {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(items)) if items.is_empty() => Ok(()),
        Some(_) => Err(ConstraintError::KernelField("must_understand")),
    }
}

/// J10 put the public-health condition at `context.reportable_condition` (OP-20).
fn legacy_reportable_condition(context: Option<&Value>) -> Option<CodeableConcept> {
    let rc = context?.get("reportable_condition")?;
    CodeableConcept::deserialize(rc).ok()
}
