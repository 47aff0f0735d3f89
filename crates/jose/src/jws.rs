//! Strict compact JWS (RFC 7515 §7.1): decoding with bounds, verification, and signing.
//!
//! Decoding checks, in order: total size, exactly three segments, strict base64url, header
//! JSON depth and object shape, no `crit`, `alg` in the caller's allow-list, `kid` when
//! required, payload JSON depth and object shape. Only then may a caller look at claims, and
//! only [`Jws::verify_with`] / [`Jws::verify_with_set`] say whether they are authentic.

use serde_json::{Map, Value};

use crate::{Alg, JoseError, Jwk, JwkSet, Signer, b64, json};

/// Default bound on a compact token: 64 KiB.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 64 * 1024;
/// Default bound on JSON nesting depth.
pub const DEFAULT_MAX_JSON_DEPTH: usize = 32;

/// What a decoding context accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Maximum compact token length in bytes.
    pub max_token_len: usize,
    /// Maximum JSON nesting depth of header and payload.
    pub max_json_depth: usize,
    /// The `alg` allow-list of this context.
    pub algs: Vec<Alg>,
    /// Whether the header must carry a `kid`.
    pub require_kid: bool,
}

impl Limits {
    /// Permission Tickets: ES256/RS256, `kid` required (OP-04).
    pub fn ticket() -> Limits {
        Limits {
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
            max_json_depth: DEFAULT_MAX_JSON_DEPTH,
            algs: Alg::TICKET.to_vec(),
            require_kid: true,
        }
    }

    /// OIDC ID tokens (identity evidence): ES256/RS256, `kid` optional.
    pub fn id_token() -> Limits {
        Limits {
            require_kid: false,
            ..Limits::ticket()
        }
    }

    /// Client assertions and DPoP proofs: ES256/ES384/RS256, `kid` optional.
    pub fn client() -> Limits {
        Limits {
            algs: Alg::CLIENT.to_vec(),
            require_kid: false,
            ..Limits::ticket()
        }
    }
}

/// A decoded JOSE header.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// The (allow-listed) algorithm.
    pub alg: Alg,
    /// Key id.
    pub kid: Option<String>,
    /// Media type (`dpop+jwt`, `JWT`, ...); never required by us for tickets.
    pub typ: Option<String>,
    /// Embedded public key (DPoP); a private key here is rejected.
    pub jwk: Option<Jwk>,
    /// The whole header object.
    pub raw: Map<String, Value>,
}

/// A decoded, not yet verified, compact JWS.
#[derive(Debug, Clone)]
pub struct Jws {
    header: Header,
    payload_bytes: Vec<u8>,
    claims: Map<String, Value>,
    signing_input: Vec<u8>,
    signature: Vec<u8>,
}

/// Decodes a compact JWS under `limits`. No signature is checked.
pub fn decode(token: &str, limits: &Limits) -> Result<Jws, JoseError> {
    if token.len() > limits.max_token_len {
        return Err(JoseError::TooLarge);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JoseError::Malformed("expected three segments"));
    };
    // An empty signature segment decodes (to zero bytes) and then fails verification; that
    // way an unsecured `alg: none` token is refused for its algorithm, not its shape.
    if h.is_empty() || p.is_empty() {
        return Err(JoseError::Malformed("empty segment"));
    }
    let header_bytes = b64::decode(h)?;
    let payload_bytes = b64::decode(p)?;
    let signature = b64::decode(s)?;
    let raw = json::parse_object(&header_bytes, limits.max_json_depth, "header")?;
    let header = parse_header(raw, limits)?;
    let claims = json::parse_object(&payload_bytes, limits.max_json_depth, "payload")?;
    let signing_input = token
        .get(..h.len() + 1 + p.len())
        .ok_or(JoseError::Malformed("signing input"))?
        .as_bytes()
        .to_vec();
    Ok(Jws {
        header,
        payload_bytes,
        claims,
        signing_input,
        signature,
    })
}

fn parse_header(raw: Map<String, Value>, limits: &Limits) -> Result<Header, JoseError> {
    if raw.contains_key("crit") {
        return Err(JoseError::CriticalHeader);
    }
    let alg = match raw.get("alg") {
        Some(Value::String(name)) => Alg::parse(name)?,
        Some(_) => return Err(JoseError::Malformed("alg is not a string")),
        None => return Err(JoseError::AlgorithmNotAllowed(String::new())),
    };
    if !limits.algs.contains(&alg) {
        return Err(JoseError::AlgorithmNotAllowed(alg.as_str().to_owned()));
    }
    let string = |name: &'static str| match raw.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(JoseError::Malformed("header member is not a string")),
    };
    let kid = string("kid")?;
    if limits.require_kid && kid.as_deref().is_none_or(str::is_empty) {
        return Err(JoseError::MissingKid);
    }
    let typ = string("typ")?;
    let jwk = match raw.get("jwk") {
        None => None,
        Some(Value::Object(m)) => {
            if ["d", "p", "q", "dp", "dq", "qi", "k"]
                .iter()
                .any(|k| m.contains_key(*k))
            {
                return Err(JoseError::Malformed("private key in header"));
            }
            Some(Jwk::from_map(m).map_err(|_| JoseError::Malformed("invalid header jwk"))?)
        }
        Some(_) => return Err(JoseError::Malformed("header jwk is not an object")),
    };
    Ok(Header {
        alg,
        kid,
        typ,
        jwk,
        raw,
    })
}

impl Jws {
    /// The decoded header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The payload as a JSON object (unverified until a `verify_*` call succeeds).
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// Consumes the JWS, returning the payload object.
    pub fn into_claims(self) -> Map<String, Value> {
        self.claims
    }

    /// The raw payload bytes.
    pub fn payload_bytes(&self) -> &[u8] {
        &self.payload_bytes
    }

    /// The JWS signing input (`base64url(header) "." base64url(payload)`).
    pub fn signing_input(&self) -> &[u8] {
        &self.signing_input
    }

    /// The raw signature bytes.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// Verifies the signature with one key (whose `kty`/`crv` must fit the header `alg`).
    pub fn verify_with(&self, key: &Jwk) -> Result<(), JoseError> {
        key.verify(self.header.alg, &self.signing_input, &self.signature)
    }

    /// Verifies with the key the header `kid` names in `keys`. Without a `kid` every key that
    /// fits the algorithm is tried (only reachable where the limits allow a missing `kid`).
    pub fn verify_with_set(&self, keys: &JwkSet) -> Result<(), JoseError> {
        let candidates: Vec<&Jwk> = match &self.header.kid {
            Some(kid) => keys
                .keys
                .iter()
                .filter(|k| k.kid.as_deref() == Some(kid.as_str()))
                .collect(),
            None => keys.keys.iter().collect(),
        };
        if candidates.is_empty() {
            return Err(JoseError::UnknownKid);
        }
        let fitting: Vec<&Jwk> = candidates
            .into_iter()
            .filter(|k| k.check_alg(self.header.alg).is_ok())
            .collect();
        if fitting.is_empty() {
            return Err(JoseError::KeyAlgorithmMismatch(self.header.alg.as_str()));
        }
        if fitting.iter().any(|k| self.verify_with(k).is_ok()) {
            Ok(())
        } else {
            Err(JoseError::BadSignature)
        }
    }
}

/// Signs a compact JWS. `alg` is always the signer's; `kid` is the signer's unless the
/// header already names one.
pub fn sign_compact(
    header: &Map<String, Value>,
    payload: &[u8],
    signer: &dyn Signer,
) -> Result<String, JoseError> {
    let mut header = header.clone();
    header.insert("alg".into(), signer.alg().as_str().into());
    if let (Some(kid), false) = (signer.kid(), header.contains_key("kid")) {
        header.insert("kid".into(), kid.into());
    }
    let header_bytes = serde_json::to_vec(&header).map_err(|_| JoseError::InvalidJson("header"))?;
    let input = signing_input(&header_bytes, payload);
    let sig = signer.sign(input.as_bytes())?;
    Ok(assemble(&input, &sig))
}

/// `base64url(header) "." base64url(payload)`, for callers that build unusual tokens (test
/// vector generators).
pub fn signing_input(header_json: &[u8], payload_json: &[u8]) -> String {
    format!("{}.{}", b64::encode(header_json), b64::encode(payload_json))
}

/// Appends the encoded signature to a signing input.
pub fn assemble(signing_input: &str, signature: &[u8]) -> String {
    format!("{signing_input}.{}", b64::encode(signature))
}
