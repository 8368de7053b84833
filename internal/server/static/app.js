// The investigation console: a page per hash route (#/, #/case/NAME/...),
// each drawn from the JSON API under /api/. Text from the server is only
// ever set with textContent (el() below), never as HTML.
"use strict";

let me = null; // the session: {user, tenant, role, csrf}
const rank = { viewer: 1, analyst: 2, admin: 3 };
const can = (role) => me && rank[me.role] >= rank[role];

export async function api(method, path, body) {
  const opts = { method, headers: {}, credentials: "same-origin" };
  if (body instanceof FormData) {
    opts.body = body;
  } else if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  if (method !== "GET") opts.headers["X-CSRF-Token"] = me ? me.csrf : "";
  const r = await fetch(path, opts);
  const data = r.status === 204 ? null : await r.json();
  if (r.status === 401 && me) { loggedOut(); }
  if (!r.ok) throw Object.assign(new Error((data && data.error) || r.statusText), { status: r.status });
  return data;
}

// el builds an element: attributes (on* are listeners), then children
// (strings become text; arrays, nested as deep as they come, are
// flattened: fieldList's [dt, dd] pairs were written as "[object ...]").
function el(tag, attrs, ...kids) {
  const e = tag.startsWith("svg:") ? document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const k of kids.flat(Infinity)) {
    if (k === null || k === undefined || k === false) continue;
    e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return e;
}

const enc = encodeURIComponent;
const caseAPI = (c) => "/api/cases/" + enc(c);
const caseURL = (c, rest) => "#/case/" + enc(c) + (rest || "");
const level = (l) => el("span", { class: "lv lv-" + (l || "informational") }, l || "none");
const when = (t) => (t ? new Date(t).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z") : "");
const view = () => document.getElementById("view");

// fill replaces the children of node, leaving out the absent ones
// (replaceChildren would write null as text).
function fill(node, ...kids) {
  node.replaceChildren(...kids.flat(Infinity).filter((k) => k !== null && k !== undefined && k !== false));
}

function show(...kids) {
  fill(view(), ...kids);
}

function failed(err) {
  show(el("p", { class: "error", role: "alert" }, err.status === 404 ? "Not found." : "Error: " + err.message));
}

// ---- routing

function route() {
  if (!me) return;
  const [path, query] = location.hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query || "");
  crumbs(parts);
  let page;
  if (parts[0] !== "case" || !parts[1]) page = casesPage();
  else {
    const c = parts[1];
    switch (parts[2] || "") {
      case "": page = overviewPage(c); break;
      case "op": page = operationPage(c, parts[3]); break;
      case "detections": page = detectionsPage(c, params); break;
      case "detection": page = detectionPage(c, parts[3]); break;
      case "timeline": page = timelinePage(c); break;
      case "evidence": page = evidencePage(c); break;
      case "intel": page = intelPage(c); break;
      case "filters": page = filtersPage(c); break;
      case "metrics": case "logons": case "gaps": page = summaryPage(c, parts[2]); break;
      case "audit": page = auditPage(c); break;
      default: page = Promise.reject(Object.assign(new Error("no such page"), { status: 404 }));
    }
  }
  page.catch(failed);
}

function crumbs(parts) {
  const nav = document.getElementById("crumbs");
  nav.replaceChildren(el("a", { href: "#/" }, "Cases"));
  if (parts[0] === "case" && parts[1]) nav.append(el("a", { href: caseURL(parts[1]) }, parts[1]));
}

function tabs(c, on) {
  const t = [["", "Overview"], ["/detections", "Detections"], ["/timeline", "Timeline"], ["/evidence", "Evidence"], ["/intel", "Intel"],
    ["/metrics", "Metrics"], ["/logons", "Logons"], ["/gaps", "Gaps"], ["/filters", "Filters"], ["/audit", "Audit log"]];
  return el("p", { class: "tabs" }, t.map(([p, name]) => el("a", { href: caseURL(c, p), class: p === on ? "on" : null }, name)),
    el("a", { href: caseAPI(c) + "/export/timeline.csv", download: "timeline.csv" }, "Timeline CSV"),
    el("a", { href: caseAPI(c) + "/export/timeline.jsonl", download: "timeline.jsonl" }, "JSONL"),
    el("a", { href: caseAPI(c) + "/export/report.html", download: "report.html" }, "HTML report"),
    el("a", { href: caseAPI(c) + "/export/stix.json", download: "stix.json" }, "STIX"));
}

// ---- cases

async function casesPage() {
  const { cases } = await api("GET", "/api/cases");
  const list = el("ul", { id: "case-list" }, cases.map((c) =>
    el("li", {}, el("a", { href: caseURL(c.name) }, c.name), c.description ? " — " + c.description : "")));
  const kids = [el("h2", {}, "Cases"), cases.length ? list : el("p", { class: "note", id: "case-list" }, "No cases yet.")];
  if (can("admin")) {
    const msg = el("span", { class: "error", role: "alert" });
    kids.push(el("form", {
      id: "new-case", onsubmit: async (e) => {
        e.preventDefault();
        const f = new FormData(e.target);
        try {
          const c = await api("POST", "/api/cases", { name: f.get("name"), description: f.get("description") });
          location.hash = caseURL(c.name);
        } catch (err) { msg.textContent = err.message; }
      },
    }, el("h3", {}, "New case"), el("label", {}, "Name ", el("input", { name: "name", required: true })),
    el("label", {}, "Description ", el("input", { name: "description" })), el("button", {}, "Create"), msg));
  }
  show(...kids);
}

async function overviewPage(c) {
  const [o, { operations }] = await Promise.all([api("GET", caseAPI(c)), api("GET", caseAPI(c) + "/operations")]);
  const n = (x) => (x ? x.n + (x.more ? "+" : "") : "0");
  const sev = ["critical", "high", "medium", "low", "informational"];
  show(
    el("h2", { id: "case-title" }, o.case.name), tabs(c, ""),
    o.case.description ? el("p", {}, o.case.description) : null,
    el("ul", { class: "cards" },
      el("li", {}, el("span", { class: "n", id: "detection-count" }, n(o.detections)), "detections"),
      el("li", {}, el("span", { class: "n" }, o.hosts.length), "hosts"),
      el("li", {}, el("span", { class: "n" }, o.hunts.length), "hunts"),
      el("li", {}, "from ", when(o.first) || "—", el("br"), "to ", when(o.last) || "—")),
    el("h3", {}, "Operations by severity"),
    el("ul", { class: "cards" }, sev.filter((s) => o.operations[s]).map((s) =>
      el("li", { class: "lv-" + s }, el("span", { class: "n" }, o.operations[s]), s))),
    el("h3", {}, "Tactics"),
    o.tactics.length ? el("ul", { class: "cards", id: "tactic-grid" }, o.tactics.map((t) =>
      el("li", {}, el("a", { href: caseURL(c, "/detections?tactic=" + enc(t.tactic)) }, el("span", { class: "n" }, n(t)), t.name)))) :
      el("p", { class: "note" }, "No tactic seen."),
    el("h3", {}, "Hosts"), el("p", {}, o.hosts.join(", ") || "—"),
    el("h3", {}, "Operations"),
    operations.length ? el("table", { id: "operations" }, el("tr", {}, ["Severity", "Score", "Hosts", "From", "To", "Detections", "Triage"].map((h) => el("th", {}, h))),
      operations.map((x) => {
        const op = x.operation;
        return el("tr", { class: "pick", onclick: () => { location.hash = caseURL(c, "/op/" + enc(x.id)); } },
          el("td", {}, level(op.severity)), el("td", {}, op.score), el("td", {}, op.hosts.join(", ")),
          el("td", {}, when(op.first)), el("td", {}, when(op.last)), el("td", {}, op.detections.length),
          el("td", {}, x.triage ? x.triage.state : ""));
      })) : el("p", { class: "note" }, "No operations yet."),
    el("h3", {}, "Hunts"),
    el("table", { id: "hunts" }, el("tr", {}, ["#", "By", "Started", "State", "Detections", "Evidence"].map((h) => el("th", {}, h))),
      o.hunts.map((h) => el("tr", {}, el("td", {}, h.id), el("td", {}, h.by), el("td", {}, when(h.started)), el("td", {}, h.state),
        el("td", {}, el("a", { href: caseURL(c, "/detections?hunt=" + h.id) }, h.detections)), el("td", {}, h.paths.length + " files")))));
}

// ---- triage

function triageForm(c, kind, id, t) {
  const msg = el("span", { role: "status" });
  const states = ["new", "investigating", "malicious", "benign", "false-positive"];
  const ro = !can("analyst");
  return el("form", {
    class: "triage panel", id: "triage-" + kind, onsubmit: async (e) => {
      e.preventDefault();
      const f = new FormData(e.target);
      try {
        const got = await api("PUT", caseAPI(c) + "/triage/" + kind + "/" + enc(id),
          { state: f.get("state"), assignee: f.get("assignee"), notes: f.get("notes") });
        msg.textContent = "Saved (" + got.state + ", by " + got.updated_by + ").";
        msg.className = "saved";
      } catch (err) { msg.textContent = err.message; msg.className = "error"; }
    },
  }, el("h3", {}, "Triage"),
  el("label", {}, "State ", el("select", { name: "state", disabled: ro }, states.map((s) => el("option", { value: s, selected: t && t.state === s }, s)))),
  el("label", {}, "Assignee ", el("input", { name: "assignee", value: (t && t.assignee) || "", disabled: ro })),
  el("label", { class: "notes" }, "Notes", el("textarea", { name: "notes", disabled: ro }, (t && t.notes) || "")),
  ro ? el("p", { class: "note" }, "Your role (viewer) reads only.") : el("button", {}, "Save"), " ", msg,
  t && t.updated ? el("p", { class: "note" }, "Last changed " + when(t.updated) + " by " + t.updated_by) : null);
}

// ---- an operation

async function operationPage(c, id) {
  const [x, g] = await Promise.all([api("GET", caseAPI(c) + "/operations/" + enc(id)), api("GET", caseAPI(c) + "/operations/" + enc(id) + "/graph")]);
  const op = x.operation;
  const side = el("div", { class: "panel", id: "node-detail" }, el("p", { class: "note" }, "Select a process in the graph to see its detections and events."));
  const byID = new Map(op.graph.nodes.map((n) => [n.id, n]));
  const detLink = (d) => el("a", { href: caseURL(c, "/detection/" + d) }, "#" + d);
  const attr = op.attribution;
  show(
    el("h2", { id: "op-title" }, "Operation ", level(op.severity), " score ", op.score), tabs(c, null),
    el("p", {}, op.hosts.length + " hosts (" + op.hosts.join(", ") + ")" + ((op.users || []).length ? ", users " + op.users.join(", ") : "") + "; " + when(op.first) + " to " + when(op.last)),
    el("div", { class: "split" },
      el("div", {},
        el("h3", {}, "Graph"),
        g.layout ? drawGraph(g.layout, byID, (node) => nodeDetail(c, node, side)) : el("p", { class: "note" }, "No process to draw."),
        el("h3", {}, "Story"),
        el("ol", { id: "story" }, op.narrative.map((s) => el("li", {}, s))),
        el("h3", {}, "Attribution"),
        attr ? el("div", { id: "attribution" },
          el("p", {}, "Evidence: techniques " + (attr.evidence.techniques.join(", ") || "none") + "; software " + (attr.evidence.software.join(", ") || "none") +
            (attr.evidence.group_hints.length ? "; groups named by rules " + attr.evidence.group_hints.join(", ") : "")),
          el("table", {}, el("tr", {}, ["#", "Group", "Confidence", "Why: shared (bits)", "Not explained", "Known for, not seen"].map((h) => el("th", {}, h))),
            (attr.candidates || []).map((k) => el("tr", {}, el("td", {}, k.rank), el("td", {}, k.id + " " + k.name),
              el("td", {}, k.confidence.toFixed(2)), el("td", {}, (k.shared || []).map((s) => s.id + " " + s.name + " (" + s.bits.toFixed(1) + ")").join("; ")),
              el("td", {}, (k.unexplained || []).join(", ")), el("td", {}, (k.unseen || []).slice(0, 5).map((u) => u.id).join(", "))))),
          el("p", {}, "None of these (an unknown actor): " + (attr.unknown_actor ?? 0).toFixed(2)),
          attr.unknown && attr.unknown.length ? el("p", { class: "note" }, "Not in the ATT&CK knowledge base: " + attr.unknown.join(", ")) : null) :
          el("p", { class: "note" }, "Nothing ATT&CK knows."),
        el("h3", {}, "Joins (every edge's key)"),
        el("table", { id: "joins" }, el("tr", {}, ["Detections", "How", "Entity", "Host", "Key", "Across hosts"].map((h) => el("th", {}, h))),
          (op.joins || []).map((j) => el("tr", {}, el("td", {}, detLink(j.detections[0]), " – ", detLink(j.detections[1])), el("td", {}, j.kind),
            el("td", {}, j.entity || ""), el("td", {}, j.host || ""), el("td", {}, el("code", {}, j.key || "")),
            el("td", {}, (j.lateral || []).map((h) => h.from + " → " + h.to + ": " + h.label).join("; "))))),
        (op.lateral || []).length ? [el("h3", {}, "Lateral movement"), el("ul", {}, op.lateral.map((h) => el("li", {}, when(h.time) + " " + h.from + " → " + h.to + ": " + h.label)))] : null),
      el("div", {}, triageForm(c, "operation", x.id, x.triage), side)));
}

// drawGraph draws the report's layout of an operation's graph; a click on
// a process box calls pick with its graph nodes.
function drawGraph(L, byID, pick) {
  const S = (tag, a, ...k) => el("svg:" + tag, a, ...k);
  const svg = S("svg", { class: "opgraph", id: "opgraph", viewBox: `0 0 ${L.Width} ${L.Height}`, width: L.Width, height: L.Height, role: "img" },
    S("desc", {}, L.Desc),
    S("defs", {}, S("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
      S("path", { d: "M0 0 L10 5 L0 10 z" }))));
  for (const l of L.Lanes) {
    svg.append(S("g", { class: "lane" }, S("title", {}, l.Host), S("rect", { class: "lane", x: 0, y: l.Y, width: l.Width, height: l.H }),
      S("rect", { class: "host", x: l.LabelX, y: l.LabelY, width: 104, height: 22, rx: 3 }),
      S("text", { class: "host", x: l.LabelX, dx: 52, y: l.LabelY, dy: 15 }, l.Label)));
  }
  for (const e of L.Edges) {
    svg.append(S("path", { class: "edge " + e.Kind, d: e.D, "marker-end": e.Kind === "lateral" ? "url(#arrow)" : null },
      e.Title ? S("title", {}, e.Title) : null));
  }
  for (const n of L.Nodes) {
    const g = S("g", { class: "proc" + (n.Detected ? " detected" : "") + (n.Count > 1 ? " repeated" : ""), tabindex: 0, "data-label": n.Label },
      S("title", {}, n.Title), S("rect", { x: n.X, y: n.Y, width: 136, height: 22, rx: 3 }), S("text", { x: n.X, dx: 6, y: n.Y, dy: 15 }, n.Label));
    const select = () => {
      svg.querySelectorAll("g.proc.selected").forEach((x) => x.classList.remove("selected"));
      g.classList.add("selected");
      pick((n.IDs || []).map((id) => byID.get(id)).filter(Boolean));
    };
    g.addEventListener("click", select);
    g.addEventListener("keydown", (e) => { if (e.key === "Enter") select(); });
    svg.append(g);
  }
  return el("figure", { class: "opgraph" }, svg, L.Hidden ? el("figcaption", {}, L.Hidden + " more processes not drawn.") : null);
}

async function nodeDetail(c, nodes, side) {
  const ids = [...new Set(nodes.flatMap((n) => n.detections || []))].slice(0, 50);
  fill(side, el("h3", {}, nodes[0].label + (nodes.length > 1 ? " ×" + nodes.length : "")),
    el("p", {}, nodes[0].host), nodes.map((n) => n.command_line ? el("pre", {}, n.command_line) : null),
    ids.length ? null : el("p", { class: "note" }, "No detection on this process."));
  for (const id of ids) {
    try {
      const d = await api("GET", caseAPI(c) + "/detections/" + id);
      side.append(el("div", { class: "node-detection" }, el("h4", {}, level(d.detection.rule.level), " ", el("a", { href: caseURL(c, "/detection/" + id) }, d.detection.rule.title)),
        el("p", {}, when(d.detection.time)), fieldList(d.detection)));
    } catch (err) {
      side.append(el("p", { class: "error" }, "#" + id + ": " + err.message));
    }
  }
}

function fieldList(d) {
  return el("dl", { class: "kv" },
    [["Computer", d.computer], ["Channel", d.channel], ["Event ID", d.event_id], ["Record", d.record_id], ["Source", d.source_file]]
      .concat((d.fields || []).map((f) => [f.name, f.value])).map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

// ---- detections

const filterKeys = ["level", "rule", "host", "user", "tactic", "technique", "from", "to", "q", "hunt", "sort", "limit"];

async function detectionsPage(c, params) {
  const q = new URLSearchParams();
  for (const k of filterKeys) if (params.get(k)) q.set(k, params.get(k));
  if (params.get("after")) q.set("after", params.get("after"));
  const page = await api("GET", caseAPI(c) + "/detections?" + q);
  const input = (k, label, type) => el("label", {}, label + " ", el("input", { name: k, type: type || "text", value: params.get(k) || "", size: 14 }));
  const form = el("form", {
    id: "detection-filter", onsubmit: (e) => {
      e.preventDefault();
      const f = new FormData(e.target);
      const n = new URLSearchParams();
      for (const k of filterKeys) if (f.get(k)) n.set(k, f.get(k));
      location.hash = caseURL(c, "/detections?" + n);
    },
  },
  el("label", {}, "Level ", el("select", { name: "level" }, ["", "critical", "high", "medium", "low", "informational", "critical,high"].map((l) =>
    el("option", { value: l, selected: params.get("level") === l }, l || "any")))),
  input("rule", "Rule id"), input("host", "Host"), input("user", "User"), input("tactic", "Tactic"), input("technique", "Technique"),
  input("from", "From (RFC 3339)"), input("to", "To"), input("q", "Text", "search"),
  el("label", {}, "Sort ", el("select", { name: "sort" }, [["time", "oldest first"], ["-time", "newest first"], ["level", "most severe first"]].map(([v, t]) =>
    el("option", { value: v, selected: params.get("sort") === v }, t)))),
  el("input", { type: "hidden", name: "hunt", value: params.get("hunt") || "" }),
  el("button", {}, "Filter"));
  const detail = el("div", { id: "detection-detail" });
  const rows = page.detections.map((x) => {
    const d = x.detection;
    const tr = el("tr", { class: "pick", "data-id": x.id }, el("td", {}, when(d.time)), el("td", {}, level(d.rule.level)), el("td", {}, d.rule.title),
      el("td", {}, d.computer), el("td", {}, (d.rule.tactics || []).join(", ")), el("td", {}, x.triage ? x.triage.state : ""));
    tr.addEventListener("click", () => {
      document.querySelectorAll("#detections tr.selected").forEach((r) => r.classList.remove("selected"));
      tr.classList.add("selected");
      detectionDetail(c, x, detail);
    });
    return tr;
  });
  const nav = el("p", {});
  if (params.get("after")) nav.append(el("button", { type: "button", id: "prev-page", onclick: () => history.back() }, "← previous"), " ");
  if (page.next) {
    const n = new URLSearchParams(q);
    n.set("after", page.next);
    nav.append(el("a", { href: caseURL(c, "/detections?" + n), id: "next-page" }, "next page →"));
  }
  show(el("h2", {}, "Detections"), tabs(c, "/detections"), form,
    el("div", { class: "split" },
      el("div", {}, el("p", { id: "detection-summary" }, page.detections.length + " shown" + (page.next ? " (more on the next page)" : "")),
        el("table", { id: "detections", "data-query": q.toString() }, el("tr", {}, ["Time", "Level", "Rule", "Host", "Tactics", "Triage"].map((h) => el("th", {}, h))), rows), nav),
      detail));
}

async function detectionPage(c, id) {
  const x = await api("GET", caseAPI(c) + "/detections/" + enc(id));
  const detail = el("div", { id: "detection-detail" });
  show(el("h2", {}, "Detection #" + x.id), tabs(c, null), detail);
  detectionDetail(c, x, detail);
}

function detectionDetail(c, x, box) {
  const d = x.detection;
  const msg = el("span", { role: "status" });
  const fields = (d.fields || []).map((f) => el("label", {}, el("input", { type: "checkbox", name: "field", value: f.name, checked: true }), " " + f.name));
  fill(box, el("div", { class: "panel" },
    el("h3", {}, level(d.rule.level), " ", d.rule.title),
    el("p", {}, when(d.time), " · rule ", el("code", {}, d.rule.id), " · hunt ", x.hunt),
    fieldList(d),
    d.event ? el("pre", {}, JSON.stringify(d.event, null, 2)) : null),
  triageForm(c, "detection", String(x.id), x.triage),
  can("analyst") && d.kind !== "correlation" ? el("form", {
    class: "panel", id: "make-filter", onsubmit: async (e) => {
      e.preventDefault();
      const keep = new FormData(e.target).getAll("field");
      try {
        const f = await api("POST", caseAPI(c) + "/filters", { detection: x.id, fields: keep });
        fill(msg, "Filter #" + f.id + " kept; later hunts into this case apply it. ", el("a", { href: caseURL(c, "/filters") }, "Filters"));
        msg.className = "saved";
      } catch (err) { msg.textContent = err.message; msg.className = "error"; }
    },
  }, el("h3", {}, "False positive? Make it a Sigma filter"),
  el("p", { class: "note" }, "The filter silences this rule where the computer and the fields checked have these values."),
  fields, el("br"), el("button", {}, "Make filter"), " ", msg) : null);
}

// ---- timeline: one column per host, in time order

async function timelinePage(c) {
  const page = await api("GET", caseAPI(c) + "/detections?sort=time&limit=500");
  const hosts = [...new Set(page.detections.map((x) => x.detection.computer))].sort();
  show(el("h2", {}, "Timeline across hosts"), tabs(c, "/timeline"),
    el("p", { class: "note" }, page.detections.length + " detections in time order" + (page.next ? " (the first 500; export the timeline for all)" : "") + "."),
    el("table", { class: "grid", id: "timeline" }, el("tr", {}, el("th", {}, "Time"), hosts.map((h) => el("th", {}, h))),
      page.detections.map((x) => el("tr", {}, el("td", {}, when(x.detection.time)),
        hosts.map((h) => el("td", { class: "cell" }, h === x.detection.computer ?
          [level(x.detection.rule.level), " ", el("a", { href: caseURL(c, "/detection/" + x.id) }, x.detection.rule.title)] : ""))))));
}

// ---- evidence: uploads and their hunts

let polling = null;

async function evidencePage(c) {
  const data = await api("GET", caseAPI(c) + "/jobs");
  const msg = el("span", { role: "status" });
  const form = can("analyst") && data.uploads ? el("form", {
    id: "upload", onsubmit: async (e) => {
      e.preventDefault();
      const body = new FormData();
      for (const input of e.target.querySelectorAll("input[type=file]")) for (const f of input.files) body.append("file", f, f.name);
      if (!body.has("file")) { msg.textContent = "Choose files or a folder first."; return; }
      msg.textContent = "Uploading…";
      try {
        const jb = await api("POST", caseAPI(c) + "/uploads", body);
        msg.textContent = "Uploaded; hunt #" + jb.id + " queued.";
        evidencePage(c).catch(failed);
      } catch (err) { msg.textContent = err.message; msg.className = "error"; }
    },
  }, el("h3", {}, "Upload evidence"),
  el("p", { class: "note" }, "EVTX, JSON lines or .zip archives (a folder zipped), at most " + Math.round(data.max_upload / 1048576) + " MiB at once. The hunt runs in the background with the case's filters."),
  el("label", {}, "Files ", el("input", { type: "file", name: "files", multiple: true })),
  el("label", {}, "or a folder ", el("input", { type: "file", name: "folder", webkitdirectory: true })),
  el("button", {}, "Upload and hunt"), " ", msg) : el("p", { class: "note" }, data.uploads ? "Your role (viewer) cannot upload." : "This server does not hunt uploads.");
  const pct = (p) => (p.bytes_total ? Math.round((100 * p.bytes_done) / p.bytes_total) : 0);
  const rows = data.jobs.map((j) => el("tr", { class: "job job-" + j.state, "data-id": j.id },
    el("td", {}, j.id), el("td", {}, j.by), el("td", {}, when(j.created)), el("td", {}, j.files.join(", ")),
    el("td", { class: "state" }, j.state, j.error ? ": " + j.error : ""),
    el("td", {}, j.state === "running" ? [el("progress", { max: 100, value: pct(j.progress) }), " " + j.progress.phase + ", " + j.progress.events + " events"] :
      j.state === "done" ? el("a", { href: caseURL(c, "/detections?hunt=" + j.progress.hunt) }, j.progress.detections + " detections") : "")));
  show(el("h2", {}, "Evidence"), tabs(c, "/evidence"), form, el("h3", {}, "Hunts of uploads"),
    data.jobs.length ? el("table", { id: "jobs" }, el("tr", {}, ["#", "By", "Uploaded", "Files", "State", "Progress"].map((h) => el("th", {}, h))), rows) :
      el("p", { class: "note" }, "No upload yet."));
  clearTimeout(polling);
  if (data.jobs.some((j) => j.state === "queued" || j.state === "running")) {
    const here = location.hash;
    polling = setTimeout(() => { if (location.hash === here) evidencePage(c).catch(failed); }, 1000);
  }
}

// ---- intelligence partners share: a STIX 2.1 bundle imported, the
// case's evidence hunted again for its indicators (spoor intel import)

async function intelPage(c) {
  const data = await api("GET", caseAPI(c) + "/jobs");
  const msg = el("span", { role: "status", id: "intel-status" });
  const out = el("div", { id: "intel-result" });
  const levels = ["clear", "green", "amber", "amber+strict", "red"];
  const form = can("analyst") && data.intel ? el("form", {
    id: "intel-import", onsubmit: async (e) => {
      e.preventDefault();
      const input = e.target.querySelector("input[type=file]");
      if (!input.files.length) { msg.textContent = "Choose a STIX bundle first."; msg.className = "error"; return; }
      const body = new FormData();
      body.append("file", input.files[0], input.files[0].name);
      body.append("tlp", new FormData(e.target).get("tlp"));
      msg.textContent = "Importing, and hunting the case's evidence again…";
      msg.className = "";
      fill(out);
      try {
        const rep = await api("POST", caseAPI(c) + "/intel", body);
        msg.textContent = "";
        fill(out, intelReport(rep));
      } catch (err) { msg.textContent = err.message; msg.className = "error"; }
    },
  }, el("h3", {}, "Import a partner's indicators"),
  el("p", { class: "note" }, "A STIX 2.1 bundle (a CERT's, a sharing community's): its Sigma rules and its STIX patterns over what Windows events show are hunted for in the case's evidence; each indicator seen is recorded in the audit log, and the sightings can be sent back."),
  el("label", {}, "Bundle ", el("input", { type: "file", name: "bundle", accept: ".json,application/json,application/stix+json" })),
  el("label", {}, "Sightings marked ", el("select", { name: "tlp" }, levels.map((l) => el("option", { value: l, selected: l === "amber" }, "TLP:" + l.toUpperCase())))),
  el("button", {}, "Import and hunt"), " ", msg) : el("p", { class: "note" }, data.intel ? "Your role (viewer) cannot import." : "This server does not import intelligence.");
  show(el("h2", {}, "Intelligence"), tabs(c, "/intel"), form, out,
    el("p", { class: "note" }, "Every import and sighting is in the ", el("a", { href: caseURL(c, "/audit") }, "audit log"), " (intel.import, intel.sighting)."));
}

function intelReport(rep) {
  const seen = rep.indicators.filter((i) => i.seen > 0).length;
  const skipped = rep.indicators.filter((i) => i.skipped);
  let link = null;
  if (rep.sightings) {
    const url = URL.createObjectURL(new Blob([JSON.stringify(rep.sightings, null, 2)], { type: "application/stix+json" }));
    link = el("p", {}, el("a", { href: url, download: "sightings.stix.json", id: "intel-sightings" }, "Download the sightings (STIX 2.1)"), " to send back to whoever shared them.");
  }
  return [el("p", { id: "intel-summary" }, rep.indicators.length + " indicators from " + rep.source + ", " + seen + " seen. Hunted " + rep.hunted + "."), link,
    el("table", { id: "intel-indicators" }, el("tr", {}, ["Seen", "First", "Last", "Hosts", "Type", "Indicator"].map((h) => el("th", {}, h))),
      rep.indicators.filter((i) => !i.skipped).map((i) => el("tr", { class: i.seen ? "seen" : null, "data-id": i.id },
        el("td", { class: "n" }, i.seen), el("td", {}, when(i.first)), el("td", {}, when(i.last)), el("td", {}, (i.hosts || []).join(" ")),
        el("td", {}, i.pattern_type), el("td", {}, i.pattern_type === "stix" || !i.name ? el("code", {}, i.pattern) : i.name)))),
    skipped.length ? [el("h4", {}, "Not hunted (" + skipped.length + ")"),
      el("ul", { id: "intel-skipped" }, skipped.map((i) => el("li", {}, (i.name || i.id) + ": " + i.skipped)))] : null];
}

// ---- what the evidence holds: metrics, logons and gaps, per hunt

// grid is a table of rows under cols ([header, row => cell]), the first
// limit rows with a note of how many more.
function grid(id, cols, rows, limit = 100) {
  if (!rows || !rows.length) return el("p", { class: "note", id }, "None.");
  return [el("table", { id, class: "summary" }, el("tr", {}, cols.map(([h]) => el("th", {}, h))),
    rows.slice(0, limit).map((r) => el("tr", {}, cols.map(([, f]) => el("td", {}, f(r)))))),
  rows.length > limit ? el("p", { class: "note" }, (rows.length - limit) + " more rows: spoor " + id.split("-")[0] + " --json has them all.") : null];
}

const span = (r) => (r.first ? when(r.first) + " .. " + when(r.last) : "");

// histogram draws a metrics timeline as text bars scaled to its busiest
// bucket (only buckets with events are listed: a gap in the times is a
// silence).
function histogram(tl) {
  const buckets = (tl && tl.buckets) || [];
  // Not Math.max(...buckets): so many arguments overflow the stack.
  const most = buckets.reduce((m, b) => Math.max(m, b.events), 1);
  return grid("metrics-timeline", [["Start", (b) => when(b.start)], ["Events", (b) => b.events],
    ["", (b) => "\u2588".repeat(Math.ceil((b.events * 40) / most))]], buckets, 500);
}

const summaryViews = {
  metrics: {
    title: "Metrics", note: "What the logs hold: events by channel, event ID and computer, and the logging a hunter would want that they do not show.",
    draw: (m) => [
      el("ul", { class: "cards" }, el("li", {}, el("span", { class: "n" }, m.events), "events"),
        el("li", {}, el("span", { class: "n" }, (m.channels || []).length), "channels"),
        el("li", {}, el("span", { class: "n" }, (m.computers || []).length), "computers"),
        el("li", {}, el("span", { class: "n" }, (m.missing || []).length), "logging missing")),
      el("p", { class: "note" }, m.first ? "From " + when(m.first) + " to " + when(m.last) + "." : "No event has a time."),
      el("h4", {}, "Missing logging"),
      grid("metrics-missing", [["Missing", (x) => x.what], ["Computers", (x) => x.computers.map((c) => c || "(none)").join(", ") + " (of " + x.of + ")"],
        ["Setting that gives it", (x) => x.setting]], m.missing),
      el("h4", {}, "Channels"),
      grid("metrics-channels", [["Channel", (x) => x.channel], ["Events", (x) => x.events], ["First .. last", span]], m.channels),
      el("h4", {}, "Event IDs"),
      grid("metrics-events", [["Channel", (x) => x.channel], ["Provider", (x) => x.provider], ["ID", (x) => x.event_id],
        ["Name", (x) => x.name || ""], ["Events", (x) => x.events]], m.event_ids),
      el("h4", {}, "Computers"),
      grid("metrics-computers", [["Computer", (x) => x.computer || "(none)"], ["Events", (x) => x.events], ["First .. last", span]], m.computers),
      el("h4", {}, "First and last event per computer and channel"),
      grid("metrics-computer-channels", [["Computer", (x) => x.computer || "(none)"], ["Channel", (x) => x.channel || "(none)"],
        ["Events", (x) => x.events], ["First .. last", span]], m.computer_channels),
      el("h4", {}, "Over time (per " + ((m.timeline && m.timeline.per) || "hour") + ", UTC)"),
      histogram(m.timeline),
    ],
  },
  logons: {
    title: "Logons", note: "Logons by account, type and source; explicit credentials (4648) and RDP sessions; unusual ones flagged.",
    draw: (r) => [
      el("h4", {}, "Flagged"),
      grid("logons-flags", [["Kind", (x) => x.kind], ["Time", (x) => when(x.time)], ["Computer", (x) => x.computer],
        ["Account", (x) => x.account || ""], ["Source", (x) => x.source || ""], ["Why", (x) => x.reason]], r.flags),
      el("h4", {}, "Logons"),
      grid("logons-logons", [["Computer", (x) => x.computer], ["Outcome", (x) => x.outcome], ["Account", (x) => x.account],
        ["Type", (x) => x.logon_type + " " + x.logon_type_name], ["Source IP", (x) => x.source_ip || ""],
        ["Hosts", (x) => (x.source_hosts || []).join(", ") + (x.source_host_count > (x.source_hosts || []).length ? " (" + x.source_host_count + (x.source_hosts_more ? "+" : "") + " names)" : "")],
        ["Count", (x) => x.count], ["First .. last", span], ["Reasons", (x) => (x.reasons || []).join("; ")]], r.logons),
      el("h4", {}, "Explicit credentials (4648)"),
      grid("logons-explicit", [["Computer", (x) => x.computer], ["Subject", (x) => x.subject], ["Account", (x) => x.account],
        ["Target", (x) => x.target_server || ""], ["Source IP", (x) => x.source_ip || ""], ["Process", (x) => x.process || ""],
        ["Count", (x) => x.count], ["First .. last", span]], r.explicit),
      el("h4", {}, "RDP"),
      grid("logons-rdp", [["Computer", (x) => x.computer], ["Account", (x) => x.account], ["Source IP", (x) => x.source_ip || ""],
        ["Authenticated", (x) => x.authenticated], ["Logons", (x) => x.logons], ["Reconnects", (x) => x.reconnects],
        ["Disconnects", (x) => x.disconnects], ["First .. last", span]], r.rdp),
    ],
  },
  gaps: {
    title: "Gaps", note: "Evidence of tampering and loss, log by log: records removed, logs cleared, logging stopped or disabled, events lost, silences.",
    draw: (found) => [grid("gaps-findings", [["Confidence", (x) => x.confidence], ["Kind", (x) => x.kind],
      ["Log", (x) => [x.channel || "", " ", el("small", {}, x.computer || "", " ", x.source)]],
      ["When", (x) => (x.from ? when(x.from) + (x.to && x.to !== x.from ? " .. " + when(x.to) : "") : "")],
      ["Records", (x) => (x.first_record ? x.first_record + (x.last_record !== x.first_record ? "-" + x.last_record : "") : "") + (x.missing ? " (" + x.missing + " missing)" : "")],
      ["ATT&CK", (x) => x.technique || ""], ["Meaning", (x) => x.meaning]], found)],
  },
};

async function summaryPage(c, kind) {
  const { hunts } = await api("GET", caseAPI(c) + "/" + kind);
  const v = summaryViews[kind];
  show(el("h2", {}, v.title), tabs(c, "/" + kind), el("p", { class: "note" }, v.note + " One section per complete hunt, each of the evidence it read."),
    hunts.length ? hunts.map((h) => el("section", { class: "hunt-summary", "data-hunt": h.hunt },
      el("h3", {}, "Hunt #" + h.hunt, " ", el("small", {}, when(h.finished) + " — " + h.paths.join(", "))), v.draw(h.summary).flat())) :
      el("p", { class: "note", id: kind + "-none" }, "No complete hunt has summaries yet: they are made as a hunt into the case completes."));
}

// ---- filters and audit

async function filtersPage(c) {
  const { filters } = await api("GET", caseAPI(c) + "/filters");
  show(el("h2", {}, "Filters"), tabs(c, "/filters"),
    el("p", { class: "note" }, "Sigma filters made from false positives. Every later hunt into this case applies them."),
    filters.length ? el("ul", { id: "filters" }, filters.map((f) => el("li", {},
      el("strong", {}, f.title), " — " + f.created_by + ", " + when(f.created) + " ",
      can("analyst") ? el("button", {
        type: "button", onclick: async () => {
          if (!confirm("Remove this filter? Later hunts will detect it again.")) return;
          await api("DELETE", caseAPI(c) + "/filters/" + f.id);
          filtersPage(c).catch(failed);
        },
      }, "Remove") : null, el("pre", {}, f.sigma)))) : el("p", { class: "note", id: "filters" }, "No filter."));
}

async function auditPage(c) {
  const { entries } = await api("GET", caseAPI(c) + "/audit?limit=1000");
  show(el("h2", {}, "Audit log"), tabs(c, "/audit"),
    el("table", { id: "audit" }, el("tr", {}, ["When", "Who", "Action", "Detail"].map((h) => el("th", {}, h))),
      entries.map((e) => el("tr", {}, el("td", {}, when(e.at)), el("td", {}, e.actor), el("td", {}, e.action), el("td", {}, el("code", {}, JSON.stringify(e.detail)))))));
}

// ---- session

function loggedIn(m) {
  me = m;
  document.getElementById("who").textContent = me.user + " (" + me.role + ", " + me.tenant + ")";
  document.getElementById("login").hidden = true;
  document.getElementById("logout").hidden = false;
  route();
}

function loggedOut() {
  me = null;
  clearTimeout(polling);
  document.getElementById("who").textContent = "";
  document.getElementById("crumbs").replaceChildren();
  document.getElementById("login").hidden = false;
  document.getElementById("logout").hidden = true;
  view().replaceChildren();
}

document.getElementById("login").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  try {
    loggedIn(await api("POST", "/api/login", { user: f.get("user"), password: f.get("password") }));
    e.target.reset();
    document.getElementById("error").textContent = "";
  } catch (err) {
    document.getElementById("error").textContent = err.message;
  }
});

document.getElementById("logout").addEventListener("click", async () => {
  try { await api("POST", "/api/logout"); } finally { loggedOut(); }
});

window.addEventListener("hashchange", route);
api("GET", "/api/me").then(loggedIn, loggedOut);
