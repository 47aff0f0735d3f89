// The Data Holder's operator workbench: plain JavaScript over the Data Holder's own admin APIs
// (relative to the FHIR base; helpers in operator.js). Every verdict is the Data Holder's.
"use strict";

const state = { jti: null };

async function inspect(e) {
  e.preventDefault();
  const out = $("#result");
  out.replaceChildren(el("p", { text: "Asking the Data Holder…" }));
  $("#audit").replaceChildren();
  try {
    const r = await call("POST", "workbench/api/inspect", { ticket: $("#ticket").value.trim() });
    state.jti = r.payload.jti || null;
    const v = r.verdict;
    out.replaceChildren(
      el("p", { id: "verdict", class: v.ok ? "verdict ok" : "verdict bad", text: v.ok
        ? "✓ This Data Holder accepts the ticket itself: issuer trust, signature, type, lifetime, audience, revocation, binding required, access constraints and data_holder_filter all pass."
        : `✗ This Data Holder would refuse it at step ${v.step} (HTTP ${v.status}): ${v.error}: ${v.error_description}` }),
      el("p", { class: "hint", text: `Judged only at redemption, with the presenting client: ${r.not_judged.join(", ")}.` }),
      el("h2", { text: "Claims" }), claimsTable(r.claims),
      el("h2", { text: "What the Data Holder checks, in order" }),
      el("ol", {}, ...r.holder_steps.map((s) => el("li", { text: s }))),
      el("details", {}, el("summary", { text: "JOSE header and payload" }),
        el("pre", { tabindex: "0", text: `${json(r.header)}\n${json(r.payload)}` })));
  } catch (err) {
    out.replaceChildren(el("p", { id: "verdict", class: "verdict bad", text: `✗ ${err.message}` }));
  }
}

async function audit() {
  const out = $("#audit");
  if (!state.jti) { out.replaceChildren(el("p", { class: "verdict bad", text: "Inspect a ticket first." })); return; }
  try {
    const r = await call("GET", `admin/audit?jti=${encodeURIComponent(state.jti)}`);
    const keys = ["at", "event", "outcome", "step", "error", "error_description", "client_id", "patient"];
    out.replaceChildren(el("h2", { text: `Audit rows for ${state.jti}` }),
      r.records.length === 0 ? el("p", { id: "audit-empty", text: "No redemption of this ticket has been attempted here." })
        : el("table", { id: "audit-table" },
          el("thead", {}, el("tr", {}, ...keys.map((k) => el("th", { scope: "col", text: k })))),
          el("tbody", {}, ...r.records.map((row) => el("tr", {}, ...keys.map((k) => el("td", { text: row[k] === undefined || row[k] === null ? "" : String(row[k]) })))))));
  } catch (err) {
    out.replaceChildren(el("p", { class: "verdict bad", text: `✗ ${err.message}` }));
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("#inspect-form").addEventListener("submit", inspect);
  $("#audit-button").addEventListener("click", audit);
});
