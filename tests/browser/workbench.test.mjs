// End-to-end tests of the workbench in Debian's chromium, driven by playwright-core.
// Usage: node workbench.test.mjs <workbench-url> <screenshot-dir>
// (scripts/browser-tests.sh starts `tessera demo --keep-running` and passes its URL.)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const url = process.argv[2];
const shots = process.argv[3] || "target/browser-artifacts";
if (!url) throw new Error("usage: node workbench.test.mjs <workbench-url> [screenshot-dir]");
mkdirSync(shots, { recursive: true });

let browser;
let page;
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";

before(async () => {
  browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("pageerror", (e) => { throw e; });
  await page.goto(url);
  await page.waitForFunction(() => document.querySelector("#preset option") !== null);
});
after(async () => { await browser?.close(); });

async function shot(name) {
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: false });
}
async function tab(name) {
  await page.click(`#tab-${name}`);
  await page.waitForSelector(`#view-${name}:not([hidden])`);
}
async function compose(preset, edit = async () => {}) {
  await tab("compose");
  await page.selectOption("#preset", preset);
  await edit();
  // Each edit resets the verdict to "Checking…" until the issuer's answer to the last one.
  await page.waitForFunction(() => /issuer would|✗/.test(document.querySelector("#verdict").textContent));
}
async function mint() {
  await page.click("#mint-button");
  await page.waitForSelector("#view-inspect:not([hidden]) #verification");
}
async function redeem(client) {
  await tab("redeem");
  if (client) await page.selectOption("#client", client);
  await page.click("#redeem-button");
  await page.waitForFunction(() => {
    const v = document.querySelector("#redeem-verdict");
    return v && /Granted|Refused/.test(v.textContent);
  });
  return page.textContent("#redeem-verdict");
}
async function browse() {
  await page.click("#to-browse");
  await page.waitForSelector("#type-table");
  const rows = await page.$$eval("#type-table tbody tr", (trs) => trs.map((tr) => ({
    type: tr.dataset.type,
    shared: tr.children[1].textContent === "shared",
    released: Number(tr.querySelector("td.released").textContent),
  })));
  return Object.fromEntries(rows.map((r) => [r.type, r]));
}
// The searchset totals the Data Holder itself reported, read from the trace (the FHIR
// responses as they came over the wire) — independent of the table's own counting.
async function totalsFromTrace(sinceIndex) {
  return page.evaluate((since) => {
    const out = {};
    const trace = window.__trace();
    for (const x of trace.slice(since)) {
      if (x.method !== "GET" || !/\/fhir\/[A-Z][A-Za-z]+\?/.test(x.url) || /_cursor=/.test(x.url)) continue;
      const type = new URL(x.url).pathname.split("/").pop();
      try {
        const b = JSON.parse(x.response_body);
        const own = (b.entry || []).filter((e) => !e.search || e.search.mode === "match").length;
        out[type] = (out[type] || 0) + (typeof b.total === "number" ? b.total : own);
      } catch { /* not JSON */ }
    }
    return out;
  }, sinceIndex);
}
const traceLength = () => page.evaluate(() => window.__trace().length);

const GRANTED = [
  { preset: "self-access", types: null },
  { preset: "delegated-delegatee", types: null },
  { preset: "delegated-poa", types: null },
  { preset: "delegated-guardian", types: ["AllergyIntolerance", "Condition", "Immunization", "MedicationRequest"] },
  { preset: "payer-claims", types: null },
  { preset: "quality-gap", types: ["Observation"] },
  { preset: "public-health", types: ["Condition", "Observation", "DiagnosticReport"] },
  { preset: "oidf-payer", types: ["Observation"] },
  { preset: "well-known-app", types: ["Observation"] },
];

for (const c of GRANTED) {
  test(`compose, mint, redeem and browse: ${c.preset}`, async () => {
    await compose(c.preset);
    assert.match(await page.textContent("#verdict"), /issuer would mint/);
    if (c.preset === "self-access") await shot("compose");
    await mint();
    assert.match(await page.textContent("#verification"), /verify with/);
    if (c.preset === "self-access") await shot("inspect");
    const since = await traceLength();
    const verdict = await redeem();
    assert.match(verdict, /Granted/, verdict);
    if (c.preset === "self-access") await shot("redeem");
    const released = await browse();
    const total = Number(await page.textContent("#released-total"));
    assert.ok(total > 0, "something is released");
    const fromWire = await totalsFromTrace(since);
    for (const [type, r] of Object.entries(released)) {
      if (r.released > 0 || fromWire[type] !== undefined) assert.equal(r.released, fromWire[type] ?? 0, `${c.preset}: ${type} released`);
    }
    if (c.types) {
      for (const [type, r] of Object.entries(released)) {
        if (r.released > 0 && !r.shared && type !== "Patient") assert.ok(c.types.includes(type), `${c.preset} released ${type}`);
      }
    }
    if (c.preset === "quality-gap") await shot("browse");
  });
}

test("a held-back record is explained", async () => {
  await compose("delegated-delegatee");
  await mint();
  assert.match(await redeem(), /Granted/);
  await browse();
  const held = await page.$("#type-table details.held");
  assert.ok(held, "the delegatee's ticket withholds something");
  await held.click();
  const text = await held.textContent();
  assert.match(text, /sensitive label withheld|type not in scope|outside/);
  await shot("held-back");
});

test("refusal explained: expired", async () => {
  await compose("self-access", async () => {
    await page.fill("#lifetime", "3600");
    await page.fill("#minted-ago", "7200");
  });
  await mint();
  assert.match(await page.textContent("#verification"), /expired/i);
  const verdict = await redeem();
  assert.match(verdict, /Refused \(HTTP 400\): invalid_grant: Ticket expired/);
  assert.match(await page.textContent("#redeem-result"), /What would fix it: Mint a new ticket/);
  await shot("refusal");
});

test("refusal explained: wrong client", async () => {
  await compose("self-access");
  await mint();
  const verdict = await redeem("family-app");
  assert.match(verdict, /invalid_grant: Ticket presenter binding mismatch/);
  assert.match(await page.textContent("#redeem-result"), /Failing step: /);
});

test("refusal explained: revoked", async () => {
  await compose("delegated-delegatee");
  await mint();
  assert.match(await redeem(), /Granted/);
  await page.click("#revoke-button");
  await page.waitForFunction(() => {
    const v = document.querySelector("#redeem-verdict");
    return v && /revoked at its issuer/.test(v.textContent);
  });
  const verdict = await redeem();
  assert.match(verdict, /invalid_grant: Ticket has been revoked/);
});

test("an edit the issuer refuses is explained before minting", async () => {
  await compose("self-access", async () => {
    await page.fill("#scopes", "not a scope");
  });
  const v = await page.textContent("#verdict");
  assert.match(v, /issuer would refuse/);
  assert.match(v, /What to change/);
});

test("the type's own claims drive the form, and the issuer judges each value", async () => {
  await compose("self-access");
  assert.equal(await page.isVisible("#requester-authority"), false, "self access has no requester");
  assert.equal(await page.isVisible("#type-claims-none"), true);
  await compose("delegated-guardian");
  assert.equal(await page.inputValue("#requester-authority"), "GUARD");
  assert.equal(await page.isVisible("#measure-code"), false);
  await compose("delegated-guardian", async () => { await page.fill("#requester-authority", "FRIEND"); });
  assert.match(await page.textContent("#verdict"), /issuer would refuse: invalid_claims/);
  await compose("delegated-guardian", async () => { await page.fill("#requester-authority", "HPOWATT"); });
  assert.match(await page.textContent("#verdict"), /issuer would mint/);
  let claims = JSON.parse(await page.textContent("#composed-claims"));
  assert.equal(claims.requester.relationship[0].coding[0].code, "HPOWATT");
  await compose("quality-gap");
  assert.equal(await page.inputValue("#measure-code"), "CMS122v12");
  assert.ok((await page.inputValue("#requester-identifier")).length > 0, "the payer's NPI");
  await compose("payer-claims");
  assert.ok((await page.inputValue("#claim-encounter")).length > 0);
  assert.equal(await page.isVisible("#claim-control-number"), true);
  await compose("public-health", async () => { await page.fill("#reportable-condition", "186747009"); });
  claims = JSON.parse(await page.textContent("#composed-claims"));
  assert.equal(claims.reportable_condition.coding[0].code, "186747009");
});

test("the binding and an organization filter are composed, and the CLI command is shown", async () => {
  // Bound to the family app's key instead of the patient app's: the family app may redeem.
  await compose("self-access", async () => {
    await page.selectOption("#binding", "jkt:family-app");
    await page.check("#holder-org-0");
  });
  assert.match(await page.textContent("#verdict"), /issuer would mint/);
  const claims = JSON.parse(await page.textContent("#composed-claims"));
  assert.equal(claims.presenter_binding.method, "jkt");
  const family = await page.evaluate(() => window.__world().clients.find((c) => c.client_id === "family-app").jkt);
  assert.equal(claims.presenter_binding.jkt, family);
  const orgs = claims.access.data_holder_filter.find((f) => f.kind === "organization");
  assert.ok(orgs && orgs.organization.length === 1, JSON.stringify(claims.access));
  await mint();
  const verdict = await redeem("family-app");
  assert.match(verdict, /Granted/, verdict);
  assert.match(await page.textContent("#tessera-command"), /^tessera redeem (--dpop )?--ticket .* --client-id family-app --client-key /);
});

test("bound to a framework client's identity: that client redeems, another framework client is refused", async () => {
  await compose("quality-gap", async () => {
    await page.selectOption("#binding", "framework:well-known-app");
  });
  assert.match(await page.textContent("#verdict"), /issuer would mint/);
  const claims = JSON.parse(await page.textContent("#composed-claims"));
  assert.equal(claims.presenter_binding.method, "trust_framework_client");
  assert.equal(claims.presenter_binding.framework_type, "well-known");
  await mint();
  const wrong = await redeem("udap:payer-quality");
  assert.match(wrong, /Refused \(HTTP 400\): invalid_grant: Ticket presenter binding mismatch/, wrong);
  assert.match(await page.textContent("#client-auth"), /UDAP/);
  const right = await redeem("well-known-app");
  assert.match(right, /Granted/, right);
  assert.match(await page.textContent("#client-auth"), /well-known/);
  await shot("framework");
  const released = await browse();
  assert.ok(released.Observation && released.Observation.released > 0, JSON.stringify(released));
});

test("a person known at two sites: the network Data Holder releases the combined record", async () => {
  const person = await page.evaluate(() => window.__world().persons[0]);
  assert.ok(person && person.records.length >= 2, JSON.stringify(person));
  await compose("self-access", async () => {
    await page.selectOption("#patient", person.key);
  });
  assert.match(await page.textContent("#verdict"), /issuer would mint/);
  const claims = JSON.parse(await page.textContent("#composed-claims"));
  assert.equal(claims.subject.patient.identifier, undefined, "the person, not one site's MRN");
  await mint();
  assert.equal(await page.inputValue("#holder"), "network");
  const since = await traceLength();
  const verdict = await redeem();
  assert.match(verdict, /Granted by the network Data Holder/, verdict);
  const released = await browse();
  assert.equal(Number(await page.getAttribute("#site-records", "data-count")), person.records.length);
  // Independent of the table: the Observations that came over the wire name every linked record.
  const subjects = await page.evaluate((since) => {
    const out = new Set();
    for (const x of window.__trace().slice(since)) {
      if (x.method !== "GET" || !/\/Observation\?/.test(x.url)) continue;
      try {
        for (const e of JSON.parse(x.response_body).entry || []) {
          if (e.resource && e.resource.subject) out.add(e.resource.subject.reference);
        }
      } catch { /* not JSON */ }
    }
    return [...out].sort();
  }, since);
  const want = person.records.map((r) => `Patient/${r.patient_id}`).sort();
  assert.deepEqual(subjects, want);
  const fromWire = await totalsFromTrace(since);
  for (const [type, r] of Object.entries(released)) {
    if (r.released > 0 || fromWire[type] !== undefined) assert.equal(r.released, fromWire[type] ?? 0, `network: ${type} released`);
  }
  const disagreements = await page.$$(".verdict.bad");
  assert.equal(disagreements.length, 0, "the API and the Grant agree");
  await shot("network");
  // The same ticket at the site Data Holder (no linkage): a record at each site matches.
  await tab("redeem");
  await page.selectOption("#holder", "site");
  const site = await redeem();
  assert.match(site, /Refused \(HTTP 400\): invalid_grant: Ambiguous ticket subject match/, site);
  assert.match(await page.textContent("#redeem-result"), /What would fix it: .*network Data Holder/);
});

test("the trace shows every exchange with decoded JWTs and a curl command", async () => {
  await tab("trace");
  const count = Number(await page.textContent("#trace-count"));
  assert.ok(count > 10, `trace has ${count} exchanges`);
  const token = page.locator(".event", { hasText: "POST /fhir/token" }).first();
  await token.click();
  const detail = await page.textContent("#trace-detail");
  assert.match(detail, /JWTs in this exchange, decoded/);
  assert.match(detail, /grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange/);
  assert.match(detail, /curl -i -X POST/);
  assert.match(detail, /tessera redeem/);
  await shot("trace");
});

test("the Data Holder's operator workbench: a ticket's verdict without spending it, then its audit rows", async () => {
  const w = await page.evaluate(() => window.__world());
  // A redeemed ticket, and an expired one.
  await compose("self-access");
  await mint();
  const redeemed = await page.inputValue("#ticket-text");
  assert.match(await redeem(), /Granted/);
  await compose("self-access", async () => {
    await page.fill("#lifetime", "3600");
    await page.fill("#minted-ago", "7200");
  });
  await mint();
  const expired = await page.inputValue("#ticket-text");
  const op = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  op.on("pageerror", (e) => { throw e; });
  try {
    await op.goto(w.holder_workbench);
    // Without the secret: refused.
    await op.fill("#ticket", redeemed);
    await op.click("#inspect-button");
    await op.waitForSelector("#verdict");
    assert.match(await op.textContent("#verdict"), /admin secret was not accepted/);
    await op.fill("#admin-token", w.admin_token);
    await op.fill("#ticket", expired);
    await op.click("#inspect-button");
    await op.waitForFunction(() => /step/.test(document.querySelector("#verdict")?.textContent || ""));
    assert.match(await op.textContent("#verdict"), /would refuse it at step envelope \(HTTP 400\): invalid_grant: Ticket expired/);
    await op.fill("#ticket", redeemed);
    await op.click("#inspect-button");
    await op.waitForFunction(() => /accepts the ticket itself/.test(document.querySelector("#verdict")?.textContent || ""));
    assert.ok((await op.$$("#claims tbody tr")).length >= 6, "every claim explained");
    await op.click("#audit-button");
    await op.waitForSelector("#audit-table");
    const outcomes = await op.$$eval("#audit-table tbody tr", (trs) => trs.map((tr) => tr.children[2].textContent));
    assert.deepEqual(outcomes, ["accepted"], "one redemption, and the dry runs left no row");
    await op.screenshot({ path: `${shots}/operator.png`, fullPage: false });
  } finally {
    await op.close();
  }
});

test("the issuer's operator workbench: minting's verdict for a client, and a ticket's issuance record", async () => {
  const w = await page.evaluate(() => window.__world());
  await compose("self-access");
  await mint();
  const ticket = await page.inputValue("#ticket-text");
  const request = await page.evaluate(async () =>
    (await (await fetch("/api/check", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ preset: "self-access" }) })).json()).request);
  const op = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  op.on("pageerror", (e) => { throw e; });
  try {
    await op.goto(w.issuer_workbench);
    await op.fill("#admin-token", w.admin_token);
    await op.click("#load-button");
    await op.waitForSelector("#client option", { state: "attached" });
    await op.fill("#claims", JSON.stringify(request, null, 2));
    await op.click("#check-button");
    await op.waitForSelector("#check-verdict");
    assert.match(await op.textContent("#check-verdict"), /would mint it for network-console/);
    const signed = JSON.parse(await op.textContent("#check-claims"));
    assert.equal(signed.iss, w.network_issuer);
    const bad = { ...request, access: { ...request.access, smart_scopes: ["not a scope"] } };
    await op.fill("#claims", JSON.stringify(bad));
    await op.click("#check-button");
    await op.waitForFunction(() => /would refuse/.test(document.querySelector("#check-verdict")?.textContent || ""));
    assert.match(await op.textContent("#check-verdict"), /would refuse: invalid_claims: /);
    await op.fill("#ticket", ticket);
    await op.click("#inspect-button");
    await op.waitForSelector("#inspect-verdict");
    assert.match(await op.textContent("#inspect-verdict"), /Signed by this issuer/);
    assert.match(await op.textContent("#record"), /requested by\s*network-console/);
    await op.screenshot({ path: `${shots}/issuer.png`, fullPage: false });
  } finally {
    await op.close();
  }
});

test("keyboard only: tabs and the compose form", async () => {
  await page.goto(url);
  await page.waitForFunction(() => document.querySelector("#preset option") !== null);
  await page.focus("#tab-compose");
  await page.keyboard.press("ArrowRight");
  assert.equal(await page.evaluate(() => document.activeElement.id), "tab-inspect");
  assert.equal(await page.getAttribute("#tab-inspect", "aria-selected"), "true");
  await page.keyboard.press("ArrowLeft");
  assert.equal(await page.evaluate(() => document.activeElement.id), "tab-compose");
  // Tab into the form: the first control is the preset.
  let guard = 0;
  while ((await page.evaluate(() => document.activeElement.id)) !== "preset" && guard++ < 10) {
    await page.keyboard.press("Tab");
  }
  assert.equal(await page.evaluate(() => document.activeElement.id), "preset");
  // Every control of the form has a label a screen reader can announce.
  const unlabelled = await page.$$eval("#compose-form input, #compose-form select, #compose-form textarea",
    (els) => els.filter((e) => !(e.labels && e.labels.length)).map((e) => e.id || e.name));
  assert.deepEqual(unlabelled, []);
  await page.waitForFunction(() => /issuer would mint/.test(document.querySelector("#verdict").textContent));
  guard = 0;
  while ((await page.evaluate(() => document.activeElement.id)) !== "mint-button" && guard++ < 40) {
    await page.keyboard.press("Tab");
  }
  assert.equal(await page.evaluate(() => document.activeElement.id), "mint-button");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#view-inspect:not([hidden]) #verification");
  assert.equal(await page.evaluate(() => document.activeElement.id), "tab-inspect");
});
