//! The S3 lake behind a small trait, so domain steps can be tested on any store.

use crate::HandlerError;
use tickerpulse_core::HourPartition;

/// Where the raw zone keeps its JSON lines.
pub const RAW_PREFIX: &str = "raw/tweets";

/// The lake as the pipeline sees it.
#[allow(async_fn_in_trait)]
pub trait Lake {
    /// The hours of one day (`partition`'s) that have at least one raw object.
    async fn raw_hours_of_day(
        &self,
        partition: &HourPartition,
    ) -> Result<Vec<HourPartition>, HandlerError>;
}

/// `raw/tweets/year=YYYY/month=MM/day=DD/`: the prefix of a partition's day.
pub fn raw_day_prefix(p: &HourPartition) -> String {
    let path = p.path();
    let day = path.rsplit_once('/').map_or(path.as_str(), |(day, _)| day);
    format!("{RAW_PREFIX}/{day}/")
}

/// The lake in S3.
#[derive(Clone, Debug)]
pub struct S3Lake {
    pub client: aws_sdk_s3::Client,
    pub raw_bucket: String,
}

impl Lake for S3Lake {
    /// One listing with `/` as delimiter: the day's hour prefixes come back as
    /// common prefixes (24 at most, one page), whatever the objects under them.
    async fn raw_hours_of_day(
        &self,
        partition: &HourPartition,
    ) -> Result<Vec<HourPartition>, HandlerError> {
        let prefix = raw_day_prefix(partition);
        let mut hours = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.raw_bucket)
            .prefix(&prefix)
            .delimiter("/")
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                HandlerError::from_sdk(&format!("listing s3://{}/{prefix}", self.raw_bucket), e)
            })?;
            // `raw/tweets/year=…/day=DD/hour=HH/`: a partition's own key parser reads it.
            hours.extend(
                page.common_prefixes()
                    .iter()
                    .filter_map(|c| HourPartition::from_key(c.prefix()?).ok()),
            );
        }
        Ok(hours)
    }
}

/// Every key under a prefix, sorted.
pub async fn list_keys(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<String>, HandlerError> {
    let mut keys = Vec::new();
    let mut pages = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page
            .map_err(|e| HandlerError::from_sdk(&format!("listing s3://{bucket}/{prefix}"), e))?;
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(String::from)),
        );
    }
    keys.sort();
    Ok(keys)
}

/// One version (or delete marker) of an object in a versioned bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectVersion {
    pub key: String,
    pub id: String,
    pub latest: bool,
    pub delete_marker: bool,
    /// When it was written (a delete marker: when the delete was made).
    pub last_modified_ms: i64,
}

/// Every version and delete marker under `prefix`, as S3 lists them.
pub async fn versions(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<ObjectVersion>, HandlerError> {
    let mut out = Vec::new();
    let (mut key_marker, mut version_marker) = (None, None);
    let ms = |t: Option<&aws_sdk_s3::primitives::DateTime>| {
        t.and_then(|t| t.to_millis().ok()).unwrap_or_default()
    };
    loop {
        // ListObjectVersions pages by key and version markers (no paginator).
        let page = client
            .list_object_versions()
            .bucket(bucket)
            .prefix(prefix)
            .set_key_marker(key_marker.take())
            .set_version_id_marker(version_marker.take())
            .send()
            .await
            .map_err(|e| {
                HandlerError::from_sdk(&format!("listing versions of s3://{bucket}/{prefix}"), e)
            })?;
        let versions = page.versions().iter().map(|v| {
            (
                v.key(),
                v.version_id(),
                v.is_latest(),
                false,
                ms(v.last_modified()),
            )
        });
        let markers = page.delete_markers().iter().map(|m| {
            (
                m.key(),
                m.version_id(),
                m.is_latest(),
                true,
                ms(m.last_modified()),
            )
        });
        for (key, id, latest, delete_marker, last_modified_ms) in versions.chain(markers) {
            if let (Some(key), Some(id)) = (key, id) {
                out.push(ObjectVersion {
                    key: key.to_string(),
                    id: id.to_string(),
                    latest: latest == Some(true),
                    delete_marker,
                    last_modified_ms,
                });
            }
        }
        if page.is_truncated() != Some(true) {
            break;
        }
        key_marker = page.next_key_marker().map(String::from);
        version_marker = page.next_version_id_marker().map(String::from);
    }
    Ok(out)
}

/// An object's bytes, gunzipped when the key ends in `.gz` (Firehose's GZIP output).
pub async fn read_object(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Vec<u8>, HandlerError> {
    let bytes = get_bytes(client, bucket, key).await?;
    if !key.ends_with(".gz") {
        return Ok(bytes.to_vec());
    }
    use std::io::Read;
    let mut text = Vec::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_end(&mut text)
        .map_err(|e| HandlerError::InvalidInput(format!("s3://{bucket}/{key} is not gzip: {e}")))?;
    Ok(text)
}

/// An object's bytes as stored (no decompression).
pub async fn get_bytes(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<bytes::Bytes, HandlerError> {
    let out = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| HandlerError::from_sdk(&format!("reading s3://{bucket}/{key}"), e))?;
    Ok(out
        .body
        .collect()
        .await
        .map_err(|e| HandlerError::Retryable(format!("reading s3://{bucket}/{key}: {e}")))?
        .into_bytes())
}

/// Where the transform says why it failed records: beside Firehose's own error
/// records (`raw-errors/processing-failed/...`, whose message is generic), by
/// the same arrival hour.
pub const ERROR_REASONS_PREFIX: &str = "raw-errors/reasons";

/// The key of one batch's reasons: `raw-errors/reasons/year=/month=/day=/hour=/<name>.jsonl`.
pub fn error_reasons_key(arrival_ms: i64, name: &str) -> String {
    let (y, m, d) = tickerpulse_core::civil::civil_from_days(arrival_ms.div_euclid(86_400_000));
    let hour = arrival_ms.div_euclid(3_600_000).rem_euclid(24);
    format!(
        "{ERROR_REASONS_PREFIX}/year={y:04}/month={m:02}/day={d:02}/hour={hour:02}/{name}.jsonl"
    )
}

/// Writes one batch's reasons (JSON lines); returns the key.
pub async fn put_error_reasons(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    arrival_ms: i64,
    name: &str,
    lines: Vec<u8>,
) -> Result<String, HandlerError> {
    let key = error_reasons_key(arrival_ms, name);
    put_jsonl(client, bucket, &key, lines).await?;
    Ok(key)
}

/// Writes JSON lines to `key`.
async fn put_jsonl(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    lines: Vec<u8>,
) -> Result<(), HandlerError> {
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type("application/x-ndjson")
        .body(lines.into())
        .send()
        .await
        .map_err(|e| HandlerError::from_sdk(&format!("writing s3://{bucket}/{key}"), e))?;
    Ok(())
}

/// Where compact names the raw lines of a partition it could not read (JSON
/// lines of source, line and reason), in the raw bucket beside the data.
pub fn rejected_lines_key(partition: &tickerpulse_core::HourPartition) -> String {
    format!(
        "raw-errors/rejected-lines/{}/rejects.jsonl",
        partition.path()
    )
}

/// Writes a partition's rejected lines, or removes a report the partition no
/// longer needs (`lines` empty).
pub async fn put_rejected_lines(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    partition: &tickerpulse_core::HourPartition,
    lines: Vec<u8>,
) -> Result<(), HandlerError> {
    let key = rejected_lines_key(partition);
    if lines.is_empty() {
        client
            .delete_object()
            .bucket(bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| HandlerError::from_sdk(&format!("deleting s3://{bucket}/{key}"), e))?;
        return Ok(());
    }
    put_jsonl(client, bucket, &key, lines).await
}

/// Uploads a local file (streamed from disk, not held in memory).
pub async fn put_file(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    path: &std::path::Path,
    content_type: &str,
) -> Result<(), HandlerError> {
    let body = aws_sdk_s3::primitives::ByteStream::from_path(path)
        .await
        .map_err(|e| HandlerError::Fatal(format!("reading {}: {e}", path.display())))?;
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type(content_type)
        .body(body)
        .send()
        .await
        .map_err(|e| HandlerError::from_sdk(&format!("writing s3://{bucket}/{key}"), e))?;
    Ok(())
}

/// Uploads a Parquet file of the lake from scratch space.
pub async fn put_parquet(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    path: &std::path::Path,
) -> Result<(), HandlerError> {
    put_file(client, bucket, key, path, "application/vnd.apache.parquet").await
}

/// A file in the function's scratch space (`/tmp` in Lambda), removed on drop.
pub struct ScratchFile(pub std::path::PathBuf);

impl ScratchFile {
    pub fn new(what: &str) -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Self(
            std::env::temp_dir().join(format!("tickerpulse-{what}-{}-{n}.tmp", std::process::id())),
        )
    }
}

impl Drop for ScratchFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The ETag of an object, or `None` when there is none.
pub async fn etag(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Option<String>, HandlerError> {
    match client.head_object().bucket(bucket).key(key).send().await {
        Ok(h) => Ok(Some(h.e_tag().unwrap_or_default().to_string())),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
        Err(e) => Err(HandlerError::from_sdk(
            &format!("looking at s3://{bucket}/{key}"),
            e,
        )),
    }
}

/// Writes a run's recomputed summaries to the analytics zone, one Parquet file
/// per table (`tickerpulse_lake::layout::analytics_key`); returns their URIs.
/// Nothing is written when the run recomputed nothing.
pub async fn put_analytics(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    run_id: &str,
    tickers: &[tickerpulse_aggregate::TickerSummary],
    overall: &[tickerpulse_aggregate::OverallSummary],
) -> Result<Vec<String>, HandlerError> {
    use std::io::{BufWriter, Write};
    use tickerpulse_aggregate::output;
    use tickerpulse_lake::layout;
    if tickers.is_empty() && overall.is_empty() {
        return Ok(Vec::new());
    }
    let ticker_file = ScratchFile::new("ticker_summary");
    let overall_file = ScratchFile::new("overall_summary");
    let create = |f: &ScratchFile| {
        std::fs::File::create(&f.0)
            .map(BufWriter::new)
            .map_err(|e| HandlerError::Fatal(format!("creating {}: {e}", f.0.display())))
    };
    let flush = |w: Result<BufWriter<std::fs::File>, tickerpulse_aggregate::AggregateError>| {
        w.map_err(|e| HandlerError::Fatal(e.to_string()))?
            .flush()
            .map_err(|e| HandlerError::Fatal(format!("writing the analytics file: {e}")))
    };
    flush(output::write_ticker_summaries(
        tickers,
        create(&ticker_file)?,
    ))?;
    flush(output::write_overall_summaries(
        overall,
        create(&overall_file)?,
    ))?;
    let mut written = Vec::new();
    for (table, file) in [
        (layout::ANALYTICS_TICKER_SUMMARY, &ticker_file),
        (layout::ANALYTICS_OVERALL_SUMMARY, &overall_file),
    ] {
        let key = layout::analytics_key(table, run_id);
        put_parquet(client, bucket, &key, &file.0).await?;
        written.push(format!("s3://{bucket}/{key}"));
    }
    Ok(written)
}
