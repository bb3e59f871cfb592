/* modelgate dashboard: reads /admin/* with the admin token kept in this tab's sessionStorage. */
(function () {
  "use strict";
  var TOKEN_KEY = "modelgate-admin-token";
  var REFRESH_MS = 5000;
  var RANGES = { "1h": 3600e3, "24h": 86400e3, "7d": 7 * 86400e3 };
  var BUCKET_OF = { "1h": "minute", "24h": "hour", "7d": "day" };
  var COLORS = ["#6366f1", "#f59e0b", "#10b981", "#ef4444", "#0ea5e9", "#a855f7", "#84cc16", "#64748b"];
  var app = document.getElementById("app");
  var view = { range: "24h", stackBy: "model" };
  var chart = null;
  var timer = null;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    for (var name in attrs || {}) {
      if (name === "text") node.textContent = attrs[name];
      else if (name === "class") node.className = attrs[name];
      else node.setAttribute(name, attrs[name]);
    }
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }
  function usd(value) { return "$" + (value >= 100 ? value.toFixed(2) : value.toFixed(6)); }
  function pct(value) { return (value * 100).toFixed(1) + "%"; }
  function ms(value) { return value === undefined || value === null ? "–" : Math.round(value) + " ms"; }

  function login(message) {
    if (timer) clearTimeout(timer);
    var input = el("input", { type: "password", name: "token", placeholder: "Admin token", autocomplete: "current-password", required: "" });
    var form = el("form", { class: "login" }, [
      el("h1", { text: "modelgate dashboard" }),
      el("label", { text: "Admin token (kept in this tab only)" }),
      input,
      message ? el("p", { class: "error", text: message }) : null,
      el("button", { type: "submit", text: "Open" }),
    ]);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, input.value.trim());
      start();
    });
    app.replaceChildren(form);
    input.focus();
  }

  function get(path) {
    return fetch(path, { headers: { authorization: "Bearer " + sessionStorage.getItem(TOKEN_KEY) }, cache: "no-store" }).then(function (res) {
      if (res.status === 401) { var error = new Error("unauthorized"); error.unauthorized = true; throw error; }
      if (!res.ok) throw new Error(path + " answered " + res.status);
      return res.json();
    });
  }

  function start() {
    if (!sessionStorage.getItem(TOKEN_KEY)) return login();
    layout();
    refresh();
  }

  function layout() {
    var range = el("select", { id: "range", "aria-label": "Time range" }, Object.keys(RANGES).map(function (name) {
      var option = el("option", { value: name, text: "Last " + name }); if (name === view.range) option.selected = true; return option;
    }));
    var stack = el("select", { id: "stack-by", "aria-label": "Stack spend by" }, ["model", "key"].map(function (name) {
      var option = el("option", { value: name, text: "Stack by " + name }); if (name === view.stackBy) option.selected = true; return option;
    }));
    range.onchange = function () { view.range = range.value; refresh(); };
    stack.onchange = function () { view.stackBy = stack.value; refresh(); };
    var logout = el("button", { type: "button", text: "Sign out" });
    logout.onclick = function () { sessionStorage.removeItem(TOKEN_KEY); login(); };
    function card(id, label) { return el("div", { class: "card" }, [el("div", { class: "label", text: label }), el("div", { class: "value", id: id, text: "–" })]); }
    app.replaceChildren(
      el("header", {}, [el("h1", { text: "modelgate" }), el("span", { id: "updated", class: "muted" }), range, stack, logout]),
      el("div", { class: "cards" }, [card("total-spend", "Spend"), card("total-requests", "Requests"), card("cache-hit-rate", "Cache hit rate"), card("cache-saved", "Saved by cache")]),
      el("section", {}, [el("h2", { id: "chart-title", text: "Spend over time" }), el("div", { id: "spend-chart" })]),
      el("div", { class: "grid" }, [
        el("section", {}, [el("h2", { text: "Top users" }), el("table", { id: "top-users" })]),
        el("section", {}, [el("h2", { text: "Top keys" }), el("table", { id: "top-keys" })]),
        el("section", {}, [el("h2", { text: "Anomalies and budget alerts" }), el("ul", { id: "alerts", class: "alerts" })]),
        el("section", {}, [el("h2", { text: "Deployments" }), el("table", { id: "deployments" })]),
      ]),
      el("p", { id: "error", class: "error" }),
    );
    chart = null;
  }

  function refresh() {
    if (timer) clearTimeout(timer);
    var since = Date.now() - RANGES[view.range];
    var q = "&since=" + since;
    Promise.all([
      get("/admin/spend?by=user" + q),
      get("/admin/spend?by=key" + q),
      get("/admin/spend?by=" + view.stackBy + q + "&bucket=" + BUCKET_OF[view.range]),
      get("/admin/budgets"),
      get("/admin/alerts"),
      get("/admin/health"),
    ]).then(function (data) {
      render(data[0], data[1], data[2], data[3].budgets, data[4].alerts, data[5]);
      document.getElementById("error").textContent = "";
      timer = setTimeout(refresh, REFRESH_MS);
    }, function (error) {
      if (error.unauthorized) { sessionStorage.removeItem(TOKEN_KEY); return login("That token was refused."); }
      var slot = document.getElementById("error");
      if (slot) slot.textContent = "Could not refresh: " + error.message;
      timer = setTimeout(refresh, REFRESH_MS);
    });
  }

  function render(users, keys, series, budgets, alerts, health) {
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
    document.getElementById("total-spend").textContent = usd(users.totalUsd);
    document.getElementById("total-requests").textContent = String(users.requests);
    var cache = health.cache;
    var hitRate = cache ? cache.exact.hitRate : null;
    document.getElementById("cache-hit-rate").textContent = hitRate === null ? "off" : pct(hitRate);
    document.getElementById("cache-saved").textContent = usd(users.savedUsd);
    var flagged = {};
    alerts.forEach(function (alert) { if (alert.type === "anomaly") flagged[alert.user] = alert; });
    var userBudget = {}, keyBudget = {};
    budgets.forEach(function (budget) { if (budget.scope === "user") userBudget[budget.user] = budget; else keyBudget[budget.key] = budget; });
    table("top-users", "User", users.rows, function (row) { return userBudget[row.group]; }, flagged);
    table("top-keys", "Key", keys.rows, function (row) { return keyBudget[row.group]; }, {});
    renderAlerts(alerts);
    renderDeployments(health.deployments);
    renderChart(series);
  }

  function budgetCell(budget) {
    if (!budget) return el("td", { class: "muted", text: "–" });
    var used = budget.limitUsd > 0 ? budget.spentUsd / budget.limitUsd : 1;
    return el("td", { class: used >= 1 ? "budget-over" : used >= 0.8 ? "budget-near" : "", text: pct(used) + " of " + usd(budget.limitUsd) + "/" + budget.period });
  }

  function table(id, label, rows, budgetOf, flagged) {
    var head = el("tr", {}, [label, "Requests", "Cost", "Share", "Budget", ""].map(function (name, index) { return el("th", { class: index >= 1 && index <= 3 ? "num" : "", text: name }); }));
    var body = rows.slice(0, 10).map(function (row) {
      var anomaly = flagged[row.group];
      return el("tr", { "data-group": row.group }, [
        el("td", { class: "group", text: row.group }),
        el("td", { class: "num requests", text: String(row.requests) }),
        el("td", { class: "num cost", text: usd(row.costUsd) }),
        el("td", { class: "num share" }, [el("span", { class: "bar", style: "width:" + Math.round(row.share * 60) + "px" }), document.createTextNode(pct(row.share))]),
        budgetCell(budgetOf(row)),
        el("td", { class: "flag", title: anomaly ? anomaly.kind + " anomaly" : "", text: anomaly ? "⚠ anomaly" : "" }),
      ]);
    });
    if (body.length === 0) body = [el("tr", {}, [el("td", { class: "muted", colspan: "6", text: "No spend in this range" })])];
    document.getElementById(id).replaceChildren(el("thead", {}, [head]), el("tbody", {}, body));
  }

  function renderAlerts(alerts) {
    var items = alerts.slice(0, 50).map(function (alert) {
      var when = new Date(alert.time).toLocaleTimeString();
      var text = alert.type === "anomaly"
        ? (alert.kind === "share"
          ? "user " + alert.user + " spent " + pct(alert.share) + " of " + (alert.key ? "key " + alert.key : "all spend") + " (" + usd(alert.spentUsd) + ")"
          : "user " + alert.user + " spent " + alert.share + "× their hourly baseline (" + usd(alert.spentUsd) + ")")
        : alert.scope + " " + (alert.scope === "user" ? alert.user : alert.key) + " passed " + pct(alert.threshold) + " of its " + alert.period + " budget (" + usd(alert.spentUsd) + " of " + usd(alert.limitUsd) + ")";
      return el("li", { class: alert.type === "anomaly" ? "anomaly" : "budget" }, [el("span", { class: "muted", text: when + " " }), el("span", { class: alert.type === "anomaly" ? "flag" : "", text: alert.type === "anomaly" ? "⚠ " : "" }), document.createTextNode(text)]);
    });
    if (items.length === 0) items = [el("li", { class: "muted", text: "Nothing unusual" })];
    document.getElementById("alerts").replaceChildren.apply(document.getElementById("alerts"), items);
  }

  function renderDeployments(deployments) {
    var head = el("tr", {}, ["Deployment", "State", "Latency", "In flight", "Failures"].map(function (name, index) { return el("th", { class: index >= 2 ? "num" : "", text: name }); }));
    var body = deployments.map(function (d) {
      var state = d.state === "cooling" ? "cooling (" + Math.ceil(d.coolingForMs / 1000) + " s)" : d.state;
      return el("tr", { "data-deployment": d.deployment }, [
        el("td", { text: d.deployment }),
        el("td", { class: "state state-" + d.state, text: state }),
        el("td", { class: "num", text: ms(d.latencyEwmaMs) }),
        el("td", { class: "num", text: String(d.inFlight) }),
        el("td", { class: "num", text: String(d.recentFailures) }),
      ]);
    });
    document.getElementById("deployments").replaceChildren(el("thead", {}, [head]), el("tbody", {}, body));
  }

  /** A stacked area chart: each series drawn as the running sum of those below it. */
  function renderChart(series) {
    var holder = document.getElementById("spend-chart");
    document.getElementById("chart-title").textContent = "Spend over time, stacked by " + series.by + " (per " + BUCKET_OF[view.range] + ")";
    var groups = series.rows.slice(0, COLORS.length - 1).map(function (row) { return row.group; });
    var others = series.rows.length > groups.length;
    var names = others ? groups.concat(["other"]) : groups;
    var xs = series.buckets.map(function (bucket) { return bucket.start / 1000; });
    var raw = names.map(function (name, index) {
      return series.buckets.map(function (bucket) {
        if (others && index === names.length - 1) {
          var rest = 0;
          for (var g in bucket.groups) if (groups.indexOf(g) === -1) rest += bucket.groups[g];
          return rest;
        }
        return bucket.groups[name] || 0;
      });
    });
    var stacked = [];
    raw.forEach(function (values, index) { stacked.push(values.map(function (v, i) { return v + (index > 0 ? stacked[index - 1][i] : 0); })); });
    var data = [xs].concat(stacked.slice().reverse());
    var opts = {
      width: Math.max(320, holder.clientWidth || 900),
      height: 240,
      series: [{}].concat(names.slice().reverse().map(function (name, index) {
        var color = COLORS[(names.length - 1 - index) % COLORS.length];
        return { label: name, stroke: color, fill: color + "55", width: 1, value: function (u, v, s, i) { return i === null || i === undefined ? "–" : usd(raw[names.length - 1 - index][i]); } };
      })),
      axes: [{}, { values: function (u, ticks) { return ticks.map(function (t) { return "$" + t.toPrecision(2); }); }, size: 70 }],
      scales: { y: { range: function (u, min, max) { return [0, max > 0 ? max * 1.1 : 1]; } } },
      cursor: { drag: { x: false, y: false } },
    };
    if (chart) chart.destroy();
    holder.replaceChildren();
    chart = new uPlot(opts, data, holder);
  }

  start();
})();
