//! Lifetimes (PT-ACC-11, PT-LIFE-02): no access token outlives its ticket; expired tickets are
//! refused.

use super::{Check, Fut, custom, expire, ticket};
use crate::ctx::{Ctx, fail};
use crate::expect::grant;

pub(super) const CHECKS: &[Check] = &[
    custom("PT-ACC-11", "expires-in-bounded-by-ticket-exp", acc_11),
    ticket(
        "PT-LIFE-02",
        "expired-ticket-refused",
        |c, m| {
            expire(c, m);
            Ok(())
        },
        grant("Ticket expired"),
    ),
];

fn acc_11(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let mut p = c.base_payload();
        let sent = c.now();
        let exp = sent + 90;
        p.insert("exp".into(), exp.into());
        let t = c.redeem_ok(&c.mint(p)?).await?;
        let Some(e) = t.expires_in else {
            return fail("the token response has no expires_in");
        };
        // The token may live at most until the ticket's exp, counted from when it was sent.
        if e > exp - sent {
            return fail(format!(
                "expires_in {e} outlives the ticket, which expires {} s after the request",
                exp - sent
            ));
        }
        Ok(())
    })
}
