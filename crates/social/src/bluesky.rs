//! Bluesky: `app.bsky.feed.searchPosts` (lexicons/app/bsky/feed/searchPosts.json
//! in bluesky-social/atproto: `q`, `sort=latest`, `since`, `limit` 1..=100,
//! `cursor`; answers `{posts: [postView], cursor?, hitsTotal?}`) behind a
//! session made with an app password (`com.atproto.server.createSession`).
//!
//! Limits (docs.bsky.app/docs/advanced-guides/rate-limits): 3,000 requests per
//! 5 minutes per IP; createSession 30 per 5 minutes and 300 a day per account,
//! so the client makes a session once and keeps it until Bluesky says
//! `ExpiredToken`. A 429 carries `ratelimit-reset` (epoch seconds, the
//! draft-polli-ratelimit-headers fields every answer carries).

use crate::http::{self, Answer, HttpClient};
use crate::{utc_rfc3339, Post, PostSource, SocialError, Source, SourcePage};
use bytes::Bytes;
use http_body_util::Full;
use serde_json::{json, Value};

const WHO: &str = "bluesky";

/// searchPosts' page size limit.
pub const MAX_LIMIT: u32 = 100;

/// An app password's login (the secret's JSON: `{"identifier": "handle or
/// email", "app_password": "xxxx-xxxx-xxxx-xxxx"}`).
#[derive(Clone, serde::Deserialize)]
pub struct Login {
    pub identifier: String,
    pub app_password: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        f.debug_struct("Login")
            .field("identifier", &self.identifier)
            .finish_non_exhaustive()
    }
}

pub struct Bluesky {
    base: String,
    login: Login,
    http: HttpClient,
    access_jwt: Option<String>,
    /// One query per watched ticker (`TSLA lang:en`; see [`build_queries`]).
    pub queries: Vec<String>,
    pub limit: u32,
    /// Sessions made by this client (a warm Lambda keeps its session).
    pub sessions: usize,
}

/// The queries for a watch list: one a ticker, with `lang:` when a language
/// is kept. A symbol that is also a word (`IT`, `NOW`: `cashtag(symbol)` says
/// so) is searched as the quoted cashtag, `"$IT"`: the word alone would bring
/// back every post that says "it".
pub fn build_queries(
    symbols: &[&str],
    lang: Option<&str>,
    cashtag: impl Fn(&str) -> bool,
) -> Vec<String> {
    symbols
        .iter()
        .map(|s| {
            let term = if cashtag(s) {
                format!("\"${s}\"")
            } else {
                s.to_string()
            };
            match lang {
                Some(l) => format!("{term} lang:{l}"),
                None => term,
            }
        })
        .collect()
}

/// An XRPC error body's `error` name (`{"error": "ExpiredToken", "message": ...}`).
fn xrpc_error(a: &Answer) -> Option<String> {
    serde_json::from_slice::<Value>(&a.body)
        .ok()?
        .get("error")?
        .as_str()
        .map(str::to_string)
}

fn failure(a: &Answer) -> SocialError {
    match a.status {
        429 => SocialError::RateLimited {
            api: WHO,
            reset_epoch: a.header("ratelimit-reset").and_then(|v| v.parse().ok()),
        },
        401 => SocialError::Unauthorized(WHO, a.excerpt()),
        500..=599 => SocialError::Server(WHO, a.status),
        s => SocialError::Client(WHO, s, a.excerpt()),
    }
}

impl Bluesky {
    pub fn new(base: &str, login: Login, queries: Vec<String>) -> Result<Self, SocialError> {
        Ok(Self {
            base: base.trim_end_matches('/').to_string(),
            login,
            http: http::client(WHO)?,
            access_jwt: None,
            queries,
            limit: MAX_LIMIT,
            sessions: 0,
        })
    }

    async fn create_session(&mut self) -> Result<String, SocialError> {
        let body =
            json!({"identifier": self.login.identifier, "password": self.login.app_password});
        let req = hyper::Request::post(format!(
            "{}/xrpc/com.atproto.server.createSession",
            self.base
        ))
        .header("content-type", "application/json")
        .header("user-agent", http::USER_AGENT)
        .body(Full::new(Bytes::from(body.to_string())))
        .map_err(|e| SocialError::Transport(WHO, e.to_string()))?;
        let a = http::send(&self.http, WHO, req).await?;
        if a.status != 200 {
            return Err(failure(&a));
        }
        self.sessions += 1;
        let v: Value = serde_json::from_slice(&a.body)
            .map_err(|e| SocialError::BadResponse(WHO, e.to_string()))?;
        let jwt = v
            .get("accessJwt")
            .and_then(Value::as_str)
            .ok_or_else(|| SocialError::BadResponse(WHO, "createSession gave no accessJwt".into()))?
            .to_string();
        self.access_jwt = Some(jwt.clone());
        Ok(jwt)
    }

    pub fn search_url(&self, q: &str, since: Option<&str>, cursor: Option<&str>) -> String {
        let mut url = format!(
            "{}/xrpc/app.bsky.feed.searchPosts?q={}&sort=latest&limit={}",
            self.base,
            tickerpulse_xapi::client::encode(q),
            self.limit.clamp(1, MAX_LIMIT)
        );
        for (k, v) in [("since", since), ("cursor", cursor)] {
            if let Some(v) = v {
                url.push_str(&format!("&{k}={}", tickerpulse_xapi::client::encode(v)));
            }
        }
        url
    }

    async fn search(&mut self, url: &str) -> Result<Answer, SocialError> {
        // A session expires (Bluesky answers 400 ExpiredToken): one new one, then again.
        for attempt in 0..2 {
            let jwt = match &self.access_jwt {
                Some(j) => j.clone(),
                None => self.create_session().await?,
            };
            let req = hyper::Request::get(url)
                .header("authorization", format!("Bearer {jwt}"))
                .header("user-agent", http::USER_AGENT)
                .body(Full::new(Bytes::new()))
                .map_err(|e| SocialError::Transport(WHO, e.to_string()))?;
            let a = http::send(&self.http, WHO, req).await?;
            let expired = matches!(a.status, 400 | 401)
                && matches!(
                    xrpc_error(&a).as_deref(),
                    Some("ExpiredToken" | "InvalidToken")
                );
            if expired && attempt == 0 {
                self.access_jwt = None;
                continue;
            }
            return Ok(a);
        }
        unreachable!("the loop returns on its second attempt")
    }
}

/// URIs one `app.bsky.feed.getPosts` takes (lexicons/app/bsky/feed/getPosts.json:
/// `uris`, `maxLength` 25).
pub const GET_POSTS_MAX: usize = 25;

impl Bluesky {
    /// Which of these post URIs Bluesky no longer serves: `getPosts` leaves
    /// out a post that was deleted or whose author's account is gone.
    pub async fn gone(&mut self, uris: &[String]) -> Result<Vec<String>, SocialError> {
        let mut gone = Vec::new();
        for batch in uris.chunks(GET_POSTS_MAX) {
            let query: Vec<String> = batch
                .iter()
                .map(|u| format!("uris={}", tickerpulse_xapi::client::encode(u)))
                .collect();
            let url = format!(
                "{}/xrpc/app.bsky.feed.getPosts?{}",
                self.base,
                query.join("&")
            );
            let a = self.search(&url).await?;
            if a.status != 200 {
                return Err(failure(&a));
            }
            let v: Value = serde_json::from_slice(&a.body)
                .map_err(|e| SocialError::BadResponse(WHO, e.to_string()))?;
            let served: std::collections::HashSet<&str> = v
                .get("posts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|p| p.get("uri").and_then(Value::as_str))
                .collect();
            gone.extend(
                batch
                    .iter()
                    .filter(|u| !served.contains(u.as_str()))
                    .cloned(),
            );
        }
        Ok(gone)
    }
}

/// A post's time: its `sortAt`, the earlier of the author's `createdAt` and
/// the AppView's `indexedAt`. `createdAt` is whatever the client wrote
/// (docs.bsky.app/docs/advanced-guides/timestamps: "clients are allowed to
/// insert any value"); search lists and filters posts by `sortAt`
/// (`app.bsky.feed.searchPosts` `since`), so cursors kept in it follow the
/// listing, and a post dated ahead is counted when it was indexed, not in an
/// hour that has not come.
fn post_time(created_at: &str, indexed_at: Option<&str>) -> Option<String> {
    let created = utc_rfc3339(created_at)?;
    let Some(indexed) = indexed_at.and_then(utc_rfc3339) else {
        return Some(created);
    };
    let secs = |t: &str| {
        tickerpulse_core::partition::parse_rfc3339(t)
            .ok()
            .map(|t| t.unix_timestamp_nanos())
    };
    Some(if secs(&indexed) < secs(&created) {
        indexed
    } else {
        created
    })
}

/// A `postView` as a [`Post`]; `None` for a view without the fields a post has.
pub fn post_of_view(v: &Value) -> Option<Post> {
    let uri = v.get("uri")?.as_str()?;
    let record = v.get("record")?;
    let text = record.get("text")?.as_str()?.to_string();
    let created_at = post_time(
        record.get("createdAt")?.as_str()?,
        v.get("indexedAt").and_then(Value::as_str),
    )?;
    let author = v.get("author");
    let handle = author
        .and_then(|a| a.get("handle"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let did = author
        .and_then(|a| a.get("did"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let lang = record
        .get("langs")
        .and_then(Value::as_array)
        .and_then(|l| l.first())
        .and_then(Value::as_str)
        .map(|l| l.split('-').next().unwrap_or(l).to_ascii_lowercase());
    let (mut hashtags, mut mentions, mut links) = (Vec::new(), Vec::new(), Vec::new());
    for facet in record
        .get("facets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        // byteStart/byteEnd index the text's UTF-8 bytes
        // (lexicons/app/bsky/richtext/facet.json).
        let slice = || {
            let i = facet.get("index")?;
            let (s, e) = (i.get("byteStart")?.as_u64()?, i.get("byteEnd")?.as_u64()?);
            text.get(s as usize..e as usize)
        };
        for f in facet
            .get("features")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            match f.get("$type").and_then(Value::as_str) {
                Some("app.bsky.richtext.facet#tag") => {
                    if let Some(t) = f.get("tag").and_then(Value::as_str) {
                        hashtags.push(t.to_string());
                    }
                }
                Some("app.bsky.richtext.facet#link") => {
                    if let Some(u) = f.get("uri").and_then(Value::as_str) {
                        links.push(u.to_string());
                    }
                }
                Some("app.bsky.richtext.facet#mention") => {
                    // The handle as written (`@name.bsky.social`), else the DID.
                    let written = slice().map(|s| s.trim_start_matches('@').to_string());
                    if let Some(m) = written
                        .filter(|s| !s.is_empty())
                        .or_else(|| f.get("did").and_then(Value::as_str).map(str::to_string))
                    {
                        mentions.push(m);
                    }
                }
                _ => {}
            }
        }
    }
    let rkey = uri.rsplit('/').next().unwrap_or_default();
    let who = handle.clone().or(did.clone()).unwrap_or_default();
    let n = |k: &str| v.get(k).and_then(Value::as_u64);
    Some(Post {
        source: Source::Bluesky,
        id: uri.to_string(),
        author_id: did,
        author: handle,
        created_at,
        text,
        lang,
        likes: n("likeCount"),
        reposts: n("repostCount"),
        replies: n("replyCount"),
        quotes: n("quoteCount"),
        hashtags,
        mentions,
        links,
        url: format!("https://bsky.app/profile/{who}/post/{rkey}"),
    })
}

/// A searchPosts answer as a page.
pub fn parse_page(body: &[u8]) -> Result<SourcePage, SocialError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| SocialError::BadResponse(WHO, e.to_string()))?;
    let posts = v
        .get("posts")
        .and_then(Value::as_array)
        .ok_or_else(|| SocialError::BadResponse(WHO, "no posts array".into()))?;
    Ok(SourcePage {
        posts: posts.iter().filter_map(post_of_view).collect(),
        next: v.get("cursor").and_then(Value::as_str).map(str::to_string),
    })
}

impl PostSource for Bluesky {
    fn source(&self) -> Source {
        Source::Bluesky
    }

    fn queries(&self) -> Vec<String> {
        self.queries.clone()
    }

    async fn page(
        &mut self,
        query: &str,
        since: Option<&str>,
        page: Option<&str>,
    ) -> Result<SourcePage, SocialError> {
        let url = self.search_url(query, since, page);
        let a = self.search(&url).await?;
        if a.status != 200 {
            return Err(failure(&a));
        }
        parse_page(&a.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_view_with_facets_is_a_post() {
        let text = "TSLA to the moon @ana.bsky.social #stocks https://x.co";
        let at = |s: &str| text.find(s).unwrap();
        let v = json!({
            "uri": "at://did:plc:abc/app.bsky.feed.post/3kxyz",
            "cid": "bafy",
            "author": {"did": "did:plc:abc", "handle": "trader.bsky.social"},
            "record": {
                "$type": "app.bsky.feed.post",
                "text": text,
                "createdAt": "2026-12-04T12:00:00.123+02:00",
                "langs": ["en-US"],
                "facets": [
                    {"index": {"byteStart": at("@ana"), "byteEnd": at(" #stocks")},
                     "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:ana"}]},
                    {"index": {"byteStart": at("#stocks"), "byteEnd": at(" https")},
                     "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "stocks"}]},
                    {"index": {"byteStart": at("https"), "byteEnd": text.len()},
                     "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://x.co"}]}
                ]
            },
            "likeCount": 3, "repostCount": 1, "replyCount": 0, "quoteCount": 0,
            "indexedAt": "2026-12-04T10:00:01.000Z"
        });
        let p = post_of_view(&v).unwrap();
        assert_eq!(p.created_at, "2026-12-04T10:00:00.123Z");
        // Dated ahead by its client: the time it was indexed. Dated behind (an
        // import): the time it claims, as Bluesky lists it.
        let mut ahead = v.clone();
        ahead["record"]["createdAt"] = json!("2027-01-01T00:00:00Z");
        assert_eq!(
            post_of_view(&ahead).unwrap().created_at,
            "2026-12-04T10:00:01.000Z"
        );
        let mut behind = v.clone();
        behind["record"]["createdAt"] = json!("2019-05-01T00:00:00Z");
        assert_eq!(
            post_of_view(&behind).unwrap().created_at,
            "2019-05-01T00:00:00.000Z"
        );
        assert_eq!(p.lang.as_deref(), Some("en"));
        assert_eq!(p.mentions, ["ana.bsky.social"]);
        assert_eq!(p.hashtags, ["stocks"]);
        assert_eq!(p.links, ["https://x.co"]);
        assert_eq!(
            p.url,
            "https://bsky.app/profile/trader.bsky.social/post/3kxyz"
        );
        assert!(Source::Bluesky.owns_id(&p.id));
        // A view without a record is left out, not an error.
        assert!(post_of_view(&json!({"uri": "at://x"})).is_none());
    }

    #[test]
    fn queries_and_urls() {
        assert_eq!(
            build_queries(&["TSLA", "BRK.B", "IT"], Some("en"), |s| s == "IT"),
            ["TSLA lang:en", "BRK.B lang:en", "\"$IT\" lang:en"]
        );
        let b = Bluesky::new(
            "http://h/",
            Login {
                identifier: "a".into(),
                app_password: "secret".into(),
            },
            vec![],
        )
        .unwrap();
        assert_eq!(
            b.search_url("TSLA lang:en", Some("2026-12-04T10:00:00Z"), None),
            "http://h/xrpc/app.bsky.feed.searchPosts?q=TSLA%20lang%3Aen&sort=latest&limit=100&since=2026-12-04T10%3A00%3A00Z"
        );
        assert!(!format!("{:?}", b.login).contains("secret"));
    }
}
