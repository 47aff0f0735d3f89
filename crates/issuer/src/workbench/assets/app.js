// The issuer operator's workbench: plain JavaScript over the issuer's workbench API (relative to
// the issuer URL; helpers in operator.js). Every verdict is the issuer's own.
"use strict";

async function load() {
  const r = await call("GET", "workbench/api/world");
  $("#client").replaceChildren(...r.clients.map((c) =>
    el("option", { value: c.client_id, text: `${c.client_id} (may mint ${c.ticket_types.join(", ")})` })));
  return r;
}

async function check(e) {
  e.preventDefault();
  const out = $("#check-result");
  let claims;
  try { claims = JSON.parse($("#claims").value); } catch (err) {
    out.replaceChildren(el("p", { id: "check-verdict", class: "verdict bad", text: `✗ Not JSON: ${err.message}` }));
    return;
  }
  try {
    if (!$("#client").value) await load();
    const r = await call("POST", "workbench/api/check", { client_id: $("#client").value, claims });
    out.replaceChildren(r.ok
      ? el("div", {}, el("p", { id: "check-verdict", class: "verdict ok", text: `✓ This issuer would mint it for ${$("#client").value}.` }),
          el("h3", { text: "The claims as they would be signed" }), el("pre", { id: "check-claims", tabindex: "0", text: json(r.claims) }))
      : el("p", { id: "check-verdict", class: "verdict bad", text: `✗ This issuer would refuse: ${r.error}: ${r.error_description}` }));
  } catch (err) {
    out.replaceChildren(el("p", { id: "check-verdict", class: "verdict bad", text: `✗ ${err.message}` }));
  }
}

function recordTable(rec) {
  if (!rec) return el("p", { text: "No issuance record: not a ticket of this issuer." });
  if (rec.not_found) return el("p", { id: "record", text: "This issuer has no record of that jti." });
  if (rec.error) return el("p", { id: "record", class: "verdict bad", text: rec.error });
  const rows = [
    ["jti", rec.jti], ["requested by", rec.requested_by], ["subject", rec.subject],
    ["requester", rec.requester || ""], ["issued at", rec.issued_at], ["expires at", rec.expires_at],
    ["status list", `${rec.status_list} #${rec.status_index}`],
    ["revoked", rec.revoked_at ? `at ${rec.revoked_at} by ${rec.revoked_by}` : "no"],
  ];
  return el("table", { id: "record" }, el("tbody", {}, ...rows.map(([k, v]) =>
    el("tr", {}, el("th", { scope: "row", text: k }), el("td", { text: String(v) })))));
}

async function inspect(e) {
  e.preventDefault();
  const out = $("#inspect-result");
  try {
    const r = await call("POST", "workbench/api/inspect", { ticket: $("#ticket").value.trim() });
    const v = r.verification;
    out.replaceChildren(
      el("p", { id: "inspect-verdict", class: v.ok ? "verdict ok" : "verdict bad",
        text: v.ok ? "✓ Signed by this issuer; it verifies with the published keys." : `✗ ${v.error}` }),
      el("h3", { text: "Issuance record" }), recordTable(r.record),
      el("h3", { text: "Claims" }), claimsTable(r.claims),
      el("details", {}, el("summary", { text: "JOSE header and payload" }),
        el("pre", { tabindex: "0", text: `${json(r.header)}\n${json(r.payload)}` })));
  } catch (err) {
    out.replaceChildren(el("p", { id: "inspect-verdict", class: "verdict bad", text: `✗ ${err.message}` }));
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("#load-button").addEventListener("click", () => load().catch((err) => {
    $("#check-result").replaceChildren(el("p", { id: "check-verdict", class: "verdict bad", text: `✗ ${err.message}` }));
  }));
  $("#check-form").addEventListener("submit", check);
  $("#inspect-form").addEventListener("submit", inspect);
});
