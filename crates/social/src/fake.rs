//! Fake Bluesky and Reddit APIs, for tests and the demo (the local stack
//! serves them on its proxy's port). Each refuses what the real one refuses,
//! with its bodies and headers; where each behaviour comes from:
//!
//! Bluesky (XRPC; errors are `{"error": Name, "message": ...}`,
//! atproto.com/specs/xrpc):
//! - `com.atproto.server.createSession` with an app password: a wrong one is
//!   a 401 `AuthenticationRequired` "Invalid identifier or password"; 30 a 5
//!   minutes per account (docs.bsky.app/docs/advanced-guides/rate-limits);
//! - `app.bsky.feed.searchPosts` (lexicons/app/bsky/feed/searchPosts.json):
//!   `q` required, `limit` 1..=100 (default 25), `sort` latest|top, `since`
//!   inclusive, `cursor` from the previous page; a missing or malformed
//!   parameter is a 400 `InvalidRequest`. No token is a 401
//!   `AuthenticationRequired`; a session older than 2 hours a 400
//!   `ExpiredToken` (the PDS's access-token lifetime);
//! - `app.bsky.feed.getPosts` (lexicons/app/bsky/feed/getPosts.json): `uris`
//!   repeated, at most 25; the views of the posts that exist, a deleted one
//!   left out; a session as for search;
//! - 3,000 requests per 5 minutes per IP; every answer carries
//!   `ratelimit-limit`, `-remaining`, `-reset` (epoch seconds) and
//!   `-policy` (`3000;w=300`), and past the limit a 429 `RateLimitExceeded`.
//!
//! Reddit (praw-dev/praw's recorded cassettes; github.com/reddit-archive/reddit/wiki/API):
//! - `POST /api/v1/access_token` with HTTP Basic client id and secret and
//!   `grant_type=client_credentials`: wrong credentials are a 401 `{"message":
//!   "Unauthorized", "error": 401}`, another grant a 200 `{"error":
//!   "unsupported_grant_type"}`;
//! - `GET /r/{a+b}/new` and `/r/{a+b}/comments` with `bearer` token: a
//!   Listing, newest first, `limit` at most 100 (more is read as 100), paged
//!   with `after`, the newest 1,000 items at most; a bad token is a 401 with `www-authenticate: Bearer
//!   realm="reddit", error="invalid_token"`;
//! - `GET /api/info?id=t3_a,t1_b` (reddit.com/dev/api#GET_api_info): a
//!   Listing of the things named, at most 100; a thing its author deleted
//!   stays as a shell whose author and text read `[deleted]` (as Reddit
//!   shows deleted posts and comments);
//! - a request without a User-Agent is a 429 (Reddit throttles anonymous
//!   agents); every answer carries `x-ratelimit-used`, `-remaining` (a
//!   decimal, `577.0`) and `-reset` (seconds to the window's end) of a
//!   600-second window of 1,000 requests, and past it a 429 `{"message":
//!   "Too Many Requests", "error": 429}`.

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Mutex;

fn reply(status: StatusCode, body: &Value, headers: &[(&str, String)]) -> Response<Full<Bytes>> {
    let mut b = Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=utf-8");
    for (k, v) in headers {
        b = b.header(*k, v.as_str());
    }
    b.body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn query_pairs(req: &http::request::Parts) -> Vec<(String, String)> {
    form_urlencoded::parse(req.uri.query().unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn header<'a>(req: &'a http::request::Parts, name: &str) -> Option<&'a str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

fn secs_of(ts: &str) -> Option<f64> {
    tickerpulse_core::partition::parse_rfc3339(ts)
        .ok()
        .map(|t| t.unix_timestamp_nanos() as f64 / 1e9)
}

/// A clock: the real one unless set (epoch milliseconds).
#[derive(Default)]
pub struct Clock(AtomicI64);

impl Clock {
    pub fn set(&self, ms: i64) {
        self.0.store(ms, Ordering::Relaxed);
    }
    pub fn now_ms(&self) -> i64 {
        match self.0.load(Ordering::Relaxed) {
            0 => (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64,
            ms => ms,
        }
    }
}

/// A fault the next request is answered with.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    RateLimit,
    Status(u16),
}

/// A fixed window of requests: its start (epoch seconds) and count.
#[derive(Default)]
struct Window(Mutex<(i64, usize)>);

impl Window {
    /// Counts a request; (window end, used, over the limit).
    fn count(&self, now_secs: i64, length: i64, limit: usize) -> (i64, usize, bool) {
        let mut w = lock(&self.0);
        let start = now_secs.div_euclid(length) * length;
        if w.0 != start {
            *w = (start, 0);
        }
        w.1 += 1;
        (start + length, w.1, w.1 > limit)
    }
}

// ---------------------------------------------------------------- Bluesky

/// The fake Bluesky: posts (postViews), one account, sessions.
#[derive(Default)]
pub struct FakeBluesky {
    pub posts: Mutex<Vec<Value>>,
    pub identifier: String,
    pub app_password: String,
    /// Issued access tokens and when each was made (epoch ms).
    sessions: Mutex<HashMap<String, i64>>,
    pub sessions_made: AtomicUsize,
    pub requests: AtomicUsize,
    pub served: AtomicUsize,
    pub faults: Mutex<VecDeque<Fault>>,
    pub clock: Clock,
    /// Requests a 5-minute window allows (0: 3,000).
    pub rate_limit: AtomicUsize,
    window: Window,
    session_window: Window,
}

/// An access token's lifetime.
pub const BLUESKY_SESSION_MS: i64 = 2 * 3600 * 1000;

/// A Bluesky postView whose author's client dated it `created_at` and the
/// AppView indexed at `indexed_at`: Bluesky's `createdAt` is the client's
/// clock and may be ahead of or behind the AppView's
/// (docs.bsky.app/docs/advanced-guides/timestamps).
pub fn bluesky_view_skewed(
    did: &str,
    handle: &str,
    rkey: &str,
    text: &str,
    created_at: &str,
    indexed_at: &str,
    likes: u64,
) -> Value {
    let mut v = bluesky_view(did, handle, rkey, text, created_at, likes);
    v["indexedAt"] = json!(indexed_at);
    v
}

/// A Bluesky postView of a post, with the fields the AppView gives.
pub fn bluesky_view(
    did: &str,
    handle: &str,
    rkey: &str,
    text: &str,
    created_at: &str,
    likes: u64,
) -> Value {
    let mut facets = Vec::new();
    // Hashtags written in the text are marked up as tag facets, as the app does.
    let mut at = 0;
    while let Some(i) = text[at..].find('#') {
        let start = at + i;
        let end = text[start + 1..]
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map_or(text.len(), |j| start + 1 + j);
        if end > start + 1 {
            facets.push(json!({
                "$type": "app.bsky.richtext.facet",
                "index": {"byteStart": start, "byteEnd": end},
                "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": &text[start + 1..end]}]
            }));
        }
        at = end.max(start + 1);
    }
    json!({
        "$type": "app.bsky.feed.defs#postView",
        "uri": format!("at://{did}/app.bsky.feed.post/{rkey}"),
        "cid": format!("bafyrei{rkey}"),
        "author": {"did": did, "handle": handle, "displayName": handle.split('.').next().unwrap_or(handle),
                   "labels": [], "createdAt": "2023-04-01T00:00:00.000Z"},
        "record": {"$type": "app.bsky.feed.post", "createdAt": created_at, "langs": ["en"],
                   "text": text, "facets": facets},
        "replyCount": 0, "repostCount": likes / 3, "likeCount": likes, "quoteCount": 0,
        "indexedAt": created_at, "labels": []
    })
}

fn xrpc(
    status: StatusCode,
    name: &str,
    message: &str,
    h: &[(&str, String)],
) -> Response<Full<Bytes>> {
    reply(status, &json!({"error": name, "message": message}), h)
}

impl FakeBluesky {
    pub fn new(identifier: &str, app_password: &str) -> Self {
        Self {
            identifier: identifier.into(),
            app_password: app_password.into(),
            ..Default::default()
        }
    }

    pub fn add(&self, views: impl IntoIterator<Item = Value>) {
        lock(&self.posts).extend(views);
    }

    /// Ages every session past its lifetime (the next search is ExpiredToken).
    pub fn expire_sessions(&self) {
        for made in lock(&self.sessions).values_mut() {
            *made -= BLUESKY_SESSION_MS + 1;
        }
    }

    pub fn fail_next(&self, f: Fault) {
        lock(&self.faults).push_back(f);
    }

    /// The XRPC refusal of a request without a live session; `None` with one.
    fn unauthenticated(
        &self,
        req: &http::request::Parts,
        h: &[(&str, String)],
    ) -> Option<Response<Full<Bytes>>> {
        let Some(auth) = header(req, "authorization") else {
            return Some(xrpc(
                StatusCode::UNAUTHORIZED,
                "AuthenticationRequired",
                "Authentication Required",
                h,
            ));
        };
        let token = auth.strip_prefix("Bearer ").unwrap_or_default();
        match lock(&self.sessions).get(token) {
            None => Some(xrpc(
                StatusCode::BAD_REQUEST,
                "InvalidToken",
                "Token could not be verified",
                h,
            )),
            Some(made) if self.clock.now_ms() - made > BLUESKY_SESSION_MS => Some(xrpc(
                StatusCode::BAD_REQUEST,
                "ExpiredToken",
                "Token has expired",
                h,
            )),
            Some(_) => None,
        }
    }

    /// Deletes posts (their authors deleted them): neither searched nor got.
    pub fn delete(&self, uris: &[&str]) {
        lock(&self.posts).retain(|v| !v["uri"].as_str().is_some_and(|u| uris.contains(&u)));
    }

    /// `app.bsky.feed.getPosts` (lexicons/app/bsky/feed/getPosts.json): the
    /// views of the URIs that still exist, at most 25 asked; the others are
    /// left out.
    fn get_posts(&self, req: &http::request::Parts, h: &[(&str, String)]) -> Response<Full<Bytes>> {
        if let Some(refused) = self.unauthenticated(req, h) {
            return refused;
        }
        let uris: Vec<String> = query_pairs(req)
            .into_iter()
            .filter(|(k, _)| k == "uris")
            .map(|(_, v)| v)
            .collect();
        if uris.is_empty() {
            let m = "Error: Params must have the property \"uris\"";
            return xrpc(StatusCode::BAD_REQUEST, "InvalidRequest", m, h);
        }
        if uris.len() > 25 {
            let m = "Error: uris must not have more than 25 elements";
            return xrpc(StatusCode::BAD_REQUEST, "InvalidRequest", m, h);
        }
        let posts = lock(&self.posts);
        let found: Vec<Value> = uris
            .iter()
            .filter_map(|u| posts.iter().find(|v| v["uri"].as_str() == Some(u)).cloned())
            .collect();
        reply(StatusCode::OK, &json!({ "posts": found }), h)
    }

    fn search(&self, req: &http::request::Parts, h: &[(&str, String)]) -> Response<Full<Bytes>> {
        let bad = |m: &str| xrpc(StatusCode::BAD_REQUEST, "InvalidRequest", m, h);
        if let Some(refused) = self.unauthenticated(req, h) {
            return refused;
        }
        let params = query_pairs(req);
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let Some(q) = get("q") else {
            return bad("Error: Params must have the property \"q\"");
        };
        let limit = match get("limit").map(str::parse::<usize>) {
            None => 25,
            Some(Ok(n)) if (1..=100).contains(&n) => n,
            Some(Ok(n)) if n > 100 => return bad("Error: limit can not be greater than 100"),
            _ => return bad("Error: limit must be an integer of at least 1"),
        };
        if let Some(s) = get("sort") {
            if s != "latest" && s != "top" {
                return bad("Error: sort must be one of \"top\", \"latest\"");
            }
        }
        let since = match get("since") {
            None => None,
            Some(s) => match secs_of(s) {
                Some(t) => Some(t),
                None => return bad("Error: since must be a valid datetime"),
            },
        };
        let offset = match get("cursor").map(str::parse::<usize>) {
            None => 0,
            Some(Ok(n)) => n,
            Some(Err(_)) => return bad("Error: malformed cursor"),
        };
        // Terms match words case-blind, `$` and `#` aside; a quoted `"$IT"`
        // matches the cashtag only.
        let (mut terms, mut lang) = (Vec::new(), None);
        for t in q.split_whitespace() {
            match t.strip_prefix("lang:") {
                Some(l) => lang = Some(l.to_ascii_lowercase()),
                None => match t.strip_prefix("\"$").and_then(|t| t.strip_suffix('"')) {
                    Some(tag) => terms.push(format!("${}", tag.to_lowercase())),
                    None => terms.push(t.trim_start_matches(['$', '#']).to_lowercase()),
                },
            }
        }
        let now = self.clock.now_ms() as f64 / 1000.0;
        let posts = lock(&self.posts);
        let mut hits: Vec<(f64, &Value)> = posts
            .iter()
            .filter_map(|v| {
                // Listed once the AppView has indexed it, ordered and filtered
                // by `sortAt`, the earlier of the author's `createdAt` and the
                // AppView's `indexedAt` (the lexicon's `since`: "Expected to use
                // 'sortAt' timestamp, which may not match 'createdAt'"): a post
                // its client dated ahead is listed at the time it was indexed.
                let r = v.get("record")?;
                let indexed = secs_of(v.get("indexedAt")?.as_str()?)?;
                let at = secs_of(r.get("createdAt")?.as_str()?)?.min(indexed);
                if indexed > now || since.is_some_and(|s| at < s) {
                    return None;
                }
                if let Some(l) = &lang {
                    let langs = r.get("langs").and_then(Value::as_array)?;
                    if !langs
                        .iter()
                        .any(|x| x.as_str().is_some_and(|x| x.eq_ignore_ascii_case(l)))
                    {
                        return None;
                    }
                }
                let words: Vec<String> = r
                    .get("text")?
                    .as_str()?
                    .split(|c: char| !(c.is_alphanumeric() || c == '.' || c == '_' || c == '$'))
                    .map(|w| w.trim_end_matches('.').to_lowercase())
                    .collect();
                let has = |t: &String| {
                    words.contains(t)
                        || (!t.starts_with('$')
                            && words.iter().any(|w| w.strip_prefix('$') == Some(t)))
                };
                terms.iter().all(has).then_some((at, v))
            })
            .collect();
        hits.sort_by(|a, b| b.0.total_cmp(&a.0));
        let page: Vec<Value> = hits
            .iter()
            .skip(offset)
            .take(limit)
            .map(|(_, v)| (*v).clone())
            .collect();
        self.served.fetch_add(page.len(), Ordering::Relaxed);
        let mut body = json!({"posts": page, "hitsTotal": hits.len()});
        if offset + limit < hits.len() {
            body["cursor"] = json!((offset + limit).to_string());
        }
        reply(StatusCode::OK, &body, h)
    }

    fn create_session(
        &self,
        body: &[u8],
        h: &[(&str, String)],
        now_secs: i64,
    ) -> Response<Full<Bytes>> {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let (Some(id), Some(pw)) = (
            v.get("identifier").and_then(Value::as_str),
            v.get("password").and_then(Value::as_str),
        ) else {
            return xrpc(
                StatusCode::BAD_REQUEST,
                "InvalidRequest",
                "Input must have the property \"identifier\"",
                h,
            );
        };
        let (reset, _, over) = self.session_window.count(now_secs, 300, 30);
        if over {
            let h = [
                ("ratelimit-limit", "30".to_string()),
                ("ratelimit-remaining", "0".to_string()),
                ("ratelimit-reset", reset.to_string()),
                ("ratelimit-policy", "30;w=300".to_string()),
            ];
            return xrpc(
                StatusCode::TOO_MANY_REQUESTS,
                "RateLimitExceeded",
                "Rate Limit Exceeded",
                &h,
            );
        }
        if id != self.identifier || pw != self.app_password {
            return xrpc(
                StatusCode::UNAUTHORIZED,
                "AuthenticationRequired",
                "Invalid identifier or password",
                h,
            );
        }
        let n = self.sessions_made.fetch_add(1, Ordering::Relaxed) + 1;
        let token = format!("fake-access-jwt-{n}");
        lock(&self.sessions).insert(token.clone(), self.clock.now_ms());
        reply(
            StatusCode::OK,
            &json!({"did": "did:plc:tickerpulsefake", "handle": self.identifier, "active": true,
                    "accessJwt": token, "refreshJwt": format!("fake-refresh-jwt-{n}")}),
            h,
        )
    }
}

/// Answers one request to the fake Bluesky.
pub fn answer_bluesky(
    st: &FakeBluesky,
    req: &http::request::Parts,
    body: &[u8],
) -> Response<Full<Bytes>> {
    st.requests.fetch_add(1, Ordering::Relaxed);
    let now_secs = st.clock.now_ms().div_euclid(1000);
    let limit = match st.rate_limit.load(Ordering::Relaxed) {
        0 => 3000,
        n => n,
    };
    let (reset, used, over) = st.window.count(now_secs, 300, limit);
    let h = [
        ("ratelimit-limit", limit.to_string()),
        (
            "ratelimit-remaining",
            limit.saturating_sub(used).to_string(),
        ),
        ("ratelimit-reset", reset.to_string()),
        ("ratelimit-policy", format!("{limit};w=300")),
    ];
    let fault = lock(&st.faults).pop_front();
    if over || fault == Some(Fault::RateLimit) {
        return xrpc(
            StatusCode::TOO_MANY_REQUESTS,
            "RateLimitExceeded",
            "Rate Limit Exceeded",
            &h,
        );
    }
    if let Some(Fault::Status(s)) = fault {
        let status = StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return xrpc(status, "InternalServerError", "Internal Server Error", &h);
    }
    match (req.method.as_str(), req.uri.path()) {
        ("POST", "/xrpc/com.atproto.server.createSession") => st.create_session(body, &h, now_secs),
        ("GET", "/xrpc/app.bsky.feed.searchPosts") => st.search(req, &h),
        ("GET", "/xrpc/app.bsky.feed.getPosts") => st.get_posts(req, &h),
        (_, p) if p.starts_with("/xrpc/") => xrpc(
            StatusCode::NOT_IMPLEMENTED,
            "MethodNotImplemented",
            "Method Not Implemented",
            &h,
        ),
        _ => xrpc(StatusCode::NOT_FOUND, "NotFound", "Not Found", &h),
    }
}

// ---------------------------------------------------------------- Reddit

/// The fake Reddit: posts and comments (listing children), one app.
#[derive(Default)]
pub struct FakeReddit {
    pub children: Mutex<Vec<Value>>,
    pub client_id: String,
    pub client_secret: String,
    tokens: Mutex<Vec<String>>,
    pub tokens_made: AtomicUsize,
    pub requests: AtomicUsize,
    pub served: AtomicUsize,
    pub faults: Mutex<VecDeque<Fault>>,
    pub clock: Clock,
    /// Requests a 600-second window allows (0: 1,000).
    pub rate_limit: AtomicUsize,
    window: Window,
}

fn reddit_error(status: StatusCode, h: &[(&str, String)]) -> Response<Full<Bytes>> {
    let message = status.canonical_reason().unwrap_or("Error");
    reply(
        status,
        &json!({"message": message, "error": status.as_u16()}),
        h,
    )
}

/// A Reddit listing child: a post (`t3`, `body` = None) or a comment (`t1`).
#[allow(clippy::too_many_arguments)]
pub fn reddit_child(
    id36: &str,
    subreddit: &str,
    author: &str,
    title: &str,
    body: Option<&str>,
    created_utc: f64,
    score: i64,
    is_comment: bool,
) -> Value {
    let permalink = format!("/r/{subreddit}/comments/{id36}/");
    let common = json!({
        "id": id36, "subreddit": subreddit, "subreddit_name_prefixed": format!("r/{subreddit}"),
        "subreddit_id": "t5_2th52", "subreddit_type": "public", "author": author,
        "author_fullname": format!("t2_{}", author.len() * 7919 % 100_000),
        "created_utc": created_utc, "created": created_utc, "score": score, "ups": score, "downs": 0,
        "permalink": permalink, "edited": false, "stickied": false, "archived": false, "locked": false,
        "gilded": 0, "total_awards_received": 0, "all_awardings": [], "distinguished": null,
        "author_flair_text": null, "no_follow": true, "send_replies": true,
    });
    let mut d = common;
    if is_comment {
        d["name"] = json!(format!("t1_{id36}"));
        d["body"] = json!(body.unwrap_or(title));
        d["link_id"] = json!("t3_stocks0");
        d["parent_id"] = json!("t3_stocks0");
        d["link_title"] = json!(title);
        d["controversiality"] = json!(0);
        d["is_submitter"] = json!(false);
        d["replies"] = json!("");
        json!({"kind": "t1", "data": d})
    } else {
        d["name"] = json!(format!("t3_{id36}"));
        d["title"] = json!(title);
        d["selftext"] = json!(body.unwrap_or_default());
        d["is_self"] = json!(true);
        d["domain"] = json!(format!("self.{subreddit}"));
        d["url"] = json!(format!("https://www.reddit.com{permalink}"));
        d["num_comments"] = json!(0);
        d["upvote_ratio"] = json!(1.0);
        d["over_18"] = json!(false);
        d["spoiler"] = json!(false);
        d["link_flair_text"] = json!(null);
        json!({"kind": "t3", "data": d})
    }
}

impl FakeReddit {
    pub fn new(client_id: &str, client_secret: &str) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            ..Default::default()
        }
    }

    pub fn add(&self, children: impl IntoIterator<Item = Value>) {
        lock(&self.children).extend(children);
    }

    /// Revokes every token (the next listing is a 401).
    pub fn revoke_tokens(&self) {
        lock(&self.tokens).clear();
    }

    pub fn fail_next(&self, f: Fault) {
        lock(&self.faults).push_back(f);
    }

    fn token(
        &self,
        req: &http::request::Parts,
        body: &[u8],
        h: &[(&str, String)],
    ) -> Response<Full<Bytes>> {
        use base64::Engine;
        let want = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.client_id, self.client_secret));
        if header(req, "authorization") != Some(format!("Basic {want}").as_str()) {
            return reddit_error(StatusCode::UNAUTHORIZED, h);
        }
        let grant = form_urlencoded::parse(body)
            .find(|(k, _)| k == "grant_type")
            .map(|(_, v)| v.into_owned());
        if grant.as_deref() != Some("client_credentials") {
            return reply(
                StatusCode::OK,
                &json!({"error": "unsupported_grant_type"}),
                h,
            );
        }
        let n = self.tokens_made.fetch_add(1, Ordering::Relaxed) + 1;
        let token = format!("fake-reddit-token-{n}");
        lock(&self.tokens).push(token.clone());
        reply(
            StatusCode::OK,
            &json!({"access_token": token, "token_type": "bearer", "expires_in": 86400, "scope": "*"}),
            h,
        )
    }

    /// The 401 of a request without a live token; `None` with one.
    fn unauthorized(
        &self,
        req: &http::request::Parts,
        h: &[(&str, String)],
    ) -> Option<Response<Full<Bytes>>> {
        let token = header(req, "authorization")
            .and_then(|a| {
                a.strip_prefix("bearer ")
                    .or_else(|| a.strip_prefix("Bearer "))
            })
            .unwrap_or_default();
        if lock(&self.tokens).iter().any(|t| t == token) {
            return None;
        }
        let mut h = h.to_vec();
        h.push((
            "www-authenticate",
            "Bearer realm=\"reddit\", error=\"invalid_token\"".into(),
        ));
        Some(reddit_error(StatusCode::UNAUTHORIZED, &h))
    }

    /// Its authors delete these things (fullnames): Reddit keeps each shell,
    /// its author and text `[deleted]`, in listings and `/api/info`.
    pub fn delete(&self, fullnames: &[&str]) {
        for c in lock(&self.children).iter_mut() {
            let d = &mut c["data"];
            if d["name"].as_str().is_some_and(|n| fullnames.contains(&n)) {
                d["author"] = json!("[deleted]");
                d["author_fullname"] = Value::Null;
                let text = if d.get("body").is_some() {
                    "body"
                } else {
                    "selftext"
                };
                d[text] = json!("[deleted]");
            }
        }
    }

    /// `GET /api/info?id=t3_a,t1_b` (reddit.com/dev/api#GET_api_info): a
    /// Listing of the things named that exist, deleted shells included.
    fn info(&self, req: &http::request::Parts, h: &[(&str, String)]) -> Response<Full<Bytes>> {
        if let Some(refused) = self.unauthorized(req, h) {
            return refused;
        }
        let ids: Vec<String> = query_pairs(req)
            .into_iter()
            .find(|(k, _)| k == "id")
            .map(|(_, v)| v.split(',').map(str::to_string).collect())
            .unwrap_or_default();
        if ids.len() > 100 {
            return reddit_error(StatusCode::BAD_REQUEST, h);
        }
        let children = lock(&self.children);
        let found: Vec<Value> = ids
            .iter()
            .filter_map(|id| {
                children
                    .iter()
                    .find(|c| c["data"]["name"].as_str() == Some(id))
                    .cloned()
            })
            .collect();
        reply(
            StatusCode::OK,
            &json!({"kind": "Listing", "data": {"after": null, "dist": found.len(), "modhash": "",
                    "geo_filter": "", "children": found, "before": null}}),
            h,
        )
    }

    fn listing(
        &self,
        req: &http::request::Parts,
        subs: &str,
        kind: &str,
        h: &[(&str, String)],
    ) -> Response<Full<Bytes>> {
        if let Some(refused) = self.unauthorized(req, h) {
            return refused;
        }
        let params = query_pairs(req);
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let limit = get("limit")
            .and_then(|l| l.parse::<usize>().ok())
            .unwrap_or(25)
            .clamp(1, 100);
        let wanted: Vec<String> = subs.split('+').map(str::to_lowercase).collect();
        let now = self.clock.now_ms() as f64 / 1000.0;
        let children = lock(&self.children);
        let mut hits: Vec<&Value> = children
            .iter()
            .filter(|c| c.get("kind").and_then(Value::as_str) == Some(kind))
            .filter(|c| {
                let d = &c["data"];
                d["created_utc"].as_f64().is_some_and(|t| t <= now)
                    && d["subreddit"]
                        .as_str()
                        .is_some_and(|s| wanted.contains(&s.to_lowercase()))
            })
            .collect();
        hits.sort_by(|a, b| {
            b["data"]["created_utc"]
                .as_f64()
                .unwrap_or(0.0)
                .total_cmp(&a["data"]["created_utc"].as_f64().unwrap_or(0.0))
                .then_with(|| b["data"]["name"].as_str().cmp(&a["data"]["name"].as_str()))
        });
        let start = match get("after") {
            None => 0,
            Some(a) => match hits
                .iter()
                .position(|c| c["data"]["name"].as_str() == Some(a))
            {
                Some(i) => i + 1,
                // An `after` Reddit no longer lists: an empty page.
                None => hits.len(),
            },
        };
        // A listing reaches its newest 1,000 items and no further
        // (reddit-archive/reddit wiki API: listings go back 1,000 items).
        hits.truncate(1000);
        let page: Vec<Value> = hits
            .iter()
            .skip(start)
            .take(limit)
            .map(|c| (*c).clone())
            .collect();
        self.served.fetch_add(page.len(), Ordering::Relaxed);
        let after = (start + limit < hits.len())
            .then(|| {
                page.last()
                    .and_then(|c| c["data"]["name"].as_str())
                    .map(str::to_string)
            })
            .flatten();
        reply(
            StatusCode::OK,
            &json!({"kind": "Listing", "data": {"after": after, "dist": page.len(), "modhash": "",
                    "geo_filter": "", "children": page, "before": null}}),
            h,
        )
    }
}

/// Answers one request to the fake Reddit (www.reddit.com and oauth.reddit.com alike).
pub fn answer_reddit(
    st: &FakeReddit,
    req: &http::request::Parts,
    body: &[u8],
) -> Response<Full<Bytes>> {
    st.requests.fetch_add(1, Ordering::Relaxed);
    let ua = header(req, "user-agent").unwrap_or_default();
    if ua.trim().is_empty() {
        return reddit_error(StatusCode::TOO_MANY_REQUESTS, &[]);
    }
    let path = req.uri.path();
    if req.method == http::Method::POST && path == "/api/v1/access_token" {
        return st.token(req, body, &[]);
    }
    let now_secs = st.clock.now_ms().div_euclid(1000);
    let limit = match st.rate_limit.load(Ordering::Relaxed) {
        0 => 1000,
        n => n,
    };
    let (reset, used, over) = st.window.count(now_secs, 600, limit);
    let h = [
        ("x-ratelimit-used", used.min(limit).to_string()),
        (
            "x-ratelimit-remaining",
            format!("{:.1}", limit.saturating_sub(used) as f64),
        ),
        ("x-ratelimit-reset", (reset - now_secs).to_string()),
    ];
    let fault = lock(&st.faults).pop_front();
    if over || fault == Some(Fault::RateLimit) {
        return reddit_error(StatusCode::TOO_MANY_REQUESTS, &h);
    }
    if let Some(Fault::Status(s)) = fault {
        return reddit_error(
            StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            &h,
        );
    }
    let listing = path
        .strip_prefix("/r/")
        .and_then(|rest| rest.trim_end_matches('/').split_once('/'));
    if req.method == http::Method::GET && path == "/api/info" {
        return st.info(req, &h);
    }
    match (req.method.as_str(), listing) {
        ("GET", Some((subs, "new"))) => st.listing(req, subs, "t3", &h),
        ("GET", Some((subs, "comments"))) => st.listing(req, subs, "t1", &h),
        _ => reddit_error(StatusCode::NOT_FOUND, &h),
    }
}

/// Whether a request is the fake Bluesky's or the fake Reddit's (the local
/// proxy sends both to these fakes).
pub fn is_bluesky(path: &str) -> bool {
    path.starts_with("/xrpc/")
}

pub fn is_reddit(path: &str) -> bool {
    path == "/api/v1/access_token" || path == "/api/info" || path.starts_with("/r/")
}
