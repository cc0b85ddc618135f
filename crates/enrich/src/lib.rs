//! The transform's domain, pure: X API v2 tweet objects in Firehose records to
//! enriched, scored JSON lines with their hour partition keys, under the Firehose
//! data-transformation contract. One output record per input `recordId`: `Ok`,
//! `Dropped` (excluded by configuration) or `ProcessingFailed` (unreadable, with
//! its original data); the response stays under Lambda's 6 MB limit.

pub mod enrich;

use enrich::{Enricher, Rejection};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Standard base64 with padding, SIMD where the CPU has it (AVX2, SSE4.1,
/// NEON on Graviton): encoding and decoding were 11% of the transform's
/// instructions with the scalar `base64` crate. The AWS SDK uses the same crate.
const B64: base64_simd::Base64 = base64_simd::STANDARD;

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

/// The response of one batch, already JSON (a [`FirehoseResponse`] when parsed):
/// the runtime copies it out without escaping a byte of its base64.
pub type ResponseJson = Box<serde_json::value::RawValue>;

/// The batch's response could not be assembled (a bug, never the input's fault).
#[derive(Debug, thiserror::Error)]
#[error("the transform's response is not JSON: {0}")]
pub struct ResponseError(String);

/// Transforms batches with one enricher.
pub struct Transformer {
    pub enricher: Enricher,
}

impl Transformer {
    /// The whole batch, synchronously (the handler and the benchmark call this).
    ///
    /// The response is written as it goes: each enriched line is serialized once
    /// into a reused buffer and base64-encoded straight into the response, with no
    /// per-record strings or maps.
    pub fn transform(&self, event: FirehoseEvent) -> Result<(ResponseJson, Counts), ResponseError> {
        let mut counts = Counts::default();
        // Bytes the response needs at the least for the records not yet done:
        // their original data, returned as ProcessingFailed if it comes to that.
        let mut reserve: usize = event
            .records
            .iter()
            .map(|r| r.data.len() + record_overhead(&r.record_id))
            .sum();
        let input_size = reserve;
        let mut out: Vec<u8> =
            Vec::with_capacity((input_size + input_size / 2).min(RESPONSE_LIMIT));
        out.extend_from_slice(b"{\"records\":[");
        let mut decoded = Vec::with_capacity(4096);
        let mut line = Vec::with_capacity(4096);
        for (n, input) in event.records.into_iter().enumerate() {
            reserve -= input.data.len() + record_overhead(&input.record_id);
            if n > 0 {
                out.push(b',');
            }
            decoded.clear();
            let outcome = B64
                .decode_append(input.data.as_bytes(), &mut decoded)
                .map_err(|_| Rejection::NotBase64)
                .and_then(|()| {
                    self.enricher
                        .enrich(&decoded, input.approximate_arrival_timestamp)
                });
            match outcome {
                Ok((tweet, partition)) => {
                    line.clear();
                    // The same bytes as serde_json, written faster.
                    tweet.write_json(&mut line);
                    line.push(b'\n');
                    let encoded_len = B64.encoded_length(line.len());
                    if out
                        .len()
                        .saturating_add(encoded_len)
                        .saturating_add(record_overhead(&input.record_id))
                        .saturating_add(reserve)
                        > RESPONSE_LIMIT
                    {
                        counts.over_size_limit += 1;
                        counts.failed += 1;
                        tracing::warn!(record_id = %input.record_id, "response would pass 6 MB: returned as ProcessingFailed");
                        write_original(&mut out, &input, RecordResult::ProcessingFailed);
                    } else {
                        counts.ok += 1;
                        write_head(&mut out, &input.record_id, RecordResult::Ok);
                        out.reserve(encoded_len);
                        B64.encode_append(&line, &mut out);
                        out.extend_from_slice(b"\",\"metadata\":{\"partitionKeys\":{\"year\":\"");
                        push_digits(&mut out, u32::from(partition.year), 4);
                        out.extend_from_slice(b"\",\"month\":\"");
                        push_digits(&mut out, u32::from(partition.month), 2);
                        out.extend_from_slice(b"\",\"day\":\"");
                        push_digits(&mut out, u32::from(partition.day), 2);
                        out.extend_from_slice(b"\",\"hour\":\"");
                        push_digits(&mut out, u32::from(partition.hour), 2);
                        out.extend_from_slice(b"\"}}}");
                    }
                }
                Err(rejection) if rejection.is_drop() => {
                    counts.dropped += 1;
                    tracing::debug!(record_id = %input.record_id, reason = %rejection, "dropped");
                    write_original(&mut out, &input, RecordResult::Dropped);
                }
                Err(rejection) => {
                    counts.failed += 1;
                    tracing::warn!(record_id = %input.record_id, reason = %rejection, "processing failed");
                    write_original(&mut out, &input, RecordResult::ProcessingFailed);
                }
            }
        }
        out.extend_from_slice(b"]}");
        let json = String::from_utf8(out).map_err(|e| ResponseError(e.to_string()))?;
        let json = serde_json::value::RawValue::from_string(json)
            .map_err(|e| ResponseError(e.to_string()))?;
        Ok((json, counts))
    }
}

/// `{"recordId":...,"result":...,"data":"` of an output record.
fn write_head(out: &mut Vec<u8>, record_id: &str, result: RecordResult) {
    out.extend_from_slice(b"{\"recordId\":");
    // A &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, record_id);
    out.extend_from_slice(match result {
        RecordResult::Ok => b",\"result\":\"Ok\",\"data\":\"".as_slice(),
        RecordResult::Dropped => b",\"result\":\"Dropped\",\"data\":\"",
        RecordResult::ProcessingFailed => b",\"result\":\"ProcessingFailed\",\"data\":\"",
    });
}

/// A record returned with its original data and no partition keys.
fn write_original(out: &mut Vec<u8>, input: &InputRecord, result: RecordResult) {
    write_head(out, &input.record_id, result);
    // The data came as a JSON string; written back escaped as it must be.
    let mut escaped = Vec::with_capacity(input.data.len() + 2);
    let _ = serde_json::to_writer(&mut escaped, input.data.as_str());
    out.extend_from_slice(&escaped[1..escaped.len() - 1]);
    out.extend_from_slice(b"\",\"metadata\":{\"partitionKeys\":{}}}");
}

/// `value` in decimal, zero-padded to `width` digits.
fn push_digits(out: &mut Vec<u8>, value: u32, width: u32) {
    for i in (0..width).rev() {
        out.push(b'0' + ((value / 10u32.pow(i)) % 10) as u8);
    }
}

/// Bytes a record takes in the response besides its data: its id, result,
/// partition keys and the JSON around them.
fn record_overhead(record_id: &str) -> usize {
    record_id.len() + 96
}

#[cfg(test)]
mod tests {
    use super::B64;
    use base64::Engine;

    /// The SIMD codec reads and writes exactly what the `base64` crate's
    /// standard engine does: the same text for every length, and the same
    /// bytes or the same refusal for valid, damaged and non-canonical input
    /// (what is refused becomes a ProcessingFailed record).
    #[test]
    fn simd_base64_agrees_with_the_base64_crate() {
        let scalar = base64::engine::general_purpose::STANDARD;
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut inputs: Vec<Vec<u8>> = [
            "QQ==", "QR==", "QQ", "QQ=", "QUI=", "QUJ=", "====", "Q===", "", "\n",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        for len in 0..300 {
            let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let text = scalar.encode(&bytes);
            assert_eq!(B64.encode_to_string(&bytes), text, "encoding {len} bytes");
            let text = text.into_bytes();
            inputs.push(text.clone());
            if text.is_empty() {
                continue;
            }
            for bad in [b'=', b' ', b'\n', b'-', b'_', b'*', 0xC3] {
                let mut damaged = text.clone();
                let at = next() as usize % damaged.len();
                damaged[at] = bad;
                inputs.push(damaged);
            }
            let mut short = text.clone();
            short.pop();
            inputs.push(short);
            let mut long = text.clone();
            long.push(b'A');
            inputs.push(long);
        }
        for input in &inputs {
            let ours = B64.decode_to_vec(input).ok();
            let theirs = scalar.decode(input).ok();
            assert_eq!(
                ours,
                theirs,
                "decoding {:?}",
                String::from_utf8_lossy(input)
            );
        }
    }
}
