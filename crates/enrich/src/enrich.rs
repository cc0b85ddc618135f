//! The domain half of the transform, pure: one X API v2 tweet object (bytes) in,
//! an enriched JSON line and its hour partition out, or why not.

use serde::Deserialize;
use std::borrow::Cow;
use tickerpulse_core::source::Source;
use tickerpulse_core::tickers::TickerFinder;
use tickerpulse_core::tweet::{EnrichedTweet, Sentiment, SCHEMA_VERSION};
use tickerpulse_core::watchlist::{for_each_cashtag, normalized_symbol, Watchlist};
use tickerpulse_core::HourPartition;
use tickerpulse_json::json_keys;
use tickerpulse_json::{self as json, Cursor};
use tickerpulse_vader::Analyzer;

/// Tweets longer than this are not tweets (X allows 25,000 characters for long posts).
pub const MAX_TEXT_CHARS: usize = 25_000;

/// A tweet or user id: the X API sends strings, older payloads numbers.
/// Read by a visitor of its own: `#[serde(untagged)]` would buffer every id
/// into an intermediate value first, three times a tweet.
#[derive(Debug)]
struct Id<'a>(Cow<'a, str>);

impl<'a> Id<'a> {
    fn into_cow(self) -> Cow<'a, str> {
        self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Id<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for IdVisitor<'a> {
            type Value = Id<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an id: a string or a non-negative integer")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(Id(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Id(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Id(Cow::Owned(v)))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Id(Cow::Owned(v.to_string())))
            }
        }
        deserializer.deserialize_any(IdVisitor(std::marker::PhantomData))
    }
}

#[derive(Debug, Deserialize, Default)]
struct Tag<'a> {
    #[serde(borrow, default)]
    tag: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    username: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    expanded_url: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    url: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize, Default)]
struct Entities<'a> {
    #[serde(borrow, default)]
    cashtags: Vec<Tag<'a>>,
    #[serde(borrow, default)]
    hashtags: Vec<Tag<'a>>,
    #[serde(borrow, default)]
    mentions: Vec<Tag<'a>>,
    #[serde(borrow, default)]
    urls: Vec<Tag<'a>>,
}

#[derive(Debug, Deserialize, Default)]
struct Metrics {
    retweet_count: Option<u64>,
    reply_count: Option<u64>,
    like_count: Option<u64>,
    quote_count: Option<u64>,
    followers_count: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct Reference<'a> {
    #[serde(borrow, rename = "type")]
    kind: Cow<'a, str>,
}

#[derive(Debug, Deserialize, Default)]
struct Author<'a> {
    #[serde(borrow, default)]
    id: Option<Id<'a>>,
    #[serde(borrow, default)]
    username: Option<Cow<'a, str>>,
    #[serde(default)]
    verified: Option<bool>,
    #[serde(borrow, default)]
    created_at: Option<Cow<'a, str>>,
    #[serde(default)]
    public_metrics: Option<Metrics>,
}

/// A tweet object as the X API v2 returns it, with the author merged in by ingest.
#[derive(Debug, Deserialize, Default)]
struct RawTweet<'a> {
    #[serde(borrow, default)]
    id: Option<Id<'a>>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    created_at: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    author_id: Option<Id<'a>>,
    #[serde(borrow, default)]
    lang: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    entities: Option<Entities<'a>>,
    #[serde(default)]
    public_metrics: Option<Metrics>,
    #[serde(borrow, default)]
    referenced_tweets: Option<Vec<Reference<'a>>>,
    #[serde(borrow, default)]
    author: Option<Author<'a>>,
    /// `bluesky` or `reddit` for the normalized posts of other sources
    /// (absent for X's tweets). Not `source`: X's tweet objects have a
    /// `source` of their own, the app that posted them ("Twitter for iPhone").
    #[serde(borrow, default, rename = "platform")]
    platform: Option<Cow<'a, str>>,
}

// The fast path for the tweet object: keys in the order ingest writes them
// (serde_json sorts an object's keys), each struct read as serde would read it.
json_keys!(TweetKey {
    "author" => Author,
    "author_id" => AuthorId,
    "created_at" => CreatedAt,
    "entities" => Entities,
    "id" => Id,
    "lang" => Lang,
    "public_metrics" => PublicMetrics,
    "platform" => Platform,
    "referenced_tweets" => ReferencedTweets,
    "text" => Text,
});

json_keys!(AuthorKey {
    "created_at" => CreatedAt,
    "id" => Id,
    "public_metrics" => PublicMetrics,
    "username" => Username,
    "verified" => Verified,
});

json_keys!(EntitiesKey {
    "cashtags" => Cashtags,
    "hashtags" => Hashtags,
    "mentions" => Mentions,
    "urls" => Urls,
});

json_keys!(TagKey {
    "expanded_url" => ExpandedUrl,
    "tag" => Tag,
    "url" => Url,
    "username" => Username,
});

json_keys!(MetricsKey {
    "followers_count" => FollowersCount,
    "like_count" => LikeCount,
    "quote_count" => QuoteCount,
    "reply_count" => ReplyCount,
    "retweet_count" => RetweetCount,
});

json_keys!(ReferenceKey {
    "type" => Type,
});

/// An id as [`Id`]'s visitor reads it: a string, or an integer that fits a u64.
fn read_id<'a>(c: &mut Cursor<'a>) -> Option<Option<Id<'a>>> {
    if c.null()? {
        return Some(None);
    }
    if c.peek()? == b'"' {
        return Some(Some(Id(c.string()?)));
    }
    Some(Some(Id(Cow::Owned(c.u64()?.to_string()))))
}

/// An optional object: `null` is `None`, as serde reads an `Option`.
fn read_opt<'a, T>(
    c: &mut Cursor<'a>,
    read: fn(&mut Cursor<'a>) -> Option<T>,
) -> Option<Option<T>> {
    if c.null()? {
        return Some(None);
    }
    read(c).map(Some)
}

/// A list of objects (a `Vec` is never `null` for serde).
fn read_list<'a, T>(c: &mut Cursor<'a>, read: fn(&mut Cursor<'a>) -> Option<T>) -> Option<Vec<T>> {
    let mut out = Vec::new();
    c.array(|c| {
        out.push(read(c)?);
        Some(())
    })?;
    Some(out)
}

fn read_tag<'a>(c: &mut Cursor<'a>) -> Option<Tag<'a>> {
    let mut tag = Tag::default();
    c.object(|c, key| {
        match key {
            TagKey::ExpandedUrl => tag.expanded_url = c.opt_string()?,
            TagKey::Tag => tag.tag = c.opt_string()?,
            TagKey::Url => tag.url = c.opt_string()?,
            TagKey::Username => tag.username = c.opt_string()?,
        }
        Some(())
    })?;
    Some(tag)
}

fn read_entities<'a>(c: &mut Cursor<'a>) -> Option<Entities<'a>> {
    let mut e = Entities::default();
    c.object(|c, key| {
        match key {
            EntitiesKey::Cashtags => e.cashtags = read_list(c, read_tag)?,
            EntitiesKey::Hashtags => e.hashtags = read_list(c, read_tag)?,
            EntitiesKey::Mentions => e.mentions = read_list(c, read_tag)?,
            EntitiesKey::Urls => e.urls = read_list(c, read_tag)?,
        }
        Some(())
    })?;
    Some(e)
}

fn read_metrics(c: &mut Cursor<'_>) -> Option<Metrics> {
    let mut m = Metrics::default();
    c.object(|c, key| {
        match key {
            MetricsKey::FollowersCount => m.followers_count = c.opt_u64()?,
            MetricsKey::LikeCount => m.like_count = c.opt_u64()?,
            MetricsKey::QuoteCount => m.quote_count = c.opt_u64()?,
            MetricsKey::ReplyCount => m.reply_count = c.opt_u64()?,
            MetricsKey::RetweetCount => m.retweet_count = c.opt_u64()?,
        }
        Some(())
    })?;
    Some(m)
}

fn read_reference<'a>(c: &mut Cursor<'a>) -> Option<Reference<'a>> {
    let mut kind = None;
    c.object(|c, key| {
        match key {
            ReferenceKey::Type => kind = Some(c.string()?),
        }
        Some(())
    })?;
    Some(Reference { kind: kind? })
}

fn read_author<'a>(c: &mut Cursor<'a>) -> Option<Author<'a>> {
    let mut a = Author::default();
    c.object(|c, key| {
        match key {
            AuthorKey::CreatedAt => a.created_at = c.opt_string()?,
            AuthorKey::Id => a.id = read_id(c)?,
            AuthorKey::PublicMetrics => a.public_metrics = read_opt(c, read_metrics)?,
            AuthorKey::Username => a.username = c.opt_string()?,
            AuthorKey::Verified => a.verified = c.opt_bool()?,
        }
        Some(())
    })?;
    Some(a)
}

/// Reads a tweet object without serde, or `None` when serde must (anything
/// malformed or unexpected): the same values where it reads, about three
/// times faster (a test holds both paths equal).
fn decode_tweet(text: &str) -> Option<RawTweet<'_>> {
    let mut c = Cursor::new(text);
    let mut t = RawTweet::default();
    c.object(|c, key| {
        match key {
            TweetKey::Author => t.author = read_opt(c, read_author)?,
            TweetKey::AuthorId => t.author_id = read_id(c)?,
            TweetKey::CreatedAt => t.created_at = c.opt_string()?,
            TweetKey::Entities => t.entities = read_opt(c, read_entities)?,
            TweetKey::Id => t.id = read_id(c)?,
            TweetKey::Lang => t.lang = c.opt_string()?,
            TweetKey::PublicMetrics => t.public_metrics = read_opt(c, read_metrics)?,
            TweetKey::ReferencedTweets => {
                t.referenced_tweets = read_opt(c, |c| read_list(c, read_reference))?
            }
            TweetKey::Platform => t.platform = c.opt_string()?,
            TweetKey::Text => t.text = c.opt_string()?,
        }
        Some(())
    })?;
    c.at_end().then_some(t)
}

/// Why a record is not delivered as it came.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("data is not base64")]
    NotBase64,
    #[error("data is not UTF-8 (byte {0})")]
    NotUtf8(usize),
    #[error("data is not a JSON tweet object: {0}")]
    NotJson(String),
    #[error("tweet has no {0}")]
    Missing(&'static str),
    #[error("tweet text is {0} characters, over the limit")]
    TooLong(usize),
    #[error("created_at {0:?} is not an RFC 3339 timestamp")]
    BadTimestamp(String),
    /// Before X existed, or more than 5 minutes after Firehose received it:
    /// one such record would move every "newest period" default.
    #[error("created_at {0:?} is outside the sane window (2006-03-21 to 5 minutes after arrival)")]
    TimeOutOfRange(String),
    #[error("source {0:?} is not x, bluesky or reddit")]
    UnknownSource(String),
    #[error("id {id:?} is not a {of} id")]
    ForeignId { id: String, of: &'static str },
    /// Excluded by configuration: delivered nowhere (Firehose `Dropped`).
    #[error("language {0:?} is not watched")]
    LanguageNotWatched(String),
}

impl Rejection {
    /// `Dropped` (configuration) rather than `ProcessingFailed` (unreadable).
    pub fn is_drop(&self) -> bool {
        matches!(self, Rejection::LanguageNotWatched(_))
    }
}

/// What the enrichment needs besides the tweet.
pub struct Enricher {
    pub analyzer: Analyzer,
    pub watchlist: Watchlist,
    /// Lower-case language codes to keep; empty keeps every language.
    pub languages: Vec<String>,
    /// Finds tickers written without a `$` in the posts of sources other
    /// than X (X's posts count their cashtags only, as before).
    pub finder: TickerFinder,
}

/// Appends `s` unless it is empty or in `v` already. The lists are short and
/// their strings shorter (symbols, tags, names): a byte loop compares them
/// without a `memcmp` call for each.
fn push_unique<'a>(v: &mut Vec<Cow<'a, str>>, s: Cow<'a, str>) {
    let same =
        |e: &Cow<'_, str>| e.len() == s.len() && e.bytes().zip(s.bytes()).all(|(a, b)| a == b);
    if !s.is_empty() && !v.iter().any(same) {
        v.push(s);
    }
}

/// `s` lower-cased, borrowed when it already is (the usual case).
fn lowercase(s: Cow<'_, str>) -> Cow<'_, str> {
    if s.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        s
    } else {
        Cow::Owned(s.to_lowercase())
    }
}

/// `s` with ASCII letters lower-cased, borrowed when it already is.
fn ascii_lowercase(s: Cow<'_, str>) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        s
    }
}

/// `#word` hashtags in a text, for tweets that come without entities: a `#`
/// or `＃` not after a letter, digit or `&`, then letters, digits and `_`
/// with at least one letter. The scan jumps from one sign to the next; only
/// the character before a sign and the tag itself are decoded.
fn hashtags_in_text<'a>(text: &'a str, out: &mut Vec<Cow<'a, str>>) {
    const WIDE: &[u8] = "＃".as_bytes();
    if !text.contains('#') && !text.contains('＃') {
        return;
    }
    let b = text.as_bytes();
    let mut i = 0;
    while let Some(at) = json::find_either(b, i, b'#', WIDE[0]) {
        let sign = if b[at] == b'#' {
            1
        } else if b.get(at..at + WIDE.len()) == Some(WIDE) {
            WIDE.len()
        } else {
            // Another character with the same first byte.
            i = at + 1;
            continue;
        };
        let start = at + sign;
        i = start;
        let prev = text.get(..at).and_then(|before| before.chars().next_back());
        if prev.is_some_and(|p| p.is_alphanumeric() || p == '&') {
            continue;
        }
        let Some(rest) = text.get(start..) else {
            break;
        };
        let len = rest
            .char_indices()
            .find(|&(_, d)| !(d.is_alphanumeric() || d == '_'))
            .map_or(rest.len(), |(j, _)| j);
        let tag = &rest[..len];
        if tag.chars().any(char::is_alphabetic) {
            push_unique(out, lowercase(Cow::Borrowed(tag)));
        }
        i = start + len;
    }
}

/// Runs a text scanner on the tweet's text: its finds borrow the record's bytes,
/// or are copied when the text had JSON escapes (and so is owned).
// The Cow itself is the point: its variant says whether finds can borrow.
#[allow(clippy::ptr_arg)]
fn scan_text<'a>(
    body: &Cow<'a, str>,
    out: &mut Vec<Cow<'a, str>>,
    scan: for<'b> fn(&'b str, &mut Vec<Cow<'b, str>>),
) {
    match body {
        Cow::Borrowed(text) => scan(text, out),
        Cow::Owned(text) => {
            let mut found = Vec::new();
            scan(text, &mut found);
            for f in found {
                push_unique(out, Cow::Owned(f.into_owned()));
            }
        }
    }
}

/// Cashtags in a text (the watch list's rules), upper-cased.
fn cashtags_of_text<'a>(text: &'a str, out: &mut Vec<Cow<'a, str>>) {
    for_each_cashtag(text, |symbol| push_unique(out, symbol));
}

/// `@user` mentions in a text, for tweets that come without entities.
fn mentions_in_text<'a>(text: &'a str, out: &mut Vec<Cow<'a, str>>) {
    let b = text.as_bytes();
    let mut i = 0;
    // `str::find` with an ASCII char jumps to the next `@` with memchr.
    while let Some(at) = text.get(i..).and_then(|rest| rest.find('@')) {
        i += at;
        if i == 0 || !b[i - 1].is_ascii_alphanumeric() {
            let start = i + 1;
            let mut end = start;
            while end < b.len()
                && (b[end].is_ascii_alphanumeric() || b[end] == b'_')
                && end - start < 15
            {
                end += 1;
            }
            if end > start {
                push_unique(out, ascii_lowercase(Cow::Borrowed(&text[start..end])));
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
}

/// X's first post was made on 2006-03-21 (epoch milliseconds).
const FIRST_POST_MS: i64 = 13_228 * 86_400_000; // days from 1970-01-01 to 2006-03-21

/// How far a post's time may be ahead of Firehose's arrival time. X and Reddit
/// stamp posts on their servers (`created_at`, `created_utc`); Bluesky's
/// `createdAt` is the client's and may be anything, so `social` sends the
/// AppView's `indexedAt` where it is earlier (Bluesky's `sortAt`), and Bluesky
/// allows 2 minutes of clock skew (docs.bsky.app/docs/advanced-guides/timestamps,
/// `CLOCK_SKEW_WINDOW`). Five minutes covers that and our own clocks' skew; a
/// post further ahead would move Pulse's windows and the "newest period"
/// defaults onto hours that have not happened.
pub const MAX_AHEAD_MS: i64 = 5 * 60_000;

/// Whether a post's time (epoch milliseconds) is one it can have been made
/// at: not before X's first post, and at most [`MAX_AHEAD_MS`] after Firehose
/// received it (`arrival_ms`).
pub fn sane_time(at_ms: i64, arrival_ms: Option<i64>) -> bool {
    at_ms >= FIRST_POST_MS && arrival_ms.is_none_or(|a| at_ms <= a + MAX_AHEAD_MS)
}

impl Enricher {
    /// The watch list's finder with the bundled rules.
    pub fn new(analyzer: Analyzer, watchlist: Watchlist, languages: Vec<String>) -> Self {
        Self {
            finder: TickerFinder::bundled(watchlist.clone()),
            analyzer,
            watchlist,
            languages,
        }
    }

    /// Enriches one record's bytes. `arrival_ms` is Firehose's arrival time.
    /// The record borrows from `data` wherever the tweet had no JSON escapes.
    pub fn enrich<'a>(
        &self,
        data: &'a [u8],
        arrival_ms: Option<i64>,
    ) -> Result<(EnrichedTweet<'a>, HourPartition), Rejection> {
        let text = std::str::from_utf8(data).map_err(|e| Rejection::NotUtf8(e.valid_up_to()))?;
        let raw: RawTweet = match decode_tweet(text) {
            Some(raw) => raw,
            None => serde_json::from_str(text.trim_end())
                .map_err(|e| Rejection::NotJson(e.to_string()))?,
        };
        let id = raw.id.ok_or(Rejection::Missing("id"))?.into_cow();
        if id.is_empty() {
            return Err(Rejection::Missing("id"));
        }
        // X's tweets name no source; a record that names X counts as one.
        let source = match raw.platform.as_deref() {
            None | Some("x") => Source::X,
            Some(s) => Source::parse(s).ok_or_else(|| Rejection::UnknownSource(s.to_string()))?,
        };
        if source != Source::X && !source.owns_id(&id) {
            return Err(Rejection::ForeignId {
                id: id.to_string(),
                of: source.as_str(),
            });
        }
        let body = raw.text.ok_or(Rejection::Missing("text"))?;
        // A character is at least one byte: only long texts need counting.
        if body.len() > MAX_TEXT_CHARS {
            let chars = body.chars().count();
            if chars > MAX_TEXT_CHARS {
                return Err(Rejection::TooLong(chars));
            }
        }
        let created_at = raw.created_at.ok_or(Rejection::Missing("created_at"))?;
        let at = tickerpulse_core::partition::parse_rfc3339(&created_at)
            .map_err(|_| Rejection::BadTimestamp(created_at.to_string()))?;
        let partition = HourPartition::containing(at);
        if !sane_time((at.unix_timestamp_nanos() / 1_000_000) as i64, arrival_ms) {
            return Err(Rejection::TimeOutOfRange(created_at.to_string()));
        }
        let lang = raw.lang.map(ascii_lowercase);
        // A tweet without a language is kept: only a language that is not watched drops it.
        if let Some(l) = &lang {
            if !self.languages.is_empty() && !self.languages.iter().any(|w| w == l) {
                return Err(Rejection::LanguageNotWatched(l.to_string()));
            }
        }

        let entities = raw.entities.unwrap_or_default();
        // Symbols borrow from the record where they are written normalized
        // (the usual case), so neither list allocates a string for them.
        let mut tickers = Vec::new();
        for tag in entities.cashtags.into_iter().filter_map(|t| t.tag) {
            let symbol = match tag {
                Cow::Borrowed(tag) => normalized_symbol(tag),
                Cow::Owned(tag) => normalized_symbol(&tag).map(|s| Cow::Owned(s.into_owned())),
            };
            if let Some(symbol) = symbol {
                push_unique(&mut tickers, symbol);
            }
        }
        scan_text(&body, &mut tickers, cashtags_of_text);
        if source != Source::X {
            for t in self.finder.find(&body) {
                push_unique(&mut tickers, Cow::Owned(t));
            }
        }
        // Each symbol counts under the ticker it meant on the post's day ($FB in
        // 2020 is META's), per the watch list's dated aliases.
        let day = tickerpulse_core::civil::days_from_civil(
            i64::from(partition.year),
            i64::from(partition.month),
            i64::from(partition.day),
        );
        let mut watched_tickers: Vec<Cow<'a, str>> = Vec::new();
        for t in &tickers {
            match self.watchlist.watched_on(t, day) {
                Some(w) if w == t.as_ref() => push_unique(&mut watched_tickers, t.clone()),
                Some(w) => push_unique(&mut watched_tickers, Cow::Owned(w.to_string())),
                None => {}
            }
        }
        let mut hashtags = Vec::new();
        let mut mentions = Vec::new();
        // The text is scanned when the API gave no entities of the kind.
        let (scan_hashtags, scan_mentions) =
            (entities.hashtags.is_empty(), entities.mentions.is_empty());
        for t in entities.hashtags {
            if let Some(tag) = t.tag {
                push_unique(&mut hashtags, lowercase(tag));
            }
        }
        for t in entities.mentions {
            if let Some(u) = t.username {
                push_unique(&mut mentions, ascii_lowercase(u));
            }
        }
        if scan_hashtags {
            scan_text(&body, &mut hashtags, hashtags_in_text);
        }
        if scan_mentions {
            scan_text(&body, &mut mentions, mentions_in_text);
        }
        let mut urls = Vec::new();
        for t in entities.urls {
            if let Some(u) = t.expanded_url.or(t.url) {
                push_unique(&mut urls, u);
            }
        }
        let refs = raw.referenced_tweets.unwrap_or_default();
        let has_ref = |k: &str| refs.iter().any(|r| r.kind == k);
        let metrics = raw.public_metrics.unwrap_or_default();
        let author = raw.author.unwrap_or_default();
        let author_id = raw.author_id.or(author.id).map(Id::into_cow);
        let sentiment = self.analyzer.sentiment(&body);
        let scores = sentiment.scores;
        let tweet = EnrichedTweet {
            schema_version: SCHEMA_VERSION,
            tweet_id: id,
            created_at,
            author_id,
            author_username: author.username,
            author_verified: author.verified,
            author_followers: author.public_metrics.and_then(|m| m.followers_count),
            author_created_at: author.created_at,
            is_retweet: has_ref("retweeted") || body.starts_with("RT @"),
            is_reply: has_ref("replied_to"),
            is_quote: has_ref("quoted"),
            text: body,
            lang,
            tickers,
            watched_tickers,
            hashtags,
            mentions,
            urls,
            retweet_count: metrics.retweet_count,
            reply_count: metrics.reply_count,
            like_count: metrics.like_count,
            quote_count: metrics.quote_count,
            sentiment: Sentiment {
                compound: scores.compound,
                pos: scores.pos,
                neu: scores.neu,
                neg: scores.neg,
                label: Cow::Borrowed(sentiment.label.as_str()),
                mode: Cow::Borrowed(self.analyzer.mode().as_str()),
                scorer: Cow::Borrowed(tickerpulse_vader::VERSION),
                probabilities: sentiment.probabilities,
            },
            arrival_ms,
            source: (source != Source::X).then_some(Cow::Borrowed(source.as_str())),
        };
        Ok((tweet, partition))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickerpulse_vader::Mode;

    /// The fast path never reads what serde refuses, and reads what it
    /// reads as serde does.
    fn agree(text: &str) -> bool {
        let slow = serde_json::from_str::<RawTweet>(text.trim_end()).ok();
        let fast = decode_tweet(text);
        if let Some(fast) = &fast {
            let slow = slow
                .as_ref()
                .unwrap_or_else(|| panic!("fast path read what serde refuses: {text}"));
            assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "{text}");
        }
        fast.is_some()
    }

    /// `value` as JSON with every object's keys in reverse order (serde_json
    /// writes them sorted, as ingest sends them).
    fn reversed(value: &serde_json::Value) -> String {
        match value {
            serde_json::Value::Object(map) => {
                let fields: Vec<String> = map
                    .iter()
                    .rev()
                    .map(|(k, v)| {
                        format!("{}:{}", serde_json::Value::from(k.as_str()), reversed(v))
                    })
                    .collect();
                format!("{{{}}}", fields.join(","))
            }
            serde_json::Value::Array(items) => {
                let items: Vec<String> = items.iter().map(reversed).collect();
                format!("[{}]", items.join(","))
            }
            other => other.to_string(),
        }
    }

    /// Real X API pages (tweets as the API orders their keys, with their
    /// authors merged in as ingest does, in reverse order) and a tweet
    /// patched field by field with what serde reads or refuses.
    #[test]
    fn the_tweet_decoder_agrees_with_serde() {
        let mut tweets = Vec::new();
        for file in [
            tickerpulse_dataroot::X_SEARCH_PAGE,
            tickerpulse_dataroot::X_TWEET_LOOKUP,
        ] {
            let text = tickerpulse_dataroot::require(file);
            for page in text.lines().filter(|l| !l.trim().is_empty()) {
                let page: serde_json::Value = serde_json::from_str(page).expect("page");
                let users = page["includes"]["users"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                for tweet in page["data"].as_array().into_iter().flatten() {
                    let mut tweet = tweet.clone();
                    let author = users
                        .iter()
                        .find(|u| u["id"] == tweet["author_id"])
                        .cloned();
                    if let (Some(obj), Some(a)) = (tweet.as_object_mut(), author) {
                        obj.insert("author".into(), a);
                    }
                    tweets.push(tweet);
                }
            }
        }
        assert!(tweets.len() >= 100, "{} sample tweets", tweets.len());
        let mut fast = 0;
        for tweet in &tweets {
            let sorted = tweet.to_string();
            fast += usize::from(agree(&sorted));
            assert!(agree(&reversed(tweet)), "any key order: {tweet}");
            assert!(agree(&serde_json::to_string_pretty(tweet).expect("json")));
        }
        assert_eq!(fast, tweets.len(), "every real tweet takes the fast path");

        let base = serde_json::json!({
            "author": {"created_at": "2011-01-01T00:00:00.000Z", "id": "7", "name": "N",
                       "public_metrics": {"followers_count": 5, "tweet_count": 1},
                       "username": "u", "verified": false},
            "author_id": "7", "created_at": "2020-04-15T01:03:46.000Z",
            "edit_history_tweet_ids": ["1"],
            "entities": {"annotations": [{"start": 0}], "cashtags": [{"end": 5, "start": 0, "tag": "TSLA"}],
                         "hashtags": [], "mentions": [{"id": "3", "username": "x"}],
                         "urls": [{"display_url": "d", "expanded_url": "https://e", "url": "https://t.co/x"}]},
            "id": "1", "lang": "en",
            "public_metrics": {"like_count": 2, "quote_count": 0, "reply_count": 1, "retweet_count": 3},
            "referenced_tweets": [{"id": "9", "type": "quoted"}], "text": "$TSLA up"
        });
        assert!(agree(&base.to_string()));
        let patches = [
            ("id", "null"),
            ("id", "12"),
            ("id", "-1"),
            ("id", "1.5"),
            ("id", "18446744073709551616"),
            ("id", "\"1\\u0032\""),
            ("id", "true"),
            ("id", "[]"),
            ("text", "null"),
            ("text", "\"a\\n\\\"b\\ud83d\\ude80\""),
            ("text", "\"\\ud83d\""),
            ("text", "5"),
            ("lang", "null"),
            ("lang", "5"),
            ("created_at", "{}"),
            ("author_id", "77"),
            ("entities", "null"),
            ("entities", "{\"cashtags\": null}"),
            ("entities", "{\"cashtags\": [null]}"),
            ("entities", "{\"cashtags\": [{\"tag\": 5}]}"),
            ("entities", "{\"cashtags\": [{\"tag\": null}]}"),
            ("entities", "{\"urls\": [{\"url\": \"u\", \"url\": \"v\"}]}"),
            ("entities", "[]"),
            ("public_metrics", "null"),
            ("public_metrics", "{\"like_count\": -1}"),
            ("public_metrics", "{\"like_count\": 1.0}"),
            ("public_metrics", "{\"like_count\": null}"),
            ("public_metrics", "{\"like_count\": 01}"),
            ("public_metrics", "{\"like_count\": 1e2}"),
            ("referenced_tweets", "null"),
            ("referenced_tweets", "[]"),
            ("referenced_tweets", "[{\"id\": \"1\"}]"),
            ("referenced_tweets", "[{\"type\": null}]"),
            ("referenced_tweets", "[{\"type\": \"replied_to\"},]"),
            ("author", "null"),
            ("author", "{\"id\": 5}"),
            ("author", "{\"verified\": \"yes\"}"),
            ("author", "{\"public_metrics\": null, \"verified\": null}"),
            ("author", "{}"),
            ("platform", "\"bluesky\""),
            ("platform", "null"),
            ("platform", "5"),
            ("source", "\"Twitter for iPhone\""),
            (
                "unknown",
                "{\"deep\": [[[{\"a\": null}]]], \"s\": \"x\\\"y\"}",
            ),
        ];
        let text = base.to_string();
        for (key, value) in patches {
            let quoted = format!("\"{key}\":");
            let patched = if text.contains(&quoted) {
                // The value after the key, up to the next top-level key.
                let start = text.find(&quoted).expect("key") + quoted.len();
                let end = (start..text.len())
                    .find(|&i| {
                        let depth = text[start..i].matches(['{', '[']).count() as i64
                            - text[start..i].matches(['}', ']']).count() as i64;
                        depth == 0 && text[i..].starts_with(",\"")
                    })
                    .unwrap_or(text.len() - 1);
                format!("{}{value}{}", &text[..start], &text[end..])
            } else {
                text.replacen('{', &format!("{{{quoted}{value},"), 1)
            };
            agree(&patched);
            // The same key twice: serde refuses it.
            let twice = text.replacen('{', &format!("{{{quoted}{value},"), 1);
            agree(&twice);
        }
        for cut in 0..text.len() {
            agree(&text[..cut]);
        }
        for extra in [" ", "\n", " x", "\u{a0}", "}", ","] {
            agree(&format!("{text}{extra}"));
            agree(&format!("{extra}{text}"));
        }
    }

    fn enricher(langs: &[&str]) -> Enricher {
        Enricher::new(
            Analyzer::new(Mode::Vader),
            Watchlist::bundled(),
            langs.iter().map(|s| s.to_string()).collect(),
        )
    }

    #[test]
    fn a_renamed_symbol_counts_under_the_ticker_of_its_day() {
        let e = enricher(&["en"]);
        let post = |at: &str, text: &str| {
            format!(r#"{{"id":"1","text":"{text}","created_at":"{at}","lang":"en"}}"#)
        };
        // 2020: $FB was Facebook, today's META; $TWTR was watched until delisted.
        let p = post("2020-04-15T01:00:00Z", "$FB and $TWTR up, $META too");
        let (t, _) = e.enrich(p.as_bytes(), None).unwrap();
        assert_eq!(t.tickers, ["FB", "TWTR", "META"]);
        assert_eq!(t.watched_tickers, ["META", "TWTR"]);
        // After the rename $FB is no longer Meta, and TWTR is gone.
        let p = post("2023-01-10T01:00:00Z", "$FB and $TWTR");
        let (t, _) = e.enrich(p.as_bytes(), None).unwrap();
        assert!(t.watched_tickers.is_empty(), "{:?}", t.watched_tickers);
    }

    #[test]
    fn times_before_x_or_past_arrival_are_refused_with_the_reason() {
        let e = enricher(&["en"]);
        let tweet =
            |at: &str| format!(r#"{{"id":"1","text":"$TSLA","created_at":"{at}","lang":"en"}}"#);
        let arrival = Some(1_764_900_000_000); // 2025-12-05T02:00:00Z
        for bad in [
            "9999-12-31T23:59:59Z",
            "1970-01-01T00:00:00Z",
            "2006-03-20T23:59:59Z",
            "2025-12-06T03:00:00Z",
            // Ahead of arrival by more than the platforms' clock skew.
            "2025-12-05T02:05:01Z",
            "2025-12-05T03:00:00Z",
        ] {
            let err = e.enrich(tweet(bad).as_bytes(), arrival).unwrap_err();
            assert_eq!(err, Rejection::TimeOutOfRange(bad.into()));
            assert!(!err.is_drop(), "a ProcessingFailed, with its reason");
        }
        for good in [
            "2006-03-21T00:00:00Z",
            "2025-12-05T01:59:00Z",
            "2025-12-05T02:05:00Z",
        ] {
            assert!(e.enrich(tweet(good).as_bytes(), arrival).is_ok(), "{good}");
        }
    }

    #[test]
    fn a_full_x_api_tweet() {
        let data = br#"{"id":"1250226011345805312","text":"$TSLA breaking out, great quarter #Tesla @elonmusk https://t.co/x","created_at":"2020-04-15T01:03:46.000Z","author_id":"2244994945","lang":"en",
          "entities":{"cashtags":[{"start":0,"end":5,"tag":"tsla"}],"hashtags":[{"tag":"Tesla"}],"mentions":[{"username":"elonmusk"}],"urls":[{"url":"https://t.co/x","expanded_url":"https://tesla.com"}]},
          "public_metrics":{"retweet_count":3,"reply_count":1,"like_count":12,"quote_count":0},
          "referenced_tweets":[{"type":"quoted","id":"1"}],
          "author":{"id":"2244994945","username":"marketwatcher","verified":false,"public_metrics":{"followers_count":1520}}}"#;
        let arrival = 1_586_913_000_000; // 2020-04-15T01:10:00Z
        let (t, p) = enricher(&["en"]).enrich(data, Some(arrival)).unwrap();
        assert_eq!(p.label(), "2020-04-15-01");
        assert_eq!(t.tickers, ["TSLA"]);
        assert_eq!(t.watched_tickers, ["TSLA"]);
        assert_eq!(t.hashtags, ["tesla"]);
        assert_eq!(t.mentions, ["elonmusk"]);
        assert_eq!(t.urls, ["https://tesla.com"]);
        assert_eq!((t.is_quote, t.is_retweet, t.is_reply), (true, false, false));
        assert_eq!(t.author_followers, Some(1520));
        assert_eq!(t.like_count, Some(12));
        assert_eq!(t.sentiment.compound, 0.6249);
        assert_eq!(t.sentiment.label, "positive");
        assert_eq!(t.arrival_ms, Some(arrival));
    }

    #[test]
    fn the_minimum_tweet_and_text_fallbacks() {
        let data = br#"{"id":123,"text":"RT @Trader_1: $doge and $AAPL #Stocks #stocks","created_at":"2020-04-15T23:59:59Z"}"#;
        let (t, p) = enricher(&[]).enrich(data, None).unwrap();
        assert_eq!(t.tweet_id, "123");
        assert_eq!(p.label(), "2020-04-15-23");
        assert_eq!(t.tickers, ["DOGE", "AAPL"]);
        assert_eq!(t.watched_tickers, ["AAPL"]);
        assert_eq!(t.hashtags, ["stocks"]);
        assert_eq!(t.mentions, ["trader_1"]);
        assert!(t.is_retweet);
        assert_eq!(t.author_id, None);
        // Ids as strings, escaped or not, and as numbers; nothing else.
        let e = enricher(&[]);
        let tweet = |id: &str, author: &str| {
            format!(
                r#"{{"id":{id},"author_id":{author},"text":"x","created_at":"2020-04-15T23:59:59Z"}}"#
            )
        };
        let data = tweet(r#""1\u0032""#, "7");
        let (t, _) = e.enrich(data.as_bytes(), None).unwrap();
        assert_eq!(
            (t.tweet_id.as_ref(), t.author_id.as_deref()),
            ("12", Some("7"))
        );
        assert!(
            matches!(t.tweet_id, Cow::Owned(_)),
            "an escaped id is decoded"
        );
        let data = tweet(r#""99""#, r#""8""#);
        let (t, _) = e.enrich(data.as_bytes(), None).unwrap();
        assert!(
            matches!(t.tweet_id, Cow::Borrowed("99")),
            "a plain id is borrowed"
        );
        assert_eq!(t.author_id.as_deref(), Some("8"));
        for bad in ["-1", "1.5", "true", "[1]", "{}"] {
            let err = e.enrich(tweet(bad, "1").as_bytes(), None).unwrap_err();
            assert!(matches!(err, Rejection::NotJson(_)), "id {bad}: {err:?}");
        }
    }

    #[test]
    fn mentions_found_in_text_around_other_characters() {
        let mut found = Vec::new();
        mentions_in_text("héllo @Bob, x@no @_under ☕@café @Bob @", &mut found);
        assert_eq!(found, ["bob", "_under", "caf"]);
        let mut found = Vec::new();
        mentions_in_text("@first", &mut found);
        assert_eq!(found, ["first"]);
    }

    #[test]
    fn what_cannot_be_read_and_what_is_excluded() {
        let e = enricher(&["en"]);
        assert_eq!(
            e.enrich(b"\xff\xfe", None).unwrap_err(),
            Rejection::NotUtf8(0)
        );
        assert!(matches!(
            e.enrich(b"{\"id\":", None).unwrap_err(),
            Rejection::NotJson(_)
        ));
        assert!(matches!(
            e.enrich(b"[1,2]", None).unwrap_err(),
            Rejection::NotJson(_)
        ));
        assert_eq!(
            e.enrich(br#"{"text":"x","created_at":"2020-01-01T00:00:00Z"}"#, None)
                .unwrap_err(),
            Rejection::Missing("id")
        );
        assert_eq!(
            e.enrich(br#"{"id":"1","created_at":"2020-01-01T00:00:00Z"}"#, None)
                .unwrap_err(),
            Rejection::Missing("text")
        );
        assert_eq!(
            e.enrich(
                br#"{"id":"1","text":"x","created_at":"yesterday","lang":"en"}"#,
                None
            )
            .unwrap_err(),
            Rejection::BadTimestamp("yesterday".into())
        );
        let es = e
            .enrich(
                br#"{"id":"1","text":"hola","created_at":"2020-01-01T00:00:00Z","lang":"es"}"#,
                None,
            )
            .unwrap_err();
        assert!(es.is_drop());
        let long = format!(
            r#"{{"id":"1","text":"{}","created_at":"2020-01-01T00:00:00Z","lang":"en"}}"#,
            "a".repeat(25_001)
        );
        assert_eq!(
            e.enrich(long.as_bytes(), None).unwrap_err(),
            Rejection::TooLong(25_001)
        );
    }

    /// The character-by-character scanner the jumping one replaced.
    fn hashtags_char_by_char<'a>(text: &'a str, out: &mut Vec<Cow<'a, str>>) {
        let mut chars = text.char_indices().peekable();
        let mut prev: Option<char> = None;
        while let Some((i, c)) = chars.next() {
            if (c == '#' || c == '＃') && !prev.is_some_and(|p| p.is_alphanumeric() || p == '&') {
                let start = i + c.len_utf8();
                let mut end = start;
                while let Some(&(j, d)) = chars.peek() {
                    if d.is_alphanumeric() || d == '_' {
                        end = j + d.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                let tag = &text[start..end];
                if tag.chars().any(char::is_alphabetic) {
                    push_unique(out, lowercase(Cow::Borrowed(tag)));
                }
                prev = text[..end].chars().next_back();
                continue;
            }
            prev = Some(c);
        }
    }

    /// The jumping scanner finds what the character-by-character one found,
    /// on every string of up to 5 characters over signs, letters, digits, `_`,
    /// `&`, spaces and characters that share the wide sign's first byte.
    #[test]
    fn hashtag_scanner_agrees_with_the_char_by_char_one() {
        let alphabet = ['#', '＃', 'a', 'É', '1', '_', '&', ' ', '｡'];
        let mut frontier = vec![String::new()];
        for _ in 0..5 {
            frontier = frontier
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            for text in &frontier {
                let (mut ours, mut theirs) = (Vec::new(), Vec::new());
                hashtags_in_text(text, &mut ours);
                hashtags_char_by_char(text, &mut theirs);
                assert_eq!(ours, theirs, "{text:?}");
            }
        }
    }

    #[test]
    fn hashtag_and_mention_scanners_handle_odd_text() {
        let mut h = Vec::new();
        hashtags_in_text("a#b #ok &#39; #123 #ÉTÉ2020 #é_x ＃wide #", &mut h);
        assert_eq!(h, ["ok", "été2020", "é_x", "wide"]);
        let mut m = Vec::new();
        mentions_in_text("x@y @a_b @ @thisnameistoolongforx", &mut m);
        assert_eq!(m, ["a_b", "thisnameistoolo"]);
    }

    #[test]
    fn other_sources_find_plain_tickers_and_keep_their_name() {
        let e = enricher(&[]);
        let post = |source: &str, id: &str, text: &str| {
            serde_json::json!({
                "id": id, "text": text, "created_at": "2026-12-04T10:00:00.000Z",
                "lang": "en", "platform": source,
            })
            .to_string()
        };
        let bsky = post(
            "bluesky",
            "at://did:plc:a/app.bsky.feed.post/3k",
            "TSLA and Apple up, $AMD too",
        );
        let (t, _) = e.enrich(bsky.as_bytes(), None).expect("enriched");
        assert_eq!(t.tickers, ["AMD", "TSLA", "AAPL"]);
        assert_eq!(t.watched_tickers, ["AMD", "TSLA", "AAPL"]);
        assert_eq!(t.source.as_deref(), Some("bluesky"));
        // X keeps counting cashtags only.
        let x = post("x", "1", "TSLA and Apple up, $AMD too");
        let (t, _) = e.enrich(x.as_bytes(), None).expect("enriched");
        assert_eq!((t.tickers.len(), t.source), (1, None));
        let reddit = post("reddit", "t1_abc", "NVDA calls");
        assert_eq!(
            e.enrich(reddit.as_bytes(), None)
                .expect("enriched")
                .0
                .tickers,
            ["NVDA"]
        );
        assert_eq!(
            e.enrich(post("mastodon", "1", "hi").as_bytes(), None).err(),
            Some(Rejection::UnknownSource("mastodon".into()))
        );
        assert!(matches!(
            e.enrich(post("reddit", "12345", "hi").as_bytes(), None)
                .err(),
            Some(Rejection::ForeignId { .. })
        ));
    }
}
