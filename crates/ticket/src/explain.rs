//! A ticket's claims, each explained in a sentence, and the steps a Data Holder runs on it, in
//! the specification's order, so a reader sees what will be checked before anything is
//! redeemed. Shared by the demo's workbench and the Data Holder's operator workbench (words, not
//! rules: verifying stays in [`crate::verify`] and the Data Holder's pipeline).

use serde::Serialize;
use serde_json::Value;

/// One claim and what it means.
#[derive(Debug, Clone, Serialize)]
pub struct Explained {
    /// The claim name (a JSON pointer below `access`, e.g. `access.smart_scopes`).
    pub claim: String,
    /// Its value, compact JSON.
    pub value: String,
    /// One sentence.
    pub meaning: String,
}

/// The claims of `payload` in a readable order, each with its sentence.
pub fn explain_claims(payload: &Value) -> Vec<Explained> {
    let mut out = Vec::new();
    let Some(map) = payload.as_object() else {
        return out;
    };
    let order = [
        "iss",
        "aud",
        "aud_type",
        "ticket_type",
        "iat",
        "exp",
        "jti",
        "presenter_binding",
        "subject",
        "requester",
        "subject_identity_evidence",
        "revocation",
        "context",
    ];
    let mut push = |claim: String, v: &Value| {
        let meaning = meaning(&claim, v);
        out.push(Explained {
            value: compact(v),
            claim,
            meaning,
        });
    };
    for k in order {
        if let Some(v) = map.get(k) {
            push(k.to_owned(), v);
        }
    }
    if let Some(Value::Object(access)) = map.get("access") {
        for (k, v) in access {
            push(format!("access.{k}"), v);
        }
    }
    for (k, v) in map {
        if !order.contains(&k.as_str()) && k != "access" {
            push(k.clone(), v);
        }
    }
    out
}

fn compact(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 400 {
        let cut = (0..=400)
            .rev()
            .find(|i| s.is_char_boundary(*i))
            .unwrap_or(0);
        format!("{}… ({} bytes)", &s[..cut], s.len())
    } else {
        s
    }
}

fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("?")
}

fn meaning(claim: &str, v: &Value) -> String {
    match claim {
        "iss" => format!(
            "Issued by {}; the Data Holder must trust this issuer for this ticket type and \
             verifies the signature with its published keys.",
            v.as_str().unwrap_or("?")
        ),
        "aud" => "Who may accept the ticket: a Data Holder's base URL, or a trust framework \
                  whose members may all accept it."
            .into(),
        "aud_type" => "Says the audience is a trust framework, so any participating Data Holder \
                       matches."
            .into(),
        "ticket_type" => format!(
            "The use case ({}); it fixes which other claims are required or forbidden.",
            v.as_str().and_then(|u| u.rsplit('/').next()).unwrap_or("?")
        ),
        "iat" => "When the issuer signed it (Unix seconds).".into(),
        "exp" => "After this instant (Unix seconds) no Data Holder accepts it; an access token \
                  issued for it never outlives it."
            .into(),
        "jti" => {
            "The ticket's unique id: revocation, audit and the issuer's records refer to it.".into()
        }
        "presenter_binding" => match text(v, "/method") {
            "jkt" => format!(
                "Only the client holding the key with thumbprint {} may redeem it.",
                text(v, "/jkt")
            ),
            "trust_framework_client" => format!(
                "Only the client recognised as {} in the framework {} may redeem it.",
                text(v, "/entity_uri"),
                text(v, "/trust_framework")
            ),
            other => format!("Binding method {other}."),
        },
        "subject" => "Whose data: the Data Holder matches these demographics and identifiers \
                      against its own records and must find exactly one patient."
            .into(),
        "requester" => "Who is asking (a delegate, payer or agency), with the authority the \
                        issuer verified."
            .into(),
        "subject_identity_evidence" => "Proof of the patient's identity (an identity provider's \
                                        ID token), checked by the Data Holder."
            .into(),
        "revocation" => "Where the issuer's status list is; the Data Holder checks the bit at \
                         this index at every redemption and refuses if set."
            .into(),
        "access.smart_scopes" => "The most this ticket can ever grant: requested scopes are \
                                  intersected with these."
            .into(),
        "access.data_period" => "Only records dated within this period are released.".into(),
        "access.sensitivity_withhold" => {
            "Records carrying these security labels are held back.".into()
        }
        "access.data_holder_filter" => "Only Data Holders matching one of these entries may \
                                        accept the ticket (judged once, for the Data Holder as \
                                        a whole)."
            .into(),
        "access.claim_linkage" => "Release is limited to the claim's encounter and what it \
                                   links."
            .into(),
        _ => "A claim of this ticket type; see the specification for its rules.".into(),
    }
}

/// The Data Holder's verification steps, in order.
pub const HOLDER_STEPS: [&str; 14] = [
    "Parse the token request (RFC 8693 form, size bounds, no repeated parameters)",
    "Authenticate the client (private_key_jwt assertion: signature, aud, lifetime, jti replay)",
    "Parse the ticket (compact JWS, allowed alg, header typ and kid)",
    "Find the issuer's keys (trusted for this ticket type) and verify the signature",
    "Check ticket_type is supported and its required and forbidden claims",
    "Check aud names this Data Holder or a trust framework it belongs to",
    "Check iat / exp with the allowed clock skew",
    "Check revocation: the status list bit at the ticket's index",
    "Check the presenter binding against the authenticated client (jkt, framework identity)",
    "Verify identity evidence, when the type requires it",
    "Check data_holder_filter against this Data Holder's identity",
    "Resolve the subject to exactly one local patient",
    "Compute the grant: requested ∩ ticket ∩ client ∩ local policy",
    "Issue the access token (durably recorded with its grant and the audit row)",
];
