// The placeholder console: log in, list the cases. Everything goes through
// the JSON API; text from the server is set with textContent, never as HTML.
"use strict";

let csrf = "";

async function api(method, path, body) {
  const opts = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  if (method !== "GET") opts.headers["X-CSRF-Token"] = csrf;
  const r = await fetch(path, opts);
  const data = r.status === 204 ? null : await r.json();
  if (!r.ok) throw Object.assign(new Error(data && data.error), { status: r.status });
  return data;
}

function show(id, on) { document.getElementById(id).hidden = !on; }

async function loggedIn(me) {
  csrf = me.csrf;
  document.getElementById("who").textContent = me.user + " (" + me.role + ", " + me.tenant + ")";
  show("login", false); show("logout", true); show("cases", true);
  const { cases } = await api("GET", "/api/cases");
  const list = document.getElementById("case-list");
  list.replaceChildren();
  for (const c of cases) {
    const li = document.createElement("li");
    li.textContent = c.name + (c.description ? " — " + c.description : "");
    list.append(li);
  }
  if (cases.length === 0) list.textContent = "No cases yet.";
}

function loggedOut() {
  csrf = "";
  document.getElementById("who").textContent = "";
  show("login", true); show("logout", false); show("cases", false);
}

document.getElementById("login").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  try {
    await loggedIn(await api("POST", "/api/login", { user: f.get("user"), password: f.get("password") }));
    document.getElementById("error").textContent = "";
  } catch (err) {
    document.getElementById("error").textContent = err.message;
  }
});

document.getElementById("logout").addEventListener("click", async () => {
  try { await api("POST", "/api/logout"); } finally { loggedOut(); }
});

api("GET", "/api/me").then(loggedIn, loggedOut);
