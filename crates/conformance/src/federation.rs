//! The kit's OpenID Federation: a trust anchor (its key is the one kept in the key file, since
//! the target's configuration names the anchor's JWK Set) and two leaves under it, signed at
//! the start of a run and served by the issuer host:
//!
//! ```text
//! {url}/federation/anchor    anchor configuration, fetch endpoint (statements about leaves)
//! {url}/federation/client    a client entity; metadata.oauth_client.jwks = the kit's client key
//! {url}/federation/issuer    a ticket issuer; metadata.smart_permission_ticket_issuer.jwks =
//!                            the kit's ES256 issuer key (its federation key is another one)
//! ```

use std::collections::HashMap;

use serde_json::{Map, Value, json};
use tessera_jose::{Alg, Jwk, PrivateJwk, sign_compact};

/// Path of the federation under the issuer URL.
pub const FEDERATION_PATH: &str = "/federation";
/// Content type of entity statements.
pub const ENTITY_STATEMENT: &str = "application/entity-statement+jwt";
const LIFETIME: i64 = 86_400;

/// (path under the host, `sub` query parameter) → statement.
pub type Docs = HashMap<(String, Option<String>), String>;

/// One entity: its id and federation key.
#[derive(Debug, Clone)]
pub struct Entity {
    /// The entity ID.
    pub id: String,
    path: String,
    /// Its federation key (signs statements only).
    pub key: PrivateJwk,
}

/// The signed federation of a run.
#[derive(Debug, Clone)]
pub struct Federation {
    /// The trust anchor (its id is the framework id at the target).
    pub anchor: Entity,
    /// The client entity (`client_id` = its id).
    pub client: Entity,
    /// The ticket issuer entity.
    pub issuer: Entity,
    /// The client's trust chain, leaf first (its `trust_chain` assertion header).
    pub client_chain: Vec<String>,
    /// Everything the host serves.
    pub docs: Docs,
}

impl Entity {
    fn new(url: &str, name: &str, key: PrivateJwk) -> Entity {
        let path = format!("{FEDERATION_PATH}/{name}");
        Entity {
            id: format!("{url}{path}"),
            path,
            key,
        }
    }

    fn jwks(&self) -> Value {
        json!({"keys": [self.key.public().to_value()]})
    }

    /// A statement by this entity about `sub` (itself: its entity configuration).
    fn statement(&self, sub: &Entity, now: i64, extra: Value) -> Result<String, String> {
        let mut c = json!({"iss": self.id, "sub": sub.id, "iat": now - 60,
            "exp": now + LIFETIME, "jwks": sub.jwks()});
        if let (Value::Object(c), Value::Object(e)) = (&mut c, extra) {
            c.extend(e);
        }
        let mut h = Map::new();
        h.insert("typ".into(), "entity-statement+jwt".into());
        let signer = self.key.signer().map_err(|e| e.to_string())?;
        sign_compact(&h, c.to_string().as_bytes(), &signer).map_err(|e| e.to_string())
    }

    fn configuration_path(&self) -> String {
        format!("{}/.well-known/openid-federation", self.path)
    }
}

impl Federation {
    /// Signs every document valid at `now`, under the issuer URL `url`.
    pub fn build(
        url: &str,
        anchor_key: &PrivateJwk,
        client_key: &Jwk,
        ticket_key: &Jwk,
        now: i64,
    ) -> Result<Federation, String> {
        let fresh = || PrivateJwk::generate(Alg::Es256).map_err(|e| e.to_string());
        let anchor = Entity::new(url, "anchor", anchor_key.clone());
        let client = Entity::new(url, "client", fresh()?);
        let issuer = Entity::new(url, "issuer", fresh()?);
        let fetch = format!("{}/fetch", anchor.path);
        let anchor_ec = anchor.statement(
            &anchor,
            now,
            json!({"metadata": {"federation_entity": {
                "federation_fetch_endpoint": format!("{}/fetch", anchor.id),
                "organization_name": "Tessera conformance kit anchor"}}}),
        )?;
        let client_ec = client.statement(
            &client,
            now,
            json!({"authority_hints": [anchor.id],
                "metadata": {"oauth_client": {"client_name": "Tessera conformance kit",
                    "token_endpoint_auth_method": "private_key_jwt",
                    "jwks": {"keys": [client_key.to_value()]}}}}),
        )?;
        let issuer_ec = issuer.statement(
            &issuer,
            now,
            json!({"authority_hints": [anchor.id],
                "metadata": {"smart_permission_ticket_issuer": {
                    "organization_name": "Tessera conformance kit issuer",
                    "jwks": {"keys": [ticket_key.to_value()]}}}}),
        )?;
        let about_client = anchor.statement(&client, now, json!({}))?;
        let about_issuer = anchor.statement(&issuer, now, json!({}))?;
        let mut docs = Docs::new();
        docs.insert((anchor.configuration_path(), None), anchor_ec.clone());
        docs.insert((client.configuration_path(), None), client_ec.clone());
        docs.insert((issuer.configuration_path(), None), issuer_ec);
        docs.insert(
            (fetch.clone(), Some(client.id.clone())),
            about_client.clone(),
        );
        docs.insert((fetch, Some(issuer.id.clone())), about_issuer);
        Ok(Federation {
            client_chain: vec![client_ec, about_client, anchor_ec],
            anchor,
            client,
            issuer,
            docs,
        })
    }
}
