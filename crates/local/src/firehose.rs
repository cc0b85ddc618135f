//! The local stack's Firehose delivery. moto stores `PutRecordBatch` records but
//! runs no data transformation, so the proxy answers Firehose's record APIs itself:
//! it invokes the transform handler in-process with a real Firehose transformation
//! event, then writes what comes back to S3 as Firehose would: `Ok` records under
//! the dynamic-partitioning prefix built from the returned partition keys,
//! `ProcessingFailed` records (and every record of a batch whose invocation failed)
//! under the error prefix with Firehose's error-record format, `Dropped` nowhere.
//!
//! Differences from AWS: no buffering (each API call is delivered at once, one
//! object per partition per call), no retries of a failed invocation, and the
//! transform's 6 MB response limit is not enforced here (the handler enforces it).

use crate::invoke::Invoke;
use crate::template::DeliveryStreamSpec;
use aws_lambda_events::event::firehose::KinesisFirehoseResponse;
use base64::Engine;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use time::OffsetDateTime;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

pub use tickerpulse_aws::firehose::{MAX_BATCH_BYTES, MAX_BATCH_RECORDS, MAX_RECORD_BYTES};

/// What one delivery did, for logs and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryReport {
    pub records: usize,
    pub delivered: usize,
    pub dropped: usize,
    pub failed: usize,
    pub objects: Vec<String>,
}

/// An error the Firehose API returns: (HTTP status, error code, message).
#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct FirehoseFault {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

fn fault(status: u16, code: &'static str, message: impl Into<String>) -> FirehoseFault {
    FirehoseFault {
        status,
        code,
        message: message.into(),
    }
}

pub struct LocalFirehose {
    pub streams: Vec<DeliveryStreamSpec>,
    pub s3: aws_sdk_s3::Client,
    pub registry: Arc<dyn Invoke>,
    /// The template's functions: physical name -> Cargo binary.
    pub functions: HashMap<String, String>,
    pub region: String,
    pub account: String,
    /// The delivery roles: each stream invokes its processor and writes to S3 as
    /// its `RoleARN`, allowed only what that role's policies allow.
    pub roles: crate::iam::Roles,
    /// The account's concurrent Lambda executions: a throttled transform is
    /// retried `NumberOfRetries` times, then its records go to processing-failed.
    pub concurrency: Arc<crate::invoke::Concurrency>,
    counter: AtomicU64,
}

impl LocalFirehose {
    pub fn new(
        streams: Vec<DeliveryStreamSpec>,
        s3: aws_sdk_s3::Client,
        registry: Arc<dyn Invoke>,
        functions: HashMap<String, String>,
        region: &str,
        account: &str,
    ) -> Self {
        Self {
            streams,
            s3,
            registry,
            functions,
            region: region.into(),
            account: account.into(),
            roles: crate::iam::Roles::default(),
            concurrency: Arc::default(),
            counter: AtomicU64::new(0),
        }
    }

    /// Invokes the processor; a throttled invocation is retried the stream's
    /// `NumberOfRetries` times (docs.aws.amazon.com/firehose/latest/dev/data-transformation-failure-handling.html),
    /// here after 100 ms doubling to 2 s (Firehose's own spacing is not documented).
    async fn invoke_with_retries(
        &self,
        stream: &DeliveryStreamSpec,
        binary: &str,
        payload: Value,
    ) -> Result<Value, (&'static str, String)> {
        let mut delay = std::time::Duration::from_millis(100);
        for attempt in 0..=stream.processor_retries {
            if let Some(_permit) = self.concurrency.try_acquire() {
                return self
                    .registry
                    .invoke(binary, payload)
                    .await
                    .map_err(|e| ("Lambda.FunctionError", e.to_string()));
            }
            if attempt < stream.processor_retries {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(std::time::Duration::from_secs(2));
            }
        }
        Err((
            "Lambda.InvokeLimitExceeded",
            format!(
                "{binary} was throttled on the first attempt and {} retries",
                stream.processor_retries
            ),
        ))
    }

    /// Whether the stream's delivery role may do `action` on `resource`. A stream
    /// without a role the template declares may do nothing.
    fn check(
        &self,
        stream: &DeliveryStreamSpec,
        action: &str,
        resource: &str,
    ) -> Result<(), String> {
        let Some(identity) = stream.role.as_deref().and_then(|r| self.roles.role(r)) else {
            return Err(format!(
                "{}: no delivery role (RoleARN) the template declares",
                stream.name
            ));
        };
        identity
            .check(&crate::iam::Request::new(action, resource))
            .map_err(|d| d.message)
    }

    /// Answers `PutRecord` (`batch = false`) or `PutRecordBatch`.
    pub async fn handle(&self, body: &[u8], batch: bool) -> Result<Value, FirehoseFault> {
        let request: Value = serde_json::from_slice(body).map_err(|e| {
            fault(
                400,
                "SerializationException",
                format!("request is not JSON: {e}"),
            )
        })?;
        let stream_name = request
            .get("DeliveryStreamName")
            .and_then(Value::as_str)
            .ok_or_else(|| fault(400, "ValidationException", "DeliveryStreamName is required"))?;
        let stream = self
            .streams
            .iter()
            .find(|s| s.name == stream_name)
            .ok_or_else(|| {
                fault(
                    400,
                    "ResourceNotFoundException",
                    format!("Delivery stream {stream_name} not found"),
                )
            })?;
        let encoded: Vec<&str> = if batch {
            request
                .get("Records")
                .and_then(Value::as_array)
                .ok_or_else(|| fault(400, "ValidationException", "Records is required"))?
                .iter()
                .map(|r| r.get("Data").and_then(Value::as_str).unwrap_or_default())
                .collect()
        } else {
            vec![request
                .get("Record")
                .and_then(|r| r.get("Data"))
                .and_then(Value::as_str)
                .ok_or_else(|| fault(400, "ValidationException", "Record.Data is required"))?]
        };
        if encoded.is_empty() || encoded.len() > MAX_BATCH_RECORDS {
            return Err(fault(
                400,
                "ValidationException",
                format!(
                    "Records must hold 1 to {MAX_BATCH_RECORDS} records, got {}",
                    encoded.len()
                ),
            ));
        }
        let mut records = Vec::with_capacity(encoded.len());
        let mut total = 0usize;
        for (i, e) in encoded.iter().enumerate() {
            let data = B64.decode(e).map_err(|err| {
                fault(
                    400,
                    "SerializationException",
                    format!("record {i}: Data is not base64: {err}"),
                )
            })?;
            if data.len() > MAX_RECORD_BYTES {
                return Err(fault(
                    400,
                    "ValidationException",
                    format!(
                        "record {i} is {} bytes, over the 1,000 KiB limit",
                        data.len()
                    ),
                ));
            }
            total += data.len();
            records.push(data);
        }
        if total > MAX_BATCH_BYTES {
            return Err(fault(
                400,
                "ValidationException",
                format!("batch is {total} bytes, over the 4 MiB limit"),
            ));
        }
        let ids: Vec<String> = records.iter().map(|_| self.next_id()).collect();
        let report = self
            .deliver(stream, &ids, records)
            .await
            .map_err(|e| fault(500, "ServiceUnavailableException", e.to_string()))?;
        tracing::info!(stream = stream_name, ?report, "local firehose delivery");
        if batch {
            Ok(json!({
                "FailedPutCount": 0,
                "Encrypted": false,
                "RequestResponses": ids.iter().map(|id| json!({"RecordId": id})).collect::<Vec<_>>(),
            }))
        } else {
            Ok(json!({"RecordId": ids[0], "Encrypted": false}))
        }
    }

    fn next_id(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!(
            "{:016x}{:08x}{n:016x}",
            OffsetDateTime::now_utc().unix_timestamp_nanos() as u64,
            std::process::id()
        )
    }

    /// Runs the transformation and writes the results.
    pub async fn deliver(
        &self,
        stream: &DeliveryStreamSpec,
        ids: &[String],
        records: Vec<Vec<u8>>,
    ) -> anyhow::Result<DeliveryReport> {
        let arrival = OffsetDateTime::now_utc();
        let arrival_ms = (arrival.unix_timestamp_nanos() / 1_000_000) as i64;
        let mut report = DeliveryReport {
            records: records.len(),
            ..Default::default()
        };
        let Some(processor) = &stream.processor else {
            let lines: Vec<Vec<u8>> = records;
            report.delivered = lines.len();
            let key = self.object_key(stream, &stream.prefix, arrival);
            self.put(stream, &key, &lines).await?;
            report.objects.push(key);
            return Ok(report);
        };
        let lambda_arn = format!(
            "arn:aws:lambda:{}:{}:function:{processor}",
            self.region, self.account
        );
        // The transformation event exactly as Firehose sends it.
        let payload = json!({
            "invocationId": self.next_id(),
            "deliveryStreamArn": format!("arn:aws:firehose:{}:{}:deliverystream/{}", self.region, self.account, stream.name),
            "region": self.region,
            "records": ids.iter().zip(&records).map(|(id, data)| json!({
                "recordId": id,
                "approximateArrivalTimestamp": arrival_ms,
                "data": B64.encode(data),
            })).collect::<Vec<_>>(),
        });
        // An unknown processor fails the invocation, as Lambda would, and the
        // records go to the error prefix.
        let binary = self
            .functions
            .get(processor)
            .cloned()
            .unwrap_or_else(|| processor.clone());
        // Which records came back, and how.
        let mut by_prefix: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
        let mut failed: Vec<(usize, &'static str, String)> = Vec::new();
        // A role that may not invoke the processor: Firehose's error code for it
        // (docs.aws.amazon.com/firehose/latest/dev/data-transformation.html, "Data
        // transformation failure handling").
        let allowed = self
            .check(stream, "lambda:InvokeFunction", &lambda_arn)
            .map_err(|message| ("Lambda.InvokeAccessDenied", message));
        let invoked = match allowed {
            Ok(()) => self.invoke_with_retries(stream, &binary, payload).await,
            Err(denied) => Err(denied),
        };
        match invoked {
            Ok(value) => {
                let response: KinesisFirehoseResponse = match serde_json::from_value(value) {
                    Ok(r) => r,
                    Err(e) => {
                        failed.extend((0..records.len()).map(|i| {
                            (
                                i,
                                "Lambda.InvalidResponse",
                                format!("transform response is not a Firehose response: {e}"),
                            )
                        }));
                        KinesisFirehoseResponse::default()
                    }
                };
                let mut seen = vec![false; records.len()];
                for out in response.records {
                    let Some(i) = ids.iter().position(|id| Some(id) == out.record_id.as_ref())
                    else {
                        continue;
                    };
                    if seen[i] {
                        continue;
                    }
                    seen[i] = true;
                    match out.result.as_deref() {
                        Some("Ok") => {
                            let keys = out.metadata.partition_keys;
                            match expand_prefix(&stream.prefix, &keys, arrival, None) {
                                Ok(prefix) => by_prefix.entry(prefix).or_default().push(out.data.0),
                                Err(missing) => failed.push((
                                    i,
                                    "DynamicPartitioning.MetadataExtractionFailed",
                                    missing,
                                )),
                            }
                        }
                        Some("Dropped") => report.dropped += 1,
                        Some("ProcessingFailed") => failed.push((
                            i,
                            "Lambda.ProcessingFailedStatus",
                            "ProcessingFailed status returned from Lambda".into(),
                        )),
                        other => failed.push((
                            i,
                            "Lambda.InvalidResult",
                            format!("unknown result {other:?}"),
                        )),
                    }
                }
                for (i, was_seen) in seen.iter().enumerate() {
                    if !was_seen && !failed.iter().any(|(j, _, _)| *j == i) {
                        failed.push((
                            i,
                            "Lambda.MissingRecordId",
                            "the transform returned no record with this id".into(),
                        ));
                    }
                }
            }
            Err((code, msg)) => {
                failed.extend((0..records.len()).map(|i| (i, code, msg.clone())));
            }
        }
        for (prefix, lines) in by_prefix {
            report.delivered += lines.len();
            let key = self.object_key(stream, &prefix, arrival);
            self.put(stream, &key, &lines).await?;
            report.objects.push(key);
        }
        if !failed.is_empty() {
            report.failed = failed.len();
            let prefix = expand_prefix(
                &stream.error_prefix,
                &Default::default(),
                arrival,
                Some("processing-failed"),
            )
            .map_err(|m| anyhow::anyhow!("error prefix: {m}"))?;
            let now_ms = (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
            let lines: Vec<Vec<u8>> = failed
                .iter()
                .map(|(i, code, msg)| {
                    let mut line = json!({
                        "attemptsMade": 1,
                        "arrivalTimestamp": arrival_ms,
                        "errorCode": code,
                        "errorMessage": msg,
                        "attemptEndingTimestamp": now_ms,
                        "rawData": B64.encode(&records[*i]),
                        "lambdaArn": lambda_arn,
                    })
                    .to_string()
                    .into_bytes();
                    line.push(b'\n');
                    line
                })
                .collect();
            let key = self.object_key(stream, &prefix, arrival);
            self.put(stream, &key, &lines).await?;
            report.objects.push(key);
        }
        Ok(report)
    }

    fn object_key(&self, stream: &DeliveryStreamSpec, prefix: &str, at: OffsetDateTime) -> String {
        let ext = if stream.compression.eq_ignore_ascii_case("GZIP") {
            ".gz"
        } else {
            ""
        };
        format!(
            "{prefix}{}-1-{:04}-{:02}-{:02}-{:02}-{:02}-{:02}-{}{ext}",
            stream.name,
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second(),
            self.next_id()
        )
    }

    async fn put(
        &self,
        stream: &DeliveryStreamSpec,
        key: &str,
        lines: &[Vec<u8>],
    ) -> anyhow::Result<()> {
        let mut body = Vec::with_capacity(lines.iter().map(Vec::len).sum());
        for l in lines {
            body.extend_from_slice(l);
        }
        if stream.compression.eq_ignore_ascii_case("GZIP") {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(&body)?;
            body = enc.finish()?;
        }
        let body_len = body.len();
        self.check(
            stream,
            "s3:PutObject",
            &format!("arn:aws:s3:::{}/{key}", stream.bucket),
        )
        .map_err(|message| {
            anyhow::anyhow!(
                "writing s3://{}/{key}: AccessDenied: {message}",
                stream.bucket
            )
        })?;
        self.s3
            .put_object()
            .bucket(&stream.bucket)
            .key(key)
            .body(body.into())
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "writing s3://{}/{key}: {}",
                    stream.bucket,
                    tickerpulse_aws::sdk::describe(&e)
                )
            })?;
        // What S3 does next in AWS: an "object created" event to `track`.
        let now = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let event = serde_json::json!({"Records": [{
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": self.region,
            "eventTime": now, "eventName": "ObjectCreated:Put",
            "userIdentity": {"principalId": "AWS:FIREHOSE"},
            "requestParameters": {"sourceIPAddress": "127.0.0.1"},
            "responseElements": {"x-amz-request-id": "LOCAL", "x-amz-id-2": "LOCAL"},
            "s3": {"s3SchemaVersion": "1.0", "configurationId": "RawObjectCreated",
                   "bucket": {"name": stream.bucket, "arn": format!("arn:aws:s3:::{}", stream.bucket)},
                   "object": {"key": key.replace('=', "%3D"), "size": body_len}}
        }]});
        // S3 invokes track asynchronously: queued until the account has room.
        let _permit = self.concurrency.acquire().await;
        if let Err(e) = self.registry.invoke("track", event).await {
            tracing::warn!(key, "the S3 event handler failed: {e}");
        }
        Ok(())
    }
}

/// Expands Firehose's prefix expressions: `!{partitionKeyFromLambda:k}`,
/// `!{timestamp:yyyy|MM|dd|HH}`, `!{firehose:error-output-type}`.
pub fn expand_prefix(
    template: &str,
    keys: &std::collections::HashMap<String, String>,
    at: OffsetDateTime,
    error_type: Option<&str>,
) -> Result<String, String> {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(start) = rest.find("!{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed !{{ in {template}"))?;
        let expr = &after[..end];
        let value = if let Some(k) = expr.strip_prefix("partitionKeyFromLambda:") {
            keys.get(k)
                .cloned()
                .ok_or_else(|| format!("the transform returned no partition key {k:?}"))?
        } else if let Some(f) = expr.strip_prefix("timestamp:") {
            match f {
                "yyyy" => format!("{:04}", at.year()),
                "MM" => format!("{:02}", u8::from(at.month())),
                "dd" => format!("{:02}", at.day()),
                "HH" => format!("{:02}", at.hour()),
                other => {
                    return Err(format!(
                        "timestamp format {other:?} is not supported locally"
                    ))
                }
            }
        } else if expr == "firehose:error-output-type" {
            error_type.unwrap_or("processing-failed").to_string()
        } else {
            return Err(format!(
                "prefix expression !{{{expr}}} is not supported locally"
            ));
        };
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_expand_like_firehose() {
        let keys = [
            ("year", "2020"),
            ("month", "04"),
            ("day", "15"),
            ("hour", "01"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let at = time::macros::datetime!(2021-02-03 04:05:06 UTC);
        let p = expand_prefix(
            "raw/tweets/year=!{partitionKeyFromLambda:year}/month=!{partitionKeyFromLambda:month}/day=!{partitionKeyFromLambda:day}/hour=!{partitionKeyFromLambda:hour}/",
            &keys,
            at,
            None,
        )
        .unwrap();
        assert_eq!(p, "raw/tweets/year=2020/month=04/day=15/hour=01/");
        let e = expand_prefix(
            "raw-errors/!{firehose:error-output-type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/",
            &Default::default(),
            at,
            Some("processing-failed"),
        )
        .unwrap();
        assert_eq!(
            e,
            "raw-errors/processing-failed/year=2021/month=02/day=03/hour=04/"
        );
        assert!(expand_prefix(
            "x/!{partitionKeyFromLambda:year}/",
            &Default::default(),
            at,
            None
        )
        .is_err());
    }
}
