// The dashboard in Debian's headless Chromium, driven by playwright-core:
// loads the page from `tickerpulse serve`, signs in to the local user pool
// (moto's Cognito, made strict: SRP, TOTP) through the page's own sign-in
// dialog (enrolling an authenticator app, signing out and in again), keeps nothing in
// localStorage, refreshes the token, adds and deletes an alert rule,
// checks every view's figures against the API's answers, changes the detail
// level, the ticker, the leaderboard's size and order, zooms the trend chart,
// and saves a screenshot.
//
// usage: node tests/browser/dashboard.mjs BASE_URL USER PASSWORD TOTP_KEY NEWCOMER NEWCOMER_PASSWORD SCREENSHOT.png
// (USER has enrolled the TOTP key; NEWCOMER is invited and enrols in the page)
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";

const [base, user, password, userKey, newcomer, newcomerPassword, screenshot] = process.argv.slice(2);
if (!base || !user || !password || !userKey || !newcomer || !newcomerPassword || !screenshot) {
  console.error("usage: dashboard.mjs BASE_URL USER PASSWORD TOTP_KEY NEWCOMER NEWCOMER_PASSWORD SCREENSHOT.png");
  process.exit(2);
}

// Cognito as the checks call it (config.json names the pool).
const config = await (await fetch(`${base}v1/config.json`)).json();
async function cognito(target, body) {
  const r = await fetch(config.cognito_url, {
    method: "POST",
    headers: { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": `AWSCognitoIdentityProviderService.${target}` },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: await r.json().catch(() => ({})) };
}
// The code an authenticator app shows for a base32 secret (RFC 6238: HMAC-SHA1,
// 30 s steps, 6 digits), and one that is not it.
function totp(secret, t = Date.now()) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const bits = [...secret.replace(/=+$/, "").toUpperCase()].map((c) => alphabet.indexOf(c).toString(2).padStart(5, "0")).join("");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(t / 30000)));
  const h = createHmac("sha1", key).update(counter).digest();
  const off = h[h.length - 1] & 15;
  return String((h.readUInt32BE(off) & 0x7fffffff) % 1000000).padStart(6, "0");
}
const notTheCode = (code) => String((Number(code) + 500000) % 1000000).padStart(6, "0");

// The password alone is not a way in: the public client allows SRP only.
const plain = await cognito("InitiateAuth", { AuthFlow: "USER_PASSWORD_AUTH", ClientId: config.client_id, AuthParameters: { USERNAME: user, PASSWORD: password } });
assert.equal(plain.status, 400, JSON.stringify(plain.body));
assert.match(plain.body.message, /USER_PASSWORD_AUTH flow not enabled for this client/);

// The checks' own session: the page's, once it has signed in.
let token = null;
let key = null;
async function api(path, params = {}) {
  const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v != null));
  const headers = { Authorization: token };
  if (key) headers["x-api-key"] = key;
  const r = await fetch(`${base}v1/${path}?${q}`, { headers });
  assert.equal(r.status, 200, `${path}?${q}: ${r.status}`);
  return r.json();
}
const fmt = (n) => Number(n).toLocaleString("en-US");
const pct = (r) => (r * 100).toFixed(1) + "%";

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--disable-quic", "--disable-sync"],
});
const errors = [];
let checks = 0;
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 2000 } });
  page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error" && !/status of 40[0-3]/.test(m.text())) errors.push(`console: ${m.text()}`); });
  const ready = () => page.waitForFunction(() => document.body.dataset.ready === "true", null, { timeout: 30000 });
  const texts = (sel) => page.$$eval(sel, (els) => els.map((e) => e.textContent.trim()));
  const attrs = (sel, a) => page.$$eval(sel, (els, a) => els.map((e) => e.getAttribute(a)), a);
  const text = (testid) => page.textContent(`[data-testid="${testid}"]`);

  // The ticker's trend and tweets answer late, as over a slow link, so a check
  // that runs before the page has drawn them (an action that does not hold
  // `data-ready` while it loads) fails every time; `slowTicker`'s answers come
  // later still, so a late answer drawn over a newer choice shows too.
  let slowTicker = null;
  const tickerRequest = (url) => url.pathname.includes("/trend") ||
    (url.pathname.endsWith("/tweets") && url.searchParams.has("ticker"));
  await page.route(tickerRequest, async (route) => {
    const url = new URL(route.request().url());
    const slow = slowTicker && (url.pathname.includes(`/tickers/${slowTicker}/`) || url.searchParams.get("ticker") === slowTicker);
    await new Promise((resolve) => setTimeout(resolve, slow ? 1500 : 250));
    await route.continue();
  });

  // The data endpoints need the key: the page asks for it.
  // Opened at the stage without its trailing slash, as a user pastes it: the
  // page must land at `.../v1/`, where its relative links stay in the stage.
  await page.goto(`${base}v1`);
  assert.ok(new URL(page.url()).pathname === "/v1/", `redirected to the stage's slash, at ${page.url()}`);
  // Without a session the page asks to sign in; a wrong password is refused
  // with Cognito's message, the right one lets the page load.
  const cognitoCalls = [];
  page.on("request", (r) => {
    const target = r.headers()["x-amz-target"];
    if (target) cognitoCalls.push(`${target.split(".").pop()}:${JSON.parse(r.postData() || "{}").AuthFlow || ""}`);
  });
  // A newcomer's first sign-in: a wrong password refused, then the password
  // and an authenticator enrolled (the page shows the key; a wrong code is
  // refused, the app's code, computed here, signs in).
  await page.waitForSelector("#signin-dialog[open]", { timeout: 15000 });
  await page.fill('[data-testid="username"]', newcomer);
  await page.fill('[data-testid="password"]', "Wrong-password-9");
  await page.click('[data-testid="signin"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="signin-error"]').textContent.length > 0);
  assert.match(await text("signin-error"), /Incorrect username or password/);
  await page.fill('[data-testid="password"]', newcomerPassword);
  await page.click('[data-testid="signin"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="totp-secret"]').textContent.length > 0);
  const secret = await text("totp-secret");
  assert.match(secret, /^[A-Z2-7]{32,}$/);
  assert.notEqual(secret, userKey, "each user's own key");
  assert.match(await text("totp-uri"), new RegExp(`^otpauth://totp/TickerPulse:${newcomer}\\?secret=${secret}&issuer=TickerPulse$`));
  await page.fill('[data-testid="totp-code"]', notTheCode(totp(secret)));
  await page.click('[data-testid="signin"]');
  await page.waitForFunction(() => /mismatch/i.test(document.querySelector('[data-testid="signin-error"]').textContent));
  await page.fill('[data-testid="totp-code"]', totp(secret));
  await page.click('[data-testid="signin"]');
  await ready();
  assert.equal(await text("who"), newcomer);
  checks++;

  // Sign-out revokes the refresh token: a copy of it no longer signs in.
  const refreshToken = await page.evaluate(() => sessionStorage.getItem("tickerpulse-refresh"));
  await page.click('[data-testid="signout"]');
  await page.waitForSelector("#signin-dialog[open]", { timeout: 15000 });
  assert.ok(cognitoCalls.includes("RevokeToken:"), cognitoCalls.join(" "));
  const resumed = await cognito("InitiateAuth", { AuthFlow: "REFRESH_TOKEN_AUTH", ClientId: config.client_id, AuthParameters: { REFRESH_TOKEN: refreshToken } });
  assert.equal(resumed.status, 400, JSON.stringify(resumed.body));
  assert.equal(resumed.body.__type, "NotAuthorizedException");
  checks++;

  // An enrolled user is asked for their app's code (no second enrolment); a
  // wrong code is refused.
  await page.fill('[data-testid="username"]', user);
  await page.fill('[data-testid="password"]', password);
  await page.click('[data-testid="signin"]');
  await page.waitForFunction(() => !document.querySelector("#totp-row").hidden);
  assert.equal(await page.evaluate(() => document.querySelector("#totp-setup").hidden), true, "no second enrolment");
  await page.fill('[data-testid="totp-code"]', notTheCode(totp(userKey)));
  await page.click('[data-testid="signin"]');
  await page.waitForFunction(() => /invalid code/i.test(document.querySelector('[data-testid="signin-error"]').textContent));
  await page.fill('[data-testid="totp-code"]', totp(userKey));
  await page.click('[data-testid="signin"]');
  await ready();
  assert.equal(await text("who"), `${user} (editor)`);
  token = await page.evaluate(() => auth.idToken);
  key = (await (await fetch(`${base}v1/me`, { headers: { Authorization: token } })).json()).api_key;
  // Nothing in localStorage; the refresh token only in this tab's sessionStorage.
  assert.equal(await page.evaluate(() => localStorage.length), 0, "nothing in localStorage");
  assert.deepEqual(await page.evaluate(() => Object.keys(sessionStorage)), ["tickerpulse-refresh"]);
  checks++;

  // A reload in the same tab signs in with the refresh token, without asking.
  await page.reload();
  await ready();
  assert.equal(await page.evaluate(() => document.querySelector("#signin-dialog").open), false);
  assert.ok(cognitoCalls.includes("InitiateAuth:REFRESH_TOKEN_AUTH"), cognitoCalls.join(" "));
  // A token about to expire is refreshed before the next request.
  const refreshes = () => cognitoCalls.filter((c) => c.endsWith("REFRESH_TOKEN_AUTH")).length;
  const before = refreshes();
  await page.evaluate(() => { auth.expires = Date.now() + 30000; });
  await page.selectOption('[data-testid="sort"]', "mentions");
  await ready();
  assert.equal(refreshes(), before + 1, "one refresh before the token expires");
  checks++;

  // Alert rules: the editor adds one through the form and deletes it.
  await page.selectOption('[data-testid="alert-ticker"]', { index: 0 });
  await page.fill('[data-testid="alert-threshold"]', "-0.25");
  await page.click('[data-testid="alert-add"]');
  await page.waitForSelector('[data-testid="alert-rule"]');
  const rules = await api("alerts");
  assert.equal(rules.rules.length, 1);
  assert.equal(rules.rules[0].threshold, -0.25);
  await page.click('[data-testid="alert-delete"]');
  await page.waitForFunction(() => !document.querySelector('[data-testid="alert-rule"]'));
  assert.equal((await api("alerts")).rules.length, 0);
  checks++;

  async function checkPeriodViews(level) {
    const periods = await api("periods", { level, limit: 200 });
    const period = periods.periods[0].period;
    assert.equal(await page.inputValue('[data-testid="period"]'), period, "the newest period is selected");
    assert.deepEqual(await attrs('[data-testid="period"] option', "value"), periods.periods.map((p) => p.period));
    const o = await api("overall", { level, period });
    assert.equal(await text("overall-tweets"), fmt(o.tweets));
    for (const k of ["positive", "negative", "neutral"]) {
      assert.equal(await text(`overall-${k}`), fmt(o[k]), k);
      assert.equal(await text(`overall-${k}-ratio`), pct(o[`${k}_ratio`]), `${k} ratio`);
    }
    assert.equal(await text("overall-mentions"), fmt(o.ticker_mentions));
    assert.equal(await text("overall-authors"), fmt(o.unique_authors));
    assert.equal(await text("overall-sources"), `X ${fmt(o.sources.x)} · Bluesky ${fmt(o.sources.bluesky)} · Reddit ${fmt(o.sources.reddit)}`);
    // The period's sentiment share, as a bar.
    const share = page.locator('[data-testid="overall-share"]');
    for (const k of ["positive", "negative", "neutral"]) assert.equal(await share.getAttribute(`data-${k}`), pct(o[`${k}_ratio`]), `${k} share`);
    const top = await page.inputValue('[data-testid="top"]');
    const sort = await page.inputValue('[data-testid="sort"]');
    const minMentions = await page.inputValue('[data-testid="min-mentions"]');
    const board = await api("leaderboard", { level, period, sort, limit: top, min_mentions: minMentions });
    const rows = await page.$$eval('[data-testid="leaderboard"] tbody tr[data-ticker]', (trs) =>
      trs.map((tr) => [...tr.children].map((td) => td.textContent.trim())));
    assert.deepEqual(rows, board.tickers.map((t) =>
      [String(t.rank), t.ticker, fmt(t.mentions), "", pct(t.positive_ratio), pct(t.negative_ratio), pct(t.neutral_ratio)]));
    const words = await api("words", { level, period, limit: 60 });
    assert.deepEqual((await texts('[data-testid="word-cloud"] span')).sort(), words.words.map((w) => w.word).sort());
    const tags = await api("hashtags", { level, period, limit: 15 });
    assert.deepEqual(await attrs('[data-testid="hashtags"] li', "data-count"), tags.hashtags.map((h) => String(h.count)));
    assert.deepEqual((await texts('[data-testid="hashtags"] li')).map((t) => t.split(" ")[0]), tags.hashtags.map((h) => "#" + h.hashtag));
    checks += 7;
    return board;
  }

  // The close beside the daily trend, and the correlation panel: what the API says.
  async function checkPrices(ticker) {
    assert.equal(await page.inputValue('[data-testid="granularity"]'), "day");
    const trend = await api(`tickers/${ticker}/trend`, { granularity: "day", limit: 2000 });
    const span = { from: trend.points[0].start.slice(0, 10), to: trend.points[trend.points.length - 1].start.slice(0, 10) };
    const prices = await api(`tickers/${ticker}/prices`, span);
    assert.equal(await page.locator('[data-testid="chart"]').getAttribute("data-closes"), String(prices.bars.length), `${ticker} closes`);
    const closes = await page.evaluate(() => Array.from(state.chart.data[4]).filter((v) => v !== null));
    assert.deepEqual(closes, prices.bars.map((b) => b.close), "the closes drawn are the API's");
    const note = await text("price-note");
    if (prices.available) assert.match(note, new RegExp(`${prices.bars.length} trading days`));
    else assert.equal(note, prices.message);
    const corr = await api(`tickers/${ticker}/correlation`);
    const rows = await page.$$eval('[data-testid="correlation"] tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent.trim())));
    const r = (f) => (f.r === null ? "–" : f.r.toFixed(3));
    assert.deepEqual(rows, [["mean compound", r(corr.mean_compound), String(corr.mean_compound.n)],
      ["positive ratio", r(corr.positive_ratio), String(corr.positive_ratio.n)], ["mentions", r(corr.mentions), String(corr.mentions.n)]]);
    assert.equal((await texts('[data-testid="correlation-caveats"] li')).length, corr.caveats.length);
    checks++;
    return prices;
  }

  // Trending: the page's table is the API's ranking for the chosen window.
  async function checkTrending(window) {
    const t = await api("trending", { window, limit: 10 });
    assert.ok(t.anchor, "the pipeline ranked something");
    const rows = await page.$$eval('[data-testid="trending"] tbody tr[data-ticker]', (trs) =>
      trs.map((tr) => [...tr.children].slice(0, 6).map((td) => td.textContent.trim())));
    const change = (x) => x.rank_change === null ? "new" : x.rank_change > 0 ? "▲" + x.rank_change : x.rank_change < 0 ? "▼" + -x.rank_change : "=";
    assert.deepEqual(rows, t.tickers.map((x) =>
      [String(x.rank), x.ticker, fmt(x.mentions), fmt(x.previous_mentions), x.z_score.toFixed(2), change(x)]), `trending ${window}`);
    for (let i = 1; i < t.tickers.length; i++) assert.ok(t.tickers[i - 1].z_score >= t.tickers[i].z_score, "ranked by z-score");
    checks++;
    return t;
  }

  async function checkTicker(ticker) {
    assert.equal(await page.inputValue('[data-testid="ticker"]'), ticker);
    const granularity = await page.inputValue('[data-testid="granularity"]');
    const trend = await api(`tickers/${ticker}/trend`, { granularity, limit: 2000 });
    const chart = page.locator('[data-testid="chart"]');
    assert.equal(await chart.getAttribute("data-points"), String(trend.points.length));
    assert.equal(await chart.getAttribute("data-mentions"), String(trend.points.reduce((s, p) => s + p.mentions, 0)));
    assert.equal(await page.locator('[data-testid="chart"] canvas').count(), 1, "uPlot drew the chart");
    // Periods without tweets: zero mentions and no sentiment, never a line drawn across them.
    const [xs, mentions, compound, positive] = await page.evaluate(() => state.chart.data.map((s) => Array.from(s)));
    const real = new Map(trend.points.map((p) => [Date.parse(p.start) / 1000, p]));
    assert.equal(xs.filter((x) => real.has(x)).length, trend.points.length, "every point drawn");
    for (let i = 0; i < xs.length; i++) {
      const p = real.get(xs[i]);
      if (p) {
        assert.equal(mentions[i], p.mentions);
      } else {
        assert.equal(mentions[i], 0, `an empty period has no mentions at ${xs[i]}`);
        assert.ok(compound[i] === null && positive[i] === null, "and no sentiment");
      }
      if (i > 0) assert.ok(xs[i] > xs[i - 1], "time moves forward");
    }
    const tweets = await api("tweets", { ticker, limit: 10 });
    assert.equal(await text("ticker-tweets-title"), "$" + ticker);
    assert.deepEqual(await attrs('[data-testid="ticker-tweets"] li', "data-tweet-id"), tweets.tweets.map((t) => t.tweet_id));
    assert.deepEqual(await attrs('[data-testid="ticker-tweets"] li', "class"), tweets.tweets.map((t) => t.label));
    checks += 4;
    return trend;
  }

  // The first view: the newest day.
  const board = await checkPeriodViews("day");
  const first = board.tickers[0].ticker;
  await checkTicker(first);

  // One source at a time: the totals, the top tickers and the trend count
  // that source's posts (the demo sends a tenth of its tweets each through
  // the fake Bluesky and Reddit).
  const perSource = {};
  for (const source of ["bluesky", "reddit", "x"]) {
    await page.selectOption('[data-testid="source"]', source);
    await ready();
    const period = await page.inputValue('[data-testid="period"]');
    const o = await api("overall", { level: "day", period, source });
    assert.equal(await text("overall-tweets"), fmt(o.tweets), `${source} tweets`);
    const b = await api("leaderboard", { level: "day", period, source, sort: await page.inputValue('[data-testid="sort"]'),
      limit: await page.inputValue('[data-testid="top"]'), min_mentions: await page.inputValue('[data-testid="min-mentions"]') });
    const shown = await page.$$eval('[data-testid="leaderboard"] tbody tr td:nth-child(2)', (tds) => tds.map((td) => td.textContent.trim()));
    assert.deepEqual(shown, b.tickers.map((t) => t.ticker), `${source} leaders`);
    if (!b.tickers.length) assert.match(await text("leaderboard-empty"), /no .* posts name a ticker/);
    perSource[source] = o.tweets;
    checks++;
  }
  await page.selectOption('[data-testid="source"]', "all");
  await ready();
  const all = await api("overall", { level: "day", period: await page.inputValue('[data-testid="period"]') });
  assert.equal(perSource.x + perSource.bluesky + perSource.reddit, all.tweets, "the sources add up to all posts");
  assert.deepEqual(all.sources, { x: perSource.x, bluesky: perSource.bluesky, reddit: perSource.reddit });
  assert.equal(await text("overall-tweets"), fmt(all.tweets));

  // Trending now, over each window.
  const day = await checkTrending("24h");
  assert.ok(day.tickers.length > 0, "tickers trend over the newest 24 hours");
  await page.selectOption('[data-testid="trending-window"]', "7d");
  await ready();
  await checkTrending("7d");
  await page.selectOption('[data-testid="trending-window"]', "1h");
  await ready();
  await checkTrending("1h");

  // The timeline of all tweets per 15 minutes.
  {
    const quarters = await api("periods", { level: "15min", limit: 1000 });
    const box = page.locator('[data-testid="timeline"]');
    assert.equal(await box.getAttribute("data-points"), String(quarters.periods.length));
    assert.equal(await box.getAttribute("data-tweets"), String(quarters.periods.reduce((s, p) => s + p.tweets, 0)));
    assert.equal(await page.locator('[data-testid="timeline"] canvas').count(), 1, "uPlot drew the timeline");
    const [xs, counts] = await page.evaluate(() => state.timeline.data.map((s) => Array.from(s)));
    const real = new Map(quarters.periods.map((p) => [Date.parse(p.start) / 1000, p.tweets]));
    for (let i = 0; i < xs.length; i++) assert.equal(counts[i], real.get(xs[i]) ?? 0, `quarter ${xs[i]}`);
    checks++;
  }

  // The alerts that fired (the test fired some before the page loaded).
  {
    const fired = await api("alert-history", { limit: 20 });
    assert.ok(fired.alerts.length > 0, "alerts fired");
    assert.deepEqual(await attrs('[data-testid="alert-history"] tbody tr', "data-alert-id"), fired.alerts.map((a) => a.alert_id));
    checks++;
  }

  // The section index links every section, and the refresh button loads again.
  {
    const hrefs = await attrs('[data-testid="section-index"] a', "href");
    for (const h of hrefs) assert.equal(await page.locator(h).count(), 1, `${h} exists`);
    const calls = [];
    const seen = (r) => { if (r.url().includes("/v1/trending")) calls.push(r.url()); };
    page.on("request", seen);
    await page.click('[data-testid="refresh"]');
    await ready();
    page.off("request", seen);
    assert.equal(calls.length, 1, "refresh loads the views again");
    checks++;
  }

  // A click on a period of the trend lists that period's tweets (the newest
  // day: the recent-tweets table keeps the latest days, and days are far
  // enough apart on the chart to click one).
  {
    await page.selectOption('[data-testid="granularity"]', "day");
    await ready();
    const days = await api(`tickers/${first}/trend`, { granularity: "day", limit: 2000 });
    const newest = days.points[days.points.length - 1];
    const x = Date.parse(newest.start) / 1000;
    const [px, py] = await page.evaluate((x) => {
      const r = state.chart.over.getBoundingClientRect();
      // On the point, kept inside the plot (the newest point is its right edge).
      return [r.left + Math.min(state.chart.valToPos(x, "x"), r.width - 2), r.top + r.height / 2];
    }, x);
    await page.mouse.click(px, py);
    await ready();
    const next = await page.evaluate((x) => nextPeriod(x, document.querySelector('[data-testid="granularity"]').value), x);
    const iso = (t) => new Date(t * 1000).toISOString().replace(".000Z", "Z");
    const period = await api("tweets", { ticker: first, from: iso(x), to: iso(next), limit: 100 });
    assert.ok(period.tweets.length > 0, "the newest period has tweets");
    assert.ok(period.tweets.length <= newest.mentions, "no more than its mentions");
    assert.deepEqual(await attrs('[data-testid="ticker-tweets"] li', "data-tweet-id"), period.tweets.map((t) => t.tweet_id));
    assert.equal(await text("ticker-tweets-window"), `from ${iso(x)} to ${iso(next)}`);
    await page.click('[data-testid="ticker-tweets-latest"]');
    await ready();
    const latest = await api("tweets", { ticker: first, limit: 10 });
    assert.deepEqual(await attrs('[data-testid="ticker-tweets"] li', "data-tweet-id"), latest.tweets.map((t) => t.tweet_id));
    assert.equal(await text("ticker-tweets-window"), "");
    checks += 4;
    await page.selectOption('[data-testid="granularity"]', "hour");
    await ready();
  }

  // A year at a time, and a date range on the trend.
  {
    await page.selectOption('[data-testid="granularity"]', "year");
    await ready();
    await checkTicker(first);
    await page.selectOption('[data-testid="granularity"]', "day");
    await ready();
    const days = await api(`tickers/${first}/trend`, { granularity: "day", limit: 2000 });
    const mid = days.points[Math.floor(days.points.length / 2)].start.slice(0, 10);
    await page.fill('[data-testid="trend-from"]', mid);
    await page.dispatchEvent('[data-testid="trend-from"]', "change");
    await ready();
    const ranged = await api(`tickers/${first}/trend`, { granularity: "day", limit: 2000, from: mid + "T00:00:00Z" });
    assert.ok(ranged.points.length < days.points.length, "the range leaves days out");
    assert.equal(await page.locator('[data-testid="chart"]').getAttribute("data-points"), String(ranged.points.length));
    await page.fill('[data-testid="trend-from"]', "");
    await page.dispatchEvent('[data-testid="trend-from"]', "change");
    await ready();
    const priced = await checkPrices(first);
    assert.ok(priced.available, `the demo has ${first}'s prices`);
    await page.selectOption('[data-testid="granularity"]', "hour");
    await ready();
    checks += 2;
  }

  // Recent tweets, coloured by sentiment, paged, filtered by ticker.
  const recent = await api("tweets", { limit: 20 });
  assert.deepEqual(await attrs('[data-testid="recent-tweets"] li', "data-tweet-id"), recent.tweets.map((t) => t.tweet_id));
  assert.deepEqual(await attrs('[data-testid="recent-tweets"] li', "class"), recent.tweets.map((t) => t.label));
  const colours = await page.$$eval('[data-testid="recent-tweets"] li', (lis) =>
    Object.fromEntries(lis.map((li) => [li.className, getComputedStyle(li).borderLeftColor])));
  if (colours.positive && colours.negative) assert.notEqual(colours.positive, colours.negative, "sentiment colours differ");
  await page.click('[data-testid="more"]');
  await ready();
  const page2 = await api("tweets", { limit: 20, page: recent.next_page });
  assert.deepEqual(await attrs('[data-testid="recent-tweets"] li', "data-tweet-id"),
    [...recent.tweets, ...page2.tweets].map((t) => t.tweet_id));
  await page.selectOption('[data-testid="recent-filter"]', first);
  await ready();
  const filtered = await api("tweets", { ticker: first, limit: 20 });
  assert.deepEqual(await attrs('[data-testid="recent-tweets"] li', "data-tweet-id"), filtered.tweets.map((t) => t.tweet_id));
  // How many to show.
  await page.selectOption('[data-testid="recent-filter"]', "");
  await page.selectOption('[data-testid="recent-count"]', "50");
  await ready();
  const fifty = await api("tweets", { limit: 50 });
  assert.ok(fifty.tweets.length > 20, "more than a page of 20");
  assert.deepEqual(await attrs('[data-testid="recent-tweets"] li', "data-tweet-id"), fifty.tweets.map((t) => t.tweet_id));
  checks += 4;

  // Pipeline runs.
  const runs = await api("runs", { limit: 10 });
  assert.deepEqual(await attrs('[data-testid="runs"] tbody tr', "data-run-id"), runs.runs.map((r) => r.run_id));
  checks++;

  // The leaderboard's size and order.
  await page.selectOption('[data-testid="top"]', "15");
  await ready();
  await page.selectOption('[data-testid="sort"]', "negative");
  await ready();
  await checkPeriodViews("day");
  // A ratio sort with a floor of mentions, so one tweet is no leader.
  await page.fill('[data-testid="min-mentions"]', "10");
  await page.dispatchEvent('[data-testid="min-mentions"]', "change");
  await ready();
  const floored = await checkPeriodViews("day");
  assert.ok(floored.tickers.every((t) => t.mentions >= 10), "min_mentions applied");
  await page.fill('[data-testid="min-mentions"]', "1");
  await page.dispatchEvent('[data-testid="min-mentions"]', "change");
  await ready();
  await page.selectOption('[data-testid="top"]', "3");
  await ready();
  assert.ok((await page.locator('[data-testid="leaderboard"] tbody tr').count()) <= 3);

  // Another detail level: the month.
  await page.selectOption('[data-testid="level"]', "month");
  await ready();
  await page.selectOption('[data-testid="sort"]', "mentions");
  await ready();
  const monthBoard = await checkPeriodViews("month");
  assert.equal(await page.evaluate(() => document.body.dataset.level), "month");

  // Another ticker, by clicking it in the leaderboard, then by the selector, at
  // another granularity.
  const second = monthBoard.tickers.find((t) => t.ticker !== first).ticker;
  await page.click(`[data-testid="leaderboard"] a[data-ticker="${second}"]`);
  await ready();
  await checkTicker(second);
  await page.selectOption('[data-testid="granularity"]', "day");
  await ready();
  const trend = await checkTicker(second);
  await checkPrices(second);
  await page.selectOption('[data-testid="ticker"]', first);
  await ready();
  await checkTicker(first);
  // Two tickers picked in quick succession: the first pick's answers come back
  // last and must not be drawn over the second's.
  slowTicker = second;
  await page.selectOption('[data-testid="ticker"]', second);
  await page.selectOption('[data-testid="ticker"]', first);
  await ready();
  await checkTicker(first);
  slowTicker = null;
  // Words of the selected ticker only.
  await page.check('[data-testid="words-ticker"]');
  await ready();
  const period = await page.inputValue('[data-testid="period"]');
  const tickerWords = await api("words", { level: "month", period, ticker: first, limit: 60 });
  assert.deepEqual((await texts('[data-testid="word-cloud"] span')).sort(), tickerWords.words.map((w) => w.word).sort());
  checks++;
  // Hashtags of the selected ticker only.
  await page.check('[data-testid="hashtags-ticker"]');
  await ready();
  const tickerTags = await api("hashtags", { level: "month", period, ticker: first, limit: 15 });
  assert.ok(tickerTags.hashtags.length > 0, `${first} has hashtags this month`);
  assert.deepEqual(await attrs('[data-testid="hashtags"] li', "data-count"), tickerTags.hashtags.map((h) => String(h.count)));
  assert.deepEqual((await texts('[data-testid="hashtags"] li')).map((t) => t.split(" ")[0]), tickerTags.hashtags.map((h) => "#" + h.hashtag));
  const monthTags = await api("hashtags", { level: "month", period, limit: 15 });
  assert.notDeepEqual(tickerTags.hashtags, monthTags.hashtags, "a ticker's hashtags are its own");
  await page.uncheck('[data-testid="hashtags-ticker"]');
  await ready();
  checks++;

  // Zoom: a drag across the chart narrows its x scale; a double-click resets it.
  if (trend.points.length > 2) {
    const box = await page.locator('[data-testid="chart"] .u-over').boundingBox();
    const before = await page.evaluate(() => [state.chart.scales.x.min, state.chart.scales.x.max]);
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    const after = await page.evaluate(() => [state.chart.scales.x.min, state.chart.scales.x.max]);
    assert.ok(after[1] - after[0] < before[1] - before[0], `zoomed: ${before} -> ${after}`);
    // The drag was no click on a period: the ticker's latest tweets stay listed.
    await page.waitForTimeout(100);
    await ready();
    assert.equal(await text("ticker-tweets-window"), "", "a drag picks no period");
    await page.mouse.dblclick(box.x + box.width / 2, box.y + box.height / 2);
    const reset = await page.evaluate(() => [state.chart.scales.x.min, state.chart.scales.x.max]);
    assert.ok(reset[1] - reset[0] > after[1] - after[0], "double-click resets the zoom");
    checks++;
  }

  await page.screenshot({ path: screenshot, fullPage: true });
  assert.deepEqual(errors, [], "no script errors");
  console.log(`dashboard: ${checks} checks passed; screenshot ${screenshot}`);
} finally {
  await browser.close();
}
