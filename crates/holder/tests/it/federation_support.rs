//! A loopback OpenID Federation for holder tests: an axum server on 127.0.0.1:0 serving
//! entity configurations and fetch-endpoint answers that the tests sign with real ES256 keys
//! (anchor → intermediate → leaves), plus a slow path for timeout tests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tessera_jose::{Alg, PrivateJwk, sign_compact};

use crate::token_support::NOW;

pub const MARK: &str = "https://fed.example/marks/ticket-issuer";

#[derive(Default)]
pub struct Docs {
    pub by_path: Mutex<HashMap<String, String>>,
    pub hits: Mutex<Vec<String>>,
}

async fn serve_doc(State(d): State<Arc<Docs>>, uri: Uri) -> Response {
    let key = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    d.hits.lock().unwrap().push(key.clone());
    if key.starts_with("/slow") {
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    match d.by_path.lock().unwrap().get(&key) {
        Some(body) => (
            [(header::CONTENT_TYPE, "application/entity-statement+jwt")],
            body.clone(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Starts the server; returns its docs and `http://127.0.0.1:port`.
pub async fn spawn() -> (Arc<Docs>, String) {
    let docs = Arc::new(Docs::default());
    let app = Router::new().fallback(serve_doc).with_state(docs.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (docs, format!("http://{addr}"))
}

pub struct Ent {
    pub id: String,
    pub path: String,
    pub key: PrivateJwk,
}

impl Ent {
    pub fn new(origin: &str, path: &str) -> Ent {
        Ent {
            id: format!("{origin}{path}"),
            path: path.to_owned(),
            key: PrivateJwk::generate(Alg::Es256).unwrap(),
        }
    }

    pub fn jwks(&self) -> Value {
        json!({"keys": [self.key.public().to_value()]})
    }

    pub fn sign_typ(&self, typ: &str, claims: &Value) -> String {
        let mut h = Map::new();
        h.insert("typ".into(), typ.into());
        sign_compact(
            &h,
            claims.to_string().as_bytes(),
            &self.key.signer().unwrap(),
        )
        .unwrap()
    }

    fn statement(&self, sub: &str, jwks: Value, extra: Value) -> String {
        let mut c =
            json!({"iss": self.id, "sub": sub, "iat": NOW - 10, "exp": NOW + 3600, "jwks": jwks});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        self.sign_typ("entity-statement+jwt", &c)
    }

    /// Publishes this entity's configuration.
    pub fn publish(&self, docs: &Docs, extra: Value) {
        let ec = self.statement(&self.id, self.jwks(), extra);
        docs.by_path
            .lock()
            .unwrap()
            .insert(format!("{}/.well-known/openid-federation", self.path), ec);
    }

    /// Publishes this (superior) entity's statement about `sub` at its fetch endpoint.
    pub fn publish_about(&self, docs: &Docs, sub: &Ent, extra: Value) {
        let st = self.statement(&sub.id, sub.jwks(), extra);
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("sub", &sub.id)
            .finish();
        docs.by_path
            .lock()
            .unwrap()
            .insert(format!("{}/fetch?{q}", self.path), st);
    }

    pub fn authority(&self) -> Value {
        json!({"federation_entity": {"federation_fetch_endpoint": format!("{}/fetch", self.id)}})
    }

    pub fn trust_mark(&self, sub: &str, mark: &str) -> String {
        self.sign_typ(
            "trust-mark+jwt",
            &json!({"iss": self.id, "sub": sub, "trust_mark_type": mark, "iat": NOW - 10, "exp": NOW + 3600}),
        )
    }
}

/// anchor → intermediate → {ticket issuer}; the anchor lets the intermediate issue MARK.
pub struct LoopFed {
    pub docs: Arc<Docs>,
    pub origin: String,
    pub anchor: Ent,
    pub intermediate: Ent,
    pub issuer: Ent,
    /// A payer client entity under the intermediate.
    pub payer: Ent,
    /// The payer's client-assertion key (`oauth_client.jwks`).
    pub payer_key: PrivateJwk,
    /// The issuer's ticket-signing key (`smart_permission_ticket_issuer.jwks`).
    pub ticket_key: PrivateJwk,
    pub dir: tempfile::TempDir,
}

impl LoopFed {
    pub async fn new() -> LoopFed {
        let (docs, origin) = spawn().await;
        let anchor = Ent::new(&origin, "/anchor");
        let intermediate = Ent::new(&origin, "/int");
        let issuer = Ent::new(&origin, "/issuer");
        let ticket_key = PrivateJwk::generate(Alg::Es256).unwrap();
        let payer = Ent::new(&origin, "/payer");
        let payer_key = PrivateJwk::generate(Alg::Es256).unwrap();
        payer.publish(
            &docs,
            json!({"authority_hints": [intermediate.id],
                "metadata": {"oauth_client": {"client_name": "Payer",
                    "jwks": {"keys": [payer_key.public().to_value()]}}}}),
        );
        intermediate.publish_about(&docs, &payer, json!({}));
        anchor.publish(
            &docs,
            json!({"metadata": anchor.authority(), "trust_mark_issuers": {MARK: [intermediate.id]}}),
        );
        intermediate.publish(
            &docs,
            json!({"metadata": intermediate.authority(), "authority_hints": [anchor.id]}),
        );
        anchor.publish_about(
            &docs,
            &intermediate,
            json!({"metadata_policy": {"smart_permission_ticket_issuer": {
                "organization_name": {"essential": true}}}}),
        );
        intermediate.publish_about(&docs, &issuer, json!({}));
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("anchor.json"), anchor.jwks().to_string()).unwrap();
        let fed = LoopFed {
            docs,
            origin,
            anchor,
            intermediate,
            issuer,
            payer,
            payer_key,
            ticket_key,
            dir,
        };
        fed.publish_issuer(true);
        fed
    }

    /// (Re)publishes the ticket issuer's configuration, with or without its trust mark.
    pub fn publish_issuer(&self, with_mark: bool) {
        let marks = if with_mark {
            json!([{"trust_mark_type": MARK, "trust_mark": self.intermediate.trust_mark(&self.issuer.id, MARK)}])
        } else {
            json!([])
        };
        self.issuer.publish(
            &self.docs,
            json!({
                "authority_hints": [self.intermediate.id],
                "metadata": {"smart_permission_ticket_issuer": {
                    "organization_name": "Federated Issuer",
                    "jwks": {"keys": [self.ticket_key.public().to_value()]}}},
                "trust_marks": marks,
            }),
        );
    }

    pub fn anchor_jwks_path(&self) -> String {
        self.dir.path().join("anchor.json").display().to_string()
    }

    /// `[[trust_framework]]` for this federation.
    pub fn framework_toml(&self, extra: &str) -> String {
        format!(
            "[[trust_framework]]\nid = \"{}\"\nframework_type = \"oidf\"\nanchor_jwks_file = \"{}\"\n{extra}\n",
            self.anchor.id,
            self.anchor_jwks_path()
        )
    }

    /// The served chain for `leaf` (under the intermediate), leaf first, as a `trust_chain`.
    pub fn trust_chain(&self, leaf: &Ent) -> Vec<String> {
        let docs = self.docs.by_path.lock().unwrap();
        let fetch = |e: &Ent, sub: &Ent| {
            let q = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("sub", &sub.id)
                .finish();
            docs[&format!("{}/fetch?{q}", e.path)].clone()
        };
        let ec = |e: &Ent| docs[&format!("{}/.well-known/openid-federation", e.path)].clone();
        vec![
            ec(leaf),
            fetch(&self.intermediate, leaf),
            fetch(&self.anchor, &self.intermediate),
            ec(&self.anchor),
        ]
    }

    pub fn hits(&self) -> Vec<String> {
        self.docs.hits.lock().unwrap().clone()
    }
}
