//! Reddit: the new posts (`/r/{subs}/new`) and new comments
//! (`/r/{subs}/comments`) of the watched subreddits, several at once
//! (`wallstreetbets+stocks`), read with an app-only OAuth token
//! (`grant_type=client_credentials`, github.com/reddit-archive/reddit/wiki/OAuth2).
//!
//! Listings are `{"kind": "Listing", "data": {"after", "before", "children":
//! [{"kind": "t3"|"t1", "data": {...}}]}}`, 100 items a page at most, newest
//! first, paged with `after` (as recorded in praw-dev/praw's cassettes,
//! `TestSubredditListings.test_new`/`test_comments`). Every answer carries
//! `x-ratelimit-used`, `x-ratelimit-remaining` and `x-ratelimit-reset`
//! (seconds to the window's end; praw's cassettes, and
//! support.reddithelp.com "Data API Wiki": 100 queries a minute per client id,
//! averaged over 10 minutes). The client reads them and sends nothing once
//! the window is spent; a 429 says the same. Errors are `{"message":
//! "Unauthorized", "error": 401}`.

use crate::http::{self, Answer, HttpClient};
use crate::{rfc3339_of_secs, Post, PostSource, SocialError, Source, SourcePage};
use base64::Engine;
use bytes::Bytes;
use http_body_util::Full;
use serde_json::Value;

const WHO: &str = "reddit";

/// A listing's page size limit.
pub const MAX_LIMIT: u32 = 100;

/// The subreddits read by default.
pub const DEFAULT_SUBREDDITS: &str = "wallstreetbets,stocks,investing,options";

/// The app's credentials (the secret's JSON: `{"client_id": ..., "client_secret": ...}`).
#[derive(Clone, serde::Deserialize)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// What the last answer said of the rate limit window.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Window {
    pub used: Option<f64>,
    pub remaining: Option<f64>,
    /// Seconds to the window's end.
    pub reset_secs: Option<i64>,
}

impl Window {
    fn of(a: &Answer) -> Option<Self> {
        let f = |h| a.header(h).and_then(|v| v.trim().parse::<f64>().ok());
        let w = Window {
            used: f("x-ratelimit-used"),
            remaining: f("x-ratelimit-remaining"),
            reset_secs: f("x-ratelimit-reset").map(|s| s as i64),
        };
        (w.remaining.is_some() || w.reset_secs.is_some()).then_some(w)
    }
}

pub struct Reddit {
    auth_base: String,
    api_base: String,
    creds: Credentials,
    http: HttpClient,
    token: Option<String>,
    /// `wallstreetbets+stocks+...`
    pub subreddits: String,
    pub window: Option<Window>,
    /// Clock for `reset_epoch` (seconds since the epoch).
    pub now_secs: fn() -> i64,
}

fn now_secs() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The two listings a run reads.
pub const QUERIES: [&str; 2] = ["new", "comments"];

fn failure(a: &Answer, now: i64) -> SocialError {
    match a.status {
        429 => SocialError::RateLimited {
            api: WHO,
            reset_epoch: Window::of(a).and_then(|w| w.reset_secs).map(|s| now + s),
        },
        401 | 403 => SocialError::Unauthorized(WHO, a.excerpt()),
        500..=599 => SocialError::Server(WHO, a.status),
        s => SocialError::Client(WHO, s, a.excerpt()),
    }
}

impl Reddit {
    pub fn new(
        auth_base: &str,
        api_base: &str,
        creds: Credentials,
        subreddits: &[&str],
    ) -> Result<Self, SocialError> {
        Ok(Self {
            auth_base: auth_base.trim_end_matches('/').to_string(),
            api_base: api_base.trim_end_matches('/').to_string(),
            creds,
            http: http::client(WHO)?,
            token: None,
            subreddits: subreddits.join("+"),
            window: None,
            now_secs,
        })
    }

    async fn fetch_token(&mut self) -> Result<String, SocialError> {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            self.creds.client_id, self.creds.client_secret
        ));
        let req = hyper::Request::post(format!("{}/api/v1/access_token", self.auth_base))
            .header("authorization", format!("Basic {basic}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("user-agent", http::USER_AGENT)
            .body(Full::new(Bytes::from_static(
                b"grant_type=client_credentials",
            )))
            .map_err(|e| SocialError::Transport(WHO, e.to_string()))?;
        let a = http::send(&self.http, WHO, req).await?;
        if a.status != 200 {
            return Err(failure(&a, (self.now_secs)()));
        }
        let v: Value = serde_json::from_slice(&a.body)
            .map_err(|e| SocialError::BadResponse(WHO, e.to_string()))?;
        // A refused grant is a 200 with `{"error": "unsupported_grant_type"}`.
        if let Some(e) = v.get("error") {
            return Err(SocialError::Unauthorized(WHO, e.to_string()));
        }
        let token = v
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| SocialError::BadResponse(WHO, "no access_token".into()))?
            .to_string();
        self.token = Some(token.clone());
        Ok(token)
    }

    pub fn listing_url(&self, listing: &str, after: Option<&str>) -> String {
        let mut url = format!(
            "{}/r/{}/{listing}?limit={MAX_LIMIT}&raw_json=1",
            self.api_base, self.subreddits
        );
        if let Some(a) = after {
            url.push_str(&format!("&after={}", tickerpulse_xapi::client::encode(a)));
        }
        url
    }

    async fn get(&mut self, url: &str) -> Result<Answer, SocialError> {
        // The window is spent: nothing is sent before it resets.
        if let Some(w) = self.window {
            if w.remaining.is_some_and(|r| r < 1.0) {
                return Err(SocialError::RateLimited {
                    api: WHO,
                    reset_epoch: w.reset_secs.map(|s| (self.now_secs)() + s),
                });
            }
        }
        for attempt in 0..2 {
            let token = match &self.token {
                Some(t) => t.clone(),
                None => self.fetch_token().await?,
            };
            let req = hyper::Request::get(url)
                .header("authorization", format!("bearer {token}"))
                .header("user-agent", http::USER_AGENT)
                .body(Full::new(Bytes::new()))
                .map_err(|e| SocialError::Transport(WHO, e.to_string()))?;
            let a = http::send(&self.http, WHO, req).await?;
            if let Some(w) = Window::of(&a) {
                self.window = Some(w);
            }
            // An expired token is a 401 (`www-authenticate: Bearer ...
            // error="invalid_token"`): one new token, then again.
            if a.status == 401 && attempt == 0 {
                self.token = None;
                continue;
            }
            return Ok(a);
        }
        unreachable!("the loop returns on its second attempt")
    }
}

/// Fullnames one `GET /api/info` takes (reddit.com/dev/api#GET_api_info: "a
/// comma-separated list of thing fullnames", at most 100).
pub const INFO_MAX: usize = 100;

/// Whether a thing `/api/info` shows was withdrawn: deleted by its author
/// (author and text `[deleted]`; Reddit keeps the shell) or removed
/// (`[removed]`, or a `removed_by_category`).
pub fn withdrawn(d: &Value) -> bool {
    let s = |k: &str| d.get(k).and_then(Value::as_str);
    s("author") == Some("[deleted]")
        || ["selftext", "body"]
            .iter()
            .any(|k| matches!(s(k), Some("[deleted]" | "[removed]")))
        || d.get("removed_by_category").is_some_and(|v| !v.is_null())
}

impl Reddit {
    /// Which of these fullnames (`t3_…` posts, `t1_…` comments) Reddit no
    /// longer shows: missing from `/api/info`, or [`withdrawn`].
    pub async fn gone(&mut self, fullnames: &[String]) -> Result<Vec<String>, SocialError> {
        let mut gone = Vec::new();
        for batch in fullnames.chunks(INFO_MAX) {
            let url = format!(
                "{}/api/info?id={}&raw_json=1",
                self.api_base,
                tickerpulse_xapi::client::encode(&batch.join(","))
            );
            let a = self.get(&url).await?;
            if a.status != 200 {
                return Err(failure(&a, (self.now_secs)()));
            }
            let v: Value = serde_json::from_slice(&a.body)
                .map_err(|e| SocialError::BadResponse(WHO, e.to_string()))?;
            let shown: std::collections::HashMap<&str, &Value> = v
                .pointer("/data/children")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|c| {
                    let d = c.get("data")?;
                    Some((d.get("name")?.as_str()?, d))
                })
                .collect();
            gone.extend(
                batch
                    .iter()
                    .filter(|id| shown.get(id.as_str()).is_none_or(|d| withdrawn(d)))
                    .cloned(),
            );
        }
        Ok(gone)
    }
}

/// A listing child (`t3` post or `t1` comment) as a [`Post`].
pub fn post_of_child(child: &Value) -> Option<Post> {
    let kind = child.get("kind")?.as_str()?;
    let d = child.get("data")?;
    let s = |k: &str| d.get(k).and_then(Value::as_str);
    let n = |k: &str| d.get(k).and_then(Value::as_i64).map(|v| v.max(0) as u64);
    let id = s("name")?.to_string();
    let created_at = rfc3339_of_secs(d.get("created_utc")?.as_f64()?)?;
    let (text, replies, links) = match kind {
        "t3" => {
            let title = s("title").unwrap_or_default();
            let body = s("selftext").unwrap_or_default();
            let text = if body.is_empty() {
                title.to_string()
            } else {
                format!("{title}\n\n{body}")
            };
            let link = (d.get("is_self").and_then(Value::as_bool) == Some(false))
                .then(|| s("url").map(str::to_string))
                .flatten();
            (text, n("num_comments"), link.into_iter().collect())
        }
        "t1" => (s("body")?.to_string(), None, Vec::new()),
        _ => return None,
    };
    let author = s("author")
        .filter(|a| *a != "[deleted]")
        .map(str::to_string);
    Some(Post {
        source: Source::Reddit,
        id,
        author_id: s("author_fullname").map(str::to_string),
        author,
        created_at,
        text,
        lang: None,
        likes: n("score"),
        reposts: None,
        replies,
        quotes: None,
        hashtags: Vec::new(),
        mentions: Vec::new(),
        links,
        url: format!("https://www.reddit.com{}", s("permalink").unwrap_or("/")),
    })
}

/// A listing as a page.
pub fn parse_listing(body: &[u8]) -> Result<SourcePage, SocialError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| SocialError::BadResponse(WHO, e.to_string()))?;
    let data = v
        .get("data")
        .filter(|_| v.get("kind").and_then(Value::as_str) == Some("Listing"))
        .ok_or_else(|| SocialError::BadResponse(WHO, "not a Listing".into()))?;
    let children = data
        .get("children")
        .and_then(Value::as_array)
        .ok_or_else(|| SocialError::BadResponse(WHO, "no children".into()))?;
    Ok(SourcePage {
        posts: children.iter().filter_map(post_of_child).collect(),
        next: data
            .get("after")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

impl PostSource for Reddit {
    fn source(&self) -> Source {
        Source::Reddit
    }

    fn queries(&self) -> Vec<String> {
        QUERIES.iter().map(|q| q.to_string()).collect()
    }

    /// Listings have no time filter: `since` is the poll's to apply.
    async fn page(
        &mut self,
        query: &str,
        _since: Option<&str>,
        page: Option<&str>,
    ) -> Result<SourcePage, SocialError> {
        let url = self.listing_url(query, page);
        let a = self.get(&url).await?;
        if a.status != 200 {
            return Err(failure(&a, (self.now_secs)()));
        }
        parse_listing(&a.body)
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_deleted_or_removed_thing_is_withdrawn() {
        let v = |j: &str| serde_json::from_str::<Value>(j).unwrap();
        assert!(!withdrawn(&v(
            r#"{"author": "a", "selftext": "text", "removed_by_category": null}"#
        )));
        assert!(withdrawn(&v(
            r#"{"author": "[deleted]", "selftext": "[deleted]"}"#
        )));
        assert!(withdrawn(&v(r#"{"author": "a", "body": "[removed]"}"#)));
        assert!(withdrawn(&v(
            r#"{"author": "a", "selftext": "", "removed_by_category": "moderator"}"#
        )));
    }

    use super::*;
    use serde_json::json;

    #[test]
    fn posts_and_comments_of_a_listing() {
        let body = json!({"kind": "Listing", "data": {"after": "t1_b", "before": null, "dist": 3, "modhash": "",
        "children": [
            {"kind": "t3", "data": {"name": "t3_a", "id": "a", "title": "TSLA earnings", "selftext": "calls?",
             "author": "trader", "author_fullname": "t2_x", "created_utc": 1764842400.0, "score": 12,
             "num_comments": 3, "is_self": true, "permalink": "/r/stocks/comments/a/tsla_earnings/",
             "subreddit": "stocks", "url": "https://www.reddit.com/r/stocks/comments/a/tsla_earnings/"}},
            {"kind": "t1", "data": {"name": "t1_b", "id": "b", "body": "NVDA puts", "author": "[deleted]",
             "created_utc": 1764842399.5, "score": -2, "permalink": "/r/stocks/comments/a/x/b/",
             "link_id": "t3_a"}},
            {"kind": "more", "data": {}}
        ]}});
        let page = parse_listing(body.to_string().as_bytes()).unwrap();
        assert_eq!(page.next.as_deref(), Some("t1_b"));
        assert_eq!(page.posts.len(), 2);
        let (p, c) = (&page.posts[0], &page.posts[1]);
        assert_eq!(p.text, "TSLA earnings\n\ncalls?");
        assert_eq!((p.likes, p.replies), (Some(12), Some(3)));
        assert_eq!(p.created_at, "2025-12-04T10:00:00.000Z");
        assert_eq!(
            p.url,
            "https://www.reddit.com/r/stocks/comments/a/tsla_earnings/"
        );
        assert_eq!((c.author.as_deref(), c.likes), (None, Some(0)));
        assert!(Source::Reddit.owns_id(&p.id) && Source::Reddit.owns_id(&c.id));
        assert!(parse_listing(b"{\"kind\": \"t3\"}").is_err());
    }

    #[test]
    fn urls_join_the_subreddits() {
        let r = Reddit::new(
            "http://a",
            "http://o/",
            Credentials {
                client_id: "id".into(),
                client_secret: "s3cret".into(),
            },
            &["wallstreetbets", "stocks"],
        )
        .unwrap();
        assert_eq!(
            r.listing_url("new", Some("t3_x")),
            "http://o/r/wallstreetbets+stocks/new?limit=100&raw_json=1&after=t3_x"
        );
        assert!(!format!("{:?}", r.creds).contains("s3cret"));
    }
}
