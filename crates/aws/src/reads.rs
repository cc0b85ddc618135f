//! The API's reads of the serving tables, beside the writes in [`crate::serving`]
//! that lay out the same items. Every one is a `Query` or a `GetItem` on a key or
//! an index, with a projection of the attributes the answer uses.

use crate::dynamo::query_all;
use crate::serving::{get_counted, get_counts, get_n};
use crate::HandlerError;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;
use tickerpulse_aggregate::{Bucket, Counts, Level};

pub type Item = HashMap<String, AttributeValue>;

/// What `get_counts` reads, named where the items are written.
const COUNT_ATTRS: &str = crate::serving::COUNT_ATTRIBUTES;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn string(item: &Item, key: &str) -> Option<String> {
    item.get(key)?.as_s().ok().cloned()
}

pub struct Tables {
    pub client: Client,
    pub ticker_table: String,
    pub overall_table: String,
    pub recent_table: String,
    pub state_table: String,
}

/// A period with data, from the overall summaries' `Level-Timestamp` index.
#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    pub bucket: Bucket,
    pub tweets: u64,
}

/// One ticker in one period.
#[derive(Debug, Clone, PartialEq)]
pub struct TickerRow {
    pub ticker: String,
    pub counts: Counts,
    pub unique_authors: u64,
}

/// A period's overall summary.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OverallRead {
    pub counts: Counts,
    pub ticker_mentions: u64,
    pub unique_authors: u64,
    /// Most frequent first.
    pub hashtags: Vec<(String, u64)>,
    /// Most frequent first.
    pub words: Vec<(String, u64)>,
}

/// One ticker's summary of a period, as the word cloud and the hashtag bars read it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TickerRead {
    pub counts: Counts,
    pub unique_authors: u64,
    /// Most frequent first.
    pub words: Vec<(String, u64)>,
    /// Most frequent first.
    pub hashtags: Vec<(String, u64)>,
}

/// One point of a ticker's series.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub bucket: Bucket,
    pub counts: Counts,
}

impl Tables {
    /// The newest periods of a level, newest first.
    pub async fn periods(&self, level: Level, limit: usize) -> Result<Vec<Period>, HandlerError> {
        periods(&self.client, &self.overall_table, level, limit).await
    }

    /// Every ticker of one period (all pages).
    pub async fn tickers_of(&self, bucket: Bucket) -> Result<Vec<TickerRow>, HandlerError> {
        tickers_of(&self.client, &self.ticker_table, bucket).await
    }

    /// A ticker's series at a level, oldest first: the newest `limit` points in
    /// `[from, to]` (sort keys of the time-series index).
    pub async fn trend(
        &self,
        ticker: &str,
        level: Level,
        from: Option<&str>,
        to: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Point>, HandlerError> {
        let mut q = self
            .client
            .query()
            .table_name(&self.ticker_table)
            .index_name("TickerDetail-Timestamp")
            .expression_attribute_values(":d", s(format!("{ticker}_{}", level.series_suffix())))
            .projection_expression(format!("DetailLevel, {COUNT_ATTRS}"))
            .scan_index_forward(false);
        q = match (from, to) {
            (Some(a), Some(b)) => q
                .key_condition_expression("TickerDetail = :d AND #t BETWEEN :a AND :b")
                .expression_attribute_values(":a", s(a))
                .expression_attribute_values(":b", s(b)),
            (Some(a), None) => q
                .key_condition_expression("TickerDetail = :d AND #t >= :a")
                .expression_attribute_values(":a", s(a)),
            (None, Some(b)) => q
                .key_condition_expression("TickerDetail = :d AND #t <= :b")
                .expression_attribute_values(":b", s(b)),
            (None, None) => q.key_condition_expression("TickerDetail = :d"),
        };
        if from.is_some() || to.is_some() {
            q = q.expression_attribute_names("#t", "Timestamp");
        }
        let mut pages = q.into_paginator().send();
        let mut points = Vec::new();
        'pages: while let Some(page) = pages.next().await {
            let page = page.map_err(|e| HandlerError::from_sdk("reading a ticker's trend", e))?;
            for i in page.items() {
                if let (Some(bucket), Some(counts)) = (
                    i.get("DetailLevel")
                        .and_then(|v| v.as_s().ok())
                        .and_then(|k| Bucket::parse(k)),
                    get_counts(i),
                ) {
                    points.push(Point { bucket, counts });
                    if points.len() >= limit {
                        break 'pages;
                    }
                }
            }
        }
        points.reverse();
        Ok(points)
    }

    /// The overall summary of a period.
    pub async fn overall(&self, bucket: Bucket) -> Result<Option<OverallRead>, HandlerError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.overall_table)
            .key("DetailLevel", s(bucket.key()))
            .projection_expression(format!(
                "DetailLevel, TickerMentions, UniqueAuthors, Hashtags, Words, {COUNT_ATTRS}"
            ))
            .send()
            .await
            .map_err(|e| HandlerError::from_sdk("reading an overall summary", e))?;
        Ok(out.item().map(|i| OverallRead {
            counts: get_counts(i).unwrap_or_default(),
            ticker_mentions: get_n(i, "TickerMentions").unwrap_or(0),
            unique_authors: get_n(i, "UniqueAuthors").unwrap_or(0),
            hashtags: get_counted(i, "Hashtags"),
            words: get_counted(i, "Words"),
        }))
    }

    /// One ticker's summary of a period.
    pub async fn ticker(
        &self,
        bucket: Bucket,
        ticker: &str,
    ) -> Result<Option<TickerRead>, HandlerError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.ticker_table)
            .key("DetailLevel", s(bucket.key()))
            .key("Ticker", s(ticker))
            .projection_expression(format!(
                "Ticker, UniqueAuthors, Words, Hashtags, {COUNT_ATTRS}"
            ))
            .send()
            .await
            .map_err(|e| HandlerError::from_sdk("reading a ticker summary", e))?;
        Ok(out.item().map(|i| TickerRead {
            counts: get_counts(i).unwrap_or_default(),
            unique_authors: get_n(i, "UniqueAuthors").unwrap_or(0),
            words: get_counted(i, "Words"),
            hashtags: get_counted(i, "Hashtags"),
        }))
    }
}

/// The newest periods of a level, newest first.
pub async fn periods(
    client: &Client,
    overall_table: &str,
    level: Level,
    limit: usize,
) -> Result<Vec<Period>, HandlerError> {
    periods_until(client, overall_table, level, None, limit).await
}

/// The newest periods of a level that start at or before `until` (a
/// `Timestamp`, RFC 3339), newest first.
pub async fn periods_until(
    client: &Client,
    overall_table: &str,
    level: Level,
    until: Option<&str>,
    limit: usize,
) -> Result<Vec<Period>, HandlerError> {
    let mut query = client
        .query()
        .table_name(overall_table)
        .index_name("Level-Timestamp")
        .expression_attribute_names("#l", "Level")
        .expression_attribute_values(":l", s(level.name()));
    query = match until {
        Some(until) => query
            .key_condition_expression("#l = :l AND #t <= :t")
            .expression_attribute_names("#t", "Timestamp")
            .expression_attribute_values(":t", s(until)),
        None => query.key_condition_expression("#l = :l"),
    };
    let out = query
        .scan_index_forward(false)
        .limit(i32::try_from(limit).unwrap_or(i32::MAX))
        .send()
        .await
        .map_err(|e| HandlerError::from_sdk("reading the periods", e))?;
    Ok(out
        .items()
        .iter()
        .filter_map(|i| {
            Some(Period {
                bucket: Bucket::parse(i.get("DetailLevel")?.as_s().ok()?)?,
                tweets: get_n(i, "Mentions").unwrap_or(0),
            })
        })
        .collect())
}

/// Every ticker of one period (all pages).
pub async fn tickers_of(
    client: &Client,
    ticker_table: &str,
    bucket: Bucket,
) -> Result<Vec<TickerRow>, HandlerError> {
    let query = client
        .query()
        .table_name(ticker_table)
        .key_condition_expression("DetailLevel = :k")
        .expression_attribute_values(":k", s(bucket.key()))
        .projection_expression(format!("Ticker, UniqueAuthors, {COUNT_ATTRS}"));
    query_all(query, "reading the leaderboard", |i| {
        Some(TickerRow {
            ticker: string(i, "Ticker")?,
            counts: get_counts(i)?,
            unique_authors: get_n(i, "UniqueAuthors").unwrap_or(0),
        })
    })
    .await
}
