//! compact: the raw JSON lines of one hour partition (every object under it,
//! late ones included) become one deduplicated zstd Parquet file in stage 1.
//! A rerun writes the same key with the same bytes, so it replaces.

use serde::{Deserialize, Serialize};
use std::io::{BufReader, BufWriter, Write};
use tickerpulse_aws::lake::{self, ScratchFile, RAW_PREFIX};
use tickerpulse_aws::{sdk, HandlerError};
use tickerpulse_core::config::{self, Env};
use tickerpulse_core::HourPartition;
use tickerpulse_lake::{layout, CompactStats, Compactor, LakeError};

/// One item of the pipeline's Map state.
#[derive(Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PartitionTask {
    /// `year=YYYY/month=MM/day=DD/hour=HH`
    pub partition: String,
}

/// What the state machine gets back.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct CompactResult {
    pub partition: String,
    /// `s3://` URI of the stage 1 file, when the partition had raw objects.
    pub output: Option<String>,
    #[serde(flatten)]
    pub stats: CompactStats,
    pub bytes_out: u64,
}

pub struct Function {
    pub s3: aws_sdk_s3::Client,
    pub raw_bucket: String,
    pub stage_bucket: String,
}

fn lake_error(e: LakeError) -> HandlerError {
    match e {
        LakeError::Read(m) => HandlerError::Retryable(m),
        other => HandlerError::Fatal(other.to_string()),
    }
}

impl Function {
    pub async fn from_env(env: &dyn Env) -> Result<Self, HandlerError> {
        let conf = sdk::load(env).await;
        Ok(Self {
            s3: sdk::s3_client(&conf),
            raw_bucket: config::required(env, config::RAW_BUCKET)?,
            stage_bucket: config::required(env, config::STAGE_BUCKET)?,
        })
    }

    pub async fn handle(&self, task: PartitionTask) -> Result<CompactResult, HandlerError> {
        let partition = HourPartition::from_key(&task.partition)
            .map_err(|e| HandlerError::InvalidInput(e.to_string()))?;
        let prefix = format!("{RAW_PREFIX}/{}/", partition.path());
        let keys = lake::list_keys(&self.s3, &self.raw_bucket, &prefix).await?;
        if keys.is_empty() {
            tracing::warn!(%partition, "no raw objects: nothing to compact");
            return Ok(CompactResult {
                partition: partition.path(),
                output: None,
                stats: CompactStats::default(),
                bytes_out: 0,
            });
        }
        // Downloads feed a blocking worker that decodes and encodes, so the
        // next object arrives while the last one is compacted.
        let scratch = ScratchFile::new("compact");
        let path = scratch.0.clone();
        let (tx, mut rx) = tokio::sync::mpsc::channel::<(String, bytes::Bytes)>(2);
        let worker = tokio::task::spawn_blocking(move || -> Result<CompactStats, LakeError> {
            let file = std::fs::File::create(&path)
                .map_err(|e| LakeError::Invalid(format!("creating {}: {e}", path.display())))?;
            let mut compactor = Compactor::new(BufWriter::with_capacity(1 << 20, file))?;
            while let Some((key, bytes)) = rx.blocking_recv() {
                // gzip of JSON lines is about 8 to 1.
                let factor = if key.ends_with(".gz") { 8 } else { 1 };
                compactor.expect_bytes(bytes.len() as u64 * factor);
                let read = if key.ends_with(".gz") {
                    let gz = flate2::read::MultiGzDecoder::new(&bytes[..]);
                    compactor.push_object(&key, BufReader::with_capacity(1 << 16, gz))
                } else {
                    compactor.push_object(&key, &bytes[..])
                };
                match read {
                    Ok(()) => {}
                    // A broken object (bad gzip) stays in the raw zone, named in the report.
                    Err(LakeError::Read(reason)) => compactor.reject_object(&key, reason),
                    Err(e) => return Err(e),
                }
            }
            let (mut sink, stats) = compactor.finish()?;
            sink.flush()
                .map_err(|e| LakeError::Invalid(format!("writing {}: {e}", path.display())))?;
            Ok(stats)
        });
        for key in &keys {
            let bytes = lake::get_bytes(&self.s3, &self.raw_bucket, key).await?;
            if tx.send((key.clone(), bytes)).await.is_err() {
                break; // the worker stopped; its error follows
            }
        }
        drop(tx);
        let stats = worker
            .await
            .map_err(|e| HandlerError::Fatal(format!("compaction worker: {e}")))?
            .map_err(lake_error)?;
        let key = layout::key(layout::STAGE1_TWEETS, &partition);
        let bytes_out = std::fs::metadata(&scratch.0).map_or(0, |m| m.len());
        lake::put_parquet(&self.s3, &self.stage_bucket, &key, &scratch.0).await?;
        tracing::info!(
            %partition,
            objects = stats.objects,
            rows = stats.rows,
            duplicates = stats.duplicates,
            rejected = stats.rejected,
            bytes_in = stats.bytes_in,
            bytes_out,
            "compacted"
        );
        let mut named = Vec::new();
        for r in &stats.rejects {
            tracing::warn!(source = %r.source, line = r.line, reason = %r.reason, "raw line not compacted (kept in the raw zone)");
            if serde_json::to_writer(&mut named, r).is_ok() {
                named.push(b'\n');
            }
        }
        // Named beside the data, where `/v1/runs`' rows_rejected points.
        lake::put_rejected_lines(&self.s3, &self.raw_bucket, &partition, named).await?;
        Ok(CompactResult {
            partition: partition.path(),
            output: Some(format!("s3://{}/{key}", self.stage_bucket)),
            stats,
            bytes_out,
        })
    }
}
