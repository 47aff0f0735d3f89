//! RFC 7638 thumbprints of RSA keys (PT-BIND-03): PT-BIND-01/02 cover EC keys; here the ticket
//! is bound to the kit client's RSA key and the client authenticates with that key.

use serde_json::json;

use super::{Check, Fut, custom, replace};
use crate::ctx::{Ctx, Stop, skip};
use crate::expect;

pub(super) const CHECKS: &[Check] = &[custom("PT-BIND-03", "rsa-key-thumbprint-binds", bind_03)];

fn bind_03(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let Some(rsa) = &c.keys.client_rs256 else {
            return skip(
                "the kit's key file has no RSA client key: rerun `tessera conformance init` and register the new kit-client.jwks.json",
            );
        };
        let mut p = c.base_payload();
        p.insert(
            "presenter_binding".into(),
            json!({"method": "jkt", "jkt": rsa.thumbprint()}),
        );
        let mut f = c.form(&c.mint(p)?).await?;
        let assertion = tessera_client::jwt::client_assertion(
            rsa,
            &c.config.client.client_id,
            &c.token_endpoint().await?,
            c.now(),
            &uuid::Uuid::new_v4().to_string(),
        )
        .map_err(|e| Stop::Fail(format!("kit cannot sign with its RSA client key: {e}")))?;
        replace(&mut f, "client_assertion", &assertion);
        let ex = c.post_form(&f, None).await?;
        expect::token(&ex).map(drop).map_err(|e| e.within("a ticket bound to the RFC 7638 thumbprint of the RS256 client key that signed the assertion"))
    })
}

#[cfg(test)]
mod tests {
    /// The kit's expectation is RFC 7638's own: its §3.1 example key and thumbprint.
    #[test]
    fn pt_bind_03_kit_thumbprints_match_rfc_7638_section_3_1() {
        let key = serde_json::json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        let jwk = tessera_jose::Jwk::from_value(&key).unwrap();
        assert_eq!(
            jwk.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}
