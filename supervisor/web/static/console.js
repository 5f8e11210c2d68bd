// The console's only script: live rows (Server-Sent Events), filter and sort on the fleet table, the live
// instance page, and a confirmation before an action. No framework, no build step.
"use strict";

(function () {
  function when(seconds) {
    if (!seconds) return "";
    return new Date(seconds * 1000).toISOString().replace("T", " ").slice(0, 19);
  }
  function text(value) { return value === null || value === undefined ? "" : String(value); }

  // Actions: ask first.
  document.querySelectorAll("form.confirm").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var name = document.getElementById("instance").dataset.name;
      if (!window.confirm(form.dataset.action + " " + name + "?")) event.preventDefault();
    });
  });

  // The instance page: its own feed sends it all once, then what changes, and its new log lines (numbered).
  var LOG_LINES = 200;
  function item(tag, parts) {  // an element of text parts; [text, className] for a styled part
    var element = document.createElement(tag);
    parts.forEach(function (part) {
      if (typeof part === "string") { element.appendChild(document.createTextNode(part)); return; }
      var inner = document.createElement(part[2] || "span");
      inner.className = part[1] || "";
      inner.textContent = part[0];
      element.appendChild(inner);
    });
    return element;
  }
  function replaceList(list, elements, none) {
    list.textContent = "";
    elements.forEach(function (element) { list.appendChild(element); });
    if (!elements.length && none) {
      var empty = item("li", [none]);
      empty.className = "muted";
      list.appendChild(empty);
    }
  }
  function showInstance(data, state) {
    var row = data.row;
    var badge = document.getElementById("state");
    if (data.gone) {
      badge.textContent = "removed";
      badge.className = "badge s-stopped";
      return;
    }
    if (row) {
      if (badge.textContent !== row.state) badge.dataset.changedAt = String(Date.now());  // when this page learnt it
      badge.textContent = row.state;
      badge.className = "badge s-" + row.state.replace(/ /g, "-");
      document.getElementById("since").textContent = when(row.since);
      document.getElementById("restarts").textContent = text(row.restarts);
      document.getElementById("guilds").textContent = row.guilds === null ? "–" : text(row.guilds);
      document.getElementById("latency").textContent = row.latency_ms === null ? "–" : text(row.latency_ms);
      document.getElementById("host").textContent = row.host || "–";
      document.getElementById("paused").textContent = data.paused ? " · paused" : "";
      document.getElementById("last-error").hidden = !row.last_error;
      document.getElementById("last-error-text").textContent = row.last_error;
      document.getElementById("spark").hidden = !data.sparkline;
      document.getElementById("spark-none").hidden = !!data.sparkline;
      document.getElementById("spark-line").setAttribute("points", data.sparkline);
      replaceList(document.getElementById("warnings"), data.warnings.map(function (pair) {
        return item("li", [[pair[0], "", "b"], ": " + pair[1]]);
      }), "none");
      replaceList(document.getElementById("problems"), data.problems.map(function (line) {
        return item("li", [line]);
      }), "none");
      replaceList(document.getElementById("history"), data.history.map(function (entry) {
        var tr = document.createElement("tr");
        tr.appendChild(item("td", [when(entry[0])]));
        tr.appendChild(item("td", [text(entry[1])]));
        var error = item("td", [text(entry[2])]);
        error.className = "err";
        tr.appendChild(error);
        return tr;
      }), null);
      replaceList(document.getElementById("errors"), data.errors.map(function (entry) {
        return item("li", [when(entry[0]) + ": ", [text(entry[1]), "err"]]);
      }), "none");
      replaceList(document.getElementById("config"), data.config.map(function (pair) {
        var tr = document.createElement("tr");
        tr.appendChild(item("td", [pair[0]]));
        tr.appendChild(item("td", [pair[1]]));
        return tr;
      }), null);
    }
    var logs = data.logs;
    if (logs) {
      if (logs.reset) { state.lines = []; state.upto = logs.upto - logs.lines.length; }
      var first = logs.upto - logs.lines.length + 1;  // the number of the first line sent
      logs.lines.forEach(function (line, i) {
        if (first + i > state.upto) state.lines.push(line);
      });
      state.upto = Math.max(state.upto, logs.upto);
      if (state.lines.length > LOG_LINES) state.lines.splice(0, state.lines.length - LOG_LINES);
      var pre = document.getElementById("logs");
      var atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.textContent = state.lines.length ? state.lines.join("\n") + "\n" : "";
      if (atEnd) pre.scrollTop = pre.scrollHeight;
      document.getElementById("log-count").textContent = String(state.lines.length);
    }
  }
  var instance = document.getElementById("instance");
  if (instance) {
    var state = {lines: [], upto: 0};
    var feed = new EventSource("/events?instance=" + encodeURIComponent(instance.dataset.name));
    var lamp = document.getElementById("live");
    feed.addEventListener("open", function () { lamp.classList.add("on"); });
    feed.addEventListener("error", function () { lamp.classList.remove("on"); });
    feed.addEventListener("instance", function (event) {
      showInstance(JSON.parse(event.data), state);
      document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
    });
    return;
  }

  var table = document.getElementById("fleet");
  if (!table) return;
  var body = table.tBodies[0];
  var filter = document.getElementById("filter");
  var shown = document.getElementById("shown");
  var sortKey = null, sortDir = 1;

  function cells(row) {
    return [row.name, row.state, when(row.since), text(row.guilds), text(row.latency_ms), text(row.restarts),
            text(row.last_error), text(row.features), text(row.host)];
  }
  function fill(tr, row) {
    var state = "s-" + row.state.replace(/ /g, "-");
    if (!tr.classList.contains(state)) tr.dataset.changedAt = String(Date.now());  // when this page learnt it
    tr.className = state;
    tr.dataset.since = text(row.since);
    tr.dataset.latency_ms = text(row.latency_ms);
    tr.dataset.guilds = text(row.guilds);
    tr.dataset.restarts = text(row.restarts);
    var values = cells(row);
    while (tr.cells.length < values.length) tr.insertCell();
    if (!tr.cells[0].firstChild) {
      var link = document.createElement("a");
      link.href = "/instance/" + encodeURIComponent(row.name);
      link.textContent = row.name;
      tr.cells[0].appendChild(link);
    }
    for (var i = 1; i < values.length; i++) {
      if (tr.cells[i].textContent !== values[i]) tr.cells[i].textContent = values[i];
    }
    tr.cells[6].className = "err";
    applyFilter(tr);
  }
  function applyFilter(tr) {
    var words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    var hay = tr.textContent.toLowerCase();
    var hide = words.some(function (word) { return hay.indexOf(word) < 0; });
    tr.classList.toggle("hidden", hide);
  }
  function filterAll() {
    var visible = 0;
    Array.prototype.forEach.call(body.rows, function (tr) {
      applyFilter(tr);
      if (!tr.classList.contains("hidden")) visible++;
    });
    shown.textContent = visible + " of " + body.rows.length + " shown";
  }
  function count() {
    var byState = {};
    Array.prototype.forEach.call(body.rows, function (tr) {
      var state = tr.cells[1].textContent;
      byState[state] = (byState[state] || 0) + 1;
    });
    document.getElementById("counts").textContent = Object.keys(byState).sort().map(function (state) {
      return byState[state] + " " + state;
    }).join(" · ");
  }
  function sortBy(key, type) {
    var index = Array.prototype.indexOf.call(table.tHead.rows[0].cells,
      table.tHead.querySelector('th[data-key="' + key + '"]'));
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x, y;
      if (type === "num") {
        x = parseFloat(a.dataset[key]); y = parseFloat(b.dataset[key]);
        x = isNaN(x) ? -Infinity : x; y = isNaN(y) ? -Infinity : y;
      } else {
        x = a.cells[index].textContent.toLowerCase(); y = b.cells[index].textContent.toLowerCase();
      }
      return x < y ? -sortDir : x > y ? sortDir : 0;
    });
    var fragment = document.createDocumentFragment();
    rows.forEach(function (tr) { fragment.appendChild(tr); });
    body.appendChild(fragment);
  }
  table.tHead.addEventListener("click", function (event) {
    var th = event.target.closest("th");
    if (!th) return;
    sortDir = sortKey === th.dataset.key ? -sortDir : 1;
    sortKey = th.dataset.key;
    table.tHead.querySelectorAll("th").forEach(function (other) { other.className = ""; });
    th.className = sortDir > 0 ? "asc" : "desc";
    sortBy(sortKey, th.dataset.type);
  });
  filter.addEventListener("input", filterAll);
  filterAll();
  count();

  var live = document.getElementById("live");
  var source = new EventSource("/events");
  source.addEventListener("open", function () { live.classList.add("on"); });
  source.addEventListener("error", function () { live.classList.remove("on"); });
  source.addEventListener("rows", function (event) {
    var data = JSON.parse(event.data);
    data.rows.forEach(function (row) {
      var tr = document.getElementById("i-" + row.name);
      if (!tr) {
        tr = body.insertRow();
        tr.id = "i-" + row.name;
      }
      fill(tr, row);
    });
    data.removed.forEach(function (name) {
      var tr = document.getElementById("i-" + name);
      if (tr) tr.remove();
    });
    if (data.removed.length || data.rows.length) {
      shown.textContent = body.querySelectorAll("tr:not(.hidden)").length + " of " + body.rows.length + " shown";
      count();
    }
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  });
  source.addEventListener("problems", function (event) {
    var list = document.getElementById("problems");
    var problems = JSON.parse(event.data).problems;
    list.textContent = "";
    problems.forEach(function (line) {
      var li = document.createElement("li");
      li.textContent = line;
      list.appendChild(li);
    });
    if (!problems.length) {
      var none = document.createElement("li");
      none.className = "muted";
      none.textContent = "none: every folder checks out";
      list.appendChild(none);
    }
  });
})();
