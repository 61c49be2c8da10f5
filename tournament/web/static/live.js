// Live view: follow the tournament's Server-Sent Events and update progress and latest results in place.
"use strict";
(function () {
  const root = document.getElementById("live");
  if (!root || !window.EventSource) return;
  const $ = (id) => document.getElementById(id);
  const outcome = (m) => (m.outcome === "a" ? m.strategy_a + " wins" : m.outcome === "b" ? m.strategy_b + " wins" : "draw");

  function cell(tag, text, cls) {
    const node = document.createElement(tag);
    node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  function render(data) {
    $("finished").textContent = data.finished;
    $("total").textContent = data.total;
    $("progress").max = data.total || 1;
    $("progress").value = data.finished;
    const status = cell("span", data.status, "status status-" + data.status);
    $("status").replaceChildren(status);
    const rows = data.latest.map((m) => {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      th.scope = "row";
      const link = cell("a", "#" + m.match_id);
      link.href = "/matches/" + m.match_id;
      th.append(link);
      tr.append(th, cell("td", m.strategy_a, "text"), cell("td", m.strategy_b, "text"),
        cell("td", m.total_a + " : " + m.total_b), cell("td", outcome(m), "text"));
      return tr;
    });
    document.querySelector("#latest tbody").replaceChildren(...rows);
  }

  const source = new EventSource(root.dataset.events);
  source.addEventListener("open", () => { $("connection").textContent = "Connected: updates arrive as matches finish."; });
  source.addEventListener("progress", (event) => render(JSON.parse(event.data)));
  source.addEventListener("done", (event) => {
    const data = JSON.parse(event.data);
    render(data);
    source.close();
    $("connection").textContent = "The tournament is " + data.status + ".";
    $("final").hidden = false;
  });
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CONNECTING) $("connection").textContent = "Connection lost; retrying…";
  });
})();
