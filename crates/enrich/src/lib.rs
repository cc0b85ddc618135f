//! The transform's domain, pure: X API v2 tweet objects in Firehose records to
//! enriched, scored JSON lines with their hour partition keys, under the Firehose
//! data-transformation contract. One output record per input `recordId`: `Ok`,
//! `Dropped` (excluded by configuration) or `ProcessingFailed` (unreadable, with
//! its original data); the response stays under Lambda's 6 MB limit.

pub mod enrich;

use base64::Engine;
use enrich::{Enricher, Rejection};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Lambda's synchronous response limit, less room for the JSON around records.
pub const RESPONSE_LIMIT: usize = 6 * 1024 * 1024 - 64 * 1024;

/// Languages kept by default.
pub const DEFAULT_LANGUAGES: &str = "en";

/// The transformation event. Records keep `data` as text so that one record that
/// is not base64 fails alone.
#[derive(Debug, Deserialize, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct FirehoseEvent {
    #[serde(default)]
    pub invocation_id: Option<String>,
    #[serde(default)]
    pub delivery_stream_arn: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    pub records: Vec<InputRecord>,
}

#[derive(Debug, Deserialize, Serialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct InputRecord {
    pub record_id: String,
    #[serde(default)]
    pub approximate_arrival_timestamp: Option<i64>,
    pub data: String,
}

#[derive(Debug, Serialize, Deserialize, Clone, Copy, PartialEq, Eq)]
pub enum RecordResult {
    Ok,
    Dropped,
    ProcessingFailed,
}

#[derive(Debug, Serialize, Deserialize, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    pub partition_keys: BTreeMap<String, String>,
}

#[derive(Debug, Serialize, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct OutputRecord {
    pub record_id: String,
    pub result: RecordResult,
    pub data: String,
    pub metadata: Metadata,
}

#[derive(Debug, Serialize, Deserialize, Default)]
pub struct FirehoseResponse {
    pub records: Vec<OutputRecord>,
}

/// Counts of one invocation, logged as one line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub ok: usize,
    pub dropped: usize,
    pub failed: usize,
    pub over_size_limit: usize,
}

/// Transforms batches with one enricher.
pub struct Transformer {
    pub enricher: Enricher,
}

impl Transformer {
    /// The whole batch, synchronously (the benchmark calls this).
    pub fn transform(&self, event: FirehoseEvent) -> (FirehoseResponse, Counts) {
        let mut counts = Counts::default();
        // Bytes the response needs at the least for the records not yet done:
        // their original data, returned as ProcessingFailed if it comes to that.
        let mut reserve: usize = event
            .records
            .iter()
            .map(|r| r.data.len() + record_overhead(&r.record_id))
            .sum();
        let mut size = 16usize;
        let mut records = Vec::with_capacity(event.records.len());
        let mut line = Vec::with_capacity(2048);
        for input in event.records {
            reserve -= input.data.len() + record_overhead(&input.record_id);
            let outcome = B64
                .decode(input.data.as_bytes())
                .map_err(|_| Rejection::NotBase64)
                .and_then(|bytes| {
                    self.enricher
                        .enrich(&bytes, input.approximate_arrival_timestamp)
                });
            let record = match outcome {
                Ok((tweet, partition)) => {
                    line.clear();
                    // Serializing a struct of plain fields cannot fail.
                    let _ = serde_json::to_writer(&mut line, &tweet);
                    line.push(b'\n');
                    let data = B64.encode(&line);
                    if size + data.len() + record_overhead(&input.record_id) + reserve
                        > RESPONSE_LIMIT
                    {
                        counts.over_size_limit += 1;
                        counts.failed += 1;
                        tracing::warn!(record_id = %input.record_id, "response would pass 6 MB: returned as ProcessingFailed");
                        failed(input)
                    } else {
                        counts.ok += 1;
                        let keys = BTreeMap::from([
                            ("year".to_string(), format!("{:04}", partition.year)),
                            ("month".to_string(), format!("{:02}", partition.month)),
                            ("day".to_string(), format!("{:02}", partition.day)),
                            ("hour".to_string(), format!("{:02}", partition.hour)),
                        ]);
                        OutputRecord {
                            record_id: input.record_id,
                            result: RecordResult::Ok,
                            data,
                            metadata: Metadata {
                                partition_keys: keys,
                            },
                        }
                    }
                }
                Err(rejection) if rejection.is_drop() => {
                    counts.dropped += 1;
                    tracing::debug!(record_id = %input.record_id, reason = %rejection, "dropped");
                    OutputRecord {
                        record_id: input.record_id,
                        result: RecordResult::Dropped,
                        data: input.data,
                        metadata: Metadata::default(),
                    }
                }
                Err(rejection) => {
                    counts.failed += 1;
                    tracing::warn!(record_id = %input.record_id, reason = %rejection, "processing failed");
                    failed(input)
                }
            };
            size += record.data.len() + record_overhead(&record.record_id);
            records.push(record);
        }
        (FirehoseResponse { records }, counts)
    }
}

/// Bytes a record takes in the response besides its data: its id, result,
/// partition keys and the JSON around them.
fn record_overhead(record_id: &str) -> usize {
    record_id.len() + 96
}

fn failed(input: InputRecord) -> OutputRecord {
    OutputRecord {
        record_id: input.record_id,
        result: RecordResult::ProcessingFailed,
        data: input.data,
        metadata: Metadata::default(),
    }
}
