//! The enriched tweet: one JSON line per tweet in the raw zone, as `transform`
//! writes it and `compact` reads it. The README documents this schema.

use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// Bumped when the enriched record changes shape.
pub const SCHEMA_VERSION: u32 = 1;

/// Strings are `Cow`s so that `transform` writes a record that borrows from the
/// tweet it came from (no copy of the text, ids or names) and a reader can borrow
/// from the line it parses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnrichedTweet<'a> {
    pub schema_version: u32,
    #[serde(borrow)]
    pub tweet_id: Cow<'a, str>,
    /// As the X API gives it, e.g. `2020-04-15T01:03:46.000Z` (UTC).
    #[serde(borrow)]
    pub created_at: Cow<'a, str>,
    #[serde(borrow)]
    pub author_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub author_username: Option<Cow<'a, str>>,
    pub author_verified: Option<bool>,
    pub author_followers: Option<u64>,
    #[serde(borrow)]
    pub author_created_at: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub text: Cow<'a, str>,
    #[serde(borrow)]
    pub lang: Option<Cow<'a, str>>,
    /// Cashtags, upper-cased, deduplicated, in order of appearance.
    #[serde(borrow)]
    pub tickers: Vec<Cow<'a, str>>,
    /// The subset of `tickers` on the watch list.
    #[serde(borrow)]
    pub watched_tickers: Vec<Cow<'a, str>>,
    /// Hashtags without `#`, lower-cased, deduplicated.
    #[serde(borrow)]
    pub hashtags: Vec<Cow<'a, str>>,
    /// Mentioned usernames without `@`, lower-cased, deduplicated.
    #[serde(borrow)]
    pub mentions: Vec<Cow<'a, str>>,
    /// Expanded URLs where the API gives them.
    #[serde(borrow)]
    pub urls: Vec<Cow<'a, str>>,
    pub retweet_count: Option<u64>,
    pub reply_count: Option<u64>,
    pub like_count: Option<u64>,
    pub quote_count: Option<u64>,
    pub is_retweet: bool,
    pub is_reply: bool,
    pub is_quote: bool,
    #[serde(borrow)]
    pub sentiment: Sentiment<'a>,
    /// When Firehose received the record (ms since the epoch), if known.
    pub arrival_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sentiment<'a> {
    pub compound: f64,
    pub pos: f64,
    pub neu: f64,
    pub neg: f64,
    /// `positive`, `neutral` or `negative`.
    #[serde(borrow)]
    pub label: Cow<'a, str>,
    /// `vader` or `finance`.
    #[serde(borrow)]
    pub mode: Cow<'a, str>,
    /// The scorer that produced these figures.
    #[serde(borrow)]
    pub scorer: Cow<'a, str>,
}
