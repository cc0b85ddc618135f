//! Sending records to Firehose: batches of at most 500 records and 4 MiB, and
//! only the records that failed are sent again, with backoff. Records that still
//! fail are reported, never dropped silently.

use crate::HandlerError;
use std::time::Duration;
use tickerpulse_core::retry::Backoff;

/// Firehose's limits on `PutRecordBatch` (docs.aws.amazon.com/firehose/latest/APIReference/
/// API_PutRecordBatch.html): 500 records, 4 MiB in all, 1,000 KiB a record before
/// base64. The sender here and the local stack's Firehose both use these.
pub const MAX_BATCH_RECORDS: usize = 500;
pub const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;
pub const MAX_RECORD_BYTES: usize = 1_000 * 1024;

/// The per-record outcome of one `PutRecordBatch` call: `None` for success, the
/// error code for a failure.
#[allow(async_fn_in_trait)]
pub trait RecordSink {
    async fn put_batch(&self, records: &[Vec<u8>]) -> Result<Vec<Option<String>>, HandlerError>;
}

/// What a send did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SendReport {
    pub sent: usize,
    pub calls: usize,
    pub resent: usize,
    /// Records that still failed after every attempt, with their last error code.
    pub failed: Vec<(usize, String)>,
    /// Records over Firehose's 1,000 KiB limit, never sent.
    pub oversized: Vec<usize>,
}

/// Sends `records` (one JSON line each), retrying failed records up to `attempts`
/// times with exponential backoff from `base_delay`.
pub async fn send_all<S: RecordSink>(
    sink: &S,
    records: &[Vec<u8>],
    attempts: u32,
    base_delay: Duration,
) -> Result<SendReport, HandlerError> {
    let mut report = SendReport::default();
    let mut pending: Vec<usize> = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        if r.len() > MAX_RECORD_BYTES {
            report.oversized.push(i);
        } else {
            pending.push(i);
        }
    }
    let mut last_error: Vec<Option<String>> = vec![None; records.len()];
    for attempt in 0..attempts.max(1) {
        if pending.is_empty() {
            break;
        }
        if attempt > 0 {
            report.resent += pending.len();
            tokio::time::sleep(Backoff::exponential(base_delay).delay(attempt - 1)).await;
        }
        let mut still_failing = Vec::new();
        for chunk in batches(records, &pending) {
            let batch: Vec<Vec<u8>> = chunk.iter().map(|&i| records[i].clone()).collect();
            report.calls += 1;
            let outcome = sink.put_batch(&batch).await;
            match outcome {
                Ok(results) => {
                    for (k, &i) in chunk.iter().enumerate() {
                        match results.get(k).cloned().flatten() {
                            None if k < results.len() => report.sent += 1,
                            code => {
                                last_error[i] =
                                    Some(code.unwrap_or_else(|| "MissingResult".into()));
                                still_failing.push(i);
                            }
                        }
                    }
                }
                Err(HandlerError::Retryable(msg)) => {
                    for &i in &chunk {
                        last_error[i] = Some(format!("Retryable: {msg}"));
                        still_failing.push(i);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        pending = still_failing;
    }
    report.failed = pending
        .into_iter()
        .map(|i| (i, last_error[i].clone().unwrap_or_default()))
        .collect();
    Ok(report)
}

/// Groups record indexes into batches within Firehose's limits.
fn batches(records: &[Vec<u8>], pending: &[usize]) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    let mut bytes = 0;
    for &i in pending {
        let len = records[i].len();
        if !current.is_empty()
            && (current.len() == MAX_BATCH_RECORDS || bytes + len > MAX_BATCH_BYTES)
        {
            out.push(std::mem::take(&mut current));
            bytes = 0;
        }
        current.push(i);
        bytes += len;
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The real delivery stream.
pub struct FirehoseSink {
    pub client: aws_sdk_firehose::Client,
    pub stream: String,
}

impl RecordSink for FirehoseSink {
    async fn put_batch(&self, records: &[Vec<u8>]) -> Result<Vec<Option<String>>, HandlerError> {
        let mut req = self
            .client
            .put_record_batch()
            .delivery_stream_name(&self.stream);
        for r in records {
            req = req.records(
                aws_sdk_firehose::types::Record::builder()
                    .data(aws_sdk_firehose::primitives::Blob::new(r.clone()))
                    .build()
                    .map_err(|e| HandlerError::Fatal(format!("building a Firehose record: {e}")))?,
            );
        }
        let out = req.send().await.map_err(|e| {
            HandlerError::from_sdk(&format!("PutRecordBatch to {}", self.stream), e)
        })?;
        Ok(out
            .request_responses()
            .iter()
            .map(|r| r.error_code().map(String::from))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Fails every record whose first byte is odd on its first try, then accepts it;
    /// records starting with `!` always fail.
    struct Flaky {
        seen: Mutex<Vec<Vec<u8>>>,
        batch_sizes: Mutex<Vec<usize>>,
    }

    impl RecordSink for Flaky {
        async fn put_batch(
            &self,
            records: &[Vec<u8>],
        ) -> Result<Vec<Option<String>>, HandlerError> {
            self.batch_sizes.lock().unwrap().push(records.len());
            let mut seen = self.seen.lock().unwrap();
            Ok(records
                .iter()
                .map(|r| {
                    let first_time = !seen.contains(r);
                    seen.push(r.clone());
                    if r[0] == b'!' {
                        Some("InternalFailure".to_string())
                    } else if first_time && r[0] % 2 == 1 {
                        Some("ServiceUnavailableException".to_string())
                    } else {
                        None
                    }
                })
                .collect())
        }
    }

    #[tokio::test]
    async fn only_failed_records_are_resent_and_the_rest_reported() {
        let mut records: Vec<Vec<u8>> = (0..1200u32)
            .map(|i| format!("{}{i}\n", i % 10).into_bytes())
            .collect();
        records.push(b"!always\n".to_vec());
        records.push(vec![b'x'; MAX_RECORD_BYTES + 1]);
        let sink = Flaky {
            seen: Mutex::new(Vec::new()),
            batch_sizes: Mutex::new(Vec::new()),
        };
        let report = send_all(&sink, &records, 4, Duration::from_millis(1))
            .await
            .unwrap();
        assert_eq!(report.sent, 1200);
        assert_eq!(report.failed, vec![(1200, "InternalFailure".to_string())]);
        assert_eq!(report.oversized, vec![1201]);
        // First pass: 1201 records in batches of <= 500; then only the 600 odd ones
        // and the always-failing one.
        let sizes = sink.batch_sizes.lock().unwrap().clone();
        assert_eq!(&sizes[..3], &[500, 500, 201]);
        assert_eq!(sizes[3..5].iter().sum::<usize>(), 601);
        assert_eq!(report.resent, 601 + 1 + 1);
    }

    #[test]
    fn batches_respect_the_byte_limit() {
        let records: Vec<Vec<u8>> = (0..10).map(|_| vec![b'a'; 900 * 1024]).collect();
        let idx: Vec<usize> = (0..10).collect();
        let b = batches(&records, &idx);
        assert!(b.iter().all(|c| c.len() <= 4));
        assert_eq!(b.iter().map(Vec::len).sum::<usize>(), 10);
    }
}
