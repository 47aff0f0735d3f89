//! The scenarios: one per ticket type (three for delegated access, one per authority class)
//! and three refusals, each with the outcome it must produce. The expectations are computed
//! from the data set where they can be (e.g. which HbA1c results fall in the measurement year),
//! so a check can fail for real.

use serde_json::Value;

use crate::cast::Record;
use crate::env::DemoEnv;
use crate::error::DemoError;
use crate::exec::Which;
use crate::keys::{FAMILY_APP, PATIENT_APP, PAYER_CLAIMS, PHA};
use crate::tickets::{self, DELEGATES};

/// How the ticket reaches the final redemption.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Minted over the issuer's API, redeemed once.
    Direct,
    /// Minted by the issuer library with its clock this many seconds in the past.
    MintedEarlier(i64),
    /// Redeemed once (must succeed), revoked over the issuer's API, redeemed again.
    RevokeAfterUse,
}

/// What a granted redemption must show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Everything served is released, sensitive and self-pay records included; DPoP-bound.
    SelfAccess,
    /// Nothing carrying this label is released; some of it is held back for it.
    Withholds(&'static str),
    /// Some records are held back as outside `data_period`.
    DataPeriod,
    /// Only these types are released.
    TypesWithin(&'static [&'static str]),
    /// Only the claim's encounter; no self-pay record.
    PayerClaims,
    /// Exactly the HbA1c results of the measurement year that are not self-pay.
    QualityGap,
    /// The COVID-19 Condition is released; only the three granted types.
    PublicHealth,
}

/// The expected result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// A token, and a release that passes the check.
    Granted(Check),
    /// This exact OAuth error.
    Refused {
        /// `error`.
        error: &'static str,
        /// `error_description`.
        description: &'static str,
    },
}

/// One scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Key (file names, report lookup).
    pub key: &'static str,
    /// Heading.
    pub title: String,
    /// The story.
    pub story: String,
    /// Who mints.
    pub issuer: Which,
    /// The claims sent to the issuer.
    pub claims: Value,
    /// Who presents it.
    pub client: &'static str,
    /// DPoP-bind the token.
    pub dpop: bool,
    /// How the ticket is used.
    pub flow: Flow,
    /// The expected result.
    pub expect: Expect,
    /// Whose records the release is measured against.
    pub record: Record,
}

/// Every scenario, in order.
pub fn all(env: &DemoEnv) -> Result<Vec<Scenario>, DemoError> {
    let cast = &env.cast;
    let now = (env.now)();
    let patient_jkt = env.keys.client(PATIENT_APP)?.thumbprint();
    let family_jkt = env.keys.client(FAMILY_APP)?.thumbprint();
    let id_token = tickets::id_token(&env.keys.idp, &cast.patient, now)?;
    let self_claims = tickets::self_access(cast, &patient_jkt, &id_token);
    let p = &cast.patient;
    let elder = &cast.elder;
    let base = |key, title: &str, story: String, claims, client, record: &Record| Scenario {
        key,
        title: title.to_owned(),
        story,
        issuer: Which::Network,
        claims,
        client,
        dpop: false,
        flow: Flow::Direct,
        expect: Expect::Granted(Check::SelfAccess),
        record: record.clone(),
    };
    let [daughter, poa, guardian] = DELEGATES;
    let delegated =
        |d: &tickets::Delegate, access| tickets::delegated(cast, d, &family_jkt, access, now);
    let family = d_family(elder, &daughter);

    let mut list = vec![
        Scenario {
            dpop: true,
            ..base(
                "self-access",
                "Patient self access",
                format!(
                    "{} signs in at the identity provider (IAL2); the network issuer mints a ticket \
                     bound to the patient's app key; the app redeems it with DPoP at {}.",
                    p.display(),
                    p.site_name
                ),
                self_claims.clone(),
                PATIENT_APP,
                p,
            )
        },
        Scenario {
            flow: Flow::Direct,
            expect: Expect::Granted(Check::Withholds("MH")),
            ..base(
                "delegated-delegatee",
                "Delegated access: DELEGATEE (informal, designated by the patient)",
                format!(
                    "{} {} ({}) reads {}'s records; the patient withheld mental-health records.",
                    daughter.given,
                    family,
                    daughter.relationship,
                    elder.display()
                ),
                delegated(&daughter, tickets::delegatee_access()),
                FAMILY_APP,
                elder,
            )
        },
        Scenario {
            expect: Expect::Granted(Check::DataPeriod),
            ..base(
                "delegated-poa",
                "Delegated access: HPOWATT (healthcare power of attorney)",
                format!(
                    "{} {} ({}) reads the last three years of {}'s records.",
                    poa.given,
                    family,
                    poa.relationship,
                    elder.display()
                ),
                delegated(&poa, tickets::poa_access(cast)),
                FAMILY_APP,
                elder,
            )
        },
        Scenario {
            expect: Expect::Granted(Check::TypesWithin(&[
                "AllergyIntolerance",
                "Condition",
                "Immunization",
                "MedicationRequest",
            ])),
            ..base(
                "delegated-guardian",
                "Delegated access: GUARD (court-appointed guardian)",
                format!(
                    "{} {} ({}) reads {}'s problem list, allergies, immunizations and medications.",
                    guardian.given,
                    guardian.family.unwrap_or_default(),
                    guardian.relationship,
                    elder.display()
                ),
                delegated(&guardian, tickets::guardian_access()),
                FAMILY_APP,
                elder,
            )
        },
        Scenario {
            issuer: Which::Holder,
            expect: Expect::Granted(Check::PayerClaims),
            ..base(
                "payer-claims",
                "Payer claims adjudication (self-issued)",
                format!(
                    "{} submits claim {} to {} and attaches a ticket it issued itself; the payer's \
                     claims-review system reads back what the claim's encounter involved.",
                    p.site_name, cast.claim.control_number, cast.payer.name
                ),
                tickets::payer_claims(cast, &env.base_url),
                PAYER_CLAIMS,
                p,
            )
        },
        Scenario {
            expect: Expect::Granted(Check::QualityGap),
            ..base(
                "quality-gap",
                "Payer quality gap (CMS122v12, HbA1c)",
                format!(
                    "{} closes {}'s diabetes quality gap for {}: HbA1c results only, after the \
                     Data Holder finds the payer's Coverage for the patient. The quality program \
                     registered by UDAP (client {}); its certificate's SAN is verified under the \
                     payers' community anchor at each redemption, not asserted by configuration.",
                    cast.payer.name,
                    p.display(),
                    cast.measurement_year,
                    env.udap.payer_client_id
                ),
                tickets::quality_gap(cast, &env.base_url),
                crate::udap::UDAP_PAYER,
                p,
            )
        },
        Scenario {
            expect: Expect::Granted(Check::PublicHealth),
            ..base(
                "public-health",
                "Public health investigation (COVID-19)",
                format!(
                    "The {} health department follows up the COVID-19 case of {} at {} \
                     (ticket limited to Data Holders in {}).",
                    cast.state,
                    cast.case.record.display(),
                    cast.case.record.site_name,
                    cast.state
                ),
                tickets::public_health(cast)?,
                PHA,
                &cast.case.record,
            )
        },
    ];
    list.extend(crate::federation::scenarios(
        env,
        &tickets::quality_gap(cast, &env.base_url),
    ));
    let refused = |error, description| Expect::Refused { error, description };
    list.push(Scenario {
        flow: Flow::MintedEarlier(2 * 3600),
        expect: refused("invalid_grant", "Ticket expired"),
        ..base(
            "refusal-expired",
            "Refusal: expired ticket",
            "The patient's app presents a self-access ticket minted two hours ago (1 h lifetime)."
                .into(),
            self_claims.clone(),
            PATIENT_APP,
            p,
        )
    });
    list.push(Scenario {
        expect: refused("invalid_grant", "Ticket presenter binding mismatch"),
        ..base(
            "refusal-binding",
            "Refusal: wrong presenter",
            "The family app presents the patient's self-access ticket, which is bound to the \
             patient app's key."
                .into(),
            self_claims,
            FAMILY_APP,
            p,
        )
    });
    list.push(Scenario {
        flow: Flow::RevokeAfterUse,
        expect: refused("invalid_grant", "Ticket has been revoked"),
        ..base(
            "refusal-revoked",
            "Refusal: revoked ticket",
            format!(
                "{} withdraws {}'s delegation: the issuer revokes the ticket after one use.",
                elder.display(),
                daughter.given
            ),
            delegated(&daughter, tickets::revocable_access()),
            FAMILY_APP,
            elder,
        )
    });
    Ok(list)
}

fn d_family(elder: &Record, d: &tickets::Delegate) -> String {
    d.family.map_or_else(|| elder.family.clone(), str::to_owned)
}

impl Expect {
    /// The expectation in words.
    pub fn describe(&self) -> String {
        match self {
            Expect::Refused { error, description } => format!("{error}: {description}"),
            Expect::Granted(c) => match c {
                Check::SelfAccess => "DPoP-bound token; every record of a served type released, \
                    sensitive and self-pay ones included (the patient's own data)"
                    .into(),
                Check::Withholds(label) => {
                    format!(
                        "records labelled {label} withheld (sensitivity_withhold), the rest released"
                    )
                }
                Check::DataPeriod => "only records dated within data_period released".into(),
                Check::TypesWithin(types) => format!("only {} released", types.join(", ")),
                Check::PayerClaims => "only the claim's encounter and what it links; every \
                    HIPAA self-pay record withheld"
                    .into(),
                Check::QualityGap => "exactly the measurement year's HbA1c results (LOINC 4548-4) \
                    that are not self-pay; nothing else"
                    .into(),
                Check::PublicHealth => "the COVID-19 Condition released; only Condition, \
                    Observation, DiagnosticReport"
                    .into(),
            },
        }
    }
}
