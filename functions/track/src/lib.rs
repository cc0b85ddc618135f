//! track: S3 "object created" events of the raw zone become pending entries
//! of the changed-partitions ledger, so the pipeline's plan reads what changed
//! instead of listing the bucket (a run's cost follows the new data, not the
//! lake's size).

use aws_lambda_events::s3::S3Event;
use serde::{Deserialize, Serialize};
use tickerpulse_aws::lake::RAW_PREFIX;
use tickerpulse_aws::state::ChangedPartitions;
use tickerpulse_aws::{sdk, HandlerError};
use tickerpulse_core::config::{self, Env};
use tickerpulse_core::HourPartition;

#[derive(Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct TrackResult {
    /// Partitions marked pending.
    pub partitions: Vec<String>,
    /// Records that are not raw tweet objects (other prefixes, other events).
    pub ignored: usize,
}

pub struct Function {
    pub ledger: ChangedPartitions,
}

/// The partition of a raw object key, if it is one (keys arrive URL-encoded).
pub fn partition_of(key: &str) -> Option<HourPartition> {
    let key = key
        .replace("%3D", "=")
        .replace("%3d", "=")
        .replace('+', " ");
    let rest = key.strip_prefix(RAW_PREFIX)?.strip_prefix('/')?;
    HourPartition::from_key(rest).ok()
}

impl Function {
    pub async fn from_env(env: &dyn Env) -> Result<Self, HandlerError> {
        let conf = sdk::load(env).await;
        Ok(Self {
            ledger: ChangedPartitions {
                client: sdk::dynamodb_client(&conf),
                table: config::required(env, config::STATE_TABLE)?,
            },
        })
    }

    pub async fn handle(&self, event: S3Event) -> Result<TrackResult, HandlerError> {
        let mut result = TrackResult::default();
        for record in &event.records {
            let created = record
                .event_name
                .as_deref()
                .is_some_and(|n| n.starts_with("ObjectCreated"));
            let key = record.s3.object.key.as_deref().unwrap_or_default();
            let Some(partition) = partition_of(key).filter(|_| created) else {
                result.ignored += 1;
                continue;
            };
            let when = record
                .event_time
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string();
            self.ledger.mark(&partition.path(), key, &when).await?;
            if !result.partitions.contains(&partition.path()) {
                result.partitions.push(partition.path());
            }
        }
        tracing::info!(
            partitions = result.partitions.len(),
            ignored = result.ignored,
            "tracked"
        );
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_keys_give_their_partition_and_others_none() {
        let p = partition_of(
            "raw/tweets/year%3D2020/month%3D04/day%3D15/hour%3D01/tickerpulse-tweets-1-x.gz",
        );
        assert_eq!(
            p.map(|p| p.path()).as_deref(),
            Some("year=2020/month=04/day=15/hour=01")
        );
        assert!(partition_of("raw-errors/processing-failed/year=2020/x").is_none());
        assert!(partition_of("raw/tweets/year=2020/x.gz").is_none());
    }
}

#[cfg(test)]
mod event_tests {
    #[test]
    fn the_sample_event_and_the_local_stack_event_parse() {
        // The local stack's Firehose raises this event (cli/src/firehose.rs).
        let sample = include_str!("../../../events/s3-object-created.json");
        let e: aws_lambda_events::s3::S3Event = serde_json::from_str(sample).expect("sample");
        assert_eq!(e.records.len(), 1);
        let local = serde_json::json!({"Records": [{
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventTime": "2020-04-15T01:12:03Z", "eventName": "ObjectCreated:Put",
            "userIdentity": {"principalId": "AWS:FIREHOSE"},
            "requestParameters": {"sourceIPAddress": "127.0.0.1"},
            "responseElements": {"x-amz-request-id": "LOCAL", "x-amz-id-2": "LOCAL"},
            "s3": {"s3SchemaVersion": "1.0", "configurationId": "RawObjectCreated",
                   "bucket": {"name": "b", "arn": "arn:aws:s3:::b"},
                   "object": {"key": "raw/tweets/year%3D2020/month%3D04/day%3D15/hour%3D01/x.gz", "size": 10}}
        }]});
        let e: aws_lambda_events::s3::S3Event = serde_json::from_value(local).expect("local");
        assert_eq!(e.records.len(), 1);
    }
}
