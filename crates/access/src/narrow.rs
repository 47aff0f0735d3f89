//! Narrowing a stored Grant by a later `scope` request (refresh, RFC 6749 §6): the result is
//! the Grant with its scopes intersected with the request, every other constraint unchanged,
//! so it is never wider than the Grant computed at redemption (spec-digest §16, PT-LIFE-07).

use std::collections::BTreeSet;

use crate::compute::parse_requested;
use crate::error::AccessError;
use crate::grant::Grant;
use crate::intersect::{PrefixFrom, expand, intersect};

impl Grant {
    /// This Grant limited to `requested` (a `scope` parameter; wildcards expand over
    /// `universe`, the served types). As at redemption (OP-10), a request broader than the
    /// Grant gets the intersection; only an empty intersection is `invalid_scope`.
    pub fn narrowed(
        &self,
        requested: &str,
        universe: &BTreeSet<String>,
    ) -> Result<Grant, AccessError> {
        let requested = parse_requested(requested)?;
        let scopes = intersect(
            &self.scopes,
            &expand(&requested, universe),
            PrefixFrom::Right,
        );
        if scopes.is_empty() {
            return Err(AccessError::NoAuthorizedScopes);
        }
        Ok(Grant {
            scopes,
            ..self.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intersect::whole_types;
    use crate::scope::Perms;

    fn grant() -> Grant {
        let types: BTreeSet<String> = ["Observation".to_owned()].into();
        Grant {
            patient: "p".into(),
            scopes: whole_types(&types, Perms::RS),
            window: None,
            relevant: BTreeSet::new(),
            encounters: Some(vec!["e1".into()]),
            withhold: Vec::new(),
            unlisted_allow: None,
            restricted: Vec::new(),
            local_withhold: Vec::new(),
            supporting: None,
            person: Default::default(),
        }
    }

    fn universe() -> BTreeSet<String> {
        ["Observation", "Condition"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn pt_life_07_narrowing_never_widens() {
        let g = grant();
        let wide = g.narrowed("patient/*.rs", &universe()).unwrap();
        assert_eq!(wide.allowed_types(), vec!["Observation"]);
        assert_eq!(wide.encounters, g.encounters, "other constraints kept");
        assert_eq!(
            g.narrowed("patient/Condition.rs", &universe()),
            Err(AccessError::NoAuthorizedScopes)
        );
        assert_eq!(
            g.narrowed("not a scope", &universe()),
            Err(AccessError::MalformedScope)
        );
    }

    #[test]
    fn pt_life_07_recomputed_supporting_set_stays_within_the_frozen_one() {
        let mut frozen = grant();
        frozen.supporting = Some(vec!["Practitioner/a".into(), "Practitioner/b".into()]);
        let refs = ["Practitioner/b", "Practitioner/c"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let later = grant().with_supporting(refs).within_supporting_of(&frozen);
        assert_eq!(later.supporting, Some(vec!["Practitioner/b".to_owned()]));
    }
}
