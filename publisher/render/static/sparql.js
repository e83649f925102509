// The query page: run the query with fetch and draw the table, keep the URL shareable.
// Without this file the form still works: it GETs /sparql and the server draws the table.
// Data is only ever written with textContent, never as HTML.
(function () {
  "use strict";
  var form = document.getElementById("sparql-form");
  if (!form || !window.fetch) { return; }
  var endpoint = form.getAttribute("data-endpoint");
  var base = form.getAttribute("data-base");
  var editor = document.getElementById("query");
  var results = document.getElementById("results");
  var downloads = document.getElementById("downloads");
  var share = document.getElementById("share");
  var resultFormats = ["json", "xml", "csv", "tsv"];
  var rdfFormats = ["turtle", "jsonld", "rdfxml", "ntriples"];

  function el(name, text) {
    var node = document.createElement(name);
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function queryUrl(query, format) {
    var params = new URLSearchParams({ query: query });
    if (format) { params.set("format", format); }
    return endpoint + "?" + params.toString();
  }
  function isConstruct(query) {
    var body = query.replace(/#[^\n]*/g, "").replace(/<[^>\s]*>/g, "");
    return /\b(CONSTRUCT|DESCRIBE)\b/i.test(body) && !/\b(SELECT|ASK)\b/i.test(body.split(/\b(CONSTRUCT|DESCRIBE)\b/i)[0]);
  }
  function showLinks(query) {
    var list = downloads.querySelector("ul");
    list.replaceChildren();
    (isConstruct(query) ? rdfFormats : resultFormats).forEach(function (name) {
      var li = el("li"), a = el("a", name);
      a.href = queryUrl(query, name);
      li.appendChild(a);
      list.appendChild(li);
    });
    share.value = queryUrl(query);
    downloads.hidden = false;
  }
  function cell(term) {
    var td = el("td");
    if (!term) { return td; }
    if (term.type === "uri" && term.value.indexOf(base) === 0) {
      var a = el("a", term.value); a.href = term.value; td.appendChild(a);
    } else if (term.type === "bnode") {
      td.textContent = "_:" + term.value;
    } else {
      td.textContent = term.value;
      if (term["xml:lang"]) {
        td.lang = term["xml:lang"];
        td.appendChild(el("span", " @" + term["xml:lang"])).className = "muted";
      }
    }
    return td;
  }
  function draw(data, truncated) {
    results.replaceChildren();
    var heading = el("h2", document.documentElement.lang === "sv" ? "Resultat" : "Results");
    heading.id = "results-h";
    results.appendChild(heading);
    if (typeof data.boolean === "boolean") { results.appendChild(el("p", String(data.boolean))); return; }
    var vars = data.head.vars, rows = data.results.bindings;
    results.appendChild(el("p", rows.length + (truncated ? "+" : "") + " rows")).className = "muted";
    var wrap = el("div"), table = el("table"), head = el("tr"), body = el("tbody");
    wrap.className = "table-scroll"; table.className = "sparql-results";
    vars.forEach(function (v) { var th = el("th", "?" + v); th.scope = "col"; head.appendChild(th); });
    table.appendChild(el("thead")).appendChild(head);
    rows.forEach(function (row) {
      var tr = el("tr");
      vars.forEach(function (v) { tr.appendChild(cell(row[v])); });
      body.appendChild(tr);
    });
    table.appendChild(body);
    wrap.appendChild(table);
    results.appendChild(wrap);
  }
  function fail(text) {
    results.replaceChildren();
    var box = el("div"); box.className = "notice error"; box.setAttribute("role", "alert");
    box.appendChild(el("p", text));
    results.appendChild(box);
  }
  function run(query, push) {
    var construct = isConstruct(query);
    showLinks(query);
    if (push) { history.pushState({ query: query }, "", queryUrl(query)); }
    results.replaceChildren(el("p", "…"));
    fetch(endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/sparql-query",
                 "Accept": construct ? "text/turtle" : "application/sparql-results+json" },
      body: query
    }).then(function (response) {
      var truncated = response.headers.get("X-SPARQL-Truncated") === "true";
      if (!response.ok) {
        return response.json().then(function (p) { fail(p.title + ": " + p.detail); },
                                    function () { fail("HTTP " + response.status); });
      }
      if (construct) {
        return response.text().then(function (text) {
          results.replaceChildren(el("pre", text));
        });
      }
      return response.json().then(function (data) { draw(data, truncated); });
    }).catch(function (error) { fail(String(error)); });
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    run(editor.value, true);
  });
  document.querySelectorAll("a.example").forEach(function (link) {
    link.addEventListener("click", function (event) {
      var template = document.getElementById("example-" + link.getAttribute("data-name"));
      if (!template) { return; }
      event.preventDefault();
      editor.value = template.content ? template.content.textContent : template.textContent;
      editor.focus();
      run(editor.value, true);
    });
  });
  window.addEventListener("popstate", function (event) {
    if (event.state && event.state.query) { editor.value = event.state.query; run(event.state.query, false); }
  });
})();
