// The query page: run the query with fetch and draw the table, keep the URL shareable.
// Without this file the form still works: it GETs /sparql and the server draws the table.
// Data is only ever written with textContent, never as HTML, and as the server writes it
// (render/html.py, routes/sparql_page.py): in a <bdi>, with control characters as symbols.
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
  var CONTROLS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;
  var BIDI_CONTROLS = /[\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
  function holding(name, text) {  // an element with data in it: in a <bdi>, controls as symbols
    var node = el(name), shown = text.replace(CONTROLS, function (c) {
      var code = c.charCodeAt(0);
      return String.fromCharCode(code < 0x20 ? 0x2400 + code : code === 0x7f ? 0x2421 : 0xfffd);
    });
    node.appendChild(el("bdi", shown));
    return node;
  }
  function ntriples(term) {  // a triple term's parts, as N-Triples writes them
    if (term.type === "uri") { return "<" + term.value + ">"; }
    if (term.type === "bnode") { return "_:" + term.value; }
    if (term.type === "triple") {
      return "<<( " + ["subject", "predicate", "object"].map(function (part) {
        return ntriples(term.value[part]);
      }).join(" ") + " )>>";
    }
    var literal = JSON.stringify(term.value);
    if (term["xml:lang"]) { return literal + "@" + term["xml:lang"]; }
    return term.datatype ? literal + "^^<" + term.datatype + ">" : literal;
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
    var td = el("td"), node;
    if (!term) { return td; }
    if (term.type === "uri" && term.value.indexOf(base) === 0) {
      node = holding("a", term.value); node.href = term.value;
    } else if (term.type === "uri") {
      node = holding("span", term.value); node.className = "iri";
    } else if (term.type !== "literal") {
      node = holding("code", term.type === "bnode" ? "_:" + term.value : ntriples(term));
    } else if (term["xml:lang"]) {
      node = holding("span", term.value); node.lang = term["xml:lang"];
      td.append(node, " ");
      node = el("span", "@" + term["xml:lang"]); node.className = "muted";
    } else {
      node = holding("span", term.value);
    }
    td.appendChild(node);
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
          results.replaceChildren(el("pre", text.replace(BIDI_CONTROLS, function (c) {
            return "\\u" + c.charCodeAt(0).toString(16).toUpperCase();  // as the server shows it
          })));
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
