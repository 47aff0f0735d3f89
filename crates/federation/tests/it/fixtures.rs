//! A small federation builder: entities with real ES256 keys that sign entity
//! configurations, subordinate statements and trust marks.

use serde_json::{Map, Value, json};
use tessera_federation::{TrustAnchor, entity_id};
use tessera_jose::{Alg, JwkSet, PrivateJwk, sign_compact};

pub const NOW: i64 = 1_800_000_000;

pub struct Entity {
    pub id: String,
    pub key: PrivateJwk,
}

fn merge(mut base: Value, extra: Value) -> Value {
    if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
        for (k, v) in e {
            if v.is_null() {
                b.remove(&k);
            } else {
                b.insert(k, v);
            }
        }
    }
    base
}

impl Entity {
    pub fn new(id: &str) -> Entity {
        Entity {
            id: id.to_owned(),
            key: PrivateJwk::generate(Alg::Es256).unwrap(),
        }
    }

    pub fn jwks(&self) -> Value {
        json!({"keys": [self.key.public().to_value()]})
    }

    pub fn key_set(&self) -> JwkSet {
        JwkSet::from_json(self.jwks().to_string().as_bytes()).unwrap()
    }

    pub fn anchor(&self) -> TrustAnchor {
        TrustAnchor {
            entity_id: self.id.clone(),
            jwks: self.key_set(),
        }
    }

    pub fn sign_typ(&self, typ: &str, claims: &Value) -> String {
        let mut h = Map::new();
        h.insert("typ".into(), typ.into());
        let signer = self.key.signer().unwrap();
        sign_compact(&h, claims.to_string().as_bytes(), &signer).unwrap()
    }

    pub fn sign(&self, claims: &Value) -> String {
        self.sign_typ("entity-statement+jwt", claims)
    }

    /// The entity configuration; `extra` members override (null removes).
    pub fn configuration(&self, extra: Value) -> String {
        let base = json!({
            "iss": self.id, "sub": self.id, "iat": NOW - 10, "exp": NOW + 3600,
            "jwks": self.jwks(),
        });
        self.sign(&merge(base, extra))
    }

    /// A subordinate statement by `self` about `sub`.
    pub fn subordinate(&self, sub: &Entity, extra: Value) -> String {
        let base = json!({
            "iss": self.id, "sub": sub.id, "iat": NOW - 10, "exp": NOW + 3600,
            "jwks": sub.jwks(),
        });
        self.sign(&merge(base, extra))
    }

    /// A trust mark by `self` about `sub`.
    pub fn trust_mark(&self, sub: &str, mark_type: &str, extra: Value) -> String {
        let base = json!({
            "iss": self.id, "sub": sub, "trust_mark_type": mark_type,
            "iat": NOW - 10, "exp": NOW + 3600,
        });
        self.sign_typ("trust-mark+jwt", &merge(base, extra))
    }

    pub fn fetch_endpoint(&self) -> String {
        format!("{}/fetch", self.id)
    }

    pub fn configuration_url(&self) -> String {
        entity_id::configuration_url(&self.id).unwrap().to_string()
    }

    pub fn fetch_url(&self, sub: &Entity) -> String {
        entity_id::fetch_url(&self.fetch_endpoint(), &sub.id)
            .unwrap()
            .to_string()
    }

    /// `metadata.federation_entity.federation_fetch_endpoint`.
    pub fn authority_metadata(&self) -> Value {
        json!({"federation_entity": {"federation_fetch_endpoint": self.fetch_endpoint()}})
    }
}

pub const MARK: &str = "https://anchor.example.org/marks/provider";

/// anchor → intermediate → app leaf, with an oauth_client policy and a trust mark issued
/// by the intermediate.
pub struct Fed {
    pub anchor: Entity,
    pub intermediate: Entity,
    pub app: Entity,
    pub app_key: PrivateJwk,
}

impl Fed {
    pub fn new() -> Fed {
        Fed {
            anchor: Entity::new("https://anchor.example.org"),
            intermediate: Entity::new("https://int.example.org"),
            app: Entity::new("https://app.example.org"),
            app_key: PrivateJwk::generate(Alg::Es256).unwrap(),
        }
    }

    pub fn app_metadata(&self) -> Value {
        json!({
            "oauth_client": {
                "client_name": "App",
                "grant_types": ["client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange", "implicit"],
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks": {"keys": [self.app_key.public().to_value()]}
            }
        })
    }

    pub fn anchor_configuration(&self) -> String {
        self.anchor.configuration(json!({
            "metadata": self.anchor.authority_metadata(),
            "trust_mark_issuers": {MARK: [self.intermediate.id]},
        }))
    }

    pub fn anchor_policy(&self) -> Value {
        json!({"oauth_client": {
            "grant_types": {"subset_of": ["client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"]},
            "token_endpoint_auth_method": {"one_of": ["private_key_jwt"], "essential": true},
            "contacts": {"add": ["ops@anchor.example.org"]},
        }})
    }

    pub fn intermediate_policy(&self) -> Value {
        json!({"oauth_client": {
            "contacts": {"add": ["ops@int.example.org"]},
            "token_endpoint_auth_signing_alg": {"default": "ES256"},
        }})
    }

    pub fn app_configuration(&self) -> String {
        let mark = self.intermediate.trust_mark(&self.app.id, MARK, json!({}));
        self.app.configuration(json!({
            "authority_hints": [self.intermediate.id],
            "metadata": self.app_metadata(),
            "trust_marks": [{"trust_mark_type": MARK, "trust_mark": mark}],
        }))
    }

    pub fn intermediate_configuration(&self) -> String {
        self.intermediate.configuration(json!({
            "authority_hints": [self.anchor.id],
            "metadata": self.intermediate.authority_metadata(),
        }))
    }

    pub fn about_app(&self, extra: Value) -> String {
        let base = json!({"metadata_policy": self.intermediate_policy()});
        self.intermediate.subordinate(&self.app, merge(base, extra))
    }

    pub fn about_intermediate(&self, extra: Value) -> String {
        let base = json!({"metadata_policy": self.anchor_policy()});
        self.anchor
            .subordinate(&self.intermediate, merge(base, extra))
    }

    /// The full chain, leaf first (the `trust_chain` header's shape).
    pub fn chain(&self) -> Vec<String> {
        vec![
            self.app_configuration(),
            self.about_app(json!({})),
            self.about_intermediate(json!({})),
            self.anchor_configuration(),
        ]
    }
}
