//! The enriched tweet: one JSON line per tweet in the raw zone, as `transform`
//! writes it and `compact` reads it. The README documents this schema.

use serde::{Deserialize, Serialize};

/// Bumped when the enriched record changes shape.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnrichedTweet {
    pub schema_version: u32,
    pub tweet_id: String,
    /// As the X API gives it, e.g. `2020-04-15T01:03:46.000Z` (UTC).
    pub created_at: String,
    pub author_id: Option<String>,
    pub author_username: Option<String>,
    pub author_verified: Option<bool>,
    pub author_followers: Option<u64>,
    pub author_created_at: Option<String>,
    pub text: String,
    pub lang: Option<String>,
    /// Cashtags, upper-cased, deduplicated, in order of appearance.
    pub tickers: Vec<String>,
    /// The subset of `tickers` on the watch list.
    pub watched_tickers: Vec<String>,
    /// Hashtags without `#`, lower-cased, deduplicated.
    pub hashtags: Vec<String>,
    /// Mentioned usernames without `@`, lower-cased, deduplicated.
    pub mentions: Vec<String>,
    /// Expanded URLs where the API gives them.
    pub urls: Vec<String>,
    pub retweet_count: Option<u64>,
    pub reply_count: Option<u64>,
    pub like_count: Option<u64>,
    pub quote_count: Option<u64>,
    pub is_retweet: bool,
    pub is_reply: bool,
    pub is_quote: bool,
    pub sentiment: Sentiment,
    /// When Firehose received the record (ms since the epoch), if known.
    pub arrival_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sentiment {
    pub compound: f64,
    pub pos: f64,
    pub neu: f64,
    pub neg: f64,
    /// `positive`, `neutral` or `negative`.
    pub label: String,
    /// `vader` or `finance`.
    pub mode: String,
    /// The scorer that produced these figures.
    pub scorer: String,
}
