//! Making tickets: valid ones through `tessera_ticket::mint_payload` (so the kit never sends a
//! "valid" ticket its own verifier would refuse), defective ones signed directly, including the
//! signatures no issuer should produce (`alg: none`, HS256 keyed with the public JWK).

use serde_json::{Map, Value};
use tessera_jose::{Alg, Signer, b64, jws, sign_compact};
use tessera_ticket::VerifyOptions;

use crate::ctx::{Ctx, Stop, fail};

/// How a ticket is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sign {
    /// The issuer's ES256 key (no checks on the payload).
    Es256,
    /// The issuer's RS256 key.
    Rs256,
    /// ES256 without `kid` in the header.
    NoKid,
    /// ES256 with a `kid` the issuer JWKS lacks.
    UnknownKid,
    /// `alg: none`, empty signature.
    AlgNone,
    /// HS256 keyed with the issuer's public JWK bytes (the key-confusion attack).
    Hs256,
    /// ES256, then one payload byte changed.
    Tampered,
}

impl Ctx {
    /// Mints a valid ticket (ES256); refuses a payload the kit's own verifier rejects.
    pub fn mint(&self, mut payload: Map<String, Value>) -> Result<String, Stop> {
        // A valid ticket of a type the target requires evidence for carries it (PT-EVID-13).
        crate::checks::required_evidence(self, &mut payload)?;
        let signer = self.keys.issuer_signer(Alg::Es256).map_err(Stop::Fail)?;
        tessera_ticket::mint_payload(&payload, &signer, &VerifyOptions::default())
            .map_err(|e| Stop::Fail(format!("kit could not mint its valid ticket: {e}")))
    }

    /// Mints a valid Proposal 005 ticket (`sensitivity_withhold` understood by the kit's
    /// verifier).
    pub fn mint_p005(&self, payload: Map<String, Value>) -> Result<String, Stop> {
        let signer = self.keys.issuer_signer(Alg::Es256).map_err(Stop::Fail)?;
        let mut opts = VerifyOptions::default();
        opts.access.sensitivity_withhold = true;
        tessera_ticket::mint_payload(&payload, &signer, &opts)
            .map_err(|e| Stop::Fail(format!("kit could not mint its valid ticket: {e}")))
    }

    /// Signs any payload JSON (`Value` so that non-object payloads can be sent).
    pub fn sign(&self, payload: &Value, how: Sign) -> Result<String, Stop> {
        let bytes = serde_json::to_vec(payload).map_err(|e| Stop::Fail(e.to_string()))?;
        let es = self.keys.issuer_signer(Alg::Es256).map_err(Stop::Fail)?;
        let mut header = Map::new();
        let signed = match how {
            Sign::Es256 | Sign::Tampered => sign_compact(&header, &bytes, &es),
            Sign::Rs256 => {
                let rs = self.keys.issuer_signer(Alg::Rs256).map_err(Stop::Fail)?;
                sign_compact(&header, &bytes, &rs)
            }
            Sign::NoKid => sign_compact(&header, &bytes, &KidlessSigner(&es)),
            Sign::UnknownKid => {
                header.insert("kid".into(), "kit-unknown-kid".into());
                sign_compact(&header, &bytes, &es)
            }
            Sign::AlgNone => {
                let h = serde_json::json!({"alg": "none", "kid": es.kid()});
                return Ok(format!(
                    "{}.",
                    jws::signing_input(h.to_string().as_bytes(), &bytes)
                ));
            }
            Sign::Hs256 => {
                let h = serde_json::json!({"alg": "HS256", "kid": es.kid()});
                let input = jws::signing_input(h.to_string().as_bytes(), &bytes);
                let secret = self.keys.issuer_es256.public().to_value().to_string();
                let key =
                    aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
                let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
                return Ok(jws::assemble(&input, tag.as_ref()));
            }
        };
        let token = signed.map_err(|e| Stop::Fail(format!("kit cannot sign: {e}")))?;
        if how == Sign::Tampered {
            return tamper(&token);
        }
        Ok(token)
    }
}

/// Signs `claims` with `signer` under `header` (`alg`, and `kid` unless the header has one,
/// are the signer's): the parties' tokens that are not the issuer's tickets.
pub fn sign_claims(
    header: &Map<String, Value>,
    claims: &Map<String, Value>,
    signer: &dyn Signer,
) -> Result<String, Stop> {
    let bytes = serde_json::to_vec(claims).map_err(|e| Stop::Fail(e.to_string()))?;
    sign_compact(header, &bytes, signer).map_err(|e| Stop::Fail(format!("kit cannot sign: {e}")))
}

/// Re-encodes the payload with `exp` one second later, keeping the original signature.
pub fn tamper(token: &str) -> Result<String, Stop> {
    let parts: Vec<&str> = token.split('.').collect();
    let [h, p, s] = parts.as_slice() else {
        return fail("kit produced a non-compact JWS");
    };
    let bytes = b64::decode(p).map_err(|e| Stop::Fail(e.to_string()))?;
    let mut v: Value = serde_json::from_slice(&bytes).map_err(|e| Stop::Fail(e.to_string()))?;
    if let Some(exp) = v.get("exp").and_then(Value::as_i64) {
        v["exp"] = (exp + 1).into();
    } else {
        v["x_tampered"] = true.into();
    }
    Ok(format!("{h}.{}.{s}", b64::encode(v.to_string())))
}

struct KidlessSigner<'a>(&'a dyn Signer);

impl Signer for KidlessSigner<'_> {
    fn alg(&self) -> Alg {
        self.0.alg()
    }
    fn kid(&self) -> Option<&str> {
        None
    }
    fn sign(&self, input: &[u8]) -> Result<Vec<u8>, tessera_jose::JoseError> {
        self.0.sign(input)
    }
}
