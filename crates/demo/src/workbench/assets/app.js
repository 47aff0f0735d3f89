// Tessera workbench: plain JavaScript over the workbench's JSON API. No framework, no build
// step; every rule is judged by the issuer or the Data Holder, never here.
"use strict";

const state = { world: null, ticket: null, session: null, trace: [], checkTimer: null, checkSeq: 0 };

const $ = (sel) => document.querySelector(sel);
const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
};
const json = (v) => JSON.stringify(v, null, 2);

async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
  };
  const r = await fetch(path, init);
  const data = await r.json().catch(() => ({ error: `HTTP ${r.status}: not JSON`, trace: [] }));
  addTrace(data.trace || []);
  if (!r.ok) throw new Error(data.error || `HTTP ${r.status}`);
  return data;
}

// ---- tabs (WAI-ARIA tabs pattern: arrows move, Enter/Space or click selects) ----
function selectTab(name) {
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    const on = tab.id === `tab-${name}`;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    $(`#${tab.getAttribute("aria-controls")}`).hidden = !on;
  }
}
function setupTabs() {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  tabs.forEach((tab, i) => {
    tab.addEventListener("click", () => selectTab(tab.id.slice(4)));
    tab.addEventListener("keydown", (e) => {
      let j = null;
      if (e.key === "ArrowRight") j = (i + 1) % tabs.length;
      if (e.key === "ArrowLeft") j = (i - 1 + tabs.length) % tabs.length;
      if (e.key === "Home") j = 0;
      if (e.key === "End") j = tabs.length - 1;
      if (j !== null) { e.preventDefault(); tabs[j].focus(); selectTab(tabs[j].id.slice(4)); }
    });
  });
}

// ---- compose ----
function preset() {
  return state.world.presets.find((p) => p.key === $("#preset").value);
}
function fillFromPreset() {
  const p = preset();
  $("#preset-story").textContent = `${p.story} Expected: ${p.expected}.`;
  const a = p.claims.access || {};
  $("#scopes").value = (a.smart_scopes || []).join("\n");
  $("#period-start").value = (a.data_period && a.data_period.start) || "";
  $("#period-end").value = (a.data_period && a.data_period.end) || "";
  const codes = ((a.sensitivity_withhold && a.sensitivity_withhold.codes) || []).map((c) => c.code);
  for (const box of document.querySelectorAll('input[name="withhold"]')) box.checked = codes.includes(box.value);
  const states = (a.data_holder_filter || []).map((f) => f.address && f.address.state).filter(Boolean);
  $("#holder-states").value = states.join(", ");
  const npis = (a.data_holder_filter || []).flatMap((f) => (f.organization || []).map((o) => o.identifier && o.identifier.value));
  for (const box of document.querySelectorAll('input[name="holder_org"]')) box.checked = npis.includes(box.value);
  // The type's own claims: a field per claim the example carries, filled from it.
  const at = (pointer) => pointer.split("/").slice(1).reduce((v, k) => (v === undefined || v === null ? undefined : v[k]), p.claims);
  let shown = 0;
  for (const f of document.querySelectorAll(".type-field")) {
    let v = at(f.dataset.pointer);
    if (typeof v === "string" && f.dataset.pointer.endsWith("/reference")) v = v.split("/").pop();
    f.hidden = typeof v !== "string";
    if (!f.hidden) shown++;
    f.querySelector("input").value = typeof v === "string" ? v : "";
  }
  $("#type-claims-none").hidden = shown > 0;
  $("#binding").value = "";
  $("#lifetime").value = "";
  $("#minted-ago").value = "";
  const hasPatient = !!(p.claims.subject && p.claims.subject.patient);
  $("#patient").disabled = !hasPatient;
  $("#patient").value = "";
  scheduleCheck();
}
function composition() {
  const c = {
    preset: $("#preset").value,
    scopes: $("#scopes").value.split("\n").map((s) => s.trim()).filter(Boolean),
    period_start: $("#period-start").value,
    period_end: $("#period-end").value,
    withhold: [...document.querySelectorAll('input[name="withhold"]:checked')].map((b) => b.value),
    holder_states: $("#holder-states").value.split(",").map((s) => s.trim()).filter(Boolean),
    holder_organizations: [...document.querySelectorAll('input[name="holder_org"]:checked')].map((b) => b.value),
  };
  for (const f of document.querySelectorAll(".type-field")) {
    const input = f.querySelector("input");
    if (!f.hidden && input.value.trim()) c[input.name] = input.value.trim();
  }
  const binding = $("#binding").value;
  if (binding.startsWith("jkt:")) c.binding_client = binding.slice(4);
  if (binding.startsWith("framework:")) c.binding_framework = binding.slice(10);
  if ($("#patient").value && !$("#patient").disabled) c.patient = $("#patient").value;
  const life = parseInt($("#lifetime").value, 10);
  if (!Number.isNaN(life)) c.lifetime_seconds = life;
  const ago = parseInt($("#minted-ago").value, 10);
  if (!Number.isNaN(ago) && ago > 0) c.minted_seconds_ago = ago;
  return c;
}
function scheduleCheck() {
  clearTimeout(state.checkTimer);
  state.checkSeq++;
  $("#verdict").className = "verdict";
  $("#verdict").replaceChildren(el("p", { text: "Checking with the issuer…" }));
  state.checkTimer = setTimeout(runCheck, 250);
}
async function runCheck() {
  const seq = ++state.checkSeq;
  const v = $("#verdict");
  try {
    const r = await api("/api/check", composition());
    if (seq !== state.checkSeq) return;
    $("#composed-claims").textContent = json(r.verdict.ok ? r.verdict.claims : r.composed.claims);
    v.className = r.verdict.ok ? "verdict ok" : "verdict bad";
    v.replaceChildren(r.verdict.ok
      ? el("p", { text: "✓ The issuer would mint this ticket." })
      : el("div", {},
          el("p", { text: `✗ The issuer would refuse: ${r.verdict.error}: ${r.verdict.error_description}` }),
          el("p", { class: "fix", text: `What to change: ${r.verdict.fix}` })));
  } catch (e) {
    if (seq !== state.checkSeq) return;
    v.className = "verdict bad";
    v.replaceChildren(el("p", { text: `✗ ${e.message}` }));
  }
}
async function mint(e) {
  e.preventDefault();
  const button = $("#mint-button");
  button.disabled = true;
  $("#inspect-result").replaceChildren();
  try {
    const r = await api("/api/mint", composition());
    state.ticket = { ticket: r.ticket, jti: r.jti, issuer: r.issuer };
    $("#ticket-text").value = r.ticket;
    $("#client").value = r.client;
    $("#dpop").checked = !!r.dpop;
    $("#holder").value = r.holder || "site";
    showHolder();
    showClient();
    renderInspect(r);
    selectTab("inspect");
    $("#tab-inspect").focus();
  } catch (err) {
    $("#verdict").className = "verdict bad";
    $("#verdict").replaceChildren(el("p", { text: `✗ ${err.message}` }));
  } finally {
    button.disabled = false;
  }
}

// ---- inspect ----
function renderInspect(r) {
  const out = $("#inspect-result");
  const v = r.verification;
  const rows = r.claims.map((c) =>
    el("tr", {}, el("th", { scope: "row" }, el("code", { text: c.claim })),
      el("td", {}, el("code", { class: "value", text: c.value })), el("td", { text: c.meaning })));
  out.replaceChildren(
    el("p", { class: v.ok ? "verdict ok" : "verdict bad", id: "verification",
      text: v.ok ? `✓ Signature and claims verify with ${v.by}'s published keys.` : `✗ ${v.error}` }),
    el("h3", { text: "Claims" }),
    el("table", { class: "claims" },
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Claim" }), el("th", { scope: "col", text: "Value" }), el("th", { scope: "col", text: "Meaning" }))),
      el("tbody", {}, ...rows)),
    el("h3", { text: "What the Data Holder will check, in order" }),
    el("ol", { class: "steps" }, ...r.holder_steps.map((s) => el("li", { text: s }))),
    el("details", {}, el("summary", { text: "JOSE header and payload" }),
      el("pre", { class: "json", tabindex: "0", text: `${json(r.header)}\n${json(r.payload)}` })),
    el("div", { class: "actions" }, el("button", { type: "button", class: "primary", id: "to-redeem",
      onclick: () => { selectTab("redeem"); $("#tab-redeem").focus(); }, text: "Redeem this ticket →" })));
}
async function inspect(e) {
  e.preventDefault();
  $("#inspect-result").replaceChildren();
  try {
    const r = await api("/api/inspect", { ticket: $("#ticket-text").value });
    const jti = r.payload.jti;
    if (!state.ticket || state.ticket.ticket !== r.ticket) {
      const issuer = r.payload.iss === state.world.holder_issuer ? "holder" : "network";
      state.ticket = { ticket: r.ticket, jti, issuer };
    }
    renderInspect(r);
  } catch (err) {
    $("#inspect-result").replaceChildren(el("p", { class: "verdict bad", text: `✗ ${err.message}` }));
  }
}

// ---- redeem ----
async function redeem(e) {
  e.preventDefault();
  const out = $("#redeem-result");
  out.replaceChildren(el("p", { text: "Redeeming…" }));
  const ticket = $("#ticket-text").value.trim();
  if (!ticket) { out.replaceChildren(el("p", { class: "verdict bad", text: "Mint or paste a ticket first." })); return; }
  try {
    const before = state.trace.length;
    const r = await api("/api/redeem", { ticket, client: $("#client").value, dpop: $("#dpop").checked, holder: $("#holder").value });
    for (const x of state.trace.slice(before)) if (x.step === "token exchange" && r.tessera_command) x.tessera = r.tessera_command;
    if (r.ok) {
      state.session = r.session;
      out.replaceChildren(
        el("p", { class: "verdict ok", id: "redeem-verdict", text: `✓ Granted by the ${r.holder} Data Holder: ${r.token_type} token for patient ${r.patient}, ${r.expires_in} s.` }),
        el("p", {}, "Scope: ", el("code", { text: r.scope || "" })),
        commandBlock(r.tessera_command),
        el("div", { class: "actions" }, el("button", { type: "button", class: "primary", id: "to-browse", onclick: browse, text: "Browse the released records →" })));
    } else {
      out.replaceChildren(
        el("p", { class: "verdict bad", id: "redeem-verdict", text: `✗ Refused (HTTP ${r.status}): ${r.error}: ${r.error_description}` }),
        el("p", {}, "Failing step: ", el("code", { text: r.step || "(not recorded)" })),
        el("p", { class: "fix", text: `What would fix it: ${r.fix}` }),
        commandBlock(r.tessera_command),
        auditTable(r.audit));
    }
  } catch (err) {
    out.replaceChildren(el("p", { class: "verdict bad", id: "redeem-verdict", text: `✗ ${err.message}` }));
  }
}
async function revoke() {
  const out = $("#redeem-result");
  out.replaceChildren(el("p", { text: "Revoking…" }));
  if (!state.ticket || !state.ticket.jti) { out.replaceChildren(el("p", { class: "verdict bad", text: "Mint or inspect a ticket first." })); return; }
  try {
    await api("/api/revoke", { issuer: state.ticket.issuer, jti: state.ticket.jti });
    out.replaceChildren(el("p", { class: "verdict", id: "redeem-verdict", text: `Ticket ${state.ticket.jti} revoked at its issuer. Redeem it again to see the refusal.` }));
  } catch (err) {
    out.replaceChildren(el("p", { class: "verdict bad", text: `✗ ${err.message}` }));
  }
}
function commandBlock(cmd) {
  if (!cmd) return el("span");
  return el("div", {}, el("h3", { text: "The same redemption with the tessera CLI" }),
    el("pre", { class: "json", id: "tessera-command", tabindex: "0", text: cmd }),
    el("p", { class: "hint", text: "The ticket and the client key are files in the demo's run directory. A ticket bound to the client can be redeemed again; the CLI signs a fresh assertion." }));
}
function auditTable(rows) {
  if (!rows || rows.length === 0) return el("p", { text: "No audit rows for this ticket." });
  const keys = ["at", "outcome", "step", "error", "client_id", "binding_check"];
  return el("div", {}, el("h3", { text: "The Data Holder's audit rows for this ticket" }),
    el("table", { class: "audit" },
      el("thead", {}, el("tr", {}, ...keys.map((k) => el("th", { scope: "col", text: k })))),
      el("tbody", {}, ...rows.map((r) => el("tr", {}, ...keys.map((k) => el("td", { text: r[k] === undefined || r[k] === null ? "" : String(r[k]) })))))));
}

// ---- browse ----
async function browse() {
  selectTab("browse");
  $("#tab-browse").focus();
  const out = $("#browse-result");
  out.replaceChildren(el("p", { text: "Reading the FHIR API…" }));
  try {
    const r = await api("/api/browse", { session: state.session });
    const typeRows = r.types.map((t) => {
      const held = Object.entries(t.held_back);
      const total = held.reduce((n, [, c]) => n + c, 0);
      const list = (r.held_back[t.resource_type] || []);
      const why = total === 0 ? el("td", { text: "0" }) : el("td", {},
        el("details", { class: "held" }, el("summary", { text: `${total} held back` }),
          el("ul", {}, ...held.map(([reason, n]) => el("li", { text: `${n}: ${reason}` }))),
          el("ul", { class: "ids" }, ...list.map((h) => el("li", {}, el("code", { text: `${t.resource_type}/${h.id}` }), ` ${h.date || ""}: ${h.reason}`)))));
      return el("tr", { "data-type": t.resource_type }, el("th", { scope: "row", text: t.resource_type }),
        el("td", { text: t.in_store === null ? "shared" : String(t.in_store) }),
        el("td", { class: "released", text: String(t.released) }), why);
    });
    const timeline = [...r.released].sort((a, b) => String(b.date || "").localeCompare(String(a.date || "")));
    const viewer = el("pre", { class: "json", id: "record-json", tabindex: "0", text: "Select a record to see its JSON." });
    out.replaceChildren(...[
      el("p", {}, `Released to the client for ${r.patient} by the ${r.holder} Data Holder: `, el("strong", { id: "released-total", text: String(r.released.length) }), " resources."),
      el("p", { id: "site-records", "data-count": String(r.records.length) }, r.records.length > 1
        ? `The combined record of ${r.records.length} site records, linked by the enterprise identifier: ${r.records.map((x) => `${x.site} (Patient/${x.patient_id})`).join(", ")}.`
        : `The record at ${r.records.map((x) => `${x.site} (Patient/${x.patient_id})`).join("")}.`),
      r.disagreements.length ? el("p", { class: "verdict bad", text: `API and Grant disagree: ${r.disagreements.join("; ")}` }) : null,
      el("table", { class: "types", id: "type-table" },
        el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Type" }), el("th", { scope: "col", text: "In the store" }), el("th", { scope: "col", text: "Released" }), el("th", { scope: "col", text: "Held back, and why" }))),
        el("tbody", {}, ...typeRows)),
      el("h3", { text: "Timeline of released records" }),
      el("div", { class: "timeline-wrap" },
        el("ol", { class: "timeline" }, ...timeline.map((x) => el("li", {},
          el("button", { type: "button", onclick: () => { viewer.textContent = json(x.resource); }, text: `${x.date || "undated"} · ${x.type}/${x.id}` })))),
        viewer),
      ...(r.notes || []).map((n) => el("p", { class: "hint", text: n })),
      auditTable(r.audit)].filter(Boolean));
  } catch (err) {
    out.replaceChildren(el("p", { class: "verdict bad", text: `✗ ${err.message}` }));
  }
}

// ---- trace ----
function lane(url) {
  const w = state.world;
  if (url.startsWith(w.network_issuer) || url.startsWith(w.holder_issuer)) return 2;
  return 3;
}
function addTrace(exchanges) {
  for (const x of exchanges) {
    const i = state.trace.length;
    state.trace.push(x);
    const path = (() => { try { const u = new URL(x.url); return u.pathname; } catch { return x.url; } })();
    const row = el("button", {
      type: "button", class: `event lane-${lane(x.url)}`, "data-index": String(i),
      onclick: () => showExchange(i),
      text: `${i + 1}. ${x.method} ${path} → ${x.status === null ? "no answer" : x.status}`,
    });
    $("#swimlane").append(el("div", { class: "row event-row" }, row));
  }
  $("#trace-count").textContent = String(state.trace.length);
}
function jwtsIn(text) {
  const found = new Set(text.match(/eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g) || []);
  return [...found].map((t) => {
    const [h, p] = t.split(".");
    const dec = (s) => { try { return JSON.parse(atob(s.replace(/-/g, "+").replace(/_/g, "/"))); } catch { return "(not JSON)"; } };
    return { header: dec(h), payload: dec(p) };
  });
}
function curl(x) {
  const q = (s) => `'${String(s).replace(/'/g, "'\\''")}'`;
  const parts = [`curl -i -X ${x.method} ${q(x.url)}`];
  for (const [k, v] of x.request_headers) parts.push(`-H ${q(`${k}: ${v}`)}`);
  if (x.request_body) parts.push(`--data-raw ${q(x.request_body)}`);
  return parts.join(" \\\n  ");
}
function showExchange(i) {
  const x = state.trace[i];
  const headers = (hs) => hs.map(([k, v]) => `${k}: ${v}`).join("\n");
  const jwts = jwtsIn(`${x.request_body}\n${headers(x.request_headers)}\n${x.response_body}`);
  let body = x.response_body;
  try { body = json(JSON.parse(x.response_body)); } catch { /* not JSON: as is */ }
  $("#trace-detail").replaceChildren(
    el("h3", { id: "exchange-title", tabindex: "-1", text: `${i + 1}. ${x.step}: ${x.method} ${x.url}` }),
    el("h4", { text: "Request" }), el("pre", { class: "json", tabindex: "0", text: `${headers(x.request_headers)}\n\n${x.request_body}` }),
    el("h4", { text: `Response: ${x.status === null ? x.error : x.status}` }), el("pre", { class: "json", tabindex: "0", text: `${headers(x.response_headers)}\n\n${body}` }),
    jwts.length ? el("h4", { text: "JWTs in this exchange, decoded" }) : null,
    ...jwts.map((j) => el("pre", { class: "json jwt", tabindex: "0", text: `${json(j.header)}\n${json(j.payload)}` })),
    el("h4", { text: "Try it yourself" }), el("pre", { class: "json", tabindex: "0", text: curl(x) }),
    x.tessera ? el("pre", { class: "json", id: "trace-tessera", tabindex: "0", text: x.tessera }) : null,
    el("p", { class: "hint", text: "Client assertions, DPoP proofs and ticket jti values are single use: replaying this command is refused, as it should be." }));
  $("#exchange-title").focus();
}

// ---- the Data Holder and client shown beside the redeem form ----
function showHolder() {
  const w = state.world;
  const base = $("#holder").value === "network" ? w.network_base_url : w.base_url;
  $("#holder-base").textContent = base ? `Token endpoint ${base}/token; FHIR API ${base}.` : "Not running in this workbench.";
}
function showClient() {
  const c = state.world.clients.find((x) => x.client_id === $("#client").value);
  $("#client-auth").textContent = c ? `Authenticates as ${c.client_id}: ${c.authenticates}.` : "";
}

// The browser tests read the trace as it came over the wire.
window.__trace = () => state.trace;
window.__world = () => state.world;

// ---- start ----
async function start() {
  setupTabs();
  try {
    state.world = await api("/api/world");
  } catch (e) {
    $("#world-status").textContent = `The demo world is not available: ${e.message}`;
    return;
  }
  const w = state.world;
  $("#world-status").textContent = `Data Holder ${w.base_url}${w.network_base_url ? ` · network Data Holder ${w.network_base_url}` : ""} · network issuer ${w.network_issuer} · self-issuing issuer ${w.holder_issuer}`;
  $("#preset").replaceChildren(...w.presets.map((p) => el("option", { value: p.key, text: p.title })));
  $("#patient").replaceChildren(el("option", { value: "", text: "(the one this ticket type's example names)" }),
    el("optgroup", { label: "A patient at one site" },
      ...w.patients.map((p) => el("option", { value: p.key, text: `${p.name} (${p.gender}, born ${p.birth_date}, ${p.site})` }))),
    el("optgroup", { label: "A person known at several sites (network Data Holder)" },
      ...w.persons.map((p) => el("option", { value: p.key, text: `${p.name}, the person: records at ${p.records.map((r) => r.site).join(" and ")}` }))));
  $("#client").replaceChildren(...w.clients.map((c) => el("option", { value: c.client_id, text: c.client_id })));
  $("#binding").replaceChildren(el("option", { value: "", text: "(the example's binding)" }),
    el("optgroup", { label: "A demo client's key (jkt)" },
      ...w.clients.filter((c) => c.jkt).map((c) => el("option", { value: `jkt:${c.client_id}`, text: `key of ${c.client_id} (jkt ${c.jkt.slice(0, 10)}…)` }))),
    el("optgroup", { label: "A client's trust-framework identity" },
      ...w.clients.filter((c) => c.framework).map((c) => el("option", { value: `framework:${c.client_id}`, text: `${c.client_id}: ${c.framework.framework_type} entity ${c.framework.entity_uri}` }))));
  $("#authority-codes").replaceChildren(...w.authority_codes.map((code) => el("option", { value: code })));
  $("#holder").addEventListener("change", showHolder);
  $("#client").addEventListener("change", showClient);
  if (!w.network_base_url) $("#holder option[value=network]").disabled = true;
  showHolder();
  showClient();
  $("#holder-orgs").append(...w.sites.map((s, i) => el("label", {},
    el("input", { type: "checkbox", name: "holder_org", value: s.npi, id: `holder-org-${i}` }), ` ${s.name} (${s.city}, ${s.state}; NPI ${s.npi})`)));
  $("#preset").addEventListener("change", fillFromPreset);
  $("#compose-form").addEventListener("input", (e) => { if (e.target.id !== "preset") scheduleCheck(); });
  $("#compose-form").addEventListener("submit", mint);
  $("#inspect-form").addEventListener("submit", inspect);
  $("#redeem-form").addEventListener("submit", redeem);
  $("#revoke-button").addEventListener("click", revoke);
  $("#trace-clear").addEventListener("click", () => {
    state.trace = [];
    for (const n of document.querySelectorAll("#swimlane .event-row")) n.remove();
    $("#trace-detail").replaceChildren();
    $("#trace-count").textContent = "0";
  });
  fillFromPreset();
}
document.addEventListener("DOMContentLoaded", start);
