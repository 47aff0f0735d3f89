// Shared by the Data Holder's and the issuer's operator workbenches: DOM helpers and one call
// function that sends the admin secret and records every exchange in the page's trace.
"use strict";

const $ = (sel) => document.querySelector(sel);
const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
};
const json = (v) => JSON.stringify(v, null, 2);
const operator = { trace: [] };

// `method url` with `Authorization: Bearer <#admin-token>`; the trace shows no secret.
async function call(method, url, body) {
  const init = { method, headers: { authorization: `Bearer ${$("#admin-token").value}` } };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const r = await fetch(url, init);
  const text = await r.text();
  $("#trace").append(el("li", {}, el("code", { text: `${method} ${new URL(url, document.baseURI).pathname} → ${r.status}` }),
    el("details", {}, el("summary", { text: "request and response" }),
      el("pre", { tabindex: "0", text: `${body === undefined ? "" : json(body)}\n\n${text}` }))));
  operator.trace.push({ method, url, status: r.status });
  let data = null;
  try { data = JSON.parse(text); } catch { /* not JSON */ }
  if (r.status === 401) throw new Error("The admin secret was not accepted (HTTP 401).");
  if (!r.ok) throw new Error((data && data.error) || `HTTP ${r.status}`);
  return data;
}

function claimsTable(claims) {
  return el("table", { id: "claims" },
    el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Claim" }), el("th", { scope: "col", text: "Value" }), el("th", { scope: "col", text: "Meaning" }))),
    el("tbody", {}, ...claims.map((c) => el("tr", {}, el("th", { scope: "row" }, el("code", { text: c.claim })),
      el("td", {}, el("code", { class: "value", text: c.value })), el("td", { text: c.meaning })))));
}

window.__trace = () => operator.trace;
