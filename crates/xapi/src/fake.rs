//! A fake X API v2 search, for tests and the demo (the local stack serves it on
//! loopback: `tickerpulse_local::fakex`). It serves tweet objects as the API
//! does (newest first, `includes.users`, `meta` with `newest_id` and
//! `next_token`), honours `query` (cashtags, `lang:`, `-is:retweet`),
//! `since_id`, `start_time`/`end_time` and `max_results`, checks the bearer
//! token, and refuses what X refuses, with X's bodies and headers:
//!
//! - recent search (`/2/tweets/search/recent`) keeps the last 7 days of its
//!   clock: a `since_id` made before that, or a `start_time` before it, is a
//!   400 "Invalid Request" naming the parameter (the body of
//!   rooteco/tweetscape#421; docs.x.com/x-api/posts/search-recent-posts:
//!   "the last seven days"); an `end_time` less than 10 s before now too;
//! - `since_id` with `start_time` or `end_time` is a 400 (as X answers it:
//!   plhery/node-twitter-api-v2#152);
//! - `max_results` outside 10..=100 (recent) or 10..=500 (full archive) is a 400;
//! - every answer carries `x-rate-limit-limit`, `-remaining` and `-reset` of a
//!   15-minute window (docs.x.com/x-api/fundamentals/rate-limits); past the
//!   limit, a 429 `{"title": "Too Many Requests", ...}`;
//! - a plan's monthly post cap: once the posts served this month reach it, a 429
//!   `{"title": "UsageCapExceeded", "period": "Monthly", ...}` with the rate
//!   limit headers untouched (xdevplatform/xdk#25;
//!   docs.x.com/x-api/fundamentals/post-cap);
//! - full-archive search (`/2/tweets/search/all`) has no 7-day window.
//!
//! Its clock is the real one unless a test or the demo sets it (`set_clock`):
//! tweets made after the clock are not served yet. It can also be told to
//! answer the next requests with a 429 (with `x-rate-limit-reset`) or a 5xx.

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// 429 with `x-rate-limit-reset` this many seconds from now.
    RateLimit {
        reset_in_secs: i64,
    },
    Status(u16),
    /// Answered as usual: places the faults behind it at a later request.
    Pass,
    /// The next request that carries a `next_token` is refused as X refuses a
    /// token it no longer honours (a 400 naming the parameter); requests
    /// without one pass it by.
    RefuseNextToken,
}

#[derive(Default)]
pub struct FakeXState {
    /// Tweet objects (with `author_id`), any order.
    pub tweets: Mutex<Vec<Value>>,
    /// User objects by id.
    pub users: Mutex<HashMap<String, Value>>,
    pub faults: Mutex<VecDeque<Fault>>,
    pub token: String,
    pub requests: AtomicUsize,
    /// Tweets returned so far (all pages, all queries).
    pub served: AtomicUsize,
    /// The fake's now, epoch milliseconds; 0 follows the real clock.
    pub clock_ms: AtomicI64,
    /// Requests a 15-minute window allows (0: 450, recent search's app limit).
    pub rate_limit: AtomicUsize,
    /// The plan's monthly post cap (0: none).
    pub monthly_cap: AtomicUsize,
    /// Posts served in `month` (`YYYY-MM` of the clock).
    usage: Mutex<(String, usize)>,
    /// Requests in the current 15-minute window (its start, epoch seconds).
    window: Mutex<(i64, usize)>,
    /// Batch compliance: the events X reports for stored ids, and the jobs
    /// (`crate::fake_compliance`).
    pub compliance: Mutex<crate::fake_compliance::Compliance>,
    /// The tweets sorted newest first with what queries match on, built on the
    /// first search after a change: a page costs its own tweets, not a scan and a
    /// sort of every tweet (the scale demo serves a million).
    index: Mutex<Option<Arc<Vec<Entry>>>>,
}

struct Entry {
    id: u64,
    created: Option<time::OffsetDateTime>,
    tags: Vec<String>,
    lang: Option<String>,
    is_rt: bool,
    at: usize,
}

impl FakeXState {
    pub fn with_token(token: &str) -> Self {
        Self {
            token: token.to_string(),
            ..Default::default()
        }
    }

    /// Sets the fake's clock (epoch milliseconds).
    pub fn set_clock(&self, ms: i64) {
        self.clock_ms.store(ms, Ordering::Relaxed);
    }

    /// Sets the clock a minute after the newest tweet: the fake lives at the
    /// time of its data (recorded or generated tweets of past years).
    pub fn live_after_newest(&self) {
        let tweets = self.tweets.lock().unwrap_or_else(|e| e.into_inner());
        let newest = tweets
            .iter()
            .filter_map(|t| t.get("created_at").and_then(Value::as_str))
            .filter_map(|s| tickerpulse_core::partition::parse_rfc3339(s).ok())
            .max();
        if let Some(t) = newest {
            self.set_clock((t.unix_timestamp_nanos() / 1_000_000) as i64 + 60_000);
        }
    }

    pub fn now_ms(&self) -> i64 {
        match self.clock_ms.load(Ordering::Relaxed) {
            0 => (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64,
            ms => ms,
        }
    }

    /// Posts served this month of the clock.
    pub fn used_this_month(&self) -> usize {
        let month = month_of(self.now_ms());
        let u = self.usage.lock().unwrap_or_else(|e| e.into_inner());
        if u.0 == month {
            u.1
        } else {
            0
        }
    }

    /// Adds tweets; a tweet's `author` object, if present, becomes a user.
    pub fn add(&self, tweets: impl IntoIterator<Item = Value>) {
        let mut all = self.tweets.lock().unwrap_or_else(|e| e.into_inner());
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        for mut t in tweets {
            if let Some(author) = t.as_object_mut().and_then(|o| o.remove("author")) {
                if let Some(id) = author.get("id").and_then(Value::as_str) {
                    users.insert(id.to_string(), author.clone());
                }
            }
            all.push(t);
        }
        *self.index.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Deletes tweets by id (their authors deleted them): not served from then
    /// on, and reported `deleted` by batch compliance jobs.
    pub fn delete(&self, ids: &[u64]) {
        self.withdraw("deleted", |t| {
            let id = t
                .get("id")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok());
            id.is_some_and(|id: u64| ids.contains(&id))
        });
    }

    /// An account made private (`protected`) or suspended (`suspended`): its
    /// tweets are not served from then on, and compliance jobs report each.
    pub fn withdraw_author(&self, author_id: &str, reason: &str) {
        self.withdraw(reason, |t| {
            t.get("author_id").and_then(Value::as_str) == Some(author_id)
        });
    }

    fn withdraw(&self, reason: &str, hit: impl Fn(&Value) -> bool) {
        let now = self.now_ms();
        let mut all = self.tweets.lock().unwrap_or_else(|e| e.into_inner());
        let mut compliance = self.compliance.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|t| {
            if !hit(t) {
                return true;
            }
            compliance.record(t, reason, now);
            false
        });
        *self.index.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Replaces every tweet.
    pub fn replace(&self, tweets: impl IntoIterator<Item = Value>) {
        self.tweets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.add(tweets);
    }

    fn index(&self, tweets: &[Value]) -> Arc<Vec<Entry>> {
        let mut index = self.index.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = index.as_ref().filter(|i| i.len() == tweets.len()) {
            return i.clone();
        }
        let parse_time = |s: &str| tickerpulse_core::partition::parse_rfc3339(s).ok();
        let mut entries: Vec<Entry> = tweets
            .iter()
            .enumerate()
            .map(|(at, t)| {
                let text = t.get("text").and_then(Value::as_str).unwrap_or_default();
                Entry {
                    id: t
                        .get("id")
                        .and_then(Value::as_str)
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0),
                    created: t
                        .get("created_at")
                        .and_then(Value::as_str)
                        .and_then(parse_time),
                    tags: tweet_tags(t),
                    lang: t.get("lang").and_then(Value::as_str).map(String::from),
                    is_rt: text.starts_with("RT @")
                        || t.get("referenced_tweets")
                            .and_then(Value::as_array)
                            .is_some_and(|r| {
                                r.iter().any(|x| {
                                    x.get("type").and_then(Value::as_str) == Some("retweeted")
                                })
                            }),
                    at,
                }
            })
            .collect();
        entries.sort_by_key(|e| std::cmp::Reverse(e.id));
        let entries = Arc::new(entries);
        *index = Some(entries.clone());
        entries
    }
}

pub(crate) fn reply(
    status: StatusCode,
    body: Value,
    headers: &[(&str, String)],
) -> Response<Full<Bytes>> {
    let mut b = Response::builder()
        .status(status)
        .header("content-type", "application/json");
    for (k, v) in headers {
        b = b.header(*k, v);
    }
    b.body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn month_of(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!("{:04}-{:02}", t.year(), t.month() as u8)
}

pub(crate) fn iso(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]Z"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// X's 400 for a parameter it refuses.
pub(crate) fn invalid(param: &str, value: &str, message: String) -> Value {
    json!({
        "errors": [{"parameters": {param: [value]}, "message": message}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    })
}

fn tweet_tags(t: &Value) -> Vec<String> {
    let mut tags: Vec<String> = t
        .pointer("/entities/cashtags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| {
            c.get("tag")
                .and_then(Value::as_str)
                .map(str::to_ascii_uppercase)
        })
        .collect();
    let text = t.get("text").and_then(Value::as_str).unwrap_or_default();
    for s in tickerpulse_core::watchlist::cashtags_in_text(text) {
        tags.push(s.split('.').next().unwrap_or(&s).to_string());
    }
    tags
}

/// X's 429 past a rate limit (the window's headers given).
pub(crate) fn too_many_requests(headers: &[(&str, String)]) -> Response<Full<Bytes>> {
    reply(
        StatusCode::TOO_MANY_REQUESTS,
        json!({"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429}),
        headers,
    )
}

/// X's 401 for a request without the app's bearer token; `None` when it has it.
pub(crate) fn unauthorized(
    st: &FakeXState,
    req: &http::request::Parts,
) -> Option<Response<Full<Bytes>>> {
    let auth = req
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    (auth != format!("Bearer {}", st.token)).then(|| {
        reply(
            StatusCode::UNAUTHORIZED,
            json!({"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}),
            &[],
        )
    })
}

/// Answers one request.
pub fn answer(st: &FakeXState, req: &http::request::Parts) -> Response<Full<Bytes>> {
    st.requests.fetch_add(1, Ordering::Relaxed);
    let archive = match req.uri.path() {
        "/2/tweets/search/recent" => false,
        "/2/tweets/search/all" => true,
        _ => {
            return reply(
                StatusCode::NOT_FOUND,
                json!({"errors": [{"message": "Sorry, that page does not exist", "code": 34}]}),
                &[],
            )
        }
    };
    if let Some(refused) = unauthorized(st, req) {
        return refused;
    }
    let now_ms = st.now_ms();
    // The 15-minute window of the rate limit, and its headers on every answer.
    let limit = match st.rate_limit.load(Ordering::Relaxed) {
        0 => 450,
        n => n,
    };
    let (reset, remaining) = {
        let mut w = st.window.lock().unwrap_or_else(|e| e.into_inner());
        let start = now_ms / 1000 / 900 * 900;
        if w.0 != start {
            *w = (start, 0);
        }
        w.1 += 1;
        (start + 900, limit.saturating_sub(w.1))
    };
    let over = {
        let w = st.window.lock().unwrap_or_else(|e| e.into_inner());
        w.1 > limit
    };
    let rate_headers = [
        ("x-rate-limit-limit", limit.to_string()),
        ("x-rate-limit-remaining", remaining.to_string()),
        ("x-rate-limit-reset", reset.to_string()),
    ];
    if over {
        return too_many_requests(&rate_headers);
    }
    let has_token = req
        .uri
        .query()
        .is_some_and(|q| q.split('&').any(|kv| kv.starts_with("next_token=")));
    let fault = {
        let mut faults = st.faults.lock().unwrap_or_else(|e| e.into_inner());
        match faults.front() {
            Some(Fault::RefuseNextToken) if !has_token => None,
            Some(_) => faults.pop_front(),
            None => None,
        }
    };
    if let Some(fault) = fault.filter(|f| *f != Fault::Pass) {
        return match fault {
            Fault::RateLimit { reset_in_secs } => {
                let reset = time::OffsetDateTime::now_utc().unix_timestamp() + reset_in_secs;
                too_many_requests(&[
                    ("x-rate-limit-limit", limit.to_string()),
                    ("x-rate-limit-reset", reset.to_string()),
                    ("x-rate-limit-remaining", "0".into()),
                ])
            }
            Fault::Status(code) => reply(
                StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
                json!({"title": "Service Unavailable", "detail": "Service Unavailable", "type": "about:blank", "status": code}),
                &rate_headers,
            ),
            Fault::Pass => unreachable!("passed above"),
            Fault::RefuseNextToken => reply(
                StatusCode::BAD_REQUEST,
                invalid(
                    "next_token",
                    "expired",
                    "The `next_token` query parameter value [expired] is not valid".into(),
                ),
                &rate_headers,
            ),
        };
    }
    let cap = st.monthly_cap.load(Ordering::Relaxed);
    if cap > 0 && st.used_this_month() >= cap {
        return reply(
            StatusCode::TOO_MANY_REQUESTS,
            json!({
                "account_id": 1_234_567_890u64,
                "product_name": "standard-basic",
                "title": "UsageCapExceeded",
                "period": "Monthly",
                "scope": "Product",
                "detail": "Usage cap exceeded: Monthly product cap",
                "type": "https://api.twitter.com/2/problems/usage-capped",
            }),
            &rate_headers,
        );
    }
    let params: HashMap<String, String> =
        form_urlencoded::parse(req.uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let refuse = |body: Value| reply(StatusCode::BAD_REQUEST, body, &rate_headers);
    let Some(query) = params.get("query") else {
        return refuse(invalid(
            "query",
            "",
            "The `query` query parameter can not be empty".into(),
        ));
    };
    if query.len() > 512 {
        return refuse(invalid(
            "query",
            query,
            format!(
                "The `query` query parameter value is too long: {} characters, 512 is the most",
                query.len()
            ),
        ));
    }
    let most = if archive { 500 } else { 100 };
    if let Some(m) = params.get("max_results") {
        if !m.parse::<usize>().is_ok_and(|n| (10..=most).contains(&n)) {
            return refuse(invalid(
                "max_results",
                m,
                format!(
                    "The `max_results` query parameter value [{m}] is not between 10 and {most}"
                ),
            ));
        }
    }
    if params.contains_key("since_id")
        && (params.contains_key("start_time") || params.contains_key("end_time"))
    {
        return refuse(invalid(
            "since_id",
            &params["since_id"],
            "Invalid use of 'since_id' or 'until_id' in conjunction with 'start_time' or 'end_time'.".into(),
        ));
    }
    let window_start = now_ms - crate::client::RECENT_WINDOW_SECS * 1000;
    let parse_ms = |s: &str| {
        tickerpulse_core::partition::parse_rfc3339(s)
            .ok()
            .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
    };
    if !archive {
        if let Some(s) = params.get("since_id") {
            if s.parse::<u64>()
                .is_ok_and(|id| crate::client::snowflake_millis(id) < window_start)
            {
                return refuse(invalid(
                    "since_id",
                    s,
                    format!(
                        "Invalid 'since_id':'{s}'. 'since_id' must be a tweet id created after {}. Please use a 'since_id' that is larger than {}",
                        iso(window_start),
                        crate::client::snowflake_at(window_start)
                    ),
                ));
            }
        }
        if let Some(s) = params.get("start_time") {
            if parse_ms(s).is_some_and(|t| t < window_start) {
                return refuse(invalid(
                    "start_time",
                    s,
                    format!(
                        "Invalid 'start_time':'{s}'. 'start_time' must be on or after {}",
                        iso(window_start)
                    ),
                ));
            }
        }
    }
    if let Some(e) = params.get("end_time") {
        if parse_ms(e).is_some_and(|t| t > now_ms - 10_000) {
            return refuse(invalid(
                "end_time",
                e,
                format!("Invalid 'end_time':'{e}'. 'end_time' must be a minimum of 10 seconds prior to the request time."),
            ));
        }
    }
    let wanted: Vec<String> = query
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter_map(|w| w.strip_prefix('$'))
        .map(str::to_ascii_uppercase)
        .collect();
    let lang = query
        .split_whitespace()
        .find_map(|w| w.strip_prefix("lang:"));
    let no_retweets = query.split_whitespace().any(|w| w == "-is:retweet");
    let since: Option<u64> = params.get("since_id").and_then(|s| s.parse().ok());
    let start = params.get("start_time").cloned();
    let end = params.get("end_time").cloned();
    let max = params
        .get("max_results")
        .and_then(|m| m.parse::<usize>().ok())
        .unwrap_or(10);
    // A token names the last post the previous page looked at (keyset): posts
    // added or deleted between pages move no page boundary, so none is skipped.
    let after: Option<u64> = match params.get("next_token") {
        None => None,
        Some(token) => match token.strip_prefix('b').and_then(|n| n.parse().ok()) {
            Some(id) => Some(id),
            // A token this fake never gave (or one X no longer honours).
            None => {
                return refuse(invalid(
                    "next_token",
                    token,
                    format!("The `next_token` query parameter value [{token}] is not valid"),
                ))
            }
        },
    };
    let parse_time = |s: &str| tickerpulse_core::partition::parse_rfc3339(s).ok();
    let start = start.as_deref().and_then(parse_time);
    let end = end.as_deref().and_then(parse_time);
    let tweets = st.tweets.lock().unwrap_or_else(|e| e.into_inner());
    let index = st.index(&tweets);
    // Newest first: the tweets newer than since_id are a prefix.
    let upper = since.map_or(index.len(), |s| index.partition_point(|e| e.id > s));
    let matches = |e: &Entry| {
        e.tags.iter().any(|tag| wanted.contains(tag))
            && lang.is_none_or(|l| e.lang.as_deref() == Some(l))
            && !(no_retweets && e.is_rt)
            && start.is_none_or(|s| e.created.is_some_and(|c| c >= s))
            && end.is_none_or(|x| e.created.is_some_and(|c| c < x))
            // Made by now, and (recent search) within its 7 days.
            && e.created.is_some_and(|c| {
                let ms = (c.unix_timestamp_nanos() / 1_000_000) as i64;
                ms <= now_ms && (archive || ms >= window_start)
            })
    };
    let Some(newest) = index[..upper].iter().find(|e| matches(e)) else {
        return reply(
            StatusCode::OK,
            json!({"meta": {"result_count": 0}}),
            &rate_headers,
        );
    };
    let mut page: Vec<&Value> = Vec::with_capacity(max);
    let mut next = after
        .map_or(0, |a| index.partition_point(|e| e.id >= a))
        .min(upper);
    while next < upper && page.len() < max {
        if matches(&index[next]) {
            page.push(&tweets[index[next].at]);
        }
        next += 1;
    }
    let more = index[next..upper].iter().any(matches);
    st.served.fetch_add(page.len(), Ordering::Relaxed);
    {
        let month = month_of(now_ms);
        let mut u = st.usage.lock().unwrap_or_else(|e| e.into_inner());
        if u.0 != month {
            *u = (month, 0);
        }
        u.1 += page.len();
    }
    let users = st.users.lock().unwrap_or_else(|e| e.into_inner());
    let mut included: Vec<Value> = Vec::new();
    for t in &page {
        if let Some(u) = t
            .get("author_id")
            .and_then(Value::as_str)
            .and_then(|id| users.get(id))
        {
            if !included.contains(u) {
                included.push(u.clone());
            }
        }
    }
    // The API gives the newest id of the whole result set on every page.
    let mut meta = json!({
        "newest_id": newest.id.to_string(),
        "oldest_id": page.last().and_then(|t| t.get("id")).cloned().unwrap_or(Value::Null),
        "result_count": page.len(),
    });
    if more {
        meta["next_token"] = json!(format!("b{}", index[next - 1].id));
    }
    reply(
        StatusCode::OK,
        json!({"data": page, "includes": {"users": included}, "meta": meta}),
        &rate_headers,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(uri: &str, token: &str) -> http::request::Parts {
        let (parts, ()) = http::Request::get(uri)
            .header("authorization", format!("Bearer {token}"))
            .body(())
            .unwrap()
            .into_parts();
        parts
    }

    #[test]
    fn the_query_string_is_form_decoded() {
        // `+` is a space and `%2B` a plus, as the API reads query strings.
        let st = FakeXState::with_token("t");
        st.add([
            json!({"id": "5", "text": "$A up", "author_id": "1", "lang": "en",
                       "created_at": "2020-01-01T00:00:00.000Z",
                       "entities": {"cashtags": [{"tag": "A"}]}}),
        ]);
        // Recent search: the fake lives just after the tweet.
        st.live_after_newest();
        let resp = answer(
            &st,
            &get("/2/tweets/search/recent?query=%28%24A%29+lang%3Aen", "t"),
        );
        assert_eq!(resp.status(), StatusCode::OK);
        let resp = answer(
            &st,
            &get("/2/tweets/search/recent?query=%24A+lang%3Afr", "t"),
        );
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            st.served.load(Ordering::Relaxed),
            1,
            "only the lang:en query matches"
        );
        let resp = answer(&st, &get("/2/tweets/search/recent?query=%24A", "wrong"));
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
}

#[cfg(test)]
mod strict {
    use super::*;

    fn get(uri: &str) -> http::request::Parts {
        let (parts, ()) = http::Request::get(uri)
            .header("authorization", "Bearer t")
            .body(())
            .unwrap()
            .into_parts();
        parts
    }

    fn body(r: Response<Full<Bytes>>) -> (u16, Value, http::HeaderMap) {
        use http_body_util::BodyExt;
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let bytes = futures_lite_block(r.into_body().collect())
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            headers,
        )
    }

    fn futures_lite_block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    const NOW: i64 = 1_764_900_000_000; // 2025-12-05T02:00:00Z

    fn state(n: u64) -> FakeXState {
        let st = FakeXState::with_token("t");
        st.set_clock(NOW);
        st.add((0..n).map(|i| {
            let ms = NOW - (5 + i as i64) * 60_000;
            json!({"id": (crate::client::snowflake_at(ms) + i).to_string(), "text": format!("$TSLA {i}"),
                   "created_at": time::OffsetDateTime::from_unix_timestamp(ms / 1000).unwrap()
                       .format(&time::format_description::well_known::Rfc3339).unwrap(),
                   "author_id": "1", "lang": "en"})
        }));
        st
    }

    #[test]
    fn pages_resume_from_their_token_without_losing_a_tweet() {
        let st = state(60);
        let (_, first, _) = body(answer(
            &st,
            &get("/2/tweets/search/recent?query=%24TSLA&max_results=25"),
        ));
        assert_eq!(first["data"].as_array().unwrap().len(), 25);
        let token = first["meta"]["next_token"].as_str().unwrap().to_string();
        let (_, rest, _) = body(answer(
            &st,
            &get(&format!(
                "/2/tweets/search/recent?query=%24TSLA&max_results=100&next_token={token}"
            )),
        ));
        assert_eq!(
            rest["data"].as_array().unwrap().len(),
            35,
            "{}",
            rest["meta"]
        );
    }

    #[test]
    fn what_x_refuses_the_fake_refuses_with_xs_bodies() {
        let st = state(3);
        // max_results outside 10..=100.
        let (s, b, h) = body(answer(
            &st,
            &get("/2/tweets/search/recent?query=%24TSLA&max_results=5"),
        ));
        assert_eq!((s, b["title"].as_str()), (400, Some("Invalid Request")));
        assert!(
            b["errors"][0]["parameters"]["max_results"].is_array(),
            "{b}"
        );
        assert!(h.contains_key("x-rate-limit-remaining"));
        // since_id with start_time.
        let (s, _, _) = body(answer(
            &st,
            &get(
                "/2/tweets/search/recent?query=%24TSLA&since_id=5&start_time=2025-12-04T00:00:00Z",
            ),
        ));
        assert_eq!(s, 400);
        // A since_id older than 7 days.
        let old = crate::client::snowflake_at(NOW - 8 * 86_400_000);
        let (s, b, _) = body(answer(
            &st,
            &get(&format!(
                "/2/tweets/search/recent?query=%24TSLA&since_id={old}"
            )),
        ));
        assert_eq!(s, 400);
        assert!(
            b["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("must be a tweet id created after"),
            "{b}"
        );
        // A start_time older than 7 days, on recent search but not the archive.
        let (s, _, _) = body(answer(
            &st,
            &get("/2/tweets/search/recent?query=%24TSLA&start_time=2025-11-01T00:00:00Z"),
        ));
        assert_eq!(s, 400);
        let (s, _, _) = body(answer(&st, &get("/2/tweets/search/all?query=%24TSLA&start_time=2025-11-01T00:00:00Z&max_results=500")));
        assert_eq!(s, 200);
        // A pagination token it never gave.
        let (s, b, _) = body(answer(
            &st,
            &get("/2/tweets/search/recent?query=%24TSLA&next_token=zz"),
        ));
        assert_eq!(s, 400);
        assert!(b["errors"][0]["parameters"]["next_token"].is_array(), "{b}");
        // An end_time less than 10 s ago.
        let (s, _, _) = body(answer(
            &st,
            &get("/2/tweets/search/recent?query=%24TSLA&end_time=2025-12-05T02:00:00Z"),
        ));
        assert_eq!(s, 400);
    }

    #[test]
    fn the_window_the_rate_limit_and_the_monthly_cap() {
        let st = state(3);
        // Tweets older than 7 days are not in recent search, but are in the archive.
        st.add([json!({"id": crate::client::snowflake_at(NOW - 9 * 86_400_000).to_string(), "text": "$TSLA old",
                       "created_at": "2025-11-26T02:00:00Z", "author_id": "1", "lang": "en"})]);
        let (_, recent, _) = body(answer(&st, &get("/2/tweets/search/recent?query=%24TSLA")));
        assert_eq!(recent["meta"]["result_count"], 3);
        let (_, all, _) = body(answer(&st, &get("/2/tweets/search/all?query=%24TSLA")));
        assert_eq!(all["meta"]["result_count"], 4);
        // The monthly cap: X's 429 body, rate-limit headers untouched.
        st.monthly_cap.store(7, Ordering::Relaxed);
        let (s, b, h) = body(answer(&st, &get("/2/tweets/search/recent?query=%24TSLA")));
        assert_eq!(
            (s, b["title"].as_str(), b["period"].as_str()),
            (429, Some("UsageCapExceeded"), Some("Monthly"))
        );
        assert_ne!(h["x-rate-limit-remaining"], "0");
        assert_eq!(
            crate::client::usage_cap(&serde_json::to_vec(&b).unwrap()).as_deref(),
            Some("Monthly")
        );
        st.monthly_cap.store(0, Ordering::Relaxed);
        // The rate limit: the window's limit, then a 429 with the window's reset.
        st.rate_limit.store(5, Ordering::Relaxed);
        let mut last = 0;
        for _ in 0..3 {
            last = body(answer(&st, &get("/2/tweets/search/recent?query=%24TSLA"))).0;
        }
        assert_eq!(last, 429);
    }
}
