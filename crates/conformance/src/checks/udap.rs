//! The kit as a UDAP client (PT-CA-10, PT-BIND-06): a member of its own community, whose root
//! the target trusts (`[udap]`). The kit registers once per run by UDAP dynamic client
//! registration (a software statement signed with its certificate), then authenticates with
//! `client_assertion`s carrying the `x5c` chain, redeeming tickets bound to its entity by
//! `trust_framework_client`.

use serde_json::{Map, Value, json};
use tessera_udap::pki::{LeafSpec, Pki};
use tessera_udap::{Pkcs8Signer, sign_x5c};

use super::framework::{self, OTHER_FRAMEWORK, redeem_as};
use super::{Check, Fut, custom};
use crate::config::UdapConfig;
use crate::ctx::{Ctx, Stop, fail, skip};
use crate::expect::{self, CLIENT, Expect, grant};
use crate::pki::LeafKeys;
use crate::probe::Request;

const MISMATCH: Expect = grant("Ticket presenter binding mismatch");

pub(super) const CHECKS: &[Check] = &[
    custom("PT-CA-10", "x5c-assertion-of-a-registered-client", |c| {
        redeem(c, Binding::Entity, Chain::Kit, Expect::Token)
    }),
    custom("PT-CA-10", "chain-to-an-untrusted-anchor", |c| {
        redeem(c, Binding::Entity, Chain::Untrusted, CLIENT)
    }),
    custom("PT-CA-10", "signed-by-a-key-not-in-the-leaf", |c| {
        redeem(c, Binding::Entity, Chain::WrongKey, CLIENT)
    }),
    custom("PT-BIND-06", "entity-uri-is-the-certificate-san", |c| {
        redeem(c, Binding::Entity, Chain::Kit, Expect::Token)
    }),
    custom("PT-BIND-06", "entity-uri-differs-from-the-san", |c| {
        redeem(c, Binding::OtherEntity, Chain::Kit, MISMATCH)
    }),
    custom("PT-BIND-06", "another-trust-framework", |c| {
        redeem(c, Binding::OtherFramework, Chain::Kit, MISMATCH)
    }),
];

/// What the ticket's `trust_framework_client` binding names.
#[derive(Clone, Copy)]
enum Binding {
    /// The kit's entity in the kit's community.
    Entity,
    /// Another entity in the kit's community.
    OtherEntity,
    /// The kit's entity in a framework the certificate does not chain to.
    OtherFramework,
}

/// How the client assertion is signed.
#[derive(Clone, Copy)]
enum Chain {
    /// The kit's leaf and chain.
    Kit,
    /// A leaf with the same SAN from a community the target does not trust.
    Untrusted,
    /// The kit's chain, signed with another key.
    WrongKey,
}

fn setup(c: &Ctx) -> Result<(&UdapConfig, &LeafKeys), Stop> {
    let Some(u) = c.config.udap.as_ref() else {
        return skip(
            "needs setup: a UDAP community whose anchor the target trusts ([udap] in kit.toml)",
        );
    };
    let Some(keys) = c.keys.udap.as_ref() else {
        return skip(
            "needs setup: the key file has no UDAP community (`udap`); rerun `tessera \
             conformance init` in an empty directory",
        );
    };
    Ok((u, &keys.client))
}

fn redeem(c: &Ctx, binding: Binding, chain: Chain, want: Expect) -> Fut<'_> {
    Box::pin(async move {
        let (u, leaf) = setup(c)?;
        let client_id = c.udap_client_id().await?;
        let entity = match binding {
            Binding::OtherEntity => format!("{}-other", leaf.san),
            _ => leaf.san.clone(),
        };
        let framework = match binding {
            Binding::OtherFramework => OTHER_FRAMEWORK,
            _ => u.community.as_str(),
        };
        let aud = c.token_endpoint().await?;
        let assertion = assertion(c, &client_id, &aud, leaf, chain)?;
        let ex = redeem_as(
            c,
            framework::binding(framework, "udap", &entity),
            &assertion,
        )
        .await?;
        expect::check(&ex, want)
    })
}

/// An `x5c` client assertion (UDAP JWT client authentication): `iss` = `sub` = the
/// registered client id, `aud` the token endpoint, five minutes.
fn assertion(
    c: &Ctx,
    client_id: &str,
    aud: &str,
    leaf: &LeafKeys,
    chain: Chain,
) -> Result<String, Stop> {
    let now = c.now();
    let claims = obj(
        json!({"iss": client_id, "sub": client_id, "aud": aud, "iat": now,
        "exp": now + 300, "jti": uuid::Uuid::new_v4().to_string()}),
    );
    match chain {
        Chain::Kit => sign(&claims, &leaf.chain, &leaf.key_pem),
        Chain::Untrusted | Chain::WrongKey => {
            let day = 86_400;
            let pki = Pki::new("Untrusted kit community", now - day, now + 30 * day, None)
                .map_err(Stop::Fail)?;
            let other = pki
                .leaf(&LeafSpec::client(&leaf.san, now - day, now + 30 * day))
                .map_err(Stop::Fail)?;
            match chain {
                Chain::Untrusted => sign(&claims, &other.chain, &other.key_pem),
                _ => sign(&claims, &leaf.chain, &other.key_pem),
            }
        }
    }
}

fn sign(claims: &Map<String, Value>, chain: &[Vec<u8>], key_pem: &str) -> Result<String, Stop> {
    let signer = Pkcs8Signer::from_pem(key_pem.as_bytes())
        .map_err(|e| Stop::Fail(format!("kit cannot load its UDAP key: {e}")))?;
    sign_x5c(claims, chain, &signer)
        .map_err(|e| Stop::Fail(format!("kit cannot sign with its UDAP key: {e}")))
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

impl Ctx {
    /// The kit's UDAP client id, registered once per run (UDAP DCR).
    pub async fn udap_client_id(&self) -> Result<String, Stop> {
        let r = self
            .udap_client
            .get_or_init(|| async {
                match register(self).await {
                    Ok(id) => Ok(id),
                    Err(Stop::Fail(e) | Stop::Skip(e)) => Err(e),
                }
            })
            .await;
        r.clone()
            .map_err(|e| Stop::Fail(format!("UDAP registration failed: {e}")))
    }
}

/// Registers the kit's certificate: a software statement (`iss` = `sub` = the SAN, `aud` the
/// registration endpoint) asking for token exchange with `private_key_jwt`.
async fn register(c: &Ctx) -> Result<String, Stop> {
    let (u, leaf) = setup(c)?;
    let endpoint = match &u.registration_endpoint {
        Some(e) => e.clone(),
        None => match c.discovery().await?.get("registration_endpoint") {
            Some(Value::String(s)) => s.clone(),
            _ => {
                return fail(
                    "discovery has no registration_endpoint (set udap.registration_endpoint)",
                );
            }
        },
    };
    let now = c.now();
    let statement = obj(
        json!({"iss": leaf.san, "sub": leaf.san, "aud": endpoint, "iat": now,
        "exp": now + 300, "jti": uuid::Uuid::new_v4().to_string(),
        "client_name": "Tessera conformance kit", "grant_types": [tessera_client::TOKEN_EXCHANGE_GRANT],
        "token_endpoint_auth_method": "private_key_jwt", "scope": u.scope}),
    );
    let signed = sign(&statement, &leaf.chain, &leaf.key_pem)?;
    let body = json!({"software_statement": signed, "udap": "1"}).to_string();
    let ex = c
        .probe
        .send(Request {
            method: "POST".into(),
            url: endpoint,
            headers: vec![("Content-Type".into(), "application/json".into())],
            shown_body: Some(format!(
                "{{\"software_statement\":\"{}\",\"udap\":\"1\"}}",
                crate::probe::redact(&signed)
            )),
            body: Some(body.into_bytes()),
        })
        .await;
    expect::transport(&ex)?;
    match (ex.code(), ex.json()) {
        (200 | 201, Some(v)) => match v.get("client_id") {
            Some(Value::String(id)) if !id.is_empty() => Ok(id.clone()),
            _ => fail(format!(
                "{}: no client_id in the registration response",
                ex.summary()
            )),
        },
        _ => fail(format!("{}: expected 201 with a client_id", ex.summary())),
    }
}
