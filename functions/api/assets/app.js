// TickerPulse dashboard: plain JavaScript over the REST API (relative URLs, so
// it works at the API's stage URL and on `tickerpulse serve`). uPlot draws the
// trend chart.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { level: "day", period: "", ticker: "", recentPage: null, chart: null, timeline: null, tweetsWindow: null };

function fmt(n) { return Number(n).toLocaleString("en-US"); }
function pct(r) { return (r * 100).toFixed(1) + "%"; }
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else if (k === "style") e.style.cssText = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

// Sign-in: the stack's Cognito user pool (config.json names it). The ID token
// and the dashboard's usage plan key live in memory only; the refresh token in
// sessionStorage, which the browser drops with the tab, so nothing secret
// outlives the session. The token is refreshed a minute before it expires.
const SESSION = "tickerpulse-refresh";
const auth = { config: null, idToken: null, expires: 0, apiKey: null, me: null };

async function cognito(target, body) {
  const r = await fetch(auth.config.cognito_url, {
    method: "POST",
    headers: { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": `AWSCognitoIdentityProviderService.${target}` },
    body: JSON.stringify(body),
  });
  const out = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(out.message || out.__type || `sign-in failed (${r.status})`);
  return out;
}

function signedIn(result) {
  auth.idToken = result.IdToken;
  auth.expires = Date.now() + (result.ExpiresIn || 3600) * 1000;
  if (result.RefreshToken) sessionStorage.setItem(SESSION, result.RefreshToken);
}

async function refreshToken() {
  const token = sessionStorage.getItem(SESSION);
  if (!token) return false;
  try {
    const out = await cognito("InitiateAuth", { AuthFlow: "REFRESH_TOKEN_AUTH", ClientId: auth.config.client_id, AuthParameters: { REFRESH_TOKEN: token } });
    signedIn(out.AuthenticationResult);
    return true;
  } catch (e) {
    sessionStorage.removeItem(SESSION);
    return false;
  }
}

// Cognito's SRP sign-in (USER_SRP_AUTH, then PASSWORD_VERIFIER), as the AWS
// SDKs' AuthenticationHelper computes it: the password never leaves the page.
// The 3072-bit group of RFC 3526 with g = 2; k = H(N | g), u = H(A | B),
// x = H(salt | H(pool user ":" password)), an HKDF-SHA256 key "Caldera Derived
// Key" and an HMAC-SHA256 claim. crates/local/src/srp.rs is the same in Rust.
const SRP_N = BigInt("0x" +
  "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD" +
  "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED" +
  "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F" +
  "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B" +
  "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510" +
  "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7" +
  "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C" +
  "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF");
const utf8 = (t) => new TextEncoder().encode(t);
function padHex(n) {
  let h = n.toString(16);
  if (h.length % 2) h = "0" + h; else if ("89abcdef".includes(h[0])) h = "00" + h;
  return h;
}
function hexBytes(h) { return Uint8Array.from(h.match(/../g) || [], (b) => parseInt(b, 16)); }
function bytesHex(b) { return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(""); }
function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let i = 0;
  for (const p of parts) { out.set(p, i); i += p.length; }
  return out;
}
async function sha256(bytes) { return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)); }
async function hashHex(h) { return BigInt("0x" + bytesHex(await sha256(hexBytes(h)))); }
async function hmac(key, data) {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, data));
}
function modPow(b, e, m) {
  let r = 1n;
  for (b %= m; e > 0n; e >>= 1n, b = b * b % m) if (e & 1n) r = r * b % m;
  return r;
}
function cognitoTimestamp(d) {
  const day = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][d.getUTCDay()];
  const month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][d.getUTCMonth()];
  const p = (n) => String(n).padStart(2, "0");
  return `${day} ${month} ${d.getUTCDate()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} UTC ${d.getUTCFullYear()}`;
}

async function srpSignIn(username, password) {
  const a = BigInt("0x" + bytesHex(crypto.getRandomValues(new Uint8Array(128))));
  const A = modPow(2n, a, SRP_N);
  const start = await cognito("InitiateAuth", {
    AuthFlow: "USER_SRP_AUTH", ClientId: auth.config.client_id, AuthParameters: { USERNAME: username, SRP_A: A.toString(16) },
  });
  const p = start.ChallengeParameters;
  const B = BigInt("0x" + p.SRP_B);
  if (B % SRP_N === 0n) throw new Error("sign-in failed (bad SRP_B)");
  const k = await hashHex(padHex(SRP_N) + padHex(2n));
  const u = await hashHex(padHex(A) + padHex(B));
  const pool = auth.config.user_pool_id.split("_")[1];
  const inner = bytesHex(await sha256(utf8(`${pool}${p.USER_ID_FOR_SRP}:${password}`)));
  const x = await hashHex(padHex(BigInt("0x" + p.SALT)) + inner);
  const base = ((B - k * modPow(2n, x, SRP_N)) % SRP_N + SRP_N) % SRP_N;
  const S = modPow(base, a + u * x, SRP_N);
  const prk = await hmac(hexBytes(padHex(u)), hexBytes(padHex(S)));
  const key = (await hmac(prk, concat(utf8("Caldera Derived Key"), [1]))).slice(0, 16);
  const timestamp = cognitoTimestamp(new Date());
  const block = Uint8Array.from(atob(p.SECRET_BLOCK), (c) => c.charCodeAt(0));
  const claim = await hmac(key, concat(utf8(pool), utf8(p.USER_ID_FOR_SRP), block, utf8(timestamp)));
  return cognito("RespondToAuthChallenge", {
    ChallengeName: "PASSWORD_VERIFIER", ClientId: auth.config.client_id, Session: start.Session,
    ChallengeResponses: {
      USERNAME: p.USER_ID_FOR_SRP, PASSWORD_CLAIM_SECRET_BLOCK: p.SECRET_BLOCK, TIMESTAMP: timestamp,
      PASSWORD_CLAIM_SIGNATURE: btoa(String.fromCharCode(...claim)),
    },
  });
}

// Shows the sign-in dialog until Cognito gives tokens, answering its
// challenges on the way: a new password at an invited user's first sign-in,
// enrolling an authenticator app (TOTP) when the pool requires MFA and the
// user has none, and the app's code at every sign-in after that.
function askToSignIn(message) {
  return new Promise((resolve) => {
    const d = $("signin-dialog");
    $("signin-error").textContent = message || "";
    let challenge = null; // { name, session, user }
    const show = (name) => {
      $("new-password-row").hidden = name !== "NEW_PASSWORD_REQUIRED";
      $("totp-setup").hidden = name !== "MFA_SETUP";
      $("totp-row").hidden = name !== "MFA_SETUP" && name !== "SOFTWARE_TOKEN_MFA";
    };
    show(null);
    const ClientId = auth.config.client_id;
    const answer = async (out, username) => {
      if (out.AuthenticationResult) return out;
      challenge = { name: out.ChallengeName, session: out.Session, user: (out.ChallengeParameters || {}).USER_ID_FOR_SRP || username };
      show(challenge.name);
      $("totp-code").value = "";
      if (challenge.name === "NEW_PASSWORD_REQUIRED") {
        $("signin-error").textContent = "Choose a new password.";
      } else if (challenge.name === "MFA_SETUP") {
        const assoc = await cognito("AssociateSoftwareToken", { Session: challenge.session });
        challenge.session = assoc.Session || challenge.session;
        const issuer = "TickerPulse";
        $("totp-secret").textContent = assoc.SecretCode;
        $("totp-uri").textContent = `otpauth://totp/${issuer}:${encodeURIComponent(username)}?secret=${assoc.SecretCode}&issuer=${issuer}`;
        $("signin-error").textContent = "Add this key to your authenticator app, then enter the code it shows.";
      } else if (challenge.name === "SOFTWARE_TOKEN_MFA") {
        $("signin-error").textContent = "Enter the code your authenticator app shows.";
      } else {
        throw new Error(`sign-in needs ${challenge.name}, which this page does not answer`);
      }
      return null;
    };
    $("signin-form").onsubmit = async (ev) => {
      ev.preventDefault();
      const username = $("username").value.trim();
      try {
        let out;
        const code = $("totp-code").value.trim();
        if (!challenge) {
          out = await srpSignIn(username, $("password").value);
        } else if (challenge.name === "NEW_PASSWORD_REQUIRED") {
          out = await cognito("RespondToAuthChallenge", {
            ChallengeName: "NEW_PASSWORD_REQUIRED", ClientId, Session: challenge.session,
            ChallengeResponses: { USERNAME: challenge.user, NEW_PASSWORD: $("new-password").value },
          });
        } else if (challenge.name === "MFA_SETUP") {
          const verified = await cognito("VerifySoftwareToken", { Session: challenge.session, UserCode: code, FriendlyDeviceName: "dashboard" });
          out = await cognito("RespondToAuthChallenge", {
            ChallengeName: "MFA_SETUP", ClientId, Session: verified.Session, ChallengeResponses: { USERNAME: challenge.user },
          });
        } else {
          out = await cognito("RespondToAuthChallenge", {
            ChallengeName: "SOFTWARE_TOKEN_MFA", ClientId, Session: challenge.session,
            ChallengeResponses: { USERNAME: challenge.user, SOFTWARE_TOKEN_MFA_CODE: code },
          });
        }
        if (!(out = await answer(out, username))) return;
        signedIn(out.AuthenticationResult);
        $("password").value = "";
        $("totp-code").value = "";
        $("totp-secret").textContent = "";
        $("totp-uri").textContent = "";
        d.close();
        resolve();
      } catch (e) {
        $("signin-error").textContent = e.message;
      }
    };
    if (!d.open) d.showModal();
  });
}

async function ensureSignedIn() {
  if (!auth.config) auth.config = await (await fetch("config.json")).json();
  if (auth.idToken && Date.now() < auth.expires - 60000) return;
  if (await refreshToken()) return;
  await askToSignIn();
}

async function whoAmI() {
  await ensureSignedIn();
  const r = await fetch("me", { headers: { Authorization: auth.idToken } });
  if (!r.ok) throw new Error(`me: ${r.status}`);
  auth.me = await r.json();
  auth.apiKey = auth.me.api_key;
  $("who").textContent = auth.me.username + (auth.me.can_write ? " (editor)" : "");
  $("alert-form").hidden = !auth.me.can_write;
}

// Sign-out revokes the refresh token at Cognito (RevokeToken), so a copy of
// it cannot resume the session; the page forgets its tokens either way.
$("signout").addEventListener("click", async () => {
  const token = sessionStorage.getItem(SESSION);
  sessionStorage.removeItem(SESSION);
  if (token && auth.config) {
    try {
      await cognito("RevokeToken", { Token: token, ClientId: auth.config.client_id });
    } catch (e) {
      console.warn(`sign-out: ${e.message}`);
    }
  }
  auth.idToken = null; auth.apiKey = null; auth.me = null;
  location.reload();
});

// Calls an endpoint as the signed-in user; signs in again when the gateway
// refuses the token (401).
async function api(path, params, init) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== "" && v !== null && v !== undefined) q.set(k, v);
  const url = path + (q.toString() ? "?" + q : "");
  for (let attempt = 0; attempt < 3; attempt++) {
    if (!auth.me) await whoAmI(); else await ensureSignedIn();
    const headers = { Authorization: auth.idToken, ...((init && init.headers) || {}) };
    if (auth.apiKey) headers["x-api-key"] = auth.apiKey;
    const r = await fetch(url, { ...(init || {}), headers });
    if (r.status === 401) {
      auth.idToken = null;
      if (!(await refreshToken())) await askToSignIn("Your session ended; sign in again.");
      continue;
    }
    if (r.status === 204) return null;
    const body = await r.json();
    if (!r.ok) throw new Error(`${url}: ${body.error || r.status}: ${body.message || ""}`);
    return body;
  }
  throw new Error(`${url}: the sign-in was refused`);
}

function status(text) { $("status").textContent = text; }

// Each view draws only its latest request's answer: when the user picks another
// ticker (or period) before the last answer came back, the late answer of the
// old choice is dropped instead of overwriting the new one.
const latest = {};
function request(view) {
  const n = (latest[view] = (latest[view] || 0) + 1);
  return () => latest[view] === n;
}

async function loadPeriods() {
  const current = request("periods");
  const { periods } = await api("periods", { level: state.level, limit: 200 });
  if (!current()) return;
  const sel = $("period");
  sel.replaceChildren(...periods.map((p) => el("option", { value: p.period }, `${p.period} (${fmt(p.tweets)})`)));
  state.period = periods.length ? periods[0].period : "";
  sel.value = state.period;
}

async function loadOverall() {
  const current = request("overall");
  const o = await api("overall", withSource({ level: state.level, period: state.period }));
  if (!current()) return;
  $("overall").querySelector('[data-testid="overall-tweets"]').textContent = fmt(o.tweets);
  for (const k of ["positive", "negative", "neutral"]) {
    document.querySelector(`[data-testid="overall-${k}"]`).textContent = fmt(o[k]);
    document.querySelector(`[data-testid="overall-${k}-ratio"]`).textContent = pct(o[k + "_ratio"]);
  }
  document.querySelector('[data-testid="overall-mentions"]').textContent = fmt(o.ticker_mentions);
  document.querySelector('[data-testid="overall-authors"]').textContent = fmt(o.unique_authors);
  shareBar($("overall").querySelector('[data-testid="overall-share"]'), o);
  const names = { x: "X", bluesky: "Bluesky", reddit: "Reddit" };
  document.querySelector('[data-testid="overall-sources"]').textContent =
    Object.keys(names).map((k) => `${names[k]} ${fmt((o.sources || {})[k] || 0)}`).join(" · ");
}

// The source selected in the header, as the `source` parameter (none for all).
function withSource(p) {
  const s = $("source").value;
  if (s && s !== "all") p.source = s;
  return p;
}

// A bar of the positive, neutral and negative shares of a set of counts.
function shareBar(bar, c) {
  bar.title = `${pct(c.positive_ratio)} positive, ${pct(c.negative_ratio)} negative, ${pct(c.neutral_ratio)} neutral`;
  for (const k of ["positive", "negative", "neutral"]) bar.dataset[k] = pct(c[k + "_ratio"]);
  bar.replaceChildren(
    el("span", { class: "positive", style: `width:${c.positive_ratio * 100}%` }),
    el("span", { class: "neutral", style: `width:${c.neutral_ratio * 100}%` }),
    el("span", { class: "negative", style: `width:${c.negative_ratio * 100}%` }));
  return bar;
}

// Places gained or lost since the window before.
function rankChange(t) {
  if (t.rank_change === null || t.rank_change === undefined) return "new";
  if (t.rank_change > 0) return "▲" + t.rank_change;
  if (t.rank_change < 0) return "▼" + -t.rank_change;
  return "=";
}

async function loadTrending() {
  const current = request("trending");
  const b = await api("trending", { window: $("trending-window").value, limit: 10 });
  if (!current()) return;
  document.querySelector('[data-testid="trending-anchor"]').textContent = b.anchor ? `to ${b.anchor.replace("T", " ").replace(":00:00Z", ":00 UTC")}` : "no data yet";
  const rows = b.tickers.map((t) => {
    const link = el("a", { href: "#trend", "data-ticker": t.ticker }, t.ticker);
    link.addEventListener("click", () => guard(() => selectTicker(t.ticker))());
    const change = rankChange(t);
    return el("tr", { "data-ticker": t.ticker },
      el("td", {}, t.rank), el("td", { title: t.name || "" }, link), el("td", { class: "num" }, fmt(t.mentions)),
      el("td", { class: "num" }, fmt(t.previous_mentions)), el("td", { class: "num" }, t.z_score.toFixed(2)),
      el("td", { class: change.startsWith("▲") ? "up" : change.startsWith("▼") ? "down" : "" }, change),
      el("td", {}, shareBar(el("div", { class: "bar" }), t)));
  });
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: 7, class: "muted" }, `no ticker has ${b.min_mentions} mentions in this window`)));
  document.querySelector('[data-testid="trending"] tbody').replaceChildren(...rows);
}

async function loadLeaders() {
  const current = request("leaderboard");
  const b = await api("leaderboard", withSource({ level: state.level, period: state.period, sort: $("sort").value, limit: $("top").value, min_mentions: $("min-mentions").value || 1 }));
  if (!current()) return null;
  const rows = b.tickers.map((t) => {
    const bar = el("div", { class: "bar", title: `${pct(t.positive_ratio)} positive, ${pct(t.negative_ratio)} negative, ${pct(t.neutral_ratio)} neutral` },
      el("span", { class: "positive", style: `width:${t.positive_ratio * 100}%` }),
      el("span", { class: "neutral", style: `width:${t.neutral_ratio * 100}%` }),
      el("span", { class: "negative", style: `width:${t.negative_ratio * 100}%` }));
    const link = el("a", { href: "#", "data-ticker": t.ticker }, t.ticker);
    link.addEventListener("click", (e) => { e.preventDefault(); guard(() => selectTicker(t.ticker))(); });
    return el("tr", { "data-ticker": t.ticker },
      el("td", {}, t.rank), el("td", { title: t.name || "" }, link), el("td", { class: "num" }, fmt(t.mentions)),
      el("td", {}, bar), el("td", { class: "num" }, pct(t.positive_ratio)),
      el("td", { class: "num" }, pct(t.negative_ratio)), el("td", { class: "num" }, pct(t.neutral_ratio)));
  });
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: 7, class: "muted", "data-testid": "leaderboard-empty" },
    $("source").value === "all" ? "no ticker in this period" : `no ${$("source").selectedOptions[0].textContent} posts name a ticker in this period`)));
  document.querySelector('[data-testid="leaderboard"] tbody').replaceChildren(...rows);
  return b.tickers;
}

function tweetItem(t) {
  return el("li", { class: t.label, "data-label": t.label, "data-tweet-id": t.tweet_id },
    el("span", { class: "meta" }, `${t.created_at.replace("T", " ").replace("Z", "")} ${t.author_username ? "@" + t.author_username : ""} · ${t.tickers.map((x) => "$" + x).join(" ")} · ${t.compound.toFixed(4)}`),
    el("span", { class: "text" }, t.text));
}

async function loadRecent(more) {
  const params = { ticker: $("recent-filter").value, limit: $("recent-count").value };
  if (more && state.recentPage) params.page = state.recentPage;
  const current = request("recent");
  const b = await api("tweets", params);
  if (!current()) return;
  const list = document.querySelector('[data-testid="recent-tweets"]');
  const items = b.tweets.map(tweetItem);
  if (more) list.append(...items); else list.replaceChildren(...items);
  state.recentPage = b.next_page;
  $("more").disabled = !b.next_page;
}

// A time as the API takes it: RFC 3339, UTC, seconds.
function iso(x) { return new Date(x * 1000).toISOString().replace(".000Z", "Z"); }

// The ticker's tweets: the latest, or those of the period clicked on the trend.
async function loadTickerTweets() {
  document.querySelector('[data-testid="ticker-tweets-title"]').textContent = state.ticker ? "$" + state.ticker : "–";
  const w = state.tweetsWindow;
  document.querySelector('[data-testid="ticker-tweets-window"]').textContent = w ? `from ${iso(w.from)} to ${iso(w.to)}` : "";
  $("ticker-tweets-latest").hidden = !w;
  const list = document.querySelector('[data-testid="ticker-tweets"]');
  const current = request("ticker-tweets");
  if (!state.ticker) { list.replaceChildren(); return; }
  const params = { ticker: state.ticker, limit: 10 };
  if (w) { params.from = iso(w.from); params.to = iso(w.to); params.limit = 100; }
  const b = await api("tweets", params);
  if (!current()) return;
  list.replaceChildren(...b.tweets.map(tweetItem));
}

// The start of the period after `x` (epoch seconds) at a granularity.
function nextPeriod(x, granularity) {
  const step = { "15min": 900, hour: 3600, day: 86400 }[granularity];
  if (step) return x + step;
  const d = new Date(x * 1000);
  const next = granularity === "year"
    ? Date.UTC(d.getUTCFullYear() + 1, 0, 1)
    : Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  return next / 1000;
}

// The chart's series with the periods that had no tweets put back: zero
// mentions, and no sentiment (a gap in the line, not a slope across it).
function withGaps(points, granularity) {
  const xs = [], mentions = [], compound = [], positive = [];
  const push = (x, m, c, p) => { xs.push(x); mentions.push(m); compound.push(c); positive.push(p); };
  points.forEach((p, i) => {
    const x = Date.parse(p.start) / 1000;
    if (i > 0) {
      const first = nextPeriod(xs[xs.length - 1], granularity);
      if (first < x) {
        push(first, 0, null, null);
        // The last empty period before this one, so mentions stay at zero across the gap.
        let last = first;
        while (nextPeriod(last, granularity) < x) last = nextPeriod(last, granularity);
        if (last > first) push(last, 0, null, null);
      }
    }
    push(x, p.mentions, p.mean_compound, p.positive_ratio);
  });
  return [xs, mentions, compound, positive];
}

// The trend's query: granularity, and the date range when one is set (the
// "to" day included).
function trendParams() {
  const p = withSource({ granularity: $("granularity").value, limit: 2000 });
  if ($("trend-from").value) p.from = $("trend-from").value + "T00:00:00Z";
  if ($("trend-to").value) p.to = $("trend-to").value + "T23:59:59Z";
  return p;
}

// Tweets per 15 minutes over the newest 1,000 quarter hours with data, the
// quarters without tweets drawn as zero.
async function loadTimeline() {
  const current = request("timeline");
  const b = await api("periods", { level: "15min", limit: 1000 });
  if (!current()) return;
  const points = b.periods.slice().reverse().map((p) => ({ start: p.start, mentions: p.tweets, mean_compound: null, positive_ratio: null }));
  const [xs, tweets] = withGaps(points, "15min");
  const box = $("timeline-chart");
  const total = b.periods.reduce((s, p) => s + p.tweets, 0);
  box.dataset.points = String(b.periods.length);
  box.dataset.tweets = String(total);
  document.querySelector('[data-testid="timeline-summary"]').textContent =
    b.periods.length ? `${fmt(total)} tweets, ${b.periods[b.periods.length - 1].start} to ${b.periods[0].start}` : "no data yet";
  if (state.timeline) state.timeline.destroy();
  box.replaceChildren();
  state.timeline = new uPlot({
    width: Math.max(320, box.clientWidth || 800), height: 160, scales: { x: { time: true } },
    series: [{}, { label: "tweets", stroke: "#5470c6", fill: "rgba(84,112,198,0.12)" }],
  }, [xs, tweets], box);
}

// The ticker's daily closes over the trend's span (day granularity only: the
// bars are daily). Never made up: a day without a bar has no close.
async function loadPrices(trend) {
  const note = document.querySelector('[data-testid="price-note"]');
  if (trend.granularity !== "day" || !trend.points.length) {
    note.textContent = trend.points.length ? "The close price shows at the day granularity." : "";
    return [];
  }
  const b = await api(`tickers/${encodeURIComponent(trend.ticker)}/prices`, {
    from: trend.points[0].start.slice(0, 10), to: trend.points[trend.points.length - 1].start.slice(0, 10),
  });
  note.textContent = b.available ? `Close of ${trend.ticker}: ${b.bars.length} trading days from the lake's prices/.` : b.message;
  return b.bars;
}

// The chart's series with a fifth, the close: trading days without tweets
// join the x axis with zero mentions and no sentiment.
function withCloses(data, bars) {
  const [xs, m, c, p] = data;
  const close = new Map(bars.map((b) => [Date.parse(b.date + "T00:00:00Z") / 1000, b.close]));
  const all = [...new Set([...xs, ...close.keys()])].sort((a, b) => a - b);
  const at = new Map(xs.map((x, i) => [x, i]));
  const pick = (s, x, none) => (at.has(x) ? s[at.get(x)] : none);
  return [all, all.map((x) => pick(m, x, 0)), all.map((x) => pick(c, x, null)), all.map((x) => pick(p, x, null)),
    all.map((x) => close.get(x) ?? null)];
}

async function loadCorrelation() {
  const current = request("correlation");
  const b = await api(`tickers/${encodeURIComponent(state.ticker)}/correlation`, {});
  if (!current()) return;
  const r = (f) => (f.r === null ? "–" : f.r.toFixed(3));
  const rows = [["mean compound", b.mean_compound], ["positive ratio", b.positive_ratio], ["mentions", b.mentions]].map(([name, f]) =>
    el("tr", { "data-figure": name }, el("td", {}, name), el("td", { class: "num" }, r(f)), el("td", { class: "num" }, f.n)));
  $("correlation").querySelector("tbody").replaceChildren(...rows);
  document.querySelector('[data-testid="correlation-sample"]').textContent = b.message ||
    `${b.tweet_days} days with at least ${b.min_mentions} mentions, ${b.price_days} trading days with a price`;
  document.querySelector('[data-testid="correlation-caveats"]').replaceChildren(...b.caveats.map((c) => el("li", {}, c)));
}

async function loadTrend() {
  const box = $("chart");
  const current = request("trend");
  if (!state.ticker) { box.replaceChildren(); return; }
  const b = await api(`tickers/${encodeURIComponent(state.ticker)}/trend`, trendParams());
  if (!current()) return;
  const data = withGaps(b.points, b.granularity);
  const prices = await loadPrices(b);
  if (!current()) return;
  const closes = withCloses(data, prices);
  const total = b.points.reduce((s, p) => s + p.mentions, 0);
  document.querySelector('[data-testid="trend-summary"]').textContent =
    `${b.points.length} ${b.granularity} points, ${fmt(total)} mentions of ${b.ticker}`;
  box.dataset.points = String(b.points.length);
  box.dataset.mentions = String(total);
  const opts = {
    width: Math.max(320, box.clientWidth || 800), height: 260,
    cursor: { drag: { x: true, y: false } },
    scales: { x: { time: true }, c: { range: [-1, 1] } },
    series: [{}, { label: "mentions", stroke: "#5470c6", fill: "rgba(84,112,198,0.12)", scale: "m" },
      { label: "mean compound", stroke: "#333", scale: "c" },
      { label: "positive ratio", stroke: "#2e7d32", scale: "c" },
      { label: "close", stroke: "#b45309", scale: "p", spanGaps: true }],
    axes: [{}, { scale: "m", label: "mentions" }, { scale: "c", side: 1, grid: { show: false }, label: "sentiment" },
      { scale: "p", side: 1, grid: { show: false }, label: "close" }],
  };
  if (state.chart) state.chart.destroy();
  box.replaceChildren();
  box.dataset.closes = String(closes[4].filter((v) => v !== null).length);
  state.chart = new uPlot(opts, closes, box);
  await loadCorrelation();
  // A click (not a drag) on a point lists that period's tweets below: the
  // period of the point nearest the click.
  const u = state.chart;
  // A drag (to zoom) ends in a click too: only a press and release in one place counts.
  let pressedAt = null;
  u.over.addEventListener("mousedown", (e) => { pressedAt = e.clientX; });
  u.over.addEventListener("click", (e) => {
    if (u.select.width > 0 || pressedAt === null || Math.abs(e.clientX - pressedAt) > 3) return;
    const t = u.posToVal(e.clientX - u.over.getBoundingClientRect().left, "x");
    const xs = u.data[0];
    let i = -1;
    xs.forEach((x, k) => { if (i < 0 || Math.abs(x - t) < Math.abs(xs[i] - t)) i = k; });
    if (i < 0) return;
    state.tweetsWindow = { from: xs[i], to: nextPeriod(xs[i], b.granularity) };
    guard(loadTickerTweets)();
  });
}

async function loadWords() {
  const current = request("words");
  const b = await api("words", { level: state.level, period: state.period, ticker: $("words-ticker").checked ? state.ticker : "", limit: 60 });
  if (!current()) return;
  const max = Math.max(1, ...b.words.map((w) => w.count));
  const words = b.words.slice().sort((a, c) => a.word.localeCompare(c.word)).map((w) =>
    el("span", { style: `font-size:${(0.8 + 2.2 * Math.sqrt(w.count / max)).toFixed(2)}em`, title: `${w.count}`, "data-count": w.count }, w.word));
  document.querySelector('[data-testid="word-cloud"]').replaceChildren(...words);
}

async function loadHashtags() {
  const current = request("hashtags");
  const b = await api("hashtags", { level: state.level, period: state.period, ticker: $("hashtags-ticker").checked ? state.ticker : "", limit: 15 });
  if (!current()) return;
  const max = Math.max(1, ...b.hashtags.map((h) => h.count));
  document.querySelector('[data-testid="hashtags"]').replaceChildren(
    ...b.hashtags.map((h) => el("li", { "data-count": h.count }, `#${h.hashtag} `,
      el("span", { class: "hbar", style: `width:${Math.round(160 * h.count / max)}px` }), el("span", { class: "muted" }, fmt(h.count)))));
}

async function loadRuns() {
  const b = await api("runs", { limit: 10 });
  document.querySelector('[data-testid="runs"] tbody').replaceChildren(...b.runs.map((r) =>
    el("tr", { class: r.status, "data-run-id": r.run_id }, el("td", {}, r.run_id), el("td", {}, r.status + (r.error ? `: ${r.error}` : "")),
      el("td", {}, r.started_at), el("td", { class: "num" }, fmt(r.rows_in)), el("td", { class: "num" }, fmt(r.partitions)),
      el("td", { class: "num" }, fmt(r.items_written)))));
}

async function loadTickers() {
  const { tickers } = await api("tickers");
  const opts = () => tickers.map((t) => el("option", { value: t.symbol }, t.symbol));
  $("ticker").replaceChildren(...opts());
  $("recent-filter").replaceChildren(el("option", { value: "" }, "all tickers"), ...opts());
  $("alert-ticker").replaceChildren(...opts(), el("option", { value: "*" }, "any ticker"));
}

async function selectTicker(t) {
  state.ticker = t;
  state.tweetsWindow = null;
  $("ticker").value = t;
  document.body.dataset.ticker = t;
  await Promise.all([loadTrend(), loadTickerTweets(), $("words-ticker").checked ? loadWords() : null,
    $("hashtags-ticker").checked ? loadHashtags() : null]);
}

// Everything that depends on the level and period.
async function refreshPeriod() {
  const [leaders] = await Promise.all([loadLeaders(), loadOverall(), loadWords(), loadHashtags()]);
  if (!state.ticker && leaders && leaders.length) await selectTicker(leaders[0].ticker);
  document.body.dataset.level = state.level;
  document.body.dataset.period = state.period;
}

// Every action runs through `guard`: `body[data-ready]` is "false" while any
// action is still loading (several can overlap: a click while the last one's
// requests are out), then "true" once all are done, or "error" when one of them
// failed (its message stays in the status line).
let pending = 0;
let failure = null;
function guard(f) {
  return async () => {
    if (pending++ === 0) failure = null;
    document.body.dataset.ready = "false";
    try { await f(); } catch (e) { failure = String(e.message || e); }
    if (--pending === 0) {
      status(failure || "");
      document.body.dataset.ready = failure ? "error" : "true";
    }
  };
}

async function loadAlerts() {
  const { rules } = await api("alerts");
  $("alerts").querySelector("tbody").replaceChildren(...rules.map((r) => {
    const del = el("button", { type: "button", "data-testid": "alert-delete" }, "Delete");
    del.hidden = !auth.me.can_write;
    del.addEventListener("click", guard(async () => { await api(`alerts/${r.id}`, {}, { method: "DELETE" }); await loadAlerts(); }));
    return el("tr", { "data-testid": "alert-rule" }, el("td", {}, r.ticker === "*" ? "any" : r.ticker), el("td", {}, r.metric), el("td", {}, r.op),
      el("td", { class: "num" }, r.threshold), el("td", {}, r.window), el("td", {}, del));
  }));
}

async function loadAlertHistory() {
  const { alerts } = await api("alert-history", { limit: 20 });
  document.querySelector('[data-testid="alert-history"] tbody').replaceChildren(...alerts.map((a) =>
    el("tr", { "data-alert-id": a.alert_id }, el("td", {}, a.anchor), el("td", {}, a.ticker),
      el("td", {}, `${a.metric} ${a.op} ${a.threshold} over ${a.window}`), el("td", { class: "num" }, a.value), el("td", { class: "num" }, fmt(a.mentions)))));
}

$("alert-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  guard(async () => {
    await api("alerts", {}, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        ticker: $("alert-ticker").value, metric: $("alert-metric").value, op: $("alert-op").value, threshold: Number($("alert-threshold").value),
        window: $("alert-window").value, cooldown_hours: Number($("alert-cooldown").value),
      }),
    });
    await loadAlerts();
  })();
});

const refresh = guard(async () => {
  status("loading…");
  await whoAmI();
  if (!$("ticker").options.length) await loadTickers();
  await loadPeriods();
  await Promise.all([refreshPeriod(), loadTrending(), loadTimeline(), loadRecent(false), loadRuns(), loadAlerts(), loadAlertHistory(),
    state.ticker ? selectTicker(state.ticker) : null]);
});

$("level").addEventListener("change", guard(async () => { state.level = $("level").value; await loadPeriods(); await refreshPeriod(); }));
$("period").addEventListener("change", guard(async () => { state.period = $("period").value; await refreshPeriod(); }));
$("top").addEventListener("change", guard(loadLeaders));
$("source").addEventListener("change", guard(async () => { document.body.dataset.source = $("source").value; await Promise.all([refreshPeriod(), loadTrend()]); }));
$("min-mentions").addEventListener("change", guard(loadLeaders));
$("trending-window").addEventListener("change", guard(loadTrending));
$("recent-count").addEventListener("change", guard(() => loadRecent(false)));
$("trend-from").addEventListener("change", guard(loadTrend));
$("trend-to").addEventListener("change", guard(loadTrend));
$("refresh").addEventListener("click", () => refresh());
$("sort").addEventListener("change", guard(loadLeaders));
$("ticker").addEventListener("change", guard(() => selectTicker($("ticker").value)));
$("granularity").addEventListener("change", guard(loadTrend));
$("words-ticker").addEventListener("change", guard(loadWords));
$("hashtags-ticker").addEventListener("change", guard(loadHashtags));
$("recent-filter").addEventListener("change", guard(() => loadRecent(false)));
$("ticker-tweets-latest").addEventListener("click", guard(() => { state.tweetsWindow = null; return loadTickerTweets(); }));
$("more").addEventListener("click", guard(() => loadRecent(true)));
window.addEventListener("resize", () => {
  if (state.chart) state.chart.setSize({ width: $("chart").clientWidth, height: 260 });
  if (state.timeline) state.timeline.setSize({ width: $("timeline-chart").clientWidth, height: 160 });
});

refresh();
