//! Continuation (PT-LIFE-03..07, PT-REV-09, PT-FIELD-04/07): refresh tokens exist only for tickets carrying
//! `continuation`, end at `refresh_until`, re-check the source ticket's revocation and never
//! widen the redemption's grant.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::{Check, Fut, custom, ticket};
use crate::config::ContinuationConfig;
use crate::ctx::{Ctx, R, Stop, Token, fail, skip};
use crate::expect::{self, GRANT, grant};
use crate::probe::Exchange;

pub(super) const CHECKS: &[Check] = &[
    custom(
        "PT-LIFE-03",
        "no-refresh-beyond-exp-without-continuation",
        life_03,
    ),
    custom(
        "PT-LIFE-04",
        "continuation-yields-a-working-refresh-token",
        |c| life_04(c, false),
    ),
    custom("PT-LIFE-04", "refresh-until-null-is-indefinite", |c| {
        life_04(c, true)
    }),
    custom("PT-LIFE-05", "refresh-after-refresh-until", life_05),
    ticket(
        "PT-LIFE-06",
        "continuation-without-revocation",
        |c, m| {
            acting(c)?;
            m.insert("continuation".into(), json!({"refresh_until": null}));
            Ok(())
        },
        GRANT,
    ),
    custom("PT-LIFE-07", "refresh-without-scope-keeps-the-grant", |c| {
        life_07(c, Widen::No)
    }),
    custom("PT-LIFE-07", "refresh-cannot-add-a-scope", |c| {
        life_07(c, Widen::Yes)
    }),
    custom("PT-REV-09", "refresh-rechecks-revocation", rev_09),
    custom("PT-FIELD-07", "continuation-ignored-or-enforced", field_07),
    ticket(
        "PT-FIELD-04",
        "malformed-continuation-refused",
        |c, m| {
            acting(c)?;
            let (p, _) = continuing(c, "tomorrow".into());
            *m = p;
            Ok(())
        },
        GRANT,
    ),
];

/// The longest the kit waits for a ticket to expire (PT-LIFE-03 against a target that issues
/// refresh tokens without `continuation`).
const MAX_WAIT_SECONDS: i64 = 300;

fn section(c: &Ctx) -> Result<&ContinuationConfig, Stop> {
    match &c.config.continuation {
        Some(s) => Ok(s),
        None => skip(
            "kit.toml has no [continuation] (refresh_tokens = true or false: whether the target acts on continuation)",
        ),
    }
}

/// The target issues refresh tokens for continuation tickets.
fn acting(c: &Ctx) -> R {
    if section(c)?.refresh_tokens {
        Ok(())
    } else {
        skip("the target does not act on continuation ([continuation] refresh_tokens = false)")
    }
}

/// The baseline payload with `continuation` (and the `revocation` it requires).
fn continuing(c: &Ctx, refresh_until: Value) -> (Map<String, Value>, u64) {
    let mut p = c.base_payload();
    let index = c.host.allocate_index();
    p.insert(
        "revocation".into(),
        json!({"url": c.host.status_url("main"), "index": index}),
    );
    p.insert(
        "continuation".into(),
        json!({ "refresh_until": refresh_until }),
    );
    (p, index)
}

/// Redeems a continuation ticket and requires a refresh token.
async fn redeem_continuing(c: &Ctx, p: Map<String, Value>) -> Result<(Token, String), Stop> {
    let t = c.redeem_ok(&c.mint(p)?).await?;
    match t.refresh_token.clone() {
        Some(rt) => Ok((t, rt)),
        None => fail(
            "the token response for a continuation ticket has no refresh_token, though kit.toml says the target issues them ([continuation] refresh_tokens = true)",
        ),
    }
}

/// `grant_type=refresh_token` with a fresh client assertion.
async fn refresh(c: &Ctx, refresh_token: &str, scope: Option<&str>) -> Result<Exchange, Stop> {
    let mut f = vec![
        ("grant_type".to_owned(), "refresh_token".to_owned()),
        ("refresh_token".to_owned(), refresh_token.to_owned()),
        (
            "client_assertion_type".to_owned(),
            tessera_client::jwt::CLIENT_ASSERTION_TYPE.to_owned(),
        ),
        ("client_assertion".to_owned(), c.assertion().await?),
    ];
    if let Some(s) = scope {
        f.push(("scope".into(), s.into()));
    }
    c.post_form(&f, None).await
}

fn scopes(s: Option<&str>) -> BTreeSet<String> {
    s.unwrap_or_default()
        .split_ascii_whitespace()
        .map(str::to_owned)
        .collect()
}

fn life_03(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        dies_with_the_ticket(
            c,
            c.base_payload(),
            "a refresh token issued for a ticket without continuation, used after the ticket's exp",
        )
        .await
    })
}

/// Redeems `p` with an `exp` 5 s away; a refresh token, if the target issues one, must be
/// refused once the ticket has expired (a refresh token may exist, but dies with the ticket).
async fn dies_with_the_ticket(c: &Ctx, mut p: Map<String, Value>, what: &str) -> R {
    let exp = c.now() + 5;
    p.insert("exp".into(), exp.into());
    let t = c.redeem_ok(&c.mint(p)?).await?;
    let Some(rt) = t.refresh_token else {
        return Ok(());
    };
    // The runner bounds a check at 8 × timeout_seconds; the wait keeps room for the requests.
    let room = i64::try_from(c.config.timeout_seconds.saturating_mul(6)).unwrap_or(i64::MAX);
    let wait = (exp + c.config.leeway_seconds + 2 - c.now()).max(0);
    if wait > MAX_WAIT_SECONDS.min(room) {
        return skip(format!(
            "the target issued a refresh token; judging it needs a wait of {wait} s past the \
             ticket's exp plus leeway_seconds, more than this check may take (raise \
             timeout_seconds)"
        ));
    }
    tokio::time::sleep(Duration::from_secs(wait.unsigned_abs())).await;
    let ex = refresh(c, &rt, None).await?;
    expect::check(&ex, GRANT).map_err(|e| e.within(what))
}

fn life_04(c: &Ctx, indefinite: bool) -> Fut<'_> {
    Box::pin(async move {
        acting(c)?;
        let until = if indefinite {
            Value::Null
        } else {
            (c.now() + 3600).into()
        };
        let (p, _) = continuing(c, until);
        let (t, rt) = redeem_continuing(c, p).await?;
        let ex = refresh(c, &rt, None).await?;
        let t2 = expect::token(&ex).map_err(|e| e.within("refreshing"))?;
        if t2.access_token == t.access_token {
            return fail("the refresh returned the same access token");
        }
        let Some(id) = t.patient.as_deref().filter(|p| !p.is_empty()) else {
            return fail("the token response carries no `patient`");
        };
        let ex = c.fhir(&format!("{}/Patient/{id}", c.base()), &t2).await;
        expect::transport(&ex)?;
        if ex.code() != 200 {
            return fail(format!(
                "{}: the refreshed access token cannot read the patient",
                ex.summary()
            ));
        }
        Ok(())
    })
}

fn life_05(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        section(c)?;
        // Ended well beyond any leeway before the redemption: no refresh may succeed.
        let ended = c.now() - 10 * c.config.leeway_seconds.max(60);
        let (p, _) = continuing(c, ended.into());
        let t = c.redeem_ok(&c.mint(p)?).await?;
        let Some(rt) = t.refresh_token else {
            return Ok(());
        };
        let ex = refresh(c, &rt, None).await?;
        expect::check(&ex, GRANT)
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Widen {
    No,
    Yes,
}

fn life_07(c: &Ctx, widen: Widen) -> Fut<'_> {
    Box::pin(async move {
        acting(c)?;
        let (p, _) = continuing(c, (c.now() + 3600).into());
        let (t, rt) = redeem_continuing(c, p).await?;
        let granted = scopes(t.scope.as_deref());
        if granted.is_empty() {
            return fail("the token response carries no `scope`");
        }
        let extra = format!("patient/{}.rs", c.config.probe.ungranted_type);
        let asked = match widen {
            Widen::No => None,
            Widen::Yes => Some(
                granted
                    .iter()
                    .cloned()
                    .chain([extra.clone()])
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
        };
        let ex = refresh(c, &rt, asked.as_deref()).await?;
        expect::transport(&ex)?;
        if widen == Widen::Yes && ex.code() != 200 {
            // Refusing the wider request outright is as good as narrowing it.
            return expect::error(&ex, Some(400), "invalid_scope", None)
                .or_else(|_| expect::check(&ex, GRANT));
        }
        let t2 = expect::token(&ex)?;
        let now = scopes(t2.scope.as_deref());
        let beyond: Vec<&String> = now.difference(&granted).collect();
        if !beyond.is_empty() {
            return fail(format!(
                "the refreshed token's scope adds {beyond:?} to the redemption's {granted:?}"
            ));
        }
        if t2.scope.is_none() {
            return fail("the refresh response carries no `scope`");
        }
        Ok(())
    })
}

fn field_07(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        if section(c)?.refresh_tokens {
            // Acted on: its one member is enforced (PT-LIFE-05's case).
            return life_05(c).await;
        }
        // Ignored wholesale: the ticket is an ordinary one, so nothing outlives its exp.
        let (p, _) = continuing(c, Value::Null);
        dies_with_the_ticket(
            c,
            p,
            "kit.toml says the target ignores continuation ([continuation] refresh_tokens = false), yet its refresh token works after the ticket's exp",
        )
        .await
    })
}

fn rev_09(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        acting(c)?;
        let (p, index) = continuing(c, (c.now() + 3600).into());
        let (_, rt) = redeem_continuing(c, p).await?;
        c.host.set_bit(index, true);
        let ex = refresh(c, &rt, None).await?;
        expect::check(&ex, grant("Ticket has been revoked"))
    })
}
