//! The transform's domain, pure: X API v2 tweet objects in Firehose records to
//! enriched, scored JSON lines with their hour partition keys, under the Firehose
//! data-transformation contract. One output record per input `recordId`: `Ok`,
//! `Dropped` (excluded by configuration) or `ProcessingFailed` (unreadable, with
//! its original data); the response stays under Lambda's 6 MB limit.

pub mod enrich;

use enrich::{Enricher, Rejection};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;
use tickerpulse_json::json_keys;
use tickerpulse_json::Cursor;

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

/// One input record, its strings borrowed from the event's text unless they
/// had escapes: the transform reads the event without copying a record's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRef<'a> {
    pub record_id: Cow<'a, str>,
    pub approximate_arrival_timestamp: Option<i64>,
    pub data: Cow<'a, str>,
}

impl From<InputRecord> for RecordRef<'static> {
    fn from(r: InputRecord) -> Self {
        Self {
            record_id: Cow::Owned(r.record_id),
            approximate_arrival_timestamp: r.approximate_arrival_timestamp,
            data: Cow::Owned(r.data),
        }
    }
}

impl<'a> From<&'a InputRecord> for RecordRef<'a> {
    fn from(r: &'a InputRecord) -> Self {
        Self {
            record_id: Cow::Borrowed(&r.record_id),
            approximate_arrival_timestamp: r.approximate_arrival_timestamp,
            data: Cow::Borrowed(&r.data),
        }
    }
}

json_keys!(EventKey {
    "invocationId" => InvocationId,
    "deliveryStreamArn" => DeliveryStreamArn,
    "region" => Region,
    "records" => Records,
});

json_keys!(RecordKey {
    "recordId" => RecordId,
    "approximateArrivalTimestamp" => ApproximateArrivalTimestamp,
    "data" => Data,
});

/// The records of a Firehose transformation event, read as [`FirehoseEvent`]'s
/// serde derive reads them (the same records, or an error for the same
/// events). A cursor reads the event as Firehose writes it, borrowing each
/// record's data; anything else (escapes in keys, a negative timestamp,
/// invalid UTF-8, ...) goes to serde_json, which reads it or says why not.
///
/// In the Lambda, serde (through `lambda_runtime`'s `serde_path_to_error`)
/// copied every record's data into a `String` of its own and checked its
/// UTF-8 again.
pub fn read_records(body: &[u8]) -> Result<Vec<RecordRef<'_>>, BatchError> {
    if let Some(records) = std::str::from_utf8(body).ok().and_then(read_event) {
        return Ok(records);
    }
    let event: FirehoseEvent =
        serde_json::from_slice(body).map_err(|e| BatchError::NotAnEvent(e.to_string()))?;
    Ok(event.records.into_iter().map(RecordRef::from).collect())
}

fn read_event(text: &str) -> Option<Vec<RecordRef<'_>>> {
    let mut c = Cursor::new(text);
    let mut records = None;
    c.object(|c, key| {
        match key {
            EventKey::InvocationId | EventKey::DeliveryStreamArn | EventKey::Region => {
                c.opt_string()?;
            }
            EventKey::Records => {
                let mut list = Vec::new();
                c.array(|c| {
                    list.push(read_record(c)?);
                    Some(())
                })?;
                records = Some(list);
            }
        }
        Some(())
    })?;
    if !c.at_end() {
        return None;
    }
    records
}

fn read_record<'a>(c: &mut Cursor<'a>) -> Option<RecordRef<'a>> {
    let (mut record_id, mut arrival, mut data) = (None, None, None);
    c.object(|c, key| {
        match key {
            RecordKey::RecordId => record_id = Some(c.string()?),
            RecordKey::ApproximateArrivalTimestamp => {
                arrival = match c.opt_u64()? {
                    Some(ms) => Some(i64::try_from(ms).ok()?),
                    None => None,
                }
            }
            RecordKey::Data => data = Some(c.string()?),
        }
        Some(())
    })?;
    Some(RecordRef {
        record_id: record_id?,
        approximate_arrival_timestamp: arrival,
        data: data?,
    })
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

/// The response of one batch, already JSON (a [`FirehoseResponse`] when
/// parsed). serde_json writes it out as it is, unescaped, as it writes a
/// `Box<RawValue>`: through the raw-value protocol (a struct with one field,
/// both named by serde_json's private token). Unlike `RawValue::from_string`,
/// making one does not parse the text again to check it: that check cost 13%
/// of the transform's instructions. The response is JSON by construction, and
/// the tests and the fuzz targets parse responses back. Other serializers see
/// a struct with one string field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseJson(String);

/// The name serde_json gives a raw value (`serde_json::raw::TOKEN`, the same
/// since serde_json 1.0.29); `response_json_is_written_as_it_is` fails if it
/// ever changes.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

impl ResponseJson {
    /// The JSON text.
    pub fn get(&self) -> &str {
        &self.0
    }
}

impl Serialize for ResponseJson {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut raw = serializer.serialize_struct(RAW_VALUE_TOKEN, 1)?;
        raw.serialize_field(RAW_VALUE_TOKEN, &self.0)?;
        raw.end()
    }
}

/// Why a whole batch gets no response (one bad record never does this).
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// The invocation's payload is not a Firehose transformation event.
    #[error("not a Firehose transformation event: {0}")]
    NotAnEvent(String),
    /// The response could not be assembled (a bug, never the input's fault).
    #[error("the transform's response is not JSON: {0}")]
    Response(String),
}

/// A record returned as ProcessingFailed, and why: Firehose's own error record
/// says only "ProcessingFailed status returned from Lambda", so the transform
/// writes these beside it (`rawData` is the same base64 as Firehose's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    pub record_id: String,
    pub arrival_timestamp: Option<i64>,
    pub reason: String,
    pub raw_data: String,
}

/// Transforms batches with one enricher.
pub struct Transformer {
    pub enricher: Enricher,
}

impl Transformer {
    /// The whole batch from the invocation's payload, as the Lambda receives
    /// it (the handler and the benchmark call this).
    pub fn transform_json(&self, body: &[u8]) -> Result<(ResponseJson, Counts), BatchError> {
        self.transform_records(&read_records(body)?)
    }

    /// The whole batch of an event already parsed.
    pub fn transform(&self, event: FirehoseEvent) -> Result<(ResponseJson, Counts), BatchError> {
        let records: Vec<RecordRef> = event.records.iter().map(RecordRef::from).collect();
        self.transform_records(&records)
    }

    /// The whole batch, synchronously.
    ///
    /// The response is written as it goes: each enriched line is serialized once
    /// into a reused buffer and base64-encoded straight into the response, with no
    /// per-record strings or maps.
    pub fn transform_records(
        &self,
        records: &[RecordRef<'_>],
    ) -> Result<(ResponseJson, Counts), BatchError> {
        self.transform_explained(records, &mut None)
    }

    /// [`Self::transform_records`], and why each failed record failed
    /// (collected only when `failures` is `Some`).
    pub fn transform_explained(
        &self,
        records: &[RecordRef<'_>],
        failures: &mut Option<Vec<Failure>>,
    ) -> Result<(ResponseJson, Counts), BatchError> {
        let mut fail = |input: &RecordRef<'_>, reason: String| {
            if let Some(f) = failures.as_mut() {
                f.push(Failure {
                    record_id: input.record_id.to_string(),
                    arrival_timestamp: input.approximate_arrival_timestamp,
                    reason,
                    raw_data: input.data.to_string(),
                });
            }
        };
        let mut counts = Counts::default();
        // Bytes the response needs at the least for the records not yet done:
        // their original data, returned as ProcessingFailed if it comes to that.
        let mut reserve: usize = records
            .iter()
            .map(|r| r.data.len() + record_overhead(&r.record_id))
            .sum();
        let input_size = reserve;
        let mut out: Vec<u8> =
            Vec::with_capacity((input_size + input_size / 2).min(RESPONSE_LIMIT));
        out.extend_from_slice(b"{\"records\":[");
        let mut decoded = Vec::with_capacity(4096);
        let mut line = Vec::with_capacity(4096);
        for (n, input) in records.iter().enumerate() {
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
                        fail(
                            input,
                            "the batch's response would pass Lambda's 6 MB: sent back for a retry"
                                .into(),
                        );
                        write_original(&mut out, input, RecordResult::ProcessingFailed);
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
                    write_original(&mut out, input, RecordResult::Dropped);
                }
                Err(rejection) => {
                    counts.failed += 1;
                    tracing::warn!(record_id = %input.record_id, reason = %rejection, "processing failed");
                    fail(input, rejection.to_string());
                    write_original(&mut out, input, RecordResult::ProcessingFailed);
                }
            }
        }
        out.extend_from_slice(b"]}");
        let json = String::from_utf8(out).map_err(|e| BatchError::Response(e.to_string()))?;
        Ok((ResponseJson(json), counts))
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
fn write_original(out: &mut Vec<u8>, input: &RecordRef<'_>, result: RecordResult) {
    write_head(out, &input.record_id, result);
    // The data came as a JSON string; written back escaped as it must be.
    let mut escaped = Vec::with_capacity(input.data.len() + 2);
    let _ = serde_json::to_writer(&mut escaped, &*input.data);
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
    use super::*;
    use base64::Engine;

    /// What serde's derive reads from `body`, as records.
    fn serde_records(body: &[u8]) -> Option<Vec<RecordRef<'static>>> {
        let event: FirehoseEvent = serde_json::from_slice(body).ok()?;
        Some(event.records.into_iter().map(RecordRef::from).collect())
    }

    /// The event reader gives serde's records, or fails where serde fails, on
    /// events as Firehose writes them and on every variation of them below;
    /// and the sample event is read by the cursor, not by the fallback.
    #[test]
    fn the_event_reader_reads_what_serde_reads() {
        let sample = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../events/firehose.json"
        ))
        .unwrap();
        let fast = read_event(std::str::from_utf8(&sample).unwrap()).expect("read by the cursor");
        assert_eq!(fast.len(), 5);
        assert_eq!(Some(fast), serde_records(&sample));

        let head = r#"{"invocationId":"inv-1","deliveryStreamArn":"arn:aws:firehose:us-east-1:1:deliverystream/s","region":"us-east-1","records":["#;
        let record = r#"{"recordId":"49546986683135544286507457936321625675700192471156785154","approximateArrivalTimestamp":1495072949453,"data":"eyJpZCI6IjEifQ=="}"#;
        let mut cases: Vec<String> = vec![
            format!("{head}{record}]}}"),
            format!("{head}{record},{record}]}}"),
            format!("{head}]}}"),
            format!(" \n{head} {record} ] }} \n"),
            // Keys in another order, unknown keys, nulls, escapes.
            r#"{"records":[{"data":"QQ==","recordId":"a"}],"invocationId":null}"#.into(),
            r#"{"records":[{"recordId":"a\u0062","data":"Q\/Q=","kinesisRecordMetadata":{"shardId":"s","x":[1,{"y":null}]}}],"sourceKinesisStreamArn":"arn"}"#.into(),
            r#"{"records":[{"recordId":"a","approximateArrivalTimestamp":null,"data":""}]}"#.into(),
            r#"{"records":[{"recordId":"a","approximateArrivalTimestamp":-5,"data":"QQ=="}]}"#.into(),
            r#"{"records":[{"recordId":"a","approximateArrivalTimestamp":9223372036854775808,"data":"QQ=="}]}"#.into(),
            r#"{"records":[{"recordId":"a","approximateArrivalTimestamp":1.5,"data":"QQ=="}]}"#.into(),
            r#"{"r\u0065cords":[{"recordId":"a","data":"QQ=="}]}"#.into(),
            // What serde refuses.
            r#"{"records":[{"recordId":"a"}]}"#.into(),
            r#"{"records":[{"data":"QQ=="}]}"#.into(),
            r#"{"records":[{"recordId":"a","data":"QQ==","data":"QQ=="}]}"#.into(),
            r#"{"records":[{"recordId":1,"data":"QQ=="}]}"#.into(),
            r#"{"records":null}"#.into(),
            r#"{"invocationId":"i"}"#.into(),
            r#"{"records":[]} x"#.into(),
            r#"{"records":[],}"#.into(),
            r#"{"records":[{"recordId":"a","data":"QQ=="},]}"#.into(),
            r#"[]"#.into(),
            "".into(),
        ];
        // Every prefix of a whole event (each cut short is not JSON).
        let whole = cases[1].clone();
        for end in 0..whole.len() {
            cases.push(whole[..end].to_string());
        }
        for case in &cases {
            let ours = read_records(case.as_bytes()).ok();
            assert_eq!(ours, serde_records(case.as_bytes()), "{case}");
        }
        // Invalid UTF-8 inside a record's data.
        let mut bad = cases[0].clone().into_bytes();
        let at = bad.windows(4).position(|w| w == b"eyJp").unwrap();
        bad[at] = 0xFF;
        let err = read_records(&bad).unwrap_err().to_string();
        assert!(
            err.contains("not a Firehose transformation event: invalid unicode"),
            "{err}"
        );
    }

    /// serde_json writes a response as it is (the Lambda runtime and
    /// `serde_json::to_value` both), and the text is what the transform wrote.
    #[test]
    fn response_json_is_written_as_it_is() {
        let text = r#"{"records":[{"recordId":"a\"b","result":"Ok","data":"QQ==","metadata":{"partitionKeys":{}}}]}"#;
        let response = ResponseJson(text.to_string());
        assert_eq!(serde_json::to_string(&response).unwrap(), text);
        assert_eq!(serde_json::to_vec(&response).unwrap(), text.as_bytes());
        assert_eq!(
            serde_json::to_value(&response).unwrap(),
            serde_json::from_str::<serde_json::Value>(text).unwrap()
        );
        // Inside other values too.
        let wrapped = serde_json::to_string(&[&response, &response]).unwrap();
        assert_eq!(wrapped, format!("[{text},{text}]"));
    }

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
