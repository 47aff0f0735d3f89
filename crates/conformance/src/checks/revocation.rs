//! Revocation (PT-REV) against the status list the kit serves and flips: fetched when named,
//! never when absent, LSB-first bits, fail closed on every malformation.

use serde_json::{Map, Value, json};

use super::{Check, Fut, custom, revoke, ticket};
use crate::ctx::{Ctx, R, fail};
use crate::expect::{self, Expect, GRANT, grant};
use crate::host::{LIST_BITS, RESERVED_FROM};

pub(super) const CHECKS: &[Check] = &[
    custom("PT-REV-01", "status-list-fetched", rev_01),
    ticket(
        "PT-REV-02",
        "bit-set",
        |c, m| {
            revoke(c, m);
            Ok(())
        },
        grant("Ticket has been revoked"),
    ),
    ticket(
        "PT-REV-03",
        "status-host-unavailable",
        |c, m| list(c, m, "down"),
        GRANT,
    ),
    ticket(
        "PT-REV-04",
        "list-not-json",
        |c, m| list(c, m, "not-json"),
        GRANT,
    ),
    ticket(
        "PT-REV-04",
        "list-without-bits",
        |c, m| list(c, m, "no-bits"),
        GRANT,
    ),
    ticket(
        "PT-REV-04",
        "bits-not-base64url",
        |c, m| list(c, m, "bad-base64"),
        GRANT,
    ),
    ticket(
        "PT-REV-04",
        "bits-not-gzip",
        |c, m| list(c, m, "bad-gzip"),
        GRANT,
    ),
    ticket(
        "PT-REV-04",
        "gzip-crc-mismatch",
        |c, m| list(c, m, "bad-crc"),
        GRANT,
    ),
    custom("PT-REV-06", "lsb-first-bit-order", rev_06_order),
    ticket(
        "PT-REV-06",
        "index-outside-list",
        |c, m| at(c, m, json!(LIST_BITS + 4096)),
        GRANT,
    ),
    ticket(
        "PT-REV-07",
        "negative-index",
        |c, m| at(c, m, json!(-1)),
        GRANT,
    ),
    ticket(
        "PT-REV-07",
        "extra-member",
        |c, m| {
            m.insert(
                "revocation".into(),
                json!({"url": c.host.status_url("main"), "index": c.host.allocate_index(), "kit": 1}),
            );
            Ok(())
        },
        GRANT,
    ),
    custom("PT-REV-08", "no-revocation-no-fetch", rev_08),
];

fn list(c: &Ctx, m: &mut Map<String, Value>, name: &str) -> R {
    m.insert(
        "revocation".into(),
        json!({"url": c.host.status_url(name), "index": c.host.allocate_index()}),
    );
    Ok(())
}

fn at(c: &Ctx, m: &mut Map<String, Value>, index: Value) -> R {
    m.insert(
        "revocation".into(),
        json!({"url": c.host.status_url("main"), "index": index}),
    );
    Ok(())
}

async fn redeem_at(c: &Ctx, index: u64, want: Expect) -> R {
    let mut p = c.base_payload();
    at(c, &mut p, json!(index))?;
    let ex = c.redeem(&c.mint(p)?).await?;
    expect::check(&ex, want).map_err(|e| e.within(format!("index {index}")))
}

fn rev_01(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let before = c.host.requests_matching("/status/main");
        let mut p = c.base_payload();
        at(c, &mut p, json!(c.host.allocate_index()))?;
        let ex = c.redeem(&c.mint(p)?).await?;
        expect::token(&ex)?;
        if c.host.requests_matching("/status/main") == before {
            return fail(
                "a token was issued for a ticket with `revocation` without fetching its status list (the kit serves it no-store)",
            );
        }
        Ok(())
    })
}

fn rev_06_order(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        // Bit 1 of byte k is index 8k+1 LSB-first; read MSB-first it would be index 8k+6.
        let byte = RESERVED_FROM / 8;
        let (lsb, msb) = (byte * 8 + 1, byte * 8 + 6);
        c.host.set_bit(lsb, true);
        redeem_at(c, lsb, grant("Ticket has been revoked")).await?;
        redeem_at(c, msb, Expect::Token).await?;
        // Index 0 of a list whose only set bits lie elsewhere.
        redeem_at(c, RESERVED_FROM + 16, Expect::Token).await
    })
}

fn rev_08(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let before = c.host.requests_matching("/status/");
        let ex = c.redeem(&c.mint(c.base_payload())?).await?;
        expect::token(&ex)?;
        if c.host.requests_matching("/status/") != before {
            return fail("a status list was fetched for a ticket without `revocation`");
        }
        Ok(())
    })
}
