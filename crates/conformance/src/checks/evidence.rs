//! Identity evidence (PT-EVID, PT-TRUST-06): the kit as an OpenID provider the target trusts
//! for evidence only (`[identity_provider]`; discovery and JWKS at `{issuer.url}/idp`). Each
//! row embeds an ID token in the baseline ticket, valid except for one defect, and requires the
//! answer of spec-digest §10. The valid rows are the pairs that show a refusal is about the
//! defect, not about evidence in general.

use serde_json::{Map, Value, json};
use tessera_jose::{Alg, PrivateJwk};

use super::delegated::delegated;
use super::{Check, Fut, custom, ticket};
use crate::config::IdpConfig;
use crate::ctx::{Ctx, R, Stop, set_type, skip};
use crate::expect::{self, Expect, GRANT, grant};
use crate::tickets::{Sign, sign_claims, tamper};

const INVALID: Expect = grant("Invalid identity evidence");

/// The evidence slots of a ticket.
const SUBJECT: &str = "subject_identity_evidence";
const REQUESTER: &str = "requester_identity_evidence";

pub(super) const CHECKS: &[Check] = &[
    ticket(
        "PT-EVID-13",
        "required-evidence-absent",
        |c, m| {
            set_type(m, &required_type(c)?);
            Ok(())
        },
        grant("Identity evidence required"),
    ),
    ticket(
        "PT-EVID-13",
        "required-evidence-present",
        |c, m| {
            set_type(m, &required_type(c)?);
            Ok(())
        },
        Expect::Token,
    ),
    ticket(
        "PT-EVID-01",
        "valid-evidence",
        |c, m| embed(c, m, SUBJECT, |_, _| Ok(())),
        Expect::Token,
    ),
    ticket(
        "PT-EVID-01",
        "signature-changed-after-signing",
        |c, m| {
            let claims = id_token_claims(c, m)?;
            let jwt = tamper(&sign_idp(c, &claims)?)?;
            m.insert(SUBJECT.into(), slot(&jwt));
            Ok(())
        },
        INVALID,
    ),
    ticket(
        "PT-EVID-01",
        "key-not-in-the-provider-jwks",
        |c, m| {
            let claims = id_token_claims(c, m)?;
            let other = PrivateJwk::generate(Alg::Es256).map_err(|e| Stop::Fail(e.to_string()))?;
            let jwt = sign_with(&other, &claims)?;
            m.insert(SUBJECT.into(), slot(&jwt));
            Ok(())
        },
        INVALID,
    ),
    ticket(
        "PT-EVID-02",
        "ticket-issuer-as-evidence-issuer",
        |c, m| {
            let mut claims = id_token_claims(c, m)?;
            claims.insert("iss".into(), c.host.url.clone().into());
            let jwt = sign_with(&c.keys.issuer_es256, &claims)?;
            m.insert(SUBJECT.into(), slot(&jwt));
            Ok(())
        },
        INVALID,
    ),
    ticket(
        "PT-EVID-02",
        "provider-not-trusted",
        |c, m| {
            embed(c, m, SUBJECT, |c, t| {
                t.insert("iss".into(), format!("{}/untrusted-idp", c.host.url).into());
                Ok(())
            })
        },
        INVALID,
    ),
    custom(
        "PT-TRUST-06",
        "evidence-provider-is-not-a-ticket-issuer",
        trust_06,
    ),
    ticket(
        "PT-EVID-03",
        "expired-before-ticket-iat",
        |c, m| {
            embed(c, m, SUBJECT, |c, t| {
                let exp = ticket_iat(t) - gap(c);
                t.insert("iat".into(), (exp - 600).into());
                t.insert("exp".into(), exp.into());
                Ok(())
            })
        },
        INVALID,
    ),
    ticket(
        "PT-EVID-03",
        "issued-after-ticket-iat",
        |c, m| {
            embed(c, m, SUBJECT, |c, t| {
                let iat = ticket_iat(t) + gap(c);
                t.insert("iat".into(), iat.into());
                t.insert("exp".into(), (iat + 600).into());
                Ok(())
            })
        },
        INVALID,
    ),
    ticket(
        "PT-EVID-03",
        "issued-at-ticket-iat",
        |c, m| {
            embed(c, m, SUBJECT, |_, t| {
                t.insert("iat".into(), ticket_iat(t).into());
                Ok(())
            })
        },
        Expect::Token,
    ),
    ticket(
        "PT-EVID-04",
        "expired-at-redemption-valid-at-ticket-iat",
        |c, m| {
            let iat = c.now() - 3 * gap(c);
            m.insert("iat".into(), iat.into());
            embed(c, m, SUBJECT, |c, t| {
                t.insert("iat".into(), (iat - 60).into());
                t.insert("exp".into(), (iat + gap(c)).into());
                Ok(())
            })
        },
        Expect::Token,
    ),
    ticket(
        "PT-EVID-05",
        "issued-to-the-presenting-client",
        |c, m| embed(c, m, SUBJECT, |c, t| set_aud(t, &c.config.client.client_id)),
        Expect::Token,
    ),
    ticket(
        "PT-EVID-05",
        "issued-to-a-mapped-client-id",
        |c, m| {
            let Some(mapped) = idp(c)?.mapped_audience.clone() else {
                return skip(
                    "needs setup: identity_provider.mapped_audience (an OIDC client id the \
                     target maps to the kit's issuer)",
                );
            };
            embed(c, m, SUBJECT, |_, t| set_aud(t, &mapped))
        },
        Expect::Token,
    ),
    ticket(
        "PT-EVID-05",
        "issued-to-another-party",
        |c, m| {
            embed(c, m, SUBJECT, |_, t| {
                set_aud(t, "https://another-app.conformance.invalid")
            })
        },
        INVALID,
    ),
    ticket(
        "PT-EVID-06",
        "issued-to-the-data-holder",
        |c, m| embed(c, m, SUBJECT, |c, t| set_aud(t, c.base())),
        INVALID,
    ),
    ticket(
        "PT-EVID-07",
        "several-audiences-without-azp",
        |c, m| embed(c, m, SUBJECT, |c, t| two_audiences(c, t, false)),
        INVALID,
    ),
    ticket(
        "PT-EVID-07",
        "several-audiences-with-azp",
        |c, m| embed(c, m, SUBJECT, |c, t| two_audiences(c, t, true)),
        Expect::Token,
    ),
    ticket(
        "PT-EVID-08",
        "birthdate-differs",
        |c, m| {
            embed(c, m, SUBJECT, |c, t| {
                t.insert(
                    "birthdate".into(),
                    other_date(&c.config.patient.birth_date).into(),
                );
                Ok(())
            })
        },
        INVALID,
    ),
    ticket(
        "PT-EVID-08",
        "family-name-differs",
        |c, m| {
            embed(c, m, SUBJECT, |c, t| {
                let family = format!("{}x", c.config.patient.family);
                t.insert("family_name".into(), family.into());
                Ok(())
            })
        },
        INVALID,
    ),
    ticket(
        "PT-EVID-09",
        "identifier-subject-with-its-evidence",
        |c, m| evidence_for_identifier_subject(c, m, true),
        Expect::Token,
    ),
    custom(
        "PT-EVID-09",
        "identifier-subject-with-another-patients-evidence",
        |c| {
            Box::pin(async move {
                let mut p = c.base_payload();
                evidence_for_identifier_subject(c, &mut p, false)?;
                let ex = c.redeem(&c.sign(&Value::Object(p), Sign::Es256)?).await?;
                super::subject::refused(c, &ex)
            })
        },
    ),
    ticket(
        "PT-EVID-10",
        "requester-evidence-of-the-requester",
        |c, m| {
            delegated(c, m, None)?;
            embed(c, m, REQUESTER, |_, t| {
                t.insert("family_name".into(), "Conformance".into());
                t.insert("given_name".into(), "Delegate".into());
                t.remove("birthdate");
                Ok(())
            })
        },
        Expect::Token,
    ),
    ticket(
        "PT-EVID-10",
        "patient-evidence-as-requester-evidence",
        |c, m| {
            delegated(c, m, None)?;
            // Subject evidence the target may require of the type is there: only the
            // requester's is wrong.
            required_evidence(c, m)?;
            embed(c, m, REQUESTER, |_, _| Ok(()))
        },
        INVALID,
    ),
    ticket(
        "PT-EVID-11",
        "source-not-embedded",
        |c, m| reshape(c, m, |s| s["source"] = "reference".into()),
        GRANT,
    ),
    ticket(
        "PT-EVID-11",
        "token-type-not-id-token",
        |c, m| reshape(c, m, |s| s["token_type"] = "access_token".into()),
        GRANT,
    ),
    ticket(
        "PT-EVID-11",
        "empty-jwt",
        |c, m| reshape(c, m, |s| s["jwt"] = "".into()),
        GRANT,
    ),
    ticket(
        "PT-EVID-11",
        "extra-member",
        |c, m| reshape(c, m, |s| s["x_kit"] = true.into()),
        GRANT,
    ),
    ticket(
        "PT-EVID-11",
        "array-of-evidence",
        |c, m| reshape(c, m, |s| *s = json!([s.clone()])),
        GRANT,
    ),
    ticket(
        "PT-EVID-12",
        "acr-the-profile-refuses",
        |c, m| {
            let Some(acr) = idp(c)?.unaccepted_acr.clone() else {
                return skip(
                    "needs setup: identity_provider.unaccepted_acr (an acr the target's evidence \
                     profile refuses)",
                );
            };
            embed(c, m, SUBJECT, |_, t| {
                t.insert("acr".into(), acr.into());
                Ok(())
            })
        },
        INVALID,
    ),
];

/// Embeds the test patient's valid subject evidence in a ticket of the type the target requires
/// it for (`[identity_provider] required_for`), unless the ticket carries subject evidence.
pub(crate) fn required_evidence(c: &Ctx, m: &mut Map<String, Value>) -> R {
    let Some(required) = c
        .config
        .identity_provider
        .as_ref()
        .and_then(|i| i.required_for.as_deref())
    else {
        return Ok(());
    };
    if m.get("ticket_type").and_then(Value::as_str) != Some(required) || m.contains_key(SUBJECT) {
        return Ok(());
    }
    embed(c, m, SUBJECT, |_, _| Ok(()))
}

/// The type `[identity_provider] required_for` names, or the skip that says how to name it.
fn required_type(c: &Ctx) -> Result<String, Stop> {
    idp(c)?;
    match c
        .config
        .identity_provider
        .as_ref()
        .and_then(|i| i.required_for.clone())
    {
        Some(t) => Ok(t),
        None => skip(
            "needs setup: a ticket type the target requires subject evidence for \
             ([identity_provider] required_for in kit.toml)",
        ),
    }
}

/// The configured identity provider, or the skip that says how to configure it.
fn idp(c: &Ctx) -> Result<&IdpConfig, Stop> {
    let Some(i) = c.config.identity_provider.as_ref() else {
        return skip(
            "needs setup: an identity provider whose ID tokens the target trusts \
             ([identity_provider] in kit.toml)",
        );
    };
    if c.keys.idp.is_none() {
        return skip(
            "needs setup: the key file has no identity provider key (`idp`); rerun \
             `tessera conformance init` in an empty directory",
        );
    }
    Ok(i)
}

/// How far beyond the leeway the time defects lie.
fn gap(c: &Ctx) -> i64 {
    10 * c.config.leeway_seconds.max(60)
}

/// An ID token about the test patient, issued by the kit's provider to the ticket issuer,
/// valid around the ticket's `iat` (spec-digest §10 step 3). `ticket_iat` is kept as a private
/// claim only while editing (see [`ticket_iat`]) and removed before signing.
fn id_token_claims(c: &Ctx, ticket: &Map<String, Value>) -> Result<Map<String, Value>, Stop> {
    let acr = idp(c)?.acr.clone();
    let iat = ticket.get("iat").and_then(Value::as_i64).unwrap_or(c.now());
    let p = &c.config.patient;
    let mut t = Map::new();
    t.insert("iss".into(), c.config.idp_iss().into());
    t.insert("sub".into(), "kit-subject".into());
    t.insert("aud".into(), c.host.url.clone().into());
    t.insert("iat".into(), (iat - 60).into());
    t.insert("exp".into(), (iat + 600).into());
    t.insert("family_name".into(), p.family.clone().into());
    if let Some(g) = p.given.first() {
        t.insert("given_name".into(), g.clone().into());
    }
    t.insert("birthdate".into(), p.birth_date.clone().into());
    if let Some(a) = acr {
        t.insert("acr".into(), a.into());
    }
    t.insert(TICKET_IAT.into(), iat.into());
    Ok(t)
}

const TICKET_IAT: &str = "x_kit_ticket_iat";

/// The ticket's `iat` as seen while editing the ID token's claims.
fn ticket_iat(t: &Map<String, Value>) -> i64 {
    t.get(TICKET_IAT).and_then(Value::as_i64).unwrap_or(0)
}

/// Embeds in `slot` an ID token whose claims `edit` changed.
fn embed(
    c: &Ctx,
    m: &mut Map<String, Value>,
    slot_name: &str,
    edit: impl FnOnce(&Ctx, &mut Map<String, Value>) -> R,
) -> R {
    let mut claims = id_token_claims(c, m)?;
    edit(c, &mut claims)?;
    let jwt = sign_idp(c, &claims)?;
    m.insert(slot_name.into(), slot(&jwt));
    Ok(())
}

fn slot(jwt: &str) -> Value {
    json!({"source": "embedded", "token_type": "id_token", "jwt": jwt})
}

fn sign_idp(c: &Ctx, claims: &Map<String, Value>) -> Result<String, Stop> {
    idp(c)?;
    match &c.keys.idp {
        Some(k) => sign_with(k, claims),
        None => skip("no identity provider key"),
    }
}

fn sign_with(key: &PrivateJwk, claims: &Map<String, Value>) -> Result<String, Stop> {
    let mut claims = claims.clone();
    claims.remove(TICKET_IAT);
    let signer = key
        .signer()
        .map_err(|e| Stop::Fail(format!("kit cannot sign an ID token: {e}")))?;
    let mut header = Map::new();
    header.insert("typ".into(), "JWT".into());
    sign_claims(&header, &claims, &signer)
}

fn set_aud(t: &mut Map<String, Value>, aud: &str) -> R {
    t.insert("aud".into(), aud.into());
    Ok(())
}

/// `aud` names the ticket issuer and the presenting client; `azp` (when set) the latter.
fn two_audiences(c: &Ctx, t: &mut Map<String, Value>, azp: bool) -> R {
    let client = c.config.client.client_id.clone();
    t.insert("aud".into(), json!([c.host.url, client]));
    if azp {
        t.insert("azp".into(), client.into());
    }
    Ok(())
}

/// A valid date that is not `date` (a day later in the same month, or the first).
fn other_date(date: &str) -> String {
    let (head, day) = date.split_at(date.len().saturating_sub(2));
    let next = match day.parse::<u32>() {
        Ok(d) if d < 28 => d + 1,
        _ => 1,
    };
    format!("{head}{next:02}")
}

/// The ticket names the other patient by identifier only (so the ticket agrees with any
/// evidence); the evidence describes that patient (`own`) or the test patient, which the
/// resolved local record contradicts (PT-EVID-09).
fn evidence_for_identifier_subject(c: &Ctx, m: &mut Map<String, Value>, own: bool) -> R {
    let Some(other) = c.config.other_patient.clone() else {
        return skip("needs setup: [other_patient] (a second local patient) in kit.toml");
    };
    if other.identifier.is_empty() {
        return skip("needs setup: [other_patient] has no identifier");
    }
    let mut patient = other.to_fhir();
    if let Some(p) = patient.as_object_mut() {
        p.remove("name");
        p.remove("birthDate");
        p.remove("gender");
    }
    m.insert("subject".into(), json!({"patient": patient}));
    embed(c, m, SUBJECT, |_, t| {
        if own {
            t.insert("family_name".into(), other.family.clone().into());
            match other.given.first() {
                Some(g) => t.insert("given_name".into(), g.clone().into()),
                None => t.remove("given_name"),
            };
            t.insert("birthdate".into(), other.birth_date.clone().into());
        }
        Ok(())
    })
}

/// A valid subject evidence slot reshaped by `edit` (PT-EVID-11).
fn reshape(c: &Ctx, m: &mut Map<String, Value>, edit: fn(&mut Value)) -> R {
    embed(c, m, SUBJECT, |_, _| Ok(()))?;
    if let Some(s) = m.get_mut(SUBJECT) {
        edit(s);
    }
    Ok(())
}

/// A ticket whose `iss` is the kit's identity provider, signed with its key: trust for
/// evidence does not make a ticket issuer.
fn trust_06(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        idp(c)?;
        let mut m = c.base_payload();
        m.insert("iss".into(), c.config.idp_iss().into());
        let Some(key) = &c.keys.idp else {
            return skip("no identity provider key");
        };
        let ticket = sign_with(key, &m)?;
        let ex = c.redeem(&ticket).await?;
        expect::check(&ex, grant("Ticket issuer not trusted"))
    })
}
