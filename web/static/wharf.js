// Wharf portal: small enhancements. Every page works without this script
// except the live log viewer, which needs a websocket.
"use strict";

// Live status: an element with data-poll is refreshed from that URL until
// the server says the status has settled (X-Wharf-Settled: true).
function poll(el) {
  const url = el.dataset.poll;
  let delay = 1000;
  const tick = async () => {
    try {
      const r = await fetch(url, { headers: { "Accept": "text/html" }, cache: "no-store" });
      const html = await r.text();
      if (r.ok || r.status === 404) el.innerHTML = html;
      if (r.headers.get("X-Wharf-Settled") === "true") {
        el.removeAttribute("data-poll");
        el.dataset.settled = "true";
        return;
      }
      delay = 1000;
    } catch (e) {
      delay = Math.min(delay * 2, 15000); // server away: back off
    }
    setTimeout(tick, delay);
  };
  setTimeout(tick, delay);
}

// Key/value fields: "Add row" copies the last row, emptied.
function addRow(btn) {
  const rows = btn.parentElement.querySelectorAll(".kv-row");
  const last = rows[rows.length - 1];
  const row = last.cloneNode(true);
  row.querySelectorAll("input").forEach((i) => {
    i.value = "";
    i.setAttribute("aria-label", i.getAttribute("aria-label").replace(/\d+$/, String(rows.length + 1)));
  });
  last.after(row);
  row.querySelector("input").focus();
}

// Rows of sub-fields (arrays of objects): inputs are named
// f.<path>/<index>/<property>. "Add row" copies the last row, emptied and
// renumbered past the highest index; "Remove" drops a row, or empties the
// only one. The server counts only rows filled in, so gaps are harmless.
function renumber(row, path, from, to) {
  const idPath = path.replaceAll("/", "-");
  const swaps = [["f." + path + "/" + from + "/", "f." + path + "/" + to + "/"],
    [path + "/" + from + "/", path + "/" + to + "/"],
    ["fld-" + idPath + "-" + from + "-", "fld-" + idPath + "-" + to + "-"]];
  const fix = (v) => swaps.reduce((s, [a, b]) => s.replaceAll(a, b), v);
  for (const el of [row, ...row.querySelectorAll("*")]) {
    for (const a of ["name", "id", "for", "data-field", "aria-describedby"]) {
      if (el.hasAttribute(a)) el.setAttribute(a, fix(el.getAttribute(a)));
    }
    if (el.hasAttribute("aria-label")) el.setAttribute("aria-label", el.getAttribute("aria-label").replace(/\d+$/, String(to + 1)));
  }
  row.dataset.index = String(to);
}

function clearRow(row) {
  row.querySelectorAll('input[type="hidden"][name$=".present"]').forEach((i) => i.remove());
  row.querySelectorAll("input, select, textarea").forEach((i) => {
    if (i.type === "checkbox") i.checked = false;
    else if (i.tagName === "SELECT") i.selectedIndex = 0;
    else i.value = "";
    i.removeAttribute("aria-invalid");
  });
  row.querySelectorAll(".field-error").forEach((e) => { e.textContent = ""; });
  row.querySelectorAll(".has-error").forEach((e) => e.classList.remove("has-error"));
  row.classList.remove("row-invalid");
}

function addItem(btn) {
  const list = btn.closest("fieldset").querySelector(".row-list");
  const rows = [...list.querySelectorAll(":scope > .row-item")];
  const last = rows[rows.length - 1];
  const next = Math.max(...rows.map((r) => Number(r.dataset.index))) + 1;
  const row = last.cloneNode(true);
  clearRow(row);
  renumber(row, list.dataset.rows, Number(last.dataset.index), next);
  last.after(row);
  row.querySelector("input, select").focus();
}

function removeItem(btn) {
  const row = btn.closest(".row-item");
  const list = row.parentElement;
  if (list.querySelectorAll(":scope > .row-item").length > 1) {
    const focus = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    focus.querySelector("input, select").focus();
  } else {
    clearRow(row);
  }
}

// The log viewer: batches arrive over a websocket; the page keeps at most
// data-max lines, cuts long lines at data-cut characters (with a button to
// see them whole), stops following when the reader scrolls up, and on
// reconnect resumes after the last line seen. Changing what to show
// reconnects at once; Find highlights matches in what is loaded.
function logViewer(view) {
  const max = Number(view.dataset.max) || 5000;
  const cut = Number(view.dataset.cut) || 2000;
  const stateEl = document.getElementById("log-state");
  const $ = (id) => document.getElementById(id);
  let ws = null, ended = false, retry = 0, follow = true, paused = false, filter = "";
  let lastTime = "", lastMs = 0, seenAtLast = new Set(), resuming = false, generation = 0;

  const setState = (text, cls) => {
    stateEl.textContent = text;
    stateEl.className = "badge " + cls;
  };
  const showFollow = () => {
    if (ws && ws.readyState === WebSocket.OPEN) {
      if (paused) setState("paused", "st-stopped");
      else if (!follow) setState("scrolled up: not following", "st-stopped");
      else setState("live", "st-running");
    }
  };
  const sys = (text, cls) => {
    const d = document.createElement("div");
    d.className = cls || "sys";
    d.textContent = text;
    return d;
  };
  const fmtTime = (t) => t.replace("T", " ").replace(/(\.\d{3})\d*/, "$1").replace("Z", "");

  const line = (it) => {
    const d = document.createElement("div");
    d.className = "ln" + (it.s === "stderr" ? " err" : "");
    d._m = it.m || "";
    if (it.t) {
      const ts = document.createElement("span");
      ts.className = "ts";
      ts.textContent = fmtTime(it.t);
      d.append(ts);
    }
    if (it.i) {
      const inst = document.createElement("span");
      inst.className = "in";
      inst.textContent = it.i.slice(0, 12);
      inst.title = it.i;
      d.append(inst);
    }
    const msg = document.createElement("span");
    msg.className = "msg";
    if (d._m.length > cut) {
      msg._plain = d._m.slice(0, cut) + "…";
      msg.textContent = msg._plain;
      const b = document.createElement("button");
      b.type = "button";
      b.className = "more";
      b.textContent = "show all " + (it.n || d._m.length) + " chars";
      b.addEventListener("click", () => {
        msg._plain = d._m + (it.n ? " [cut at " + d._m.length + " of " + it.n + " chars: use Download for the whole line]" : "");
        msg.textContent = msg._plain;
        b.remove();
        if (query) { highlight(d); showCount(); }
      });
      d.append(msg, b);
    } else {
      msg._plain = d._m;
      msg.textContent = d._m;
      d.append(msg);
    }
    if (filter && !d._m.includes(filter)) d.classList.add("hidden");
    return d;
  };

  const add = (items) => {
    const frag = document.createDocumentFragment();
    for (const it of items) {
      if (it.skipped) {
        frag.append(sys("… " + it.skipped + " lines skipped (too many to keep up; use Download for everything) …", "skip-mark"));
        continue;
      }
      if (it.error) {
        frag.append(sys("upstream: " + it.error + " (retrying)"));
        continue;
      }
      if (it.t) {
        const ms = Date.parse(it.t);
        const key = (it.i || "") + "\n" + it.m;
        if (resuming) { // drop what was already shown before the reconnect
          if (ms < lastMs || (it.t === lastTime && seenAtLast.has(key))) continue;
          if (ms > lastMs) resuming = false;
        }
        if (it.t === lastTime) seenAtLast.add(key);
        else if (ms >= lastMs) { lastTime = it.t; lastMs = ms; seenAtLast = new Set([key]); }
      }
      frag.append(line(it));
    }
    const added = query ? Array.from(frag.children) : [];
    view.append(frag);
    let extra = view.childElementCount - max;
    while (extra-- > 0) view.firstElementChild.remove();
    if (query) {
      marks = marks.filter((m) => m.isConnected);
      added.forEach(highlight);
      showCount();
    }
    if (follow && !paused) view.scrollTop = view.scrollHeight;
  };

  // Find: matches of the query in the loaded lines, as <mark>s built from
  // text (never HTML), with next and previous.
  let query = "", marks = [], current = -1;
  const countEl = $("log-find-count");
  const highlight = (d) => {
    const msg = d.querySelector(".msg");
    if (!msg || msg._plain === undefined) return;
    const plain = msg._plain, lower = plain.toLowerCase(), q = query.toLowerCase();
    msg.replaceChildren();
    let i = 0, j;
    while (q && (j = lower.indexOf(q, i)) >= 0) {
      if (j > i) msg.append(plain.slice(i, j));
      const m = document.createElement("mark");
      m.textContent = plain.slice(j, j + q.length);
      msg.append(m);
      marks.push(m);
      i = j + q.length;
    }
    msg.append(plain.slice(i));
  };
  const visibleMarks = () => marks.filter((m) => m.isConnected && !m.closest(".ln").classList.contains("hidden"));
  const showCount = () => {
    const n = visibleMarks().length;
    countEl.textContent = !query ? "" : n === 0 ? "no matches" : current >= 0 && current < n ? (current + 1) + " of " + n : n + (n === 1 ? " match" : " matches");
  };
  const find = () => {
    query = $("log-find").value;
    marks = [];
    current = -1;
    for (const d of view.children) if (d._m !== undefined) highlight(d);
    showCount();
  };
  const step = (by) => {
    const vis = visibleMarks();
    if (vis.length === 0) return;
    vis.forEach((m) => m.classList.remove("current"));
    current = (Math.max(current, by > 0 ? -1 : 0) + by + vis.length) % vis.length;
    vis[current].classList.add("current");
    vis[current].scrollIntoView({ block: "center" });
    showCount();
  };

  const connect = (resume) => {
    const gen = ++generation;
    const u = new URL(view.dataset.ws, location.href);
    u.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    u.searchParams.set("tail", $("log-tail").value || "0");
    for (const id of ["log-stream", "log-instance", "log-until"]) {
      const el = $(id);
      if (el && el.value) u.searchParams.set(el.name, el.value);
    }
    if (resume && lastTime) {
      u.searchParams.set("since", lastTime);
      resuming = true;
    }
    setState(resume ? "reconnecting…" : "connecting…", "st-pending");
    ws = new WebSocket(u);
    ws.onopen = () => { retry = 0; showFollow(); };
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (m.items) add(m.items);
      if (m.end) {
        ended = true;
        view.append(sys("— " + m.end + " —"));
        setState("ended", "st-stopped");
      }
    };
    ws.onclose = () => {
      if (ended || gen !== generation) return;
      const wait = Math.min(1000 * 2 ** retry++, 15000);
      setState("disconnected: retrying", "st-failed");
      setTimeout(() => { if (gen === generation) connect(true); }, wait);
    };
  };

  const newest = $("log-newest");
  view.addEventListener("scroll", () => {
    follow = view.scrollHeight - view.scrollTop - view.clientHeight < 40;
    newest.hidden = follow;
    showFollow();
  });
  newest.addEventListener("click", () => {
    follow = true;
    view.scrollTop = view.scrollHeight;
    newest.hidden = true;
    showFollow();
  });
  $("log-find").addEventListener("input", find);
  $("log-find").addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); step(e.shiftKey ? -1 : 1); }
  });
  $("log-find-next").addEventListener("click", () => step(1));
  $("log-find-prev").addEventListener("click", () => step(-1));
  $("log-pause").addEventListener("click", (e) => {
    paused = !paused;
    e.currentTarget.setAttribute("aria-pressed", String(paused));
    e.currentTarget.textContent = paused ? "Resume" : "Pause";
    if (!paused) { follow = true; view.scrollTop = view.scrollHeight; }
    showFollow();
  });
  $("log-times").addEventListener("change", (e) => view.classList.toggle("no-ts", !e.currentTarget.checked));
  $("log-filter").addEventListener("input", (e) => {
    filter = e.currentTarget.value;
    for (const d of view.children) {
      if (d._m !== undefined) d.classList.toggle("hidden", filter !== "" && !d._m.includes(filter));
    }
    showCount();
  });
  // What to show applies at once: the view starts again with it.
  const restart = () => {
    generation++;
    if (ws) ws.close();
    view.replaceChildren();
    marks = []; current = -1; showCount();
    lastTime = ""; lastMs = 0; seenAtLast = new Set(); ended = false; retry = 0;
    connect(false);
  };
  let typing = null;
  for (const id of ["log-tail", "log-stream", "log-instance", "log-until"]) {
    const el = $(id);
    if (!el) continue;
    el.addEventListener("change", () => { clearTimeout(typing); restart(); });
    if (el.tagName === "INPUT") el.addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(restart, 700); });
  }
  connect(false);
}

// The merged log viewer: one websocket per service (data-streams), lines
// tagged with their service and kept in time order (a late line is put in
// its place among the newest), each stream resuming after its last line
// when it reconnects.
function mergedLogViewer(view) {
  const streams = JSON.parse(view.dataset.streams || "[]");
  const max = Number(view.dataset.max) || 5000;
  const stateEl = document.getElementById("log-state");
  const tailEl = document.getElementById("log-tail");
  const filterEl = document.getElementById("log-filter");
  let follow = true, filter = "", generation = 0;
  const live = new Set();
  const setState = () => {
    const n = live.size;
    stateEl.textContent = n === streams.length ? "live" : n + " of " + streams.length + " live";
    stateEl.className = "badge " + (n === streams.length ? "st-running" : n ? "st-pending" : "st-failed");
  };
  const insert = (d) => {
    let ref = null, n = view.lastElementChild, steps = 0;
    while (n && n._ms > d._ms && steps++ < 2000) { ref = n; n = n.previousElementSibling; }
    view.insertBefore(d, ref);
  };
  const line = (it, s, idx) => {
    const d = document.createElement("div");
    d.className = "ln" + (it.s === "stderr" ? " err" : "");
    d._m = it.m || "";
    d._ms = it.t ? Date.parse(it.t) : Date.now();
    const ts = document.createElement("span");
    ts.className = "ts";
    ts.textContent = (it.t || "").replace("T", " ").replace(/(\.\d{3})\d*/, "$1").replace("Z", "");
    const tag = document.createElement("span");
    tag.className = "svc-tag svc-" + (idx % 8);
    tag.textContent = s.name;
    const msg = document.createElement("span");
    msg.className = "msg";
    msg.textContent = d._m.length > 2000 ? d._m.slice(0, 2000) + "…" : d._m;
    d.append(ts, tag, msg);
    if (filter && !d._m.includes(filter)) d.classList.add("hidden");
    return d;
  };
  const follower = (s, idx, gen) => {
    let last = "", lastMs = 0, seen = new Set(), retry = 0, ended = false;
    const connect = (resume) => {
      if (gen !== generation) return;
      const u = new URL(s.ws, location.href);
      u.protocol = location.protocol === "https:" ? "wss:" : "ws:";
      u.searchParams.set("tail", tailEl.value || "0");
      if (resume && last) u.searchParams.set("since", last);
      const ws = new WebSocket(u);
      view._sockets.push(ws);
      ws.onopen = () => { retry = 0; live.add(idx); setState(); };
      ws.onmessage = (e) => {
        if (gen !== generation) return;
        const m = JSON.parse(e.data);
        for (const it of m.items || []) {
          if (!it.t) continue; // skip marks and upstream errors stay per-service views' business
          const ms = Date.parse(it.t), key = (it.i || "") + "\n" + it.m;
          if (ms < lastMs || (it.t === last && seen.has(key))) continue;
          if (it.t === last) seen.add(key);
          else { last = it.t; lastMs = ms; seen = new Set([key]); }
          insert(line(it, s, idx));
        }
        let extra = view.childElementCount - max;
        while (extra-- > 0) view.firstElementChild.remove();
        if (follow) view.scrollTop = view.scrollHeight;
        if (m.end) { ended = true; live.delete(idx); setState(); }
      };
      ws.onclose = () => {
        live.delete(idx);
        if (gen !== generation) return;
        setState();
        if (ended) return;
        setTimeout(() => connect(true), Math.min(1000 * 2 ** retry++, 15000));
      };
    };
    connect(false);
  };
  const start = () => {
    generation++;
    for (const ws of view._sockets || []) ws.close();
    view._sockets = [];
    view.replaceChildren();
    live.clear();
    streams.forEach((s, i) => follower(s, i, generation));
    setState();
  };
  view.addEventListener("scroll", () => { follow = view.scrollHeight - view.scrollTop - view.clientHeight < 40; });
  filterEl.addEventListener("input", () => {
    filter = filterEl.value;
    for (const d of view.children) d.classList.toggle("hidden", filter !== "" && !d._m.includes(filter));
  });
  tailEl.addEventListener("change", start);
  start();
}

// copyText puts a button's data-copy on the clipboard and says so.
function copyText(btn) {
  const done = (ok) => {
    const was = btn.textContent;
    btn.textContent = ok ? "copied" : "copy failed";
    setTimeout(() => { btn.textContent = was; }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(btn.dataset.copy).then(() => done(true), () => done(false));
    return;
  }
  // Plain http: a hidden text area and the old copy command.
  const ta = document.createElement("textarea");
  ta.value = btn.dataset.copy;
  ta.setAttribute("readonly", "");
  ta.style.position = "fixed";
  ta.style.opacity = "0";
  document.body.append(ta);
  ta.select();
  let ok = false;
  try { ok = document.execCommand("copy"); } catch (_) { ok = false; }
  ta.remove();
  done(ok);
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-poll]").forEach(poll);
  document.addEventListener("click", (e) => {
    const b = e.target.closest("[data-add-row]");
    if (b) addRow(b);
    const add = e.target.closest("[data-add-item]");
    if (add) addItem(add);
    const rm = e.target.closest("[data-remove-item]");
    if (rm) removeItem(rm);
    const cp = e.target.closest("[data-copy]");
    if (cp) copyText(cp);
  });
  // On a phone, folded filters start shut unless one is in use.
  if (window.matchMedia("(max-width: 480px)").matches) {
    document.querySelectorAll("details[data-fold-on-phone]").forEach((d) => { d.open = false; });
  }
  const view = document.getElementById("log-view");
  if (view) logViewer(view);
  const merged = document.getElementById("merged-log-view");
  if (merged) mergedLogViewer(merged);
});

// A phone's one-line menu scrolls sideways: show the current page's entry.
document.addEventListener("DOMContentLoaded", () => {
  const nav = document.querySelector("header.top nav");
  const cur = nav && nav.querySelector('a[aria-current="page"]');
  if (cur && nav.scrollWidth > nav.clientWidth) {
    nav.scrollLeft = cur.offsetLeft - nav.offsetLeft - (nav.clientWidth - cur.offsetWidth) / 2;
  }
});

/* services list */
// The services list refreshes its rows' status and instance counts, and
// the summary bar's counts, from one small JSON answer (GET data-live with
// the page's filters and the rows' conn and id) every few seconds: one
// request at a time, none while the tab is hidden, only the rows on the
// page. Without the script the page is simply not live.
function liveSummary(summary) {
  for (const s of summary) {
    const row = document.querySelector('tr[data-summary="' + CSS.escape(s.conn) + '"]');
    if (!row) continue;
    for (const what of ["services", "running", "updating", "failed"]) {
      const a = row.querySelector('[data-count="' + what + '"]');
      if (a) a.textContent = String(s[what]);
    }
    const failed = row.querySelector('[data-count="failed"]');
    if (failed) failed.parentElement.classList.toggle("has-failed", s.failed > 0);
  }
}

function liveList(table) {
  const every = Number(table.dataset.every) || 3000;
  let busy = false;
  const refresh = async () => {
    if (busy || document.hidden) return;
    const rows = [...table.querySelectorAll("tbody tr[data-id]")];
    const page = new URLSearchParams(location.search);
    const q = new URLSearchParams();
    for (const k of ["q", "plugin", "connection"]) if (page.get(k)) q.set(k, page.get(k));
    for (const r of rows) { q.append("conn", r.dataset.conn); q.append("id", r.dataset.id); }
    busy = true;
    try {
      const r = await fetch(table.dataset.live + "?" + q, { headers: { "Accept": "application/json" }, cache: "no-store" });
      if (!r.ok) return;
      const m = await r.json();
      const fresh = new Map(m.rows.map((x) => [x.conn + "\n" + x.id, x]));
      const down = new Set(m.unreachable);
      for (const row of rows) {
        const x = fresh.get(row.dataset.conn + "\n" + row.dataset.id);
        const cell = row.querySelector('[data-cell="status"]');
        if (x) {
          if (row._cell !== x.cell) { cell.innerHTML = x.cell; row._cell = x.cell; }
          row.querySelector('[data-cell="instances"]').textContent = x.instances;
          row.dataset.status = x.status;
          row.classList.remove("gone");
        } else if (!down.has(row.dataset.conn) && !row.classList.contains("gone")) {
          row.classList.add("gone"); // deleted elsewhere
          cell.textContent = "no longer listed";
          row.dataset.status = "";
          row._cell = "";
        }
      }
      liveSummary(m.summary);
    } catch (e) {
      // the server is away or answered something else: next tick
    } finally {
      busy = false;
    }
  };
  setInterval(refresh, every);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
}

document.addEventListener("DOMContentLoaded", () => {
  const table = document.querySelector("table[data-live]");
  if (table) liveList(table);
});
