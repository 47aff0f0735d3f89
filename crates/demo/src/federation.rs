//! A loopback OpenID Federation and a well-known client host, started by the demo itself (and
//! by the CLI's tests): one HTTP server on 127.0.0.1 serving real ES256-signed entity
//! statements (anchor → intermediate → a payer client and the Data Holder's own entity), the
//! anchor's trust mark for the payer, and a Proposal 006 app's `/.well-known/jwks.json`.
//!
//! ```text
//! /anchor/.well-known/openid-federation        anchor configuration (trust_mark_issuers)
//! /anchor/fetch?sub=…  /int/fetch?sub=…        subordinate statements
//! /{int,payer,holder}/.well-known/openid-federation
//! /app/.well-known/jwks.json                   the well-known app's keys
//! /framework.json                              the well-known framework document
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tessera_jose::{Alg, PrivateJwk, sign_compact};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use tessera_client::ClientKey;

use crate::env::DemoEnv;
use crate::error::DemoError;
use crate::exec::Which;
use crate::scenarios::{Check, Expect, Flow, Scenario};

/// The trust mark the anchor gives the payer.
pub const PAYER_MARK: &str = "https://fed.tessera.example/marks/payer";
/// The well-known framework's id.
pub const WELL_KNOWN_FRAMEWORK: &str = "https://apps.tessera.example/well-known";
/// Demo client name of the OpenID Federation payer (scenario `client`).
pub const FED_PAYER: &str = "federated-payer";
/// Demo client name of the Proposal 006 well-known app.
pub const WELL_KNOWN_APP: &str = "well-known-app";
/// Lifetime of every statement, seconds.
const LIFETIME: i64 = 86_400;

/// One federation entity: its id, its federation key.
#[derive(Debug)]
pub struct Entity {
    /// The entity ID (`{origin}{path}`).
    pub id: String,
    path: String,
    key: PrivateJwk,
}

impl Entity {
    fn new(origin: &str, path: &str) -> Result<Entity, DemoError> {
        Ok(Entity {
            id: format!("{origin}{path}"),
            path: path.to_owned(),
            key: generate()?,
        })
    }

    fn jwks(&self) -> Value {
        json!({"keys": [self.key.public().to_value()]})
    }

    fn sign(&self, typ: &str, claims: &Value) -> Result<String, DemoError> {
        let mut h = Map::new();
        h.insert("typ".into(), typ.into());
        let signer = self.key.signer().map_err(sign_err)?;
        sign_compact(&h, claims.to_string().as_bytes(), &signer).map_err(sign_err)
    }

    fn statement(&self, sub: &Entity, now: i64, extra: Value) -> Result<String, DemoError> {
        let mut c = json!({"iss": self.id, "sub": sub.id, "iat": now - 60,
            "exp": now + LIFETIME, "jwks": sub.jwks()});
        if let (Value::Object(c), Value::Object(e)) = (&mut c, extra) {
            c.extend(e);
        }
        self.sign("entity-statement+jwt", &c)
    }

    fn authority(&self) -> Value {
        json!({"federation_entity": {"federation_fetch_endpoint": format!("{}/fetch", self.id),
            "organization_name": self.path.trim_start_matches('/')}})
    }
}

fn generate() -> Result<PrivateJwk, DemoError> {
    PrivateJwk::generate(Alg::Es256).map_err(sign_err)
}

fn sign_err(e: tessera_jose::JoseError) -> DemoError {
    DemoError::Issuer(format!("federation fixture: {e}"))
}

/// (path, `sub` query parameter) → body.
type Docs = HashMap<(String, Option<String>), (&'static str, String)>;

/// The running federation host.
#[derive(Debug)]
pub struct FederationHost {
    /// `http://127.0.0.1:port`.
    pub origin: String,
    /// The trust anchor (its id is the `[[trust_framework]]` id).
    pub anchor: Entity,
    /// The intermediate.
    pub intermediate: Entity,
    /// The payer client entity (`client_id` = its id).
    pub payer: Entity,
    /// The payer's client-assertion key (`metadata.oauth_client.jwks`).
    pub payer_client_key: PrivateJwk,
    /// The Data Holder's own entity (its `entity_id`).
    pub holder: Entity,
    /// The well-known app's entity URI.
    pub app: String,
    /// The well-known app's assertion key.
    pub app_key: PrivateJwk,
    /// The payer's trust chain, leaf first (its `trust_chain` header).
    pub payer_chain: Vec<String>,
    /// Per demo client name: the client id presented, its key, its extra assertion header.
    clients: HashMap<&'static str, (String, ClientKey, Map<String, Value>)>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl FederationHost {
    /// Binds 127.0.0.1:0, signs every document valid at `now`, and serves them.
    pub async fn start(now: i64) -> Result<FederationHost, DemoError> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let origin = format!("http://{}", listener.local_addr()?);
        let anchor = Entity::new(&origin, "/anchor")?;
        let intermediate = Entity::new(&origin, "/int")?;
        let payer = Entity::new(&origin, "/payer")?;
        let holder = Entity::new(&origin, "/holder")?;
        let payer_client_key = generate()?;
        let app_key = generate()?;
        let app = format!("{origin}/app");
        let mut docs: Docs = HashMap::new();
        let es = "application/entity-statement+jwt";
        let mut put = |e: &Entity, sub: Option<&Entity>, body: String| {
            let path = match sub {
                None => format!("{}/.well-known/openid-federation", e.path),
                Some(_) => format!("{}/fetch", e.path),
            };
            docs.insert((path, sub.map(|s| s.id.clone())), (es, body));
        };
        let anchor_ec = anchor.statement(
            &anchor,
            now,
            json!({"metadata": anchor.authority(), "trust_mark_issuers": {PAYER_MARK: [anchor.id]}}),
        )?;
        put(&anchor, None, anchor_ec.clone());
        let about_int = anchor.statement(
            &intermediate,
            now,
            json!({"metadata_policy": {"oauth_client": {
                "token_endpoint_auth_method": {"default": "private_key_jwt", "one_of": ["private_key_jwt"]}}}}),
        )?;
        put(&anchor, Some(&intermediate), about_int.clone());
        put(
            &intermediate,
            None,
            intermediate.statement(
                &intermediate,
                now,
                json!({"metadata": intermediate.authority(), "authority_hints": [anchor.id]}),
            )?,
        );
        let mark = anchor.sign(
            "trust-mark+jwt",
            &json!({"iss": anchor.id, "sub": payer.id, "trust_mark_type": PAYER_MARK,
                "iat": now - 60, "exp": now + LIFETIME}),
        )?;
        let payer_ec = payer.statement(
            &payer,
            now,
            json!({"authority_hints": [intermediate.id],
                "metadata": {"oauth_client": {"client_name": "Federated payer",
                    "jwks": {"keys": [payer_client_key.public().to_value()]}}},
                "trust_marks": [{"trust_mark_type": PAYER_MARK, "trust_mark": mark}]}),
        )?;
        put(&payer, None, payer_ec.clone());
        let about_payer = intermediate.statement(&payer, now, json!({}))?;
        put(&intermediate, Some(&payer), about_payer.clone());
        put(
            &holder,
            None,
            holder.statement(
                &holder,
                now,
                json!({"authority_hints": [intermediate.id],
                    "metadata": {"federation_entity": {"organization_name": "Data Holder"}}}),
            )?,
        );
        put(
            &intermediate,
            Some(&holder),
            intermediate.statement(&holder, now, json!({}))?,
        );
        docs.insert(
            ("/app/.well-known/jwks.json".into(), None),
            (
                "application/json",
                json!({"keys": [app_key.public().to_value()]}).to_string(),
            ),
        );
        docs.insert(
            ("/framework.json".into(), None),
            (
                "application/json",
                json!({"framework": WELL_KNOWN_FRAMEWORK, "entities": [app]}).to_string(),
            ),
        );
        let (shutdown, mut rx) = watch::channel(false);
        let router = Router::new().fallback(serve).with_state(Arc::new(docs));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = rx.wait_for(|s| *s).await;
                })
                .await;
        });
        let payer_chain = vec![payer_ec, about_payer, about_int, anchor_ec];
        let key = |k: &PrivateJwk| ClientKey::new(k.clone()).map_err(DemoError::from);
        let mut header = Map::new();
        header.insert("trust_chain".into(), json!(payer_chain));
        let clients = HashMap::from([
            (
                FED_PAYER,
                (payer.id.clone(), key(&payer_client_key)?, header),
            ),
            (
                WELL_KNOWN_APP,
                (format!("well-known:{app}"), key(&app_key)?, Map::new()),
            ),
        ]);
        Ok(FederationHost {
            payer_chain,
            clients,
            origin,
            anchor,
            intermediate,
            payer,
            payer_client_key,
            holder,
            app,
            app_key,
            shutdown,
            task,
        })
    }

    /// The anchor's public JWK Set (what a Data Holder configures as `anchor_jwks_file`).
    pub fn anchor_jwks(&self) -> Value {
        self.anchor.jwks()
    }

    /// `[[trust_framework]]` entries for a Data Holder: this federation (with the holder's
    /// `entity_id`) and the well-known framework (recognizing the app through the framework
    /// document). `anchor_jwks_file` is where the caller wrote [`FederationHost::anchor_jwks`].
    pub fn holder_toml(&self, anchor_jwks_file: &str) -> String {
        let s = |v: &str| Value::String(v.to_owned()).to_string();
        format!(
            "\n[[trust_framework]]\nid = {}\nframework_type = \"oidf\"\nanchor_jwks_file = {}\n\
             entity_id = {}\n\n\
             [[trust_framework]]\nid = {}\nframework_type = \"well-known\"\nframework_document_uri = {}\n",
            s(&self.anchor.id),
            s(anchor_jwks_file),
            s(&self.holder.id),
            s(WELL_KNOWN_FRAMEWORK),
            s(&format!("{}/framework.json", self.origin)),
        )
    }

    /// For a demo client name: the client id it presents, its key and its extra assertion
    /// header (`trust_chain` for the federation payer).
    pub fn presented(&self, name: &str) -> Option<(&str, &ClientKey, &Map<String, Value>)> {
        self.clients
            .get(name)
            .map(|(id, key, header)| (id.as_str(), key, header))
    }

    /// Stops the server.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

async fn serve(State(docs): State<Arc<Docs>>, uri: Uri) -> Response {
    let sub = uri.query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "sub")
            .map(|(_, v)| v.into_owned())
    });
    match docs.get(&(uri.path().to_owned(), sub)) {
        Some((ct, body)) => ([(header::CONTENT_TYPE, *ct)], body.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The two trust-framework scenarios: an OpenID Federation payer (offline `trust_chain`) and a
/// Proposal 006 well-known app redeem quality-gap tickets bound to their verified identities.
pub(crate) fn scenarios(env: &DemoEnv, quality_gap: &Value) -> Vec<Scenario> {
    let fed = &env.federation;
    let cast = &env.cast;
    let bound = |binding: Value| {
        let mut t = quality_gap.clone();
        t["presenter_binding"] = binding;
        t
    };
    let scenario = |key, title: &str, story: String, claims, client| Scenario {
        key,
        title: title.to_owned(),
        story,
        issuer: Which::Network,
        claims,
        client,
        dpop: false,
        flow: Flow::Direct,
        expect: Expect::Granted(Check::QualityGap),
        record: cast.patient.clone(),
    };
    vec![
        scenario(
            "oidf-payer",
            "Payer quality gap, OpenID Federation client",
            format!(
                "{} authenticates as federation entity {} with its trust chain in the assertion \
                 header (validated offline against anchor {}; keys from its resolved \
                 oauth_client metadata); the ticket's oidf binding matches the verified chain, \
                 and its audience is the federation, which this Data Holder verifiably joined \
                 (its own entity {} chains to the anchor).",
                cast.payer.name, fed.payer.id, fed.anchor.id, fed.holder.id
            ),
            {
                // Addressed to the federation: accepted because the Data Holder's own entity
                // chains to the same anchor (PT-AUD-05).
                let mut t = bound(json!({"method": "trust_framework_client",
                    "trust_framework": fed.anchor.id, "framework_type": "oidf",
                    "entity_uri": fed.payer.id}));
                t["aud"] = json!(fed.anchor.id);
                t["aud_type"] = json!("trust_framework");
                t
            },
            FED_PAYER,
        ),
        scenario(
            "well-known-app",
            "Payer quality gap, well-known client",
            format!(
                "The payer's analytics app authenticates as well-known:{} (keys from its \
                 /.well-known/jwks.json, recognized by framework {}'s document); the ticket's \
                 well-known binding matches.",
                fed.app, WELL_KNOWN_FRAMEWORK
            ),
            bound(json!({"method": "trust_framework_client",
                "trust_framework": WELL_KNOWN_FRAMEWORK, "framework_type": "well-known",
                "entity_uri": fed.app})),
            WELL_KNOWN_APP,
        ),
    ]
}
