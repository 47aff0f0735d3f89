//! The kit's tests, each named by the checklist ID it checks and a case name. Most are rows of
//! tables: a ticket defect and the answer the specification requires; the rest are functions.

use std::future::Future;
use std::pin::Pin;

use serde_json::{Map, Value};

use crate::ctx::{Ctx, R};
use crate::expect::{self, Expect};
use crate::tickets::Sign;

mod aud;
mod bind;
mod client;
mod continuation;
mod delegated;
mod dhf;
mod discovery;
mod evidence;
mod federation;
mod fhir;
mod framework;
mod lifetime;
mod payer;
mod period;
mod public_health;
mod quality;
mod request;
mod revocation;
mod scope;
mod sensitivity;
mod server;
mod subject;
mod thumbprint;
mod udap;
mod udap_issuer;
mod validation;
mod well_known;

/// A check's future.
pub type Fut<'a> = Pin<Box<dyn Future<Output = R> + 'a>>;
/// A check written as a function.
pub type CheckFn = for<'a> fn(&'a Ctx) -> Fut<'a>;
/// A change to the baseline payload (may skip, e.g. when the configuration lacks a value).
pub type Mutate = fn(&Ctx, &mut Map<String, Value>) -> R;

/// One test.
#[derive(Clone, Copy)]
pub struct Check {
    /// The checklist ID.
    pub id: &'static str,
    /// The case, unique within the ID.
    pub case: &'static str,
    /// What it does.
    pub kind: Kind,
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.id, self.case)
    }
}

/// How a check runs.
#[derive(Clone, Copy)]
pub enum Kind {
    /// A function.
    Custom(CheckFn),
    /// The baseline ticket changed by `mutate`, signed `sign`, redeemed: the answer must be
    /// `expect`.
    Ticket {
        /// The defect.
        mutate: Mutate,
        /// The signature.
        sign: Sign,
        /// The required answer.
        expect: Expect,
    },
    /// The baseline ticket in a token request changed by `edit`: the answer must be `expect`.
    Form {
        /// The change to the form parameters.
        edit: Edit,
        /// The required answer.
        expect: Expect,
    },
}

/// A change to the token request's form parameters.
pub type Edit = fn(&mut Vec<(String, String)>);

/// A table row: the baseline request's form changed by `edit`.
pub const fn form(id: &'static str, case: &'static str, edit: Edit, expect: Expect) -> Check {
    Check {
        id,
        case,
        kind: Kind::Form { edit, expect },
    }
}

/// Removes a form parameter.
pub fn remove(f: &mut Vec<(String, String)>, key: &str) {
    f.retain(|(k, _)| k != key);
}

/// Replaces (or adds) a form parameter.
pub fn replace(f: &mut Vec<(String, String)>, key: &str, value: &str) {
    remove(f, key);
    f.push((key.into(), value.into()));
}

/// A table row: baseline changed by `mutate`, ES256, expecting `expect`.
pub const fn ticket(id: &'static str, case: &'static str, mutate: Mutate, expect: Expect) -> Check {
    Check {
        id,
        case,
        kind: Kind::Ticket {
            mutate,
            sign: Sign::Es256,
            expect,
        },
    }
}

/// A table row with a particular signature.
pub const fn signed(
    id: &'static str,
    case: &'static str,
    mutate: Mutate,
    sign: Sign,
    expect: Expect,
) -> Check {
    Check {
        id,
        case,
        kind: Kind::Ticket {
            mutate,
            sign,
            expect,
        },
    }
}

/// A function check.
pub const fn custom(id: &'static str, case: &'static str, run: CheckFn) -> Check {
    Check {
        id,
        case,
        kind: Kind::Custom(run),
    }
}

/// The unchanged baseline.
pub fn unchanged(_: &Ctx, _: &mut Map<String, Value>) -> R {
    Ok(())
}

/// Every check, in running order (discovery first: later checks use it).
pub fn all() -> Vec<Check> {
    [
        discovery::CHECKS,
        request::CHECKS,
        client::CHECKS,
        validation::CHECKS,
        aud::CHECKS,
        revocation::CHECKS,
        bind::CHECKS,
        thumbprint::CHECKS,
        subject::CHECKS,
        scope::CHECKS,
        dhf::CHECKS,
        sensitivity::CHECKS,
        delegated::CHECKS,
        payer::CHECKS,
        quality::CHECKS,
        public_health::CHECKS,
        evidence::CHECKS,
        udap::CHECKS,
        udap_issuer::CHECKS,
        well_known::CHECKS,
        federation::CHECKS,
        lifetime::CHECKS,
        continuation::CHECKS,
        server::CHECKS,
        fhir::CHECKS,
        period::CHECKS,
    ]
    .concat()
}

/// Runs one check.
pub async fn run(ctx: &Ctx, check: &Check) -> R {
    match check.kind {
        Kind::Custom(f) => f(ctx).await,
        Kind::Ticket {
            mutate,
            sign,
            expect,
        } => {
            let mut payload = ctx.base_payload();
            mutate(ctx, &mut payload)?;
            let ticket = if sign == Sign::Es256 && expect == Expect::Token {
                ctx.mint(payload)?
            } else {
                ctx.sign(&Value::Object(payload), sign)?
            };
            let ex = ctx.redeem(&ticket).await?;
            expect::check(&ex, expect)
        }
        Kind::Form { edit, expect } => {
            let ticket = ctx.mint(ctx.base_payload())?;
            let mut f = ctx.form(&ticket).await?;
            edit(&mut f);
            let ex = ctx.post_form(&f, None).await?;
            expect::check(&ex, expect)
        }
    }
}

pub(crate) use evidence::required_evidence;

/// Sets `access.<key>`.
pub fn set_access(m: &mut Map<String, Value>, key: &str, v: Value) {
    if let Some(Value::Object(a)) = m.get_mut("access") {
        a.insert(key.into(), v);
    }
}

/// An expired `exp` (well beyond the leeway), `iat` before it.
pub fn expire(c: &Ctx, m: &mut Map<String, Value>) {
    let now = c.now();
    let past = now - 10 * c.config.leeway_seconds.max(60);
    m.insert("iat".into(), (past - 600).into());
    m.insert("exp".into(), past.into());
}

/// Adds a `revocation` claim pointing at the kit's list, with that bit set.
pub fn revoke(c: &Ctx, m: &mut Map<String, Value>) {
    let index = c.host.allocate_index();
    c.host.set_bit(index, true);
    m.insert(
        "revocation".into(),
        serde_json::json!({"url": c.host.status_url("main"), "index": index}),
    );
}

/// Binds the ticket to a key the kit's client does not hold.
pub fn foreign_jkt(m: &mut Map<String, Value>) -> R {
    let other = tessera_jose::PrivateJwk::generate(tessera_jose::Alg::Es256)
        .map_err(|e| crate::ctx::Stop::Fail(e.to_string()))?;
    m.insert(
        "presenter_binding".into(),
        serde_json::json!({"method": "jkt", "jkt": other.public().thumbprint()}),
    );
    Ok(())
}
