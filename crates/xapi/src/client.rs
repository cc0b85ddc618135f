//! A small client of the X API v2 search: recent search
//! (`GET /2/tweets/search/recent`, docs.x.com/x-api/posts/search-recent-posts,
//! the last 7 days) or, on plans that have it, full-archive search
//! (`GET /2/tweets/search/all`).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use serde_json::Value;
use std::collections::HashMap;

/// What later steps need of each tweet and its author.
pub const FIELDS: &str =
    "tweet.fields=created_at,author_id,lang,entities,public_metrics,referenced_tweets\
&expansions=author_id&user.fields=username,verified,public_metrics,created_at";

/// Recent search keeps 7 days (docs.x.com/x-api/posts/search/introduction).
pub const RECENT_WINDOW_SECS: i64 = 7 * 24 * 3600;

/// Which search a deployment's plan has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Endpoint {
    /// The last 7 days, every plan.
    #[default]
    Recent,
    /// Since 2006 (Pro and Enterprise plans).
    All,
}

impl Endpoint {
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Recent => "/2/tweets/search/recent",
            Endpoint::All => "/2/tweets/search/all",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "recent" => Some(Endpoint::Recent),
            "all" => Some(Endpoint::All),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum XApiError {
    /// 429: `x-rate-limit-reset` is when the window resets (epoch seconds).
    #[error("rate limited until {reset_epoch:?}")]
    RateLimited { reset_epoch: Option<i64> },
    /// 429 with `"title": "UsageCapExceeded"`: the plan's posts for the period
    /// (`"period": "Monthly"`) are spent; nothing passes before it ends.
    #[error("the plan's {period} usage cap is reached")]
    UsageCapped { period: String },
    /// 400 naming `since_id`: the cursor is older than recent search's 7 days.
    #[error("since_id {since_id} is older than recent search keeps")]
    StaleSinceId { since_id: u64 },
    /// 400 naming `next_token`: a held pagination X no longer honours.
    #[error("X no longer honours the pagination token")]
    StaleNextToken,
    #[error("X API server error {0}")]
    Server(u16),
    /// 4xx other than 429: the request is wrong; retrying cannot help.
    #[error("X API refused the request ({0}): {1}")]
    Client(u16, String),
    #[error("X API unreachable: {0}")]
    Transport(String),
    #[error("X API response is not what the API documents: {0}")]
    BadResponse(String),
}

/// One page of results, tweets with their author merged in under `author`.
#[derive(Debug, Default)]
pub struct Page {
    pub tweets: Vec<Value>,
    pub newest_id: Option<u64>,
    pub next_token: Option<String>,
}

#[derive(Debug, Default, Clone)]
pub struct SearchParams {
    pub query: String,
    pub since_id: Option<u64>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub next_token: Option<String>,
    pub max_results: u32,
}

pub struct XApi {
    base: String,
    token: String,
    pub endpoint: Endpoint,
    http: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl std::fmt::Debug for XApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("XApi")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// Everything but RFC 3986's unreserved characters is percent-encoded.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes a query parameter value (RFC 3986 unreserved characters stay).
pub fn encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, QUERY_VALUE).to_string()
}

impl XApi {
    pub fn new(base: &str, token: String) -> Result<Self, XApiError> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| {
                XApiError::Transport(format!("loading the system's CA certificates: {e}"))
            })?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            base: base.trim_end_matches('/').to_string(),
            token,
            endpoint: Endpoint::Recent,
            http: Client::builder(hyper_util::rt::TokioExecutor::new()).build(https),
        })
    }

    pub fn url(&self, p: &SearchParams) -> String {
        let mut url = format!(
            "{}{}?query={}&max_results={}&{FIELDS}",
            self.base,
            self.endpoint.path(),
            encode(&p.query),
            p.max_results.clamp(
                10,
                match self.endpoint {
                    Endpoint::Recent => 100,
                    Endpoint::All => 500,
                }
            )
        );
        if let Some(id) = p.since_id {
            url.push_str(&format!("&since_id={id}"));
        }
        for (k, v) in [
            ("start_time", &p.start_time),
            ("end_time", &p.end_time),
            ("next_token", &p.next_token),
        ] {
            if let Some(v) = v {
                url.push_str(&format!("&{k}={}", encode(v)));
            }
        }
        url
    }

    /// The API's base URL (no trailing `/`).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// One request: with the bearer token for the API's own URLs (`bearer`),
    /// without it for the signed storage URLs X hands out. Returns the status,
    /// `x-rate-limit-reset` and the body.
    pub(crate) async fn send(
        &self,
        method: hyper::Method,
        url: &str,
        bearer: bool,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Result<(u16, Option<i64>, Bytes), XApiError> {
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(url)
            .header("user-agent", "tickerpulse-ingest");
        if bearer {
            req = req.header("authorization", format!("Bearer {}", self.token));
        }
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| XApiError::Transport(e.to_string()))?;
        let resp = tokio::time::timeout(std::time::Duration::from_secs(30), self.http.request(req))
            .await
            .map_err(|_| XApiError::Transport("no answer in 30 s".into()))?
            .map_err(|e| XApiError::Transport(e.to_string()))?;
        let status = resp.status().as_u16();
        let reset = resp
            .headers()
            .get("x-rate-limit-reset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<i64>().ok());
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| XApiError::Transport(e.to_string()))?
            .to_bytes();
        Ok((status, reset, body))
    }

    pub async fn search(&self, p: &SearchParams) -> Result<Page, XApiError> {
        let (status, reset, body) = self
            .send(hyper::Method::GET, &self.url(p), true, None, Vec::new())
            .await?;
        match status {
            200 => parse_page(&body),
            429 => Err(match usage_cap(&body) {
                Some(period) => XApiError::UsageCapped { period },
                None => XApiError::RateLimited { reset_epoch: reset },
            }),
            500..=599 => Err(XApiError::Server(status)),
            400 if p.next_token.is_some() && names_parameter(&body, "next_token") => {
                Err(XApiError::StaleNextToken)
            }
            400 if p.since_id.is_some() && names_parameter(&body, "since_id") => {
                Err(XApiError::StaleSinceId {
                    since_id: p.since_id.unwrap_or_default(),
                })
            }
            _ => Err(XApiError::Client(
                status,
                String::from_utf8_lossy(&body).chars().take(300).collect(),
            )),
        }
    }
}

/// The period of a usage-cap 429 (`{"title": "UsageCapExceeded", "period":
/// "Monthly", ...}`, as X answers it: xdevplatform/xdk#25); `None` for a rate
/// limit.
pub fn usage_cap(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    (v.get("title").and_then(Value::as_str) == Some("UsageCapExceeded")).then(|| {
        v.get("period")
            .and_then(Value::as_str)
            .unwrap_or("Monthly")
            .to_string()
    })
}

/// Whether an error body's `errors[].parameters` names `param` (X's
/// "Invalid Request" shape: rooteco/tweetscape#421).
pub fn names_parameter(body: &[u8], param: &str) -> bool {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("errors").and_then(Value::as_array).cloned())
        .is_some_and(|errors| {
            errors
                .iter()
                .any(|e| e.pointer(&format!("/parameters/{param}")).is_some())
        })
}

/// The time a post id was made: X ids are snowflakes, milliseconds since
/// 2010-11-04T01:42:54.657Z in the bits above the 22 low ones.
pub fn snowflake_millis(id: u64) -> i64 {
    (id >> 22) as i64 + 1_288_834_974_657
}

/// The smallest id made at or after `millis` (epoch milliseconds).
pub fn snowflake_at(millis: i64) -> u64 {
    ((millis - 1_288_834_974_657).max(0) as u64) << 22
}

/// Parses a search page and merges each tweet's author from `includes.users`.
pub fn parse_page(body: &[u8]) -> Result<Page, XApiError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| XApiError::BadResponse(e.to_string()))?;
    let users: HashMap<&str, &Value> = v
        .pointer("/includes/users")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|u| Some((u.get("id")?.as_str()?, u)))
                .collect()
        })
        .unwrap_or_default();
    let mut tweets = Vec::new();
    for t in v
        .get("data")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let mut t = t.clone();
        let author = t
            .get("author_id")
            .and_then(Value::as_str)
            .and_then(|id| users.get(id))
            .map(|u| (*u).clone());
        if let (Some(obj), Some(a)) = (t.as_object_mut(), author) {
            obj.insert("author".into(), a);
        }
        tweets.push(t);
    }
    let meta = v.get("meta");
    Ok(Page {
        tweets,
        newest_id: meta
            .and_then(|m| m.get("newest_id"))
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok()),
        next_token: meta
            .and_then(|m| m.get("next_token"))
            .and_then(Value::as_str)
            .map(String::from),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_page_with_authors_merged() {
        let line = tickerpulse_dataroot::require(tickerpulse_dataroot::X_SEARCH_PAGE);
        let page = parse_page(line.lines().next().unwrap().as_bytes()).unwrap();
        assert!(!page.tweets.is_empty());
        let with_author = page
            .tweets
            .iter()
            .filter(|t| t.get("author").is_some())
            .count();
        assert_eq!(with_author, page.tweets.len());
        assert!(page.next_token.is_some());
        assert!(page.newest_id.is_some());
        assert!(matches!(
            parse_page(b"<html>"),
            Err(XApiError::BadResponse(_))
        ));
    }

    #[test]
    fn query_encoding() {
        assert_eq!(
            encode("($TSLA OR $BRK) -is:retweet"),
            "%28%24TSLA%20OR%20%24BRK%29%20-is%3Aretweet"
        );
        let api = XApi::new("http://127.0.0.1:9/", "secret".into()).unwrap();
        let url = api.url(&SearchParams {
            query: "$A".into(),
            since_id: Some(5),
            max_results: 500,
            ..Default::default()
        });
        assert!(url.starts_with(
            "http://127.0.0.1:9/2/tweets/search/recent?query=%24A&max_results=100&tweet.fields="
        ));
        assert!(url.ends_with("&since_id=5"));
        assert!(!format!("{api:?}").contains("secret"));
    }
}
