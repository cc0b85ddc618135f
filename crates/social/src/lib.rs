//! Sources beyond X. Bluesky and Reddit are read through one interface
//! ([`PostSource`]): a source has queries, each with a cursor (the newest post
//! time it has read); a page of a query is newest first; [`poll`] reads each
//! query's pages back to its cursor within a post budget, and hands back
//! [`Post`]s, the normalized post every source gives. A post goes to Firehose
//! as an X-v2-shaped object with a `platform` key ([`Post::record`]; X's own
//! `source` field names the posting app), so the transform reads every
//! source with one parser. No AWS here.
//!
//! X keeps its own loop (`functions/ingest`): its since-id cursors, paused
//! paginations, monthly cap and backfill windows are X's alone.

pub mod bluesky;
pub mod http;
pub mod reddit;

#[cfg(feature = "fake")]
pub mod fake;

use serde_json::{json, Value};
use std::collections::BTreeMap;
pub use tickerpulse_core::source::{Cursor, Resume, Source};

/// A post of any source, normalized.
#[derive(Debug, Clone, PartialEq)]
pub struct Post {
    pub source: Source,
    /// Unique within the source, and of the source's own shape
    /// ([`Source::owns_id`]): `at://` URIs, Reddit fullnames.
    pub id: String,
    pub author_id: Option<String>,
    pub author: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub text: String,
    pub lang: Option<String>,
    pub likes: Option<u64>,
    pub reposts: Option<u64>,
    pub replies: Option<u64>,
    pub quotes: Option<u64>,
    /// Hashtags, mentions and links the source marked up (Bluesky's facets);
    /// the transform scans the text for the kinds left empty.
    pub hashtags: Vec<String>,
    pub mentions: Vec<String>,
    pub links: Vec<String>,
    /// Where a reader sees the post.
    pub url: String,
}

impl Post {
    /// The Firehose record: the fields of an X API v2 tweet object that the
    /// transform reads, and `platform`.
    pub fn record(&self) -> Vec<u8> {
        let tags =
            |v: &[String], key: &str| -> Vec<Value> { v.iter().map(|t| json!({key: t})).collect() };
        let mut entities = serde_json::Map::new();
        for (name, list, key) in [
            ("hashtags", &self.hashtags, "tag"),
            ("mentions", &self.mentions, "username"),
            ("urls", &self.links, "expanded_url"),
        ] {
            if !list.is_empty() {
                entities.insert(name.into(), Value::Array(tags(list, key)));
            }
        }
        let v = json!({
            "author": {"id": self.author_id, "username": self.author},
            "created_at": self.created_at,
            "entities": entities,
            "id": self.id,
            "lang": self.lang,
            "public_metrics": {
                "like_count": self.likes,
                "quote_count": self.quotes,
                "reply_count": self.replies,
                "retweet_count": self.reposts,
            },
            "platform": self.source.as_str(),
            "text": self.text,
        });
        serde_json::to_vec(&v).unwrap_or_default()
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SocialError {
    /// 429, or a window spent: `reset_epoch` is when it resets, if said.
    #[error("{api} rate limited until {reset_epoch:?}")]
    RateLimited {
        api: &'static str,
        reset_epoch: Option<i64>,
    },
    /// The credentials are refused: a fix of the secret is needed.
    #[error("{0} refused the credentials: {1}")]
    Unauthorized(&'static str, String),
    #[error("{0} server error {1}")]
    Server(&'static str, u16),
    /// Another 4xx: the request is wrong, retrying cannot help.
    #[error("{0} refused the request ({1}): {2}")]
    Client(&'static str, u16, String),
    #[error("{0} unreachable: {1}")]
    Transport(&'static str, String),
    #[error("{0} response is not what the API documents: {1}")]
    BadResponse(&'static str, String),
}

impl SocialError {
    /// Worth another try later (a rate limit, a server error, the network).
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            SocialError::RateLimited { .. } | SocialError::Server(..) | SocialError::Transport(..)
        )
    }
}

/// One page of a query, newest first.
#[derive(Debug, Default)]
pub struct SourcePage {
    pub posts: Vec<Post>,
    /// The next (older) page, if there is one.
    pub next: Option<String>,
}

/// A source of posts: its queries and a page of one.
#[allow(async_fn_in_trait)]
pub trait PostSource {
    fn source(&self) -> Source;
    /// The queries a run reads, each with a cursor of its own.
    fn queries(&self) -> Vec<String>;
    /// A page of `query`, newest first: the first (`page` = `None`) or the one
    /// a previous page named. `since` (RFC 3339): the source may leave out
    /// posts before it.
    async fn page(
        &mut self,
        query: &str,
        since: Option<&str>,
        page: Option<&str>,
    ) -> Result<SourcePage, SocialError>;
}

/// Each query's cursor.
pub type Cursors = BTreeMap<String, Cursor>;

/// What [`poll`] read.
#[derive(Debug, Default)]
pub struct Polled {
    pub posts: Vec<Post>,
    /// The cursors to keep once the posts reached Firehose (only the queries
    /// whose cursor changed). A cursor moves only over what was read: a query
    /// that stopped keeps its `newest` and records where to go on.
    pub cursors: Cursors,
    pub pages: usize,
    /// Queries that stopped at the budget or the page cap before their cursor.
    pub unfinished: usize,
    /// The error that stopped the run, if one did (the posts read before it
    /// are kept; their queries' cursors move).
    pub stopped: Option<SocialError>,
}

/// A cursor's overlap: posts up to this long before it are read again, so a
/// post indexed late is not missed. The lake counts a post seen twice once.
pub const OVERLAP_SECS: i64 = 60;

fn micros(ts: &str) -> Option<i128> {
    tickerpulse_core::partition::parse_rfc3339(ts)
        .ok()
        .map(|t| t.unix_timestamp_nanos() / 1000)
}

/// Reads every query back to its cursor (less [`OVERLAP_SECS`]), newest
/// first, at most `max_pages` pages a query and about `max_posts` posts in all
/// (a page is read whole, so the budget can be passed by one page), starting at
/// query `first` and going round. A query without a cursor reads back to
/// `since` (a backfill) or, without one, its first page only: a poll does not
/// read history by itself. A query whose last read stopped early goes on from
/// the page it stopped at before it reads anything newer; its cursor moves only
/// once it has read down to the old one.
pub async fn poll<S: PostSource>(
    src: &mut S,
    cursors: &Cursors,
    since: Option<&str>,
    max_posts: usize,
    max_pages: usize,
    first: usize,
) -> Polled {
    let mut out = Polled::default();
    let queries = src.queries();
    let n = queries.len();
    for k in 0..n {
        let query = &queries[(first + k) % n];
        if out.posts.len() >= max_posts {
            out.unfinished += 1;
            continue;
        }
        let state = cursors.get(query);
        let cursor = state.map(|c| c.newest.as_str()).or(since);
        let floor = cursor
            .and_then(micros)
            .map(|m| m - i128::from(OVERLAP_SECS) * 1_000_000);
        let since = floor.map(|f| {
            let t = time::OffsetDateTime::from_unix_timestamp_nanos(f * 1000)
                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
            t.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        });
        let resume = state.and_then(|c| c.resume.clone());
        let resuming = resume.is_some();
        // The page to read next, and the newest post this read has seen (a
        // resumed read starts with the one that stopped).
        let mut page = resume.as_ref().map(|r| r.page.clone());
        let mut newest: Option<(i128, String)> = resume
            .as_ref()
            .and_then(|r| micros(&r.top).map(|m| (m, r.top.clone())));
        let mut reached = false;
        let mut read_any = false;
        for p in 0..max_pages.max(1) {
            let got = match src.page(query, since.as_deref(), page.as_deref()).await {
                Ok(got) => got,
                Err(e) => {
                    // A stored page the source no longer takes: read from the
                    // top again next time (the cursor has not moved, nothing is lost).
                    if resuming && !read_any && matches!(e, SocialError::Client(..)) {
                        out.cursors
                            .insert(query.clone(), Cursor::at(cursor.unwrap_or_default()));
                    }
                    out.stopped = Some(e);
                    break;
                }
            };
            out.pages += 1;
            read_any = true;
            for post in got.posts {
                let Some(at) = micros(&post.created_at) else {
                    continue;
                };
                if floor.is_some_and(|f| at < f) {
                    reached = true;
                    break;
                }
                if newest.as_ref().is_none_or(|(n, _)| at > *n) {
                    newest = Some((at, post.created_at.clone()));
                }
                out.posts.push(post);
            }
            page = got.next;
            if reached || page.is_none() || cursor.is_none() {
                reached = true;
                break;
            }
            if out.posts.len() >= max_posts || p + 1 == max_pages.max(1) {
                break;
            }
        }
        if reached {
            // Read down to the old cursor: it moves to the newest post seen.
            let moved = match (&newest, cursor.and_then(micros)) {
                (Some((n, at)), Some(old)) if *n > old => Some(at.clone()),
                (Some((_, at)), None) => Some(at.clone()),
                _ => cursor.map(str::to_string),
            };
            if let Some(at) = moved {
                if resuming || state.is_none_or(|c| c.newest != at) {
                    out.cursors.insert(query.clone(), Cursor::at(&at));
                }
            }
        } else {
            out.unfinished += 1;
            // Stopped before the old cursor: it stays, and the next read goes on
            // from the page not yet read (the one that failed, or the next).
            if let (Some(next), Some((_, top))) = (page, newest) {
                out.cursors.insert(
                    query.clone(),
                    Cursor {
                        newest: cursor.unwrap_or_default().to_string(),
                        resume: Some(Resume { page: next, top }),
                    },
                );
            }
        }
        if out.stopped.is_some() {
            break;
        }
    }
    out
}

/// A source read through some of its queries: `take` of them a run,
/// starting where `minute` says and going round, so that a small share a run
/// reaches every query in turn.
pub struct Rotation<'a, P> {
    inner: &'a mut P,
    queries: Vec<String>,
}

impl<'a, P: PostSource> Rotation<'a, P> {
    pub fn new(inner: &'a mut P, take: usize, minute: usize) -> Self {
        let all = inner.queries();
        let n = all.len().max(1);
        let take = take.min(all.len());
        let start = (minute * take) % n;
        let queries = (0..take).map(|k| all[(start + k) % n].clone()).collect();
        Self { inner, queries }
    }
}

impl<P: PostSource> PostSource for Rotation<'_, P> {
    fn source(&self) -> Source {
        self.inner.source()
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
        self.inner.page(query, since, page).await
    }
}

/// The sources a `SOCIAL_SOURCES` value names (`bluesky,reddit`; `none`
/// for none), or why it cannot be read.
pub fn parse_sources(value: &str) -> Result<Vec<Source>, String> {
    let mut out = Vec::new();
    for name in value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "none")
    {
        match Source::parse(name) {
            Some(s @ (Source::Bluesky | Source::Reddit)) if !out.contains(&s) => out.push(s),
            Some(Source::Bluesky | Source::Reddit) => {}
            _ => {
                return Err(format!(
                    "{name:?} is not a source here: want bluesky and/or reddit"
                ))
            }
        }
    }
    Ok(out)
}

/// A backfill event's `since` (`{"since": "2026-12-01T00:00:00Z"}`) as UTC
/// RFC 3339; `None` for any other event (the schedule's).
pub fn backfill_since(event: &Value) -> Result<Option<String>, String> {
    let Some(v) = event.get("since") else {
        return Ok(None);
    };
    let t = v
        .as_str()
        .and_then(|s| tickerpulse_core::partition::parse_rfc3339(s).ok())
        .ok_or_else(|| format!("since must be an RFC 3339 time (2026-12-01T00:00:00Z), not {v}"))?;
    Ok(rfc3339_of_secs(t.unix_timestamp() as f64))
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` of epoch seconds (fractions kept to the ms).
pub fn rfc3339_of_secs(secs: f64) -> Option<String> {
    let nanos = (secs * 1e9).round() as i128;
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()?;
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    ))
}

/// A timestamp as UTC `YYYY-MM-DDTHH:MM:SS.mmmZ`, whatever offset it was
/// written with (Bluesky's `createdAt` is the client's clock and offset).
pub fn utc_rfc3339(ts: &str) -> Option<String> {
    let t = tickerpulse_core::partition::parse_rfc3339(ts).ok()?;
    rfc3339_of_secs(t.unix_timestamp_nanos() as f64 / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Scripted {
        pages: Vec<Vec<(&'static str, &'static str)>>,
        asked: Vec<(String, Option<String>, Option<String>)>,
    }

    impl PostSource for Scripted {
        fn source(&self) -> Source {
            Source::Bluesky
        }
        fn queries(&self) -> Vec<String> {
            vec!["q".into()]
        }
        async fn page(
            &mut self,
            query: &str,
            since: Option<&str>,
            page: Option<&str>,
        ) -> Result<SourcePage, SocialError> {
            self.asked
                .push((query.into(), since.map(Into::into), page.map(Into::into)));
            let i: usize = page.map_or(0, |p| p.parse().unwrap());
            let posts = self.pages[i]
                .iter()
                .map(|(id, at)| Post {
                    source: Source::Bluesky,
                    id: id.to_string(),
                    author_id: None,
                    author: None,
                    created_at: at.to_string(),
                    text: "t".into(),
                    lang: None,
                    likes: None,
                    reposts: None,
                    replies: None,
                    quotes: None,
                    hashtags: vec![],
                    mentions: vec![],
                    links: vec![],
                    url: String::new(),
                })
                .collect();
            Ok(SourcePage {
                posts,
                next: (i + 1 < self.pages.len()).then(|| (i + 1).to_string()),
            })
        }
    }

    fn scripted() -> Scripted {
        Scripted {
            pages: vec![
                vec![
                    ("a", "2026-12-04T10:05:00.000Z"),
                    ("b", "2026-12-04T10:04:00.000Z"),
                ],
                vec![
                    ("c", "2026-12-04T10:03:30.000Z"),
                    ("d", "2026-12-04T10:01:00.000Z"),
                ],
                vec![("e", "2026-12-04T09:00:00.000Z")],
            ],
            asked: vec![],
        }
    }

    #[tokio::test]
    async fn a_poll_reads_back_to_its_cursor_less_the_overlap() {
        let mut src = scripted();
        let cursors = Cursors::from([("q".to_string(), Cursor::at("2026-12-04T10:04:00.000Z"))]);
        let got = poll(&mut src, &cursors, None, 100, 10, 0).await;
        let ids: Vec<&str> = got.posts.iter().map(|p| p.id.as_str()).collect();
        // b is the cursor's own post, c is inside the overlap: both read again.
        assert_eq!(ids, ["a", "b", "c"]);
        assert_eq!(got.cursors["q"], Cursor::at("2026-12-04T10:05:00.000Z"));
        assert_eq!((got.pages, got.unfinished), (2, 0));
        assert_eq!(src.asked[0].1.as_deref(), Some("2026-12-04T10:03:00Z"));
    }

    #[tokio::test]
    async fn a_first_poll_reads_one_page_and_the_budget_stops_a_poll() {
        let mut src = scripted();
        let got = poll(&mut src, &Cursors::new(), None, 100, 10, 0).await;
        assert_eq!(got.posts.len(), 2);
        assert_eq!(got.cursors["q"], Cursor::at("2026-12-04T10:05:00.000Z"));
        let cursors = Cursors::from([("q".to_string(), Cursor::at("2026-12-04T08:00:00.000Z"))]);
        let got = poll(&mut scripted(), &cursors, None, 3, 10, 0).await;
        // Pages are read whole: the budget stops the poll between pages.
        assert_eq!((got.posts.len(), got.unfinished), (4, 1));
        // The cursor stays where reading stopped short of it, and says where to go on.
        let stopped = &got.cursors["q"];
        assert_eq!(stopped.newest, "2026-12-04T08:00:00.000Z");
        let resume = stopped.resume.clone().expect("a resume point");
        assert_eq!(
            (resume.page.as_str(), resume.top.as_str()),
            ("2", "2026-12-04T10:05:00.000Z")
        );
        // The next poll goes on from there and, having reached the cursor, moves it.
        let mut src = scripted();
        let got = poll(&mut src, &got.cursors, None, 3, 10, 0).await;
        let ids: Vec<&str> = got.posts.iter().map(|p| p.id.as_str()).collect();
        assert_eq!((ids, got.unfinished), (vec!["e"], 0));
        assert_eq!(src.asked[0].2.as_deref(), Some("2"));
        assert_eq!(got.cursors["q"], Cursor::at("2026-12-04T10:05:00.000Z"));
        // A backfill: no cursor, read back to `since`.
        let got = poll(
            &mut scripted(),
            &Cursors::new(),
            Some("2026-12-04T10:02:00.000Z"),
            100,
            10,
            0,
        )
        .await;
        let ids: Vec<&str> = got.posts.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c", "d"], "down to since less the overlap");
        assert_eq!(
            (got.unfinished, got.cursors["q"].newest.as_str()),
            (0, "2026-12-04T10:05:00.000Z")
        );
    }

    #[test]
    fn a_post_is_an_x_shaped_record_with_its_source() {
        let p = Post {
            source: Source::Reddit,
            id: "t3_abc".into(),
            author_id: Some("t2_x".into()),
            author: Some("trader".into()),
            created_at: "2026-12-04T10:05:00.000Z".into(),
            text: "TSLA calls".into(),
            lang: None,
            likes: Some(5),
            reposts: None,
            replies: Some(2),
            quotes: None,
            hashtags: vec![],
            mentions: vec![],
            links: vec!["https://example.com".into()],
            url: "https://www.reddit.com/r/stocks/comments/abc/".into(),
        };
        let v: Value = serde_json::from_slice(&p.record()).unwrap();
        assert_eq!(v["platform"], "reddit");
        assert_eq!(v["id"], "t3_abc");
        assert_eq!(v["author"]["username"], "trader");
        assert_eq!(v["public_metrics"]["like_count"], 5);
        assert_eq!(
            v["entities"]["urls"][0]["expanded_url"],
            "https://example.com"
        );
        assert!(
            v["entities"].get("hashtags").is_none(),
            "left for the transform's scan"
        );
    }

    #[test]
    fn rotations_sources_and_backfills() {
        struct Many(Vec<String>);
        impl PostSource for Many {
            fn source(&self) -> Source {
                Source::Reddit
            }
            fn queries(&self) -> Vec<String> {
                self.0.clone()
            }
            async fn page(
                &mut self,
                _: &str,
                _: Option<&str>,
                _: Option<&str>,
            ) -> Result<SourcePage, SocialError> {
                Ok(SourcePage::default())
            }
        }
        let mut many = Many((0..5).map(|i| i.to_string()).collect());
        assert_eq!(Rotation::new(&mut many, 2, 0).queries(), ["0", "1"]);
        assert_eq!(Rotation::new(&mut many, 2, 1).queries(), ["2", "3"]);
        assert_eq!(Rotation::new(&mut many, 2, 2).queries(), ["4", "0"]);
        assert_eq!(Rotation::new(&mut many, 9, 7).queries().len(), 5);
        assert_eq!(
            parse_sources("bluesky, reddit,bluesky"),
            Ok(vec![Source::Bluesky, Source::Reddit])
        );
        assert_eq!(parse_sources("none"), Ok(vec![]));
        assert!(parse_sources("x").is_err() && parse_sources("mastodon").is_err());
        assert_eq!(
            backfill_since(&json!({"detail-type": "Scheduled Event"})),
            Ok(None)
        );
        assert_eq!(
            backfill_since(&json!({"since": "2026-12-01T02:00:00+02:00"})),
            Ok(Some("2026-12-01T00:00:00.000Z".into()))
        );
        assert!(backfill_since(&json!({"since": 5})).is_err());
    }

    #[test]
    fn timestamps_normalize_to_utc() {
        assert_eq!(
            rfc3339_of_secs(1_583_199_650.5).unwrap(),
            "2020-03-03T01:40:50.500Z"
        );
        assert_eq!(
            utc_rfc3339("2026-12-04T12:00:00+02:00").unwrap(),
            "2026-12-04T10:00:00.000Z"
        );
        assert_eq!(utc_rfc3339("yesterday"), None);
    }
}
