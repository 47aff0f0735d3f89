//! The kit as a UDAP-trusted ticket issuer (PT-TRUST-04): `{issuer.url}/udap-issuer` publishes
//! `/.well-known/udap` whose `signed_metadata` carries its certificate (`x5c` to the kit's
//! community anchor, URI SAN = the issuer URL); its tickets are signed with that certificate's
//! key, `kid` = the key's RFC 7638 thumbprint.

use serde_json::Map;

use super::{Check, Fut, custom};
use crate::ctx::{Ctx, Stop, skip};
use crate::expect::{self, Expect, GRANT};
use crate::pki::UDAP_ISSUER_PATH;
use crate::tickets::sign_claims;

pub(super) const CHECKS: &[Check] = &[
    custom(
        "PT-TRUST-04",
        "ticket-signed-with-the-certificate-key",
        |c| run(c, Case::Certificate, Expect::Token),
    ),
    custom("PT-TRUST-04", "kid-not-the-certificate-thumbprint", |c| {
        run(c, Case::OtherKid, GRANT)
    }),
    custom("PT-TRUST-04", "signed-with-another-key", |c| {
        run(c, Case::OtherKey, GRANT)
    }),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Case {
    Certificate,
    OtherKid,
    OtherKey,
}

fn run(c: &Ctx, case: Case, want: Expect) -> Fut<'_> {
    Box::pin(async move {
        if c.config.udap.is_none() {
            return skip(
                "needs setup: a UDAP community whose anchor the target trusts ([udap] in kit.toml)",
            );
        }
        let Some(keys) = &c.keys.udap else {
            return skip("needs setup: the key file has no UDAP community; rerun init");
        };
        let iss = format!("{}{UDAP_ISSUER_PATH}", c.host.url);
        if keys.issuer.san != iss {
            return skip(format!(
                "needs setup: the kit's UDAP issuer certificate names {}, not {iss} (issuer.url \
                 changed since init; rerun init)",
                keys.issuer.san
            ));
        }
        let mut m = c.base_payload();
        m.insert("iss".into(), iss.into());
        let thumbprint = keys.issuer.public_jwk().map_err(Stop::Fail)?.thumbprint();
        let mut header = Map::new();
        header.insert(
            "kid".into(),
            match case {
                Case::OtherKid => "kit-not-the-certificate-key".into(),
                _ => thumbprint.into(),
            },
        );
        let ticket = match case {
            Case::OtherKey => {
                let signer = c
                    .keys
                    .issuer_signer(tessera_jose::Alg::Es256)
                    .map_err(Stop::Fail)?;
                sign_claims(&header, &m, &signer)?
            }
            _ => sign_claims(&header, &m, &keys.issuer.signer().map_err(Stop::Fail)?)?,
        };
        let ex = c.redeem(&ticket).await?;
        expect::check(&ex, want)
    })
}
