//! A fake X API v2 recent search, for tests and the demo (the local stack serves
//! it on loopback: `tickerpulse_local::fakex`). It serves
//! tweet objects as the API does (newest first, `includes.users`, `meta` with
//! `newest_id` and `next_token`), honours `query` (cashtags, `lang:`,
//! `-is:retweet`), `since_id`, `start_time`/`end_time` and `max_results`, checks the
//! bearer token, and can be told to answer the next requests with a 429 (with
//! `x-rate-limit-reset`) or a 5xx.

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// 429 with `x-rate-limit-reset` this many seconds from now.
    RateLimit {
        reset_in_secs: i64,
    },
    Status(u16),
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

fn reply(status: StatusCode, body: Value, headers: &[(&str, String)]) -> Response<Full<Bytes>> {
    let mut b = Response::builder()
        .status(status)
        .header("content-type", "application/json");
    for (k, v) in headers {
        b = b.header(*k, v);
    }
    b.body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
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

/// Answers one request.
pub fn answer(st: &FakeXState, req: &http::request::Parts) -> Response<Full<Bytes>> {
    st.requests.fetch_add(1, Ordering::Relaxed);
    if req.uri.path() != "/2/tweets/search/recent" {
        return reply(
            StatusCode::NOT_FOUND,
            json!({"title": "Not Found Error"}),
            &[],
        );
    }
    let auth = req
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if auth != format!("Bearer {}", st.token) {
        return reply(
            StatusCode::UNAUTHORIZED,
            json!({"title": "Unauthorized", "status": 401}),
            &[],
        );
    }
    if let Some(fault) = st
        .faults
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .pop_front()
    {
        return match fault {
            Fault::RateLimit { reset_in_secs } => {
                let reset = time::OffsetDateTime::now_utc().unix_timestamp() + reset_in_secs;
                reply(
                    StatusCode::TOO_MANY_REQUESTS,
                    json!({"title": "Too Many Requests", "status": 429}),
                    &[
                        ("x-rate-limit-reset", reset.to_string()),
                        ("x-rate-limit-remaining", "0".into()),
                    ],
                )
            }
            Fault::Status(code) => reply(
                StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
                json!({"title": "Service Unavailable", "status": code}),
                &[],
            ),
        };
    }
    let params: HashMap<String, String> =
        form_urlencoded::parse(req.uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let Some(query) = params.get("query") else {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"title": "Invalid Request", "detail": "query is required"}),
            &[],
        );
    };
    if query.len() > 512 {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"title": "Invalid Request", "detail": "query is longer than 512"}),
            &[],
        );
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
        .unwrap_or(10)
        .clamp(10, 100);
    let from: usize = params
        .get("next_token")
        .and_then(|t| t.strip_prefix('p'))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
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
    };
    let Some(newest) = index[..upper].iter().find(|e| matches(e)) else {
        return reply(StatusCode::OK, json!({"meta": {"result_count": 0}}), &[]);
    };
    let mut page: Vec<&Value> = Vec::with_capacity(max);
    let mut next = from.min(upper);
    while next < upper && page.len() < max {
        if matches(&index[next]) {
            page.push(&tweets[index[next].at]);
        }
        next += 1;
    }
    let more = index[next..upper].iter().any(matches);
    st.served.fetch_add(page.len(), Ordering::Relaxed);
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
        meta["next_token"] = json!(format!("p{next}"));
    }
    reply(
        StatusCode::OK,
        json!({"data": page, "includes": {"users": included}, "meta": meta}),
        &[],
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
