//! SMART App Launch v2 resource scopes: a strict parser and the canonical printer.
//!
//! Grammar (`context "/" type "." perms ["?" query]`):
//! - context: `patient` | `user` | `system` (compared ignoring the prefix, OP-23);
//! - type: `*` or `[A-Za-z]{1,64}`;
//! - perms: v2 letters `c r u d s`, each at most once, in that order (OP-14). Where the
//!   source allows it ([`Syntax`]), v1 `read` / `write` / `*`;
//! - query: `name=value[,value]*` joined by `&`; repeated names AND, commas OR (FHIR search).
//!   Only `code` and `category` can be enforced; any other name (including modifiers such as
//!   `code:in`) is [`ScopeError::Unenforceable`]. A value is `system|code`, `|code` (no
//!   system) or `code`. Percent-escapes and `\` escapes are not accepted (we could not print
//!   them back canonically), nor are spaces or control characters.
//!
//! [`Scope::to_string`](std::fmt::Display) prints the canonical form, and parsing it back
//! yields the same [`Scope`].

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::facts::Token;

/// Upper bound on a single scope string's length.
pub const MAX_SCOPE_LEN: usize = 2048;
/// Upper bound on the number of query values in one scope.
pub const MAX_QUERY_VALUES: usize = 64;

/// The launch context prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Context {
    /// `patient/`
    Patient,
    /// `user/`
    User,
    /// `system/`
    System,
}

impl Context {
    fn as_str(self) -> &'static str {
        match self {
            Context::Patient => "patient",
            Context::User => "user",
            Context::System => "system",
        }
    }
}

/// A set of SMART v2 permission letters (bit set over `c r u d s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Perms(u8);

const LETTERS: [(u8, char); 5] = [(1, 'c'), (2, 'r'), (4, 'u'), (8, 'd'), (16, 's')];

impl Perms {
    /// Create.
    pub const C: Perms = Perms(1);
    /// Read (read, vread).
    pub const R: Perms = Perms(2);
    /// Update.
    pub const U: Perms = Perms(4);
    /// Delete.
    pub const D: Perms = Perms(8);
    /// Search.
    pub const S: Perms = Perms(16);
    /// No permission.
    pub const NONE: Perms = Perms(0);
    /// `rs`: the read-only set.
    pub const RS: Perms = Perms(2 | 16);
    /// `cruds`.
    pub const ALL: Perms = Perms(31);

    /// Set intersection.
    pub fn and(self, other: Perms) -> Perms {
        Perms(self.0 & other.0)
    }
    /// Set union.
    pub fn or(self, other: Perms) -> Perms {
        Perms(self.0 | other.0)
    }
    /// Every letter of `self` is in `other`.
    pub fn within(self, other: Perms) -> bool {
        self.0 & !other.0 == 0
    }
    /// No letters.
    pub fn is_empty(self) -> bool {
        self.0 & 31 == 0
    }

    /// Parses v2 letters: non-empty, unique, canonical order.
    fn parse_v2(s: &str) -> Option<Perms> {
        let mut bits = 0u8;
        let mut last = 0u8;
        for ch in s.chars() {
            let (bit, _) = LETTERS.iter().find(|(_, l)| *l == ch)?;
            if *bit <= last {
                return None;
            }
            last = *bit;
            bits |= bit;
        }
        (bits != 0).then_some(Perms(bits))
    }
}

impl fmt::Display for Perms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (bit, letter) in LETTERS {
            if self.0 & bit != 0 {
                write!(f, "{letter}")?;
            }
        }
        Ok(())
    }
}

/// An enforceable narrowing parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Param {
    /// `category`
    Category,
    /// `code`
    Code,
}

impl Param {
    fn as_str(self) -> &'static str {
        match self {
            Param::Category => "category",
            Param::Code => "code",
        }
    }
}

/// One token search value: `system: None` = any system (`code`), `Some("")` = no system
/// (`|code`), otherwise `system|code`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TokenValue {
    /// System constraint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// The code.
    pub code: String,
}

impl TokenValue {
    /// Does a resource token satisfy this search value (FHIR token semantics)?
    pub fn matches(&self, token: &Token) -> bool {
        token.matches(self.system.as_deref(), &self.code)
    }

    /// Every token matching `self` also matches `other`.
    pub fn implies(&self, other: &TokenValue) -> bool {
        self.code == other.code && (other.system.is_none() || other.system == self.system)
    }
}

impl fmt::Display for TokenValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.system {
            None => write!(f, "{}", self.code),
            Some(s) => write!(f, "{s}|{}", self.code),
        }
    }
}

/// `param=v1,v2,…`: the resource has a token (in the param's dimension) matching some value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Clause {
    /// Which dimension.
    pub param: Param,
    /// OR-ed values (sorted, deduplicated, non-empty).
    pub values: Vec<TokenValue>,
}

impl Clause {
    /// Every resource satisfying `self` satisfies `other`.
    pub fn implies(&self, other: &Clause) -> bool {
        self.param == other.param
            && self
                .values
                .iter()
                .all(|v| other.values.iter().any(|o| v.implies(o)))
    }
}

/// Which resource types a parsed scope names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TypeSel {
    /// `*`
    Any,
    /// One type.
    Named(String),
}

/// A parsed resource scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    /// Prefix.
    pub context: Context,
    /// Resource type or wildcard.
    pub resource_type: TypeSel,
    /// Permission letters.
    pub perms: Perms,
    /// AND-ed clauses in source order (normalized by the grant).
    pub clauses: Vec<Clause>,
}

/// Where a scope string comes from, which decides the accepted forms (OP-14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// Ticket `smart_scopes`: v2 only.
    Ticket,
    /// The client's `scope` parameter: v2; v1 `read` ⇒ `rs`; v1 `write`/`*` rejected.
    Requested,
    /// A client registration (a ceiling; more lenient): v1 `read` ⇒ `rs`, `write` ⇒ `cud`,
    /// `*` ⇒ `cruds`.
    Registered,
}

/// Why a scope string was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// Not SMART scope grammar (or a form this source may not use).
    #[error("malformed scope")]
    Malformed,
    /// A narrowing parameter we cannot enforce.
    #[error("cannot enforce scope parameter")]
    Unenforceable,
}

/// Parses one scope string.
pub fn parse_scope(s: &str, syntax: Syntax) -> Result<Scope, ScopeError> {
    if s.is_empty()
        || s.len() > MAX_SCOPE_LEN
        || s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '%' || c == '\\')
    {
        return Err(ScopeError::Malformed);
    }
    let (context, rest) = s.split_once('/').ok_or(ScopeError::Malformed)?;
    let context = match context {
        "patient" => Context::Patient,
        "user" => Context::User,
        "system" => Context::System,
        _ => return Err(ScopeError::Malformed),
    };
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    let (ty, perms) = path.split_once('.').ok_or(ScopeError::Malformed)?;
    let resource_type = match ty {
        "*" => TypeSel::Any,
        t if !t.is_empty() && t.len() <= 64 && t.bytes().all(|b| b.is_ascii_alphabetic()) => {
            TypeSel::Named(t.to_owned())
        }
        _ => return Err(ScopeError::Malformed),
    };
    let v1 = match (perms, syntax) {
        ("read", Syntax::Requested | Syntax::Registered) => Some(Perms::RS),
        ("write", Syntax::Registered) => Some(Perms::C.or(Perms::U).or(Perms::D)),
        ("*", Syntax::Registered) => Some(Perms::ALL),
        ("read" | "write" | "*", _) => return Err(ScopeError::Malformed),
        _ => None,
    };
    if v1.is_some() && query.is_some() {
        return Err(ScopeError::Malformed);
    }
    let perms = match v1 {
        Some(p) => p,
        None => Perms::parse_v2(perms).ok_or(ScopeError::Malformed)?,
    };
    let clauses = match query {
        None => Vec::new(),
        Some(q) => parse_query(q)?,
    };
    Ok(Scope {
        context,
        resource_type,
        perms,
        clauses,
    })
}

fn parse_query(q: &str) -> Result<Vec<Clause>, ScopeError> {
    if q.is_empty() {
        return Err(ScopeError::Malformed);
    }
    let mut clauses = Vec::new();
    let mut count = 0usize;
    for part in q.split('&') {
        let (name, values) = part.split_once('=').ok_or(ScopeError::Malformed)?;
        if name.is_empty() || values.is_empty() || values.contains('=') {
            return Err(ScopeError::Malformed);
        }
        let param = match name {
            "code" => Param::Code,
            "category" => Param::Category,
            _ => return Err(ScopeError::Unenforceable),
        };
        let mut parsed = Vec::new();
        for v in values.split(',') {
            count += 1;
            if count > MAX_QUERY_VALUES {
                return Err(ScopeError::Malformed);
            }
            parsed.push(parse_value(v)?);
        }
        parsed.sort();
        parsed.dedup();
        clauses.push(Clause {
            param,
            values: parsed,
        });
    }
    Ok(clauses)
}

fn parse_value(v: &str) -> Result<TokenValue, ScopeError> {
    let (system, code) = match v.split_once('|') {
        Some((s, c)) => (Some(s.to_owned()), c),
        None => (None, v),
    };
    if code.is_empty() || code.contains('|') || code.contains('?') {
        return Err(ScopeError::Malformed);
    }
    Ok(TokenValue {
        system,
        code: code.to_owned(),
    })
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ty = match &self.resource_type {
            TypeSel::Any => "*",
            TypeSel::Named(t) => t.as_str(),
        };
        write!(f, "{}/{ty}.{}", self.context.as_str(), self.perms)?;
        write_query(f, &self.clauses)
    }
}

/// Writes `?a=x,y&b=z` (nothing for no clauses).
pub(crate) fn write_query(f: &mut fmt::Formatter<'_>, clauses: &[Clause]) -> fmt::Result {
    for (i, clause) in clauses.iter().enumerate() {
        let sep = if i == 0 { '?' } else { '&' };
        write!(f, "{sep}{}=", clause.param.as_str())?;
        for (j, v) in clause.values.iter().enumerate() {
            if j > 0 {
                write!(f, ",")?;
            }
            write!(f, "{v}")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
