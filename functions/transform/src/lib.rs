//! transform: the Firehose data-transformation Lambda.
//!
//! One output record per input `recordId`: `Ok` with the enriched tweet as one
//! JSON line and `metadata.partitionKeys` {year, month, day, hour} from the tweet's
//! own `created_at` (UTC); `Dropped` for what the configuration excludes;
//! `ProcessingFailed` for what cannot be read, which Firehose writes to the error
//! prefix with its original data. One bad record never fails the batch, and the
//! response stays under Lambda's 6 MB limit.

pub mod enrich;

use base64::Engine;
use enrich::{Enricher, Rejection};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tickerpulse_aws::HandlerError;
use tickerpulse_core::config::{self, Env};
use tickerpulse_core::watchlist::Watchlist;
use tickerpulse_vader::{Analyzer, Mode};

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

pub struct Function {
    pub enricher: Enricher,
}

/// Parses `SENTIMENT_MODE`.
fn mode(env: &dyn Env) -> Result<Mode, HandlerError> {
    let raw = config::optional(env, config::SENTIMENT_MODE, "finance");
    raw.parse().map_err(|_| {
        HandlerError::Config(config::ConfigError::Invalid {
            name: config::SENTIMENT_MODE,
            value: raw,
            reason: "want vader or finance".into(),
        })
    })
}

impl Function {
    pub async fn from_env(env: &dyn Env) -> Result<Self, HandlerError> {
        let analyzer = Analyzer::new(mode(env)?);
        let watchlist = tickerpulse_aws::watchlist::load(env).await?;
        let languages = config::optional(env, "TRANSFORM_LANGUAGES", DEFAULT_LANGUAGES);
        let languages = if languages.trim() == "*" {
            Vec::new()
        } else {
            languages
                .split(',')
                .map(|l| l.trim().to_ascii_lowercase())
                .filter(|l| !l.is_empty())
                .collect()
        };
        Ok(Self::new(analyzer, watchlist, languages))
    }

    pub fn new(analyzer: Analyzer, watchlist: Watchlist, languages: Vec<String>) -> Self {
        Self {
            enricher: Enricher {
                analyzer,
                watchlist,
                languages,
            },
        }
    }

    pub async fn handle(&self, event: FirehoseEvent) -> Result<FirehoseResponse, HandlerError> {
        let (response, counts) = self.transform(event);
        tracing::info!(
            ok = counts.ok,
            dropped = counts.dropped,
            failed = counts.failed,
            over_size_limit = counts.over_size_limit,
            "transformed batch"
        );
        Ok(response)
    }

    /// The whole batch, synchronously (the benchmark calls this).
    pub fn transform(&self, event: FirehoseEvent) -> (FirehoseResponse, Counts) {
        let mut counts = Counts::default();
        // Bytes the response needs at the least for the records not yet done:
        // their original data, returned as ProcessingFailed if it comes to that.
        let overhead = |r: &InputRecord| r.record_id.len() + 96;
        let mut reserve: usize = event
            .records
            .iter()
            .map(|r| r.data.len() + overhead(r))
            .sum();
        let mut size = 16usize;
        let mut records = Vec::with_capacity(event.records.len());
        let mut line = Vec::with_capacity(2048);
        for input in event.records {
            reserve -= input.data.len() + overhead(&input);
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
                    if size + data.len() + overhead(&input) + reserve > RESPONSE_LIMIT {
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
            size += record.data.len() + overhead_out(&record);
            records.push(record);
        }
        (FirehoseResponse { records }, counts)
    }
}

fn overhead_out(r: &OutputRecord) -> usize {
    r.record_id.len() + 96
}

fn failed(input: InputRecord) -> OutputRecord {
    OutputRecord {
        record_id: input.record_id,
        result: RecordResult::ProcessingFailed,
        data: input.data,
        metadata: Metadata::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn function() -> Function {
        Function::new(
            Analyzer::new(Mode::Finance),
            Watchlist::bundled(),
            vec!["en".into()],
        )
    }

    fn record(id: &str, data: &[u8]) -> InputRecord {
        InputRecord {
            record_id: id.into(),
            approximate_arrival_timestamp: Some(1),
            data: B64.encode(data),
        }
    }

    #[test]
    fn the_sample_event_gets_one_result_per_record() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../events/firehose.json"
        ))
        .unwrap();
        let event: FirehoseEvent = serde_json::from_str(&text).unwrap();
        let ids: Vec<String> = event.records.iter().map(|r| r.record_id.clone()).collect();
        let (response, counts) = function().transform(event);
        let got: Vec<&str> = response
            .records
            .iter()
            .map(|r| r.record_id.as_str())
            .collect();
        assert_eq!(got, ids);
        let results: Vec<RecordResult> = response.records.iter().map(|r| r.result).collect();
        use RecordResult::*;
        assert_eq!(
            results,
            [Ok, Ok, Dropped, ProcessingFailed, ProcessingFailed]
        );
        assert_eq!(
            counts,
            Counts {
                ok: 2,
                dropped: 1,
                failed: 2,
                over_size_limit: 0
            }
        );
        let first = &response.records[0];
        assert_eq!(first.metadata.partition_keys["year"], "2020");
        assert_eq!(first.metadata.partition_keys["hour"], "01");
        let line = B64.decode(&first.data).unwrap();
        assert!(line.ends_with(b"\n") && !line[..line.len() - 1].contains(&b'\n'));
        let tweet: tickerpulse_core::tweet::EnrichedTweet = serde_json::from_slice(&line).unwrap();
        assert_eq!(tweet.tickers, ["TSLA"]);
        assert_eq!(tweet.sentiment.mode, "finance");
        // Failed records carry their original data back.
        assert_eq!(response.records[4].data, "not base64 at all!");
    }

    #[test]
    fn the_response_stays_under_six_megabytes() {
        // Small tweets grow several-fold when enriched: 20,000 of them (3.5 MB of
        // base64) would make a 16 MB response, so some must come back as
        // ProcessingFailed, with their original, smaller data.
        let tweet = |i: usize| {
            format!(
                r#"{{"id":"{i}","text":"$TSLA great day {i}","created_at":"2020-04-15T01:03:46.000Z","lang":"en"}}"#
            )
        };
        let records: Vec<InputRecord> = (0..20_000)
            .map(|i| record(&i.to_string(), tweet(i).as_bytes()))
            .collect();
        let input_size: usize = records.iter().map(|r| r.data.len()).sum();
        assert!(input_size > 2_000_000);
        let (response, counts) = function().transform(FirehoseEvent {
            records,
            ..Default::default()
        });
        let size = serde_json::to_vec(&response).unwrap().len();
        assert!(size <= 6 * 1024 * 1024, "{size}");
        assert_eq!(response.records.len(), 20_000);
        assert!(counts.over_size_limit > 0 && counts.ok > 0, "{counts:?}");
    }

    #[test]
    fn an_event_of_garbage_records_never_panics() {
        let inputs: Vec<&[u8]> = vec![b"", b"null", b"{}", b"\"text\"", b"{\"id\":{},\"text\":1}", b"{\"id\":\"1\",\"text\":\"x\",\"created_at\":\"2020-13-45T99:00:00Z\",\"lang\":\"en\"}"];
        let records = inputs
            .iter()
            .enumerate()
            .map(|(i, d)| record(&i.to_string(), d))
            .collect();
        let (response, counts) = function().transform(FirehoseEvent {
            records,
            ..Default::default()
        });
        assert_eq!(counts.failed, inputs.len());
        assert!(response
            .records
            .iter()
            .all(|r| r.result == RecordResult::ProcessingFailed));
    }
}
