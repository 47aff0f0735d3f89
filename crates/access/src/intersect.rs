//! Scope-set algebra: wildcard expansion, pairwise intersection and the canonical normal
//! form of a granted scope set.
//!
//! A scope set means the union of its entries; an entry means type AND perms AND every clause.
//! So `A ∩ B` is the union of pairwise entry intersections (same type, perms intersected,
//! clauses concatenated). The normal form only rewrites to equivalent sets:
//! 1. within a clause, drop a value implied by another (`loinc|x` is implied by `x`: OR);
//! 2. within an entry, drop a clause implied by another (AND keeps the stronger);
//! 3. merge entries with the same type and clauses (perms OR);
//! 4. drop an entry contained in another (perms within and predicate implied);
//! 5. sort.
//!
//! Each step is provably non-widening and deterministic; see the proofs in the comments.

use std::collections::BTreeSet;

use crate::grant::GrantedScope;
use crate::scope::{Clause, Context, Perms, Scope, TypeSel};

/// Expands parsed scopes over the served types (a wildcard names every served type; a named
/// type not served names nothing).
pub fn expand(scopes: &[Scope], universe: &BTreeSet<String>) -> Vec<GrantedScope> {
    let mut out = Vec::new();
    for scope in scopes {
        let types: Vec<&String> = match &scope.resource_type {
            TypeSel::Any => universe.iter().collect(),
            TypeSel::Named(t) => universe.get(t).into_iter().collect(),
        };
        for t in types {
            out.push(GrantedScope {
                resource_type: t.clone(),
                query: scope.clauses.clone(),
                perms: scope.perms,
                context: scope.context,
            });
        }
    }
    out
}

/// The whole-type scopes of a set of types with the given perms.
pub fn whole_types(types: &BTreeSet<String>, perms: Perms) -> Vec<GrantedScope> {
    types
        .iter()
        .map(|t| GrantedScope {
            resource_type: t.clone(),
            query: Vec::new(),
            perms,
            context: Context::Patient,
        })
        .collect()
}

/// Which side's prefix an intersected entry keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrefixFrom {
    /// The left operand (ceilings).
    Left,
    /// The right operand (the client's request: echo its prefix, OP-23).
    Right,
}

/// `a ∩ b`, normalized.
pub fn intersect(a: &[GrantedScope], b: &[GrantedScope], prefix: PrefixFrom) -> Vec<GrantedScope> {
    let mut out = Vec::new();
    for x in a {
        for y in b.iter().filter(|y| y.resource_type == x.resource_type) {
            let perms = x.perms.and(y.perms);
            if perms.is_empty() {
                continue;
            }
            let mut query = x.query.clone();
            query.extend(y.query.iter().cloned());
            out.push(GrantedScope {
                resource_type: x.resource_type.clone(),
                query,
                perms,
                context: match prefix {
                    PrefixFrom::Left => x.context,
                    PrefixFrom::Right => y.context,
                },
            });
        }
    }
    normalize(out)
}

/// The canonical normal form (see the module doc).
pub fn normalize(scopes: Vec<GrantedScope>) -> Vec<GrantedScope> {
    let mut merged: Vec<GrantedScope> = Vec::new();
    for mut s in scopes {
        s.query = normalize_query(s.query);
        match merged
            .iter_mut()
            .find(|m| m.resource_type == s.resource_type && m.query == s.query)
        {
            Some(m) => {
                m.perms = m.perms.or(s.perms);
                m.context = m.context.min(s.context);
            }
            None => merged.push(s),
        }
    }
    // After merging, no two entries share (type, query); with normalized queries mutual
    // containment implies equal queries and perms, so removal below never drops both.
    let kept: Vec<GrantedScope> = merged
        .iter()
        .enumerate()
        .filter(|(i, x)| {
            !merged
                .iter()
                .enumerate()
                .any(|(j, y)| *i != j && contained_in(x, y))
        })
        .map(|(_, x)| x.clone())
        .collect();
    let mut kept = kept;
    kept.sort();
    kept
}

/// Every resource/interaction `x` authorizes, `y` authorizes too.
pub fn contained_in(x: &GrantedScope, y: &GrantedScope) -> bool {
    x.resource_type == y.resource_type
        && x.perms.within(y.perms)
        && y.query.iter().all(|c| x.query.iter().any(|d| d.implies(c)))
}

fn normalize_query(query: Vec<Clause>) -> Vec<Clause> {
    let mut clauses: Vec<Clause> = query.into_iter().map(normalize_clause).collect();
    clauses.sort();
    clauses.dedup();
    // Values are normalized, so implication between distinct clauses is antisymmetric:
    // dropping every clause implied by a different one keeps an equivalent conjunction.
    let kept: Vec<Clause> = clauses
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            !clauses
                .iter()
                .enumerate()
                .any(|(j, d)| *i != j && d.implies(c))
        })
        .map(|(_, c)| c.clone())
        .collect();
    kept
}

fn normalize_clause(mut clause: Clause) -> Clause {
    clause.values.sort();
    clause.values.dedup();
    let values = clause.values.clone();
    clause.values = values
        .iter()
        .enumerate()
        .filter(|(i, v)| {
            !values
                .iter()
                .enumerate()
                .any(|(j, w)| *i != j && v.implies(w))
        })
        .map(|(_, v)| v.clone())
        .collect();
    clause
}
