//! The two JWTs a client signs: the `private_key_jwt` client assertion (RFC 7523 as profiled by
//! SMART Backend Services) and the DPoP proof (RFC 9449).
//!
//! Both are pure functions of (key, claims inputs, `now`, `jti`): the caller brings time and
//! randomness, so tests can pin every byte of the claims.

use serde_json::{Map, Value, json};
use tessera_jose::{Alg, JoseError, JwkSigner, PrivateJwk, Signer, b64, sign_compact};
use url::Url;

use crate::ClientError;

/// Lifetime of a client assertion: SMART Backend Services caps it at five minutes; one minute
/// is plenty for a request that is sent immediately.
pub const ASSERTION_LIFETIME: i64 = 60;

/// `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A client's private key, checked once: it must sign with an algorithm clients may use.
pub struct ClientKey {
    key: PrivateJwk,
    signer: JwkSigner,
}

impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientKey")
            .field("kid", &self.key.kid())
            .field("alg", &self.signer.alg())
            .finish_non_exhaustive()
    }
}

impl ClientKey {
    /// Wraps a private JWK. Its algorithm is the JWK's `alg` or the natural one for its type
    /// (P-256 ⇒ ES256, RSA ⇒ RS256), and must be one clients may use (ES256, ES384, RS256).
    pub fn new(key: PrivateJwk) -> Result<ClientKey, ClientError> {
        let signer = key
            .signer()
            .map_err(|e| ClientError::Input(format!("client key: {e}")))?;
        if !Alg::CLIENT.contains(&signer.alg()) {
            return Err(ClientError::Input(format!(
                "client key: algorithm {} is not usable for client authentication",
                signer.alg().as_str()
            )));
        }
        Ok(ClientKey { key, signer })
    }

    /// Parses a private JWK from JSON bytes (a key file).
    pub fn from_json(bytes: &[u8]) -> Result<ClientKey, ClientError> {
        let key = PrivateJwk::from_json(bytes)
            .map_err(|e| ClientError::Input(format!("client key: {e}")))?;
        ClientKey::new(key)
    }

    /// The private JWK.
    pub fn jwk(&self) -> &PrivateJwk {
        &self.key
    }

    /// The algorithm this key signs with.
    pub fn alg(&self) -> Alg {
        self.signer.alg()
    }

    /// The RFC 7638 thumbprint of the public key (what a `jkt` binding names).
    pub fn thumbprint(&self) -> String {
        self.key.public().thumbprint()
    }
}

/// The claims of a client assertion, for callers that want to inspect what gets signed.
pub fn assertion_claims(client_id: &str, audience: &str, now: i64, jti: &str) -> Value {
    json!({
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": jti,
        "iat": now,
        "exp": now + ASSERTION_LIFETIME,
    })
}

/// Signs a `private_key_jwt` client assertion: `iss` = `sub` = `client_id`, `aud` = the token
/// endpoint (or whatever URL the verifier expects), `exp` = `now` + 60 s, header `kid` = the
/// key's `kid` (when it has one) and `typ: JWT`.
pub fn client_assertion(
    key: &ClientKey,
    client_id: &str,
    audience: &str,
    now: i64,
    jti: &str,
) -> Result<String, ClientError> {
    client_assertion_with_header(key, client_id, audience, now, jti, &Map::new())
}

/// As [`client_assertion`], with extra JOSE header members (OpenID Federation `trust_chain`);
/// `alg`, `kid` and `typ` stay the signer's.
pub fn client_assertion_with_header(
    key: &ClientKey,
    client_id: &str,
    audience: &str,
    now: i64,
    jti: &str,
    extra_header: &Map<String, Value>,
) -> Result<String, ClientError> {
    if client_id.is_empty() || audience.is_empty() || jti.is_empty() {
        return Err(ClientError::Input(
            "client assertion needs a client id, an audience and a jti".into(),
        ));
    }
    let mut header = extra_header.clone();
    for reserved in ["alg", "kid", "typ"] {
        header.remove(reserved);
    }
    header.insert("typ".into(), "JWT".into());
    let claims = assertion_claims(client_id, audience, now, jti);
    sign_json(&header, &claims, &key.signer, "client assertion")
}

/// `ath`: base64url(SHA-256(access token)) (RFC 9449 §4.2).
pub fn access_token_hash(access_token: &str) -> String {
    b64::encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        access_token.as_bytes(),
    ))
}

/// The `htu` of a request: the target URI without query and fragment (RFC 9449 §4.2).
pub fn htu(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// Signs a DPoP proof for one request: header `typ: dpop+jwt`, `alg`, `jwk` = the public key
/// (no `kid`: the key travels in the header); claims `jti`, `htm`, `htu`, `iat`, and `ath` when
/// the request carries an access token.
pub fn dpop_proof(
    key: &ClientKey,
    htm: &str,
    url: &Url,
    now: i64,
    jti: &str,
    access_token: Option<&str>,
) -> Result<String, ClientError> {
    let mut public = key.key.public().to_value();
    // The header key is for verification only; `kid` adds nothing next to the key itself.
    if let Value::Object(m) = &mut public {
        m.remove("kid");
    }
    let mut header = Map::new();
    header.insert("typ".into(), "dpop+jwt".into());
    header.insert("jwk".into(), public);
    let mut claims = json!({
        "jti": jti,
        "htm": htm,
        "htu": htu(url),
        "iat": now,
    });
    if let (Some(token), Value::Object(m)) = (access_token, &mut claims) {
        m.insert("ath".into(), access_token_hash(token).into());
    }
    let signer = KidlessSigner(&key.signer);
    sign_json(&header, &claims, &signer, "DPoP proof")
}

fn sign_json(
    header: &Map<String, Value>,
    claims: &Value,
    signer: &dyn Signer,
    what: &'static str,
) -> Result<String, ClientError> {
    let payload = serde_json::to_vec(claims).map_err(|_| ClientError::Sign {
        what,
        source: JoseError::InvalidJson("payload"),
    })?;
    sign_compact(header, &payload, signer).map_err(|source| ClientError::Sign { what, source })
}

/// A signer that does not announce its `kid`, so `sign_compact` leaves the header without one.
struct KidlessSigner<'a>(&'a JwkSigner);

impl Signer for KidlessSigner<'_> {
    fn alg(&self) -> Alg {
        self.0.alg()
    }

    fn kid(&self) -> Option<&str> {
        None
    }

    fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, JoseError> {
        self.0.sign(signing_input)
    }
}
