/* leadscore website tracking (docs/sources.md, "Website tracking"). First-party: talks only
   to the leadscore server it was loaded from. No cookie and no storage until consent, unless
   the snippet says data-consent="not_required" (the site's setting must agree). */
(function (w, d) {
  var s = d.currentScript, key = s && s.getAttribute("data-site");
  if (!key || w.__leadscore) return;
  w.__leadscore = 1;
  var end = new URL(s.src).origin + "/api/v1/sources/track";
  var open = s.getAttribute("data-consent") === "not_required";
  var C = "_lsvid", vid = null, held = [];
  var q = (w.leadscore && w.leadscore.q) || [];
  var m = /[?&]ls_t=([^&#]*)/.exec(location.search), tok = m && decodeURIComponent(m[1]);
  if (m && history.replaceState) {
    history.replaceState(history.state, "", location.href.replace(/([?&])ls_t=[^&#]*&?/, "$1").replace(/[?&](#|$)/, "$1"));
  }
  function rid() {
    var a = new Uint8Array(16), h = "";
    crypto.getRandomValues(a);
    for (var i = 0; i < 16; i++) h += (a[i] + 256).toString(16).slice(1);
    return h;
  }
  function cookie() {
    var f = new RegExp("(?:^|; )" + C + "=([A-Za-z0-9_-]{8,64})").exec(d.cookie);
    return f && f[1];
  }
  function keep() {
    vid = cookie() || rid();
    d.cookie = C + "=" + vid + "; path=/; max-age=31536000; SameSite=Lax" + (location.protocol === "https:" ? "; Secure" : "");
  }
  function send(type, extra) {
    var b = {site: key, id: rid(), type: type, visitor: vid, consent: open ? "not_required" : "given",
      url: location.href, title: d.title || null, referrer: d.referrer || null};
    for (var k in extra) b[k] = extra[k];
    var body = JSON.stringify(b);
    if (w.fetch) {
      fetch(end, {method: "POST", body: body, keepalive: true, credentials: "omit",
        headers: {"Content-Type": "text/plain"}}).catch(function () {});
    } else if (navigator.sendBeacon) navigator.sendBeacon(end, body);
  }
  function beacon(type, extra) {
    if (vid) send(type, extra || {}); else held.length < 20 && held.push([type, extra || {}]);
  }
  function start() {
    keep();
    send("page_view", {});
    if (tok) { send("identify", {token: tok}); tok = null; }
    held.splice(0).forEach(function (h) { send(h[0], h[1]); });
  }
  d.addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest("[data-ls-event]");
    if (a) beacon("click", {properties: {name: a.getAttribute("data-ls-event").slice(0, 200), href: (a.href || "").slice(0, 500)}});
  }, true);
  d.addEventListener("submit", function (e) {
    var f = e.target, props = {form: (f.id || f.getAttribute("name") || "form").slice(0, 200)}, mail = null;
    if (f.hasAttribute("data-ls-ignore")) return;
    for (var i = 0; i < f.elements.length; i++) {
      var el = f.elements[i], t = (el.type || "").toLowerCase(), n = el.name || el.id;
      if (!n || t === "password" || t === "hidden" || t === "file" || /^cc-/.test(el.autocomplete || "")) continue;
      if (!mail && (t === "email" || /e-?mail/i.test(n)) && el.value) mail = el.value.trim();
      else if (el.hasAttribute("data-ls-field") && /^[A-Za-z_]\w{0,63}$/.test(n)) props[n] = String(el.value).slice(0, 500);
    }
    beacon("form_submit", mail ? {email: mail, properties: props} : {properties: props});
  }, true);
  function api(cmd, arg) {
    if (cmd === "consent" && !vid) start();
    else if (cmd === "revoke") { vid = null; open = false; d.cookie = C + "=; path=/; max-age=0"; }
    else if (cmd === "identify" && arg) vid ? send("identify", {token: arg}) : (tok = arg);
  }
  w.leadscore = api;
  if (open || cookie()) start();
  q.forEach(function (c) { api.apply(null, c); });
})(window, document);
