//! What the trust-framework client checks share: a baseline ticket bound to a framework
//! identity (`trust_framework_client`), redeemed with the client assertion the framework's
//! client authentication needs.

use serde_json::{Value, json};

use super::replace;
use crate::ctx::{Ctx, Stop};
use crate::probe::Exchange;

/// A `trust_framework_client` binding.
pub fn binding(trust_framework: &str, framework_type: &str, entity_uri: &str) -> Value {
    json!({"method": "trust_framework_client", "trust_framework": trust_framework,
           "framework_type": framework_type, "entity_uri": entity_uri})
}

/// Redeems the baseline ticket bound by `presenter_binding`, authenticating with `assertion`.
pub async fn redeem_as(
    c: &Ctx,
    presenter_binding: Value,
    assertion: &str,
) -> Result<Exchange, Stop> {
    let mut m = c.base_payload();
    m.insert("presenter_binding".into(), presenter_binding);
    let ticket = c.mint(m)?;
    let mut form = c.form(&ticket).await?;
    replace(&mut form, "client_assertion", assertion);
    c.post_form(&form, None).await
}

/// A name no configured framework uses (a binding the client's identity cannot match).
pub const OTHER_FRAMEWORK: &str = "https://other-framework.conformance.invalid";
