//! Forgetting posts in the stores: the raw zone's objects rewritten without
//! them, with every older version of a rewritten object deleted (the buckets
//! keep versions); the older versions of the derived zones' objects deleted
//! once the pipeline has rewritten them; the recent-posts items deleted. The
//! pipeline itself recomputes stage 1 and 2, the summaries and the analytics
//! zone from the raw zone, as for any changed hour.

use crate::lake::{versions, ObjectVersion, RAW_PREFIX};
use crate::HandlerError;
use std::collections::BTreeSet;
use tickerpulse_core::forget::{Forget, Removed};
use tickerpulse_core::HourPartition;

/// What the raw zone gave up.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RawReport {
    pub objects_read: u64,
    pub objects_rewritten: u64,
    pub objects_deleted: u64,
    pub versions_deleted: u64,
    pub removed: Vec<Removed>,
    /// The hour partitions (`year=…/hour=…`) that lost posts: the pipeline
    /// recomputes them.
    pub hours: BTreeSet<String>,
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>, HandlerError> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes)
        .and_then(|_| enc.finish())
        .map_err(|e| HandlerError::Fatal(format!("gzip: {e}")))
}

/// Rewrites every raw object under `prefix` (default: the whole raw zone)
/// that holds a post to forget, then deletes its older versions; an object
/// left with no line is deleted with all its versions.
pub async fn strip_raw(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    forget: &Forget,
    prefix: Option<&str>,
) -> Result<RawReport, HandlerError> {
    let mut report = RawReport::default();
    let prefix = prefix.map_or_else(|| format!("{RAW_PREFIX}/"), String::from);
    for key in crate::lake::list_keys(client, bucket, &prefix).await? {
        report.objects_read += 1;
        let text = crate::lake::read_object(client, bucket, &key).await?;
        let stripped = forget.strip(&text);
        if stripped.removed.is_empty() {
            continue;
        }
        report.removed.extend(stripped.removed);
        if let Ok(p) = HourPartition::from_key(&key) {
            report.hours.insert(p.path());
        }
        let keep = if stripped.kept.is_empty() {
            report.objects_deleted += 1;
            None
        } else {
            let body = if key.ends_with(".gz") {
                gzip(&stripped.kept)?
            } else {
                stripped.kept
            };
            let put = client
                .put_object()
                .bucket(bucket)
                .key(&key)
                .body(body.into())
                .send()
                .await
                .map_err(|e| {
                    HandlerError::from_sdk(&format!("rewriting s3://{bucket}/{key}"), e)
                })?;
            report.objects_rewritten += 1;
            Some(put.version_id().unwrap_or_default().to_string())
        };
        report.versions_deleted += purge_versions(client, bucket, &key, keep.as_deref()).await?;
    }
    Ok(report)
}

async fn delete_versions(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    doomed: &[ObjectVersion],
) -> Result<u64, HandlerError> {
    for v in doomed {
        client
            .delete_object()
            .bucket(bucket)
            .key(&v.key)
            .version_id(&v.id)
            .send()
            .await
            .map_err(|e| {
                HandlerError::from_sdk(&format!("deleting a version of s3://{bucket}/{}", v.key), e)
            })?;
    }
    Ok(doomed.len() as u64)
}

/// Every version of `key` but `keep` (`None`: all of them, the object too).
pub async fn purge_versions(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    keep: Option<&str>,
) -> Result<u64, HandlerError> {
    let mut doomed = versions(client, bucket, key).await?;
    doomed.retain(|v| v.key == key && Some(v.id.as_str()) != keep);
    delete_versions(client, bucket, &doomed).await
}

/// Every noncurrent version and delete marker under `prefix`: what a
/// rewritten Parquet file left behind. A current delete marker stays (it is
/// what says the object is gone).
pub async fn purge_noncurrent(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Result<u64, HandlerError> {
    let mut doomed = versions(client, bucket, prefix).await?;
    doomed.retain(|v| !v.latest);
    delete_versions(client, bucket, &doomed).await
}

/// Deletes the recent-posts items (every feed's copy) of these post ids.
/// One scan of the table: it holds `RecentTweetsTtlDays` of posts.
pub async fn forget_recent(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    ids: &BTreeSet<String>,
) -> Result<u64, HandlerError> {
    if ids.is_empty() {
        return Ok(0);
    }
    let mut keys = Vec::new();
    let mut pages = client
        .scan()
        .table_name(table)
        .projection_expression("Feed, TimestampTweetId, TweetId")
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| HandlerError::from_sdk("scanning the recent posts", e))?;
        for item in page.items() {
            let id = item.get("TweetId").and_then(|v| v.as_s().ok());
            if id.is_some_and(|id| ids.contains(id)) {
                if let (Some(feed), Some(sort)) = (item.get("Feed"), item.get("TimestampTweetId")) {
                    keys.push((feed.clone(), sort.clone()));
                }
            }
        }
    }
    for (feed, sort) in &keys {
        client
            .delete_item()
            .table_name(table)
            .key("Feed", feed.clone())
            .key("TimestampTweetId", sort.clone())
            .send()
            .await
            .map_err(|e| HandlerError::from_sdk("deleting a recent post", e))?;
    }
    Ok(keys.len() as u64)
}

/// The ids of one source's posts the raw zone holds for these days
/// (partitions of the posts' own time): what its platform is asked about.
pub async fn post_ids(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    days: &[HourPartition],
    source: tickerpulse_core::source::Source,
) -> Result<BTreeSet<String>, HandlerError> {
    let mut ids = BTreeSet::new();
    for day in days {
        let prefix = crate::lake::raw_day_prefix(day);
        for key in crate::lake::list_keys(client, bucket, &prefix).await? {
            let text = crate::lake::read_object(client, bucket, &key).await?;
            ids.extend(tickerpulse_core::forget::post_ids(&text, source));
        }
    }
    Ok(ids)
}

/// The stores a forget reaches directly (the pipeline rebuilds the rest).
#[derive(Debug, Clone)]
pub struct Stores {
    pub s3: aws_sdk_s3::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub raw_bucket: String,
    pub stage_bucket: String,
    pub recent_table: String,
    pub state_table: String,
}

/// What [`Stores::remove`] did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Removal {
    pub raw: RawReport,
    pub ids: BTreeSet<String>,
    pub recent_items_deleted: u64,
}

impl Stores {
    /// The first half of a forget: the posts leave the raw zone (every
    /// version), their hours are marked changed (the record the raw bucket's
    /// events leave, so the next pipeline run recomputes them from what
    /// remains), and their recent-posts items are deleted. `by` names the
    /// request in the changed-partitions ledger.
    pub async fn remove(&self, forget: &Forget, by: &str) -> Result<Removal, HandlerError> {
        let raw = strip_raw(&self.s3, &self.raw_bucket, forget, None).await?;
        let ids = ids(&raw.removed);
        let changed = crate::state::ChangedPartitions {
            client: self.dynamodb.clone(),
            table: self.state_table.clone(),
        };
        let now = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        for hour in &raw.hours {
            changed.mark(hour, by, &now).await?;
        }
        let recent_items_deleted = forget_recent(&self.dynamodb, &self.recent_table, &ids).await?;
        Ok(Removal {
            raw,
            ids,
            recent_items_deleted,
        })
    }

    /// The second half, once a run has rebuilt these hours: the stage files'
    /// older versions (which still hold the posts) are deleted.
    pub async fn purge_stage(&self, hours: &BTreeSet<String>) -> Result<u64, HandlerError> {
        let mut deleted = 0;
        for hour in hours {
            for table in tickerpulse_lake::layout::STAGE_TABLES {
                deleted +=
                    purge_noncurrent(&self.s3, &self.stage_bucket, &format!("{table}/{hour}/"))
                        .await?;
            }
        }
        Ok(deleted)
    }
}

/// The ids of a report's posts.
pub fn ids(removed: &[Removed]) -> BTreeSet<String> {
    removed.iter().map(|r| r.tweet_id.clone()).collect()
}
