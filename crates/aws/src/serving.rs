//! The DynamoDB serving tables: ticker summaries (with the per-ticker time
//! series index), overall summaries and recent tweets. Writes go through
//! `BatchWriteItem` in chunks of 25; unprocessed items and throttling are
//! retried with exponential backoff and full jitter, so a throttled table
//! slows a run down rather than failing it or losing writes.

use crate::dynamo::query_all;
use crate::HandlerError;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, PutRequest, WriteRequest};
use std::collections::HashMap;
use std::time::Duration;
use tickerpulse_aggregate::serving::{Changes, SummaryStore};
use tickerpulse_aggregate::{
    source_index, AuthorSketch, Bucket, Counts, OverallSummary, Source, SourceCounts, TickerSummary,
};
use tickerpulse_core::retry::Backoff;

/// `BatchWriteItem` takes at most 25 requests.
pub const BATCH_WRITE_MAX: usize = 25;
/// Attempts for one chunk before the run gives up (as a retryable error).
pub const WRITE_ATTEMPTS: u32 = 16;

type Item = HashMap<String, AttributeValue>;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn counts_attrs(item: &mut Item, c: &Counts) {
    item.insert("Mentions".into(), n(c.mentions));
    item.insert("Positive".into(), n(c.positive));
    item.insert("Negative".into(), n(c.negative));
    item.insert("Neutral".into(), n(c.neutral));
    item.insert("CompoundSumE4".into(), n(c.compound_e4));
    item.insert("PositiveRatio".into(), n(c.positive_ratio()));
    item.insert("NegativeRatio".into(), n(c.negative_ratio()));
    item.insert("NeutralRatio".into(), n(c.neutral_ratio()));
    item.insert("MeanCompound".into(), n(c.mean_compound()));
    // The model mode's class probabilities: written only where some mention has them.
    if c.scored > 0 {
        item.insert("Scored".into(), n(c.scored));
        for (name, sum) in PROBABILITY_SUMS.iter().zip(c.probability_e6) {
            item.insert((*name).into(), n(sum));
        }
    }
    // Each source's counts, as a map of the sources with mentions:
    // `{"bluesky": {"Mentions": .., "Positive": .., ...}}`.
    let mut sources = HashMap::new();
    for (source, by) in Source::ALL.iter().zip(&c.by_source) {
        if by.mentions > 0 {
            let m: Item = [
                ("Mentions", n(by.mentions)),
                ("Positive", n(by.positive)),
                ("Negative", n(by.negative)),
                ("Neutral", n(by.neutral)),
                ("CompoundSumE4", n(by.compound_e4)),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
            sources.insert(source.as_str().to_string(), AttributeValue::M(m));
        }
    }
    item.insert("Sources".into(), AttributeValue::M(sources));
}

/// Each source's counts of an item; an item written before there were
/// sources counted X's posts only.
fn get_sources(item: &Item, totals: &Counts) -> Option<[SourceCounts; 3]> {
    let Some(map) = item.get("Sources") else {
        let mut by = [SourceCounts::default(); 3];
        by[source_index(Source::X)] = SourceCounts {
            mentions: totals.mentions,
            positive: totals.positive,
            negative: totals.negative,
            neutral: totals.neutral,
            compound_e4: totals.compound_e4,
        };
        return Some(by);
    };
    let map = map.as_m().ok()?;
    let mut by = [SourceCounts::default(); 3];
    for (source, slot) in Source::ALL.iter().zip(by.iter_mut()) {
        if let Some(m) = map.get(source.as_str()) {
            let m = m.as_m().ok()?;
            *slot = SourceCounts {
                mentions: get_n(m, "Mentions")?,
                positive: get_n(m, "Positive")?,
                negative: get_n(m, "Negative")?,
                neutral: get_n(m, "Neutral")?,
                compound_e4: get_n(m, "CompoundSumE4")?,
            };
        }
    }
    Some(by)
}

/// The attributes of the probability sums (positive, neutral, negative), in millionths.
const PROBABILITY_SUMS: [&str; 3] = ["PPositiveSumE6", "PNeutralSumE6", "PNegativeSumE6"];

/// Every attribute `get_counts` reads, for the projections of the readers
/// (a test holds it to what `counts_attrs` writes).
pub const COUNT_ATTRIBUTES: &str =
    "Mentions, Positive, Negative, Neutral, CompoundSumE4, Scored, PPositiveSumE6, PNeutralSumE6, PNegativeSumE6, Sources";

fn counted(list: &[(String, u64)]) -> AttributeValue {
    AttributeValue::M(list.iter().map(|(w, c)| (w.clone(), n(c))).collect())
}

pub fn ticker_item(t: &TickerSummary, run_id: &str) -> Item {
    let mut item = Item::new();
    item.insert("DetailLevel".into(), s(t.bucket.key()));
    item.insert("Ticker".into(), s(&t.ticker));
    item.insert(
        "TickerDetail".into(),
        s(format!("{}_{}", t.ticker, t.bucket.level.series_suffix())),
    );
    item.insert("Timestamp".into(), s(t.bucket.timestamp()));
    item.insert("Level".into(), s(t.bucket.level.name()));
    counts_attrs(&mut item, &t.counts);
    item.insert("UniqueAuthors".into(), n(t.unique_authors));
    item.insert(
        "AuthorsSketch".into(),
        AttributeValue::B(t.authors.to_bytes().into()),
    );
    item.insert("Words".into(), counted(&t.words));
    item.insert("Hashtags".into(), counted(&t.hashtags));
    item.insert("RunId".into(), s(run_id));
    item
}

pub fn overall_item(o: &OverallSummary, run_id: &str) -> Item {
    let mut item = Item::new();
    item.insert("DetailLevel".into(), s(o.bucket.key()));
    item.insert("Timestamp".into(), s(o.bucket.timestamp()));
    item.insert("Level".into(), s(o.bucket.level.name()));
    counts_attrs(&mut item, &o.counts);
    item.insert("TickerMentions".into(), n(o.ticker_mentions));
    item.insert("UniqueAuthors".into(), n(o.unique_authors));
    item.insert(
        "AuthorsSketch".into(),
        AttributeValue::B(o.authors.to_bytes().into()),
    );
    item.insert("Hashtags".into(), counted(&o.hashtags));
    item.insert("Words".into(), counted(&o.words));
    item.insert("RunId".into(), s(run_id));
    item
}

/// A number attribute.
pub fn get_n<T: std::str::FromStr>(item: &Item, key: &str) -> Option<T> {
    item.get(key)?.as_n().ok()?.parse().ok()
}

/// The sentiment counts of a summary item.
pub fn get_counts(item: &Item) -> Option<Counts> {
    let mut c = Counts {
        mentions: get_n(item, "Mentions")?,
        positive: get_n(item, "Positive")?,
        negative: get_n(item, "Negative")?,
        neutral: get_n(item, "Neutral")?,
        compound_e4: get_n(item, "CompoundSumE4")?,
        // Absent from items of the lexicon modes and from items written before.
        scored: get_n(item, "Scored").unwrap_or(0),
        probability_e6: PROBABILITY_SUMS.map(|name| get_n(item, name).unwrap_or(0)),
        by_source: Default::default(),
    };
    c.by_source = get_sources(item, &c)?;
    Some(c)
}

/// A map of counts (hashtags, words), most frequent first.
pub fn get_counted(item: &Item, key: &str) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = item
        .get(key)
        .and_then(|a| a.as_m().ok())
        .map(|m| {
            m.iter()
                .filter_map(|(w, c)| Some((w.clone(), c.as_n().ok()?.parse().ok()?)))
                .collect()
        })
        .unwrap_or_default();
    v.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

fn get_sketch(item: &Item) -> AuthorSketch {
    item.get("AuthorsSketch")
        .and_then(|b| b.as_b().ok())
        .and_then(|b| AuthorSketch::from_bytes(b.as_ref()))
        .unwrap_or_default()
}

pub fn parse_ticker_item(item: &Item) -> Option<TickerSummary> {
    Some(TickerSummary {
        bucket: Bucket::parse(item.get("DetailLevel")?.as_s().ok()?)?,
        ticker: item.get("Ticker")?.as_s().ok()?.clone(),
        counts: get_counts(item)?,
        unique_authors: get_n(item, "UniqueAuthors")?,
        authors: get_sketch(item),
        words: get_counted(item, "Words"),
        // Absent from items written before ticker hashtags were kept.
        hashtags: get_counted(item, "Hashtags"),
    })
}

pub fn parse_overall_item(item: &Item) -> Option<OverallSummary> {
    Some(OverallSummary {
        bucket: Bucket::parse(item.get("DetailLevel")?.as_s().ok()?)?,
        counts: get_counts(item)?,
        ticker_mentions: get_n(item, "TickerMentions")?,
        unique_authors: get_n(item, "UniqueAuthors")?,
        authors: get_sketch(item),
        hashtags: get_counted(item, "Hashtags"),
        words: get_counted(item, "Words"),
    })
}

/// The backoff of throttled or unprocessed batch writes: full jitter from 50 ms,
/// capped at 5 s.
pub const WRITE_BACKOFF: Backoff = Backoff {
    base: Duration::from_millis(50),
    cap: Duration::from_secs(5),
    jitter: true,
};

/// What a batch writer did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WriteStats {
    pub requests: u64,
    pub calls: u64,
    pub retries: u64,
}

/// Batch writes in flight at once. A new on-demand table takes 4,000 writes a
/// second before it scales (docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html):
/// four calls of 25 at DynamoDB's few milliseconds reach that, and the
/// throttling beyond it is retried with backoff.
pub const WRITES_IN_FLIGHT: usize = 4;

/// Writes every request (puts and deletes, any tables), 25 per call and
/// [`WRITES_IN_FLIGHT`] calls at a time, retrying unprocessed items and
/// throttling until all are written. No two requests may name the same item
/// (as in one `BatchWriteItem`): their order is not kept.
pub async fn batch_write(
    client: &aws_sdk_dynamodb::Client,
    requests: Vec<(String, WriteRequest)>,
) -> Result<WriteStats, HandlerError> {
    use futures_util::StreamExt;
    // Chunks are taken from the requests as the writes go, moved, not copied:
    // a heavy hour holds hundreds of thousands of items.
    let mut rest = requests.into_iter();
    let chunks = std::iter::from_fn(move || {
        let chunk: Vec<_> = rest.by_ref().take(BATCH_WRITE_MAX).collect();
        (!chunk.is_empty()).then_some(chunk)
    });
    let mut writes = futures_util::stream::iter(chunks)
        .map(|chunk| {
            let client = client.clone();
            async move { write_chunk(&client, chunk).await }
        })
        .buffer_unordered(WRITES_IN_FLIGHT);
    let mut all = WriteStats::default();
    while let Some(s) = writes.next().await {
        let s = s?;
        all.requests += s.requests;
        all.calls += s.calls;
        all.retries += s.retries;
    }
    Ok(all)
}

/// One `BatchWriteItem` of at most 25 requests, until every one is processed.
async fn write_chunk(
    client: &aws_sdk_dynamodb::Client,
    chunk: Vec<(String, WriteRequest)>,
) -> Result<WriteStats, HandlerError> {
    let mut stats = WriteStats {
        requests: chunk.len() as u64,
        ..WriteStats::default()
    };
    let mut pending: HashMap<String, Vec<WriteRequest>> = HashMap::new();
    for (table, r) in chunk {
        pending.entry(table).or_default().push(r);
    }
    let mut attempt = 0;
    while !pending.is_empty() {
        stats.calls += 1;
        let result = client
            .batch_write_item()
            .set_request_items(Some(pending.clone()))
            .send()
            .await;
        match result {
            Ok(out) => {
                pending = out.unprocessed_items.unwrap_or_default();
                pending.retain(|_, v| !v.is_empty());
            }
            Err(e) => match HandlerError::from_sdk("writing the serving tables", e) {
                HandlerError::Retryable(msg) => {
                    tracing::warn!(attempt, %msg, "throttled or unavailable; backing off");
                }
                fatal => return Err(fatal),
            },
        }
        if pending.is_empty() {
            break;
        }
        attempt += 1;
        stats.retries += 1;
        if attempt >= WRITE_ATTEMPTS {
            return Err(HandlerError::Retryable(format!(
                "{} writes still unprocessed after {attempt} attempts",
                pending.values().map(Vec::len).sum::<usize>()
            )));
        }
        tokio::time::sleep(WRITE_BACKOFF.delay(attempt)).await;
    }
    Ok(stats)
}

pub fn put(item: Item) -> Result<WriteRequest, HandlerError> {
    let request = PutRequest::builder()
        .set_item(Some(item))
        .build()
        .map_err(|e| HandlerError::Fatal(format!("building a put request: {e}")))?;
    Ok(WriteRequest::builder().put_request(request).build())
}

pub fn delete(key: Item) -> Result<WriteRequest, HandlerError> {
    let request = DeleteRequest::builder()
        .set_key(Some(key))
        .build()
        .map_err(|e| HandlerError::Fatal(format!("building a delete request: {e}")))?;
    Ok(WriteRequest::builder().delete_request(request).build())
}

/// The ticker and overall summary tables.
pub struct DynamoSummaries {
    pub client: aws_sdk_dynamodb::Client,
    pub ticker_table: String,
    pub overall_table: String,
    pub run_id: String,
    pub stats: std::sync::Mutex<WriteStats>,
}

impl SummaryStore for DynamoSummaries {
    type Error = HandlerError;

    async fn ticker_items(&self, bucket: Bucket) -> Result<Vec<TickerSummary>, HandlerError> {
        let query = self
            .client
            .query()
            .table_name(&self.ticker_table)
            .key_condition_expression("DetailLevel = :k")
            .expression_attribute_values(":k", s(bucket.key()))
            .consistent_read(true);
        query_all(query, "reading ticker summaries", parse_ticker_item).await
    }

    async fn overall_item(&self, bucket: Bucket) -> Result<Option<OverallSummary>, HandlerError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.overall_table)
            .key("DetailLevel", s(bucket.key()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| HandlerError::from_sdk("reading an overall summary", e))?;
        Ok(out.item().and_then(parse_overall_item))
    }

    async fn write(&self, changes: &Changes) -> Result<(), HandlerError> {
        let mut requests = Vec::with_capacity(changes.len());
        for t in &changes.ticker_puts {
            requests.push((
                self.ticker_table.clone(),
                put(ticker_item(t, &self.run_id))?,
            ));
        }
        for (bucket, ticker) in &changes.ticker_deletes {
            let key = HashMap::from([
                ("DetailLevel".to_string(), s(bucket.key())),
                ("Ticker".to_string(), s(ticker)),
            ]);
            requests.push((self.ticker_table.clone(), delete(key)?));
        }
        for o in &changes.overall_puts {
            requests.push((
                self.overall_table.clone(),
                put(overall_item(o, &self.run_id))?,
            ));
        }
        for bucket in &changes.overall_deletes {
            let key = HashMap::from([("DetailLevel".to_string(), s(bucket.key()))]);
            requests.push((self.overall_table.clone(), delete(key)?));
        }
        let written = batch_write(&self.client, requests).await?;
        let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        stats.requests += written.requests;
        stats.calls += written.calls;
        stats.retries += written.retries;
        Ok(())
    }
}

/// One row of the recent-tweets table, as readers get it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RecentTweetRow {
    pub tweet_id: String,
    pub created_at: String,
    pub text: String,
    pub tickers: Vec<String>,
    pub label: String,
    pub compound: f64,
    pub author_username: Option<String>,
}

fn parse_recent(item: &Item) -> Option<RecentTweetRow> {
    Some(RecentTweetRow {
        tweet_id: item.get("TweetId")?.as_s().ok()?.clone(),
        created_at: item.get("CreatedAt")?.as_s().ok()?.clone(),
        text: item.get("Text")?.as_s().ok()?.clone(),
        tickers: item
            .get("Tickers")?
            .as_l()
            .ok()?
            .iter()
            .filter_map(|t| t.as_s().ok().cloned())
            .collect(),
        label: item.get("Label")?.as_s().ok()?.clone(),
        compound: get_n(item, "Compound")?,
        author_username: item
            .get("AuthorUsername")
            .and_then(|u| u.as_s().ok())
            .cloned(),
    })
}

/// The recent-tweets items of one tweet, read back by `parse_recent`: one in a
/// shard of the all-tickers feed, and a copy in the feed of each of its tickers.
pub fn recent_items(t: &tickerpulse_aggregate::output::RecentTweet, expires_at: i64) -> Vec<Item> {
    let mut item = HashMap::from([
        ("Feed".to_string(), s(feed_all(&t.tweet_id))),
        (
            "TimestampTweetId".to_string(),
            s(recent_sort_key(&t.created_at, &t.tweet_id)),
        ),
        ("TweetId".to_string(), s(&t.tweet_id)),
        ("CreatedAt".to_string(), s(&t.created_at)),
        ("Text".to_string(), s(&t.text)),
        ("TextClean".to_string(), s(&t.text_clean)),
        (
            "Tickers".to_string(),
            AttributeValue::L(t.tickers.iter().map(s).collect()),
        ),
        ("Label".to_string(), s(&t.label)),
        (
            "Compound".to_string(),
            AttributeValue::N(t.compound.to_string()),
        ),
        (
            "ExpiresAt".to_string(),
            AttributeValue::N(expires_at.to_string()),
        ),
    ]);
    if let Some(u) = &t.author_username {
        item.insert("AuthorUsername".into(), s(u));
    }
    let mut items: Vec<Item> = t
        .tickers
        .iter()
        .map(|ticker| {
            let mut copy = item.clone();
            copy.insert("Feed".into(), s(feed_ticker(ticker)));
            copy
        })
        .collect();
    items.push(item);
    items
}

/// Writes the recent tweets created at or after `since_micros`, expiring at
/// `expires_at` (epoch seconds). Returns the tweets written (each is in several
/// feeds, counted once) and the writes' statistics.
pub async fn write_recent(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    tweets: &[tickerpulse_aggregate::output::RecentTweet],
    since_micros: i64,
    expires_at: i64,
) -> Result<(u64, WriteStats), HandlerError> {
    let mut requests = Vec::new();
    let mut written = 0u64;
    for t in tweets.iter().filter(|t| t.created_micros >= since_micros) {
        written += 1;
        for item in recent_items(t, expires_at) {
            requests.push((table.to_string(), put(item)?));
        }
    }
    Ok((written, batch_write(client, requests).await?))
}

/// Shards of the all-tickers feed of the recent-tweets table (write sharding;
/// readers merge them).
pub const RECENT_SHARDS: u64 = 5;

/// The `Feed` key of the all-tickers feed a tweet goes to.
pub fn feed_all(tweet_id: &str) -> String {
    format!(
        "all#{}",
        tickerpulse_aggregate::author_hash(tweet_id) % RECENT_SHARDS
    )
}

/// The `Feed` key of one ticker's feed.
pub fn feed_ticker(ticker: &str) -> String {
    format!("ticker#{ticker}")
}

/// The `TimestampTweetId` sort key: newest sorts last.
pub fn recent_sort_key(created_at: &str, tweet_id: &str) -> String {
    format!("{created_at}#{tweet_id}")
}

/// A page of recent tweets, newest first, and the sort key to continue from.
#[derive(Debug, Clone, PartialEq)]
pub struct RecentPage {
    pub tweets: Vec<RecentTweetRow>,
    /// The `TimestampTweetId` of the last tweet, if more may follow.
    pub next: Option<String>,
}

/// Which recent tweets to read: a window of creation times, and where a
/// previous page ended.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecentRange<'a> {
    /// Created at or after (`2020-04-15T13:00:00Z`, the sort keys' form).
    pub from: Option<&'a str>,
    /// Created before.
    pub to: Option<&'a str>,
    /// Older than this `TimestampTweetId` (a page token).
    pub before: Option<&'a str>,
}

/// The newest `limit` tweets (of one ticker's feed, or merged from the shards of
/// the all-tickers feed), newest first, within `range`. Every read is a `Query`
/// on one feed. Sort keys are `<created_at>#<id>` with the time in one fixed
/// form, so `BETWEEN from AND to` holds exactly the times in `[from, to)`: no
/// key equals a bare time.
pub async fn recent_tweets(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    limit: usize,
    ticker: Option<&str>,
    range: RecentRange<'_>,
) -> Result<RecentPage, HandlerError> {
    let RecentRange { from, to, before } = range;
    // The upper bound: the page token or `to`, whichever is lower. Only a page
    // token is a real key; BETWEEN includes it, so it is dropped below.
    let upper = match (to, before) {
        (Some(t), Some(b)) => Some(if b < t { b } else { t }),
        (t, b) => b.or(t),
    };
    let feeds: Vec<String> = match ticker {
        Some(t) => vec![feed_ticker(t)],
        None => (0..RECENT_SHARDS).map(|k| format!("all#{k}")).collect(),
    };
    let limit = limit.max(1);
    if let (Some(a), Some(b)) = (from, upper) {
        if a >= b {
            return Ok(RecentPage {
                tweets: Vec::new(),
                next: None,
            });
        }
    }
    let mut all: Vec<(String, RecentTweetRow)> = Vec::new();
    let mut more = false;
    for feed in feeds {
        let mut start: Option<Item> = None;
        let mut found = 0;
        loop {
            let mut q = client
                .query()
                .table_name(table)
                .scan_index_forward(false)
                .limit(i32::try_from(limit + 2).unwrap_or(i32::MAX))
                .expression_attribute_values(":f", s(&feed))
                .set_exclusive_start_key(start.take());
            q = match (from, upper) {
                (Some(a), Some(b)) => q
                    .key_condition_expression("Feed = :f AND TimestampTweetId BETWEEN :a AND :b")
                    .expression_attribute_values(":a", s(a))
                    .expression_attribute_values(":b", s(b)),
                (Some(a), None) => q
                    .key_condition_expression("Feed = :f AND TimestampTweetId >= :a")
                    .expression_attribute_values(":a", s(a)),
                (None, Some(b)) => q
                    .key_condition_expression("Feed = :f AND TimestampTweetId < :b")
                    .expression_attribute_values(":b", s(b)),
                (None, None) => q.key_condition_expression("Feed = :f"),
            };
            let page = q
                .send()
                .await
                .map_err(|e| HandlerError::from_sdk("reading recent tweets", e))?;
            for item in page.items() {
                if let (Some(sk), Some(row)) = (
                    item.get("TimestampTweetId").and_then(|v| v.as_s().ok()),
                    parse_recent(item),
                ) {
                    if Some(sk.as_str()) == before {
                        continue;
                    }
                    all.push((sk.clone(), row));
                    found += 1;
                }
            }
            match page.last_evaluated_key() {
                Some(k) if found <= limit => start = Some(k.clone()),
                _ => break,
            }
        }
    }
    all.sort_by(|a, b| b.0.cmp(&a.0));
    if all.len() > limit {
        more = true;
        all.truncate(limit);
    }
    let next = if more {
        all.last().map(|(sk, _)| sk.clone())
    } else {
        None
    };
    Ok(RecentPage {
        tweets: all.into_iter().map(|(_, r)| r).collect(),
        next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What is written is what is read, and the readers' projection names
    /// every attribute the counts are read from.
    #[test]
    fn counts_round_trip_through_an_item_and_the_projection_names_them_all() {
        let mut c = Counts {
            mentions: 3,
            positive: 1,
            negative: 1,
            neutral: 1,
            compound_e4: -42,
            scored: 2,
            probability_e6: [700_000, 250_000, 1_050_000],
            by_source: [
                SourceCounts {
                    mentions: 2,
                    positive: 1,
                    negative: 0,
                    neutral: 1,
                    compound_e4: -50,
                },
                SourceCounts::default(),
                SourceCounts {
                    mentions: 1,
                    positive: 0,
                    negative: 1,
                    neutral: 0,
                    compound_e4: 8,
                },
            ],
        };
        // An item of before sources: all of it is X's.
        let mut old = Item::new();
        counts_attrs(&mut old, &c);
        old.remove("Sources");
        let read = get_counts(&old).unwrap();
        assert_eq!(read.source_mentions(), [3, 0, 0]);
        assert_eq!(read.of_source(Source::X).compound_e4, -42);
        for scored in [true, false] {
            if !scored {
                c.scored = 0;
                c.probability_e6 = [0; 3];
            }
            let mut item = Item::new();
            counts_attrs(&mut item, &c);
            assert_eq!(get_counts(&item), Some(c));
            let projected: Vec<&str> = COUNT_ATTRIBUTES.split(", ").collect();
            let read: Item = item
                .into_iter()
                .filter(|(k, _)| projected.contains(&k.as_str()))
                .collect();
            assert_eq!(get_counts(&read), Some(c), "through the projection");
        }
    }
}
