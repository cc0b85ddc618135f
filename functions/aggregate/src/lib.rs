//! aggregate: the stage 2 hours that changed since they were last aggregated
//! (the ledger compares the cleaned files' ETags) become ticker and overall
//! summaries per 15 minutes and hour; the days, months and years above them
//! are recomputed from the stored level below; recent tweets are written; the
//! run's summaries go to the analytics zone as Parquet; the run is recorded.

mod run;

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use tickerpulse_aggregate::run::RunError;
use tickerpulse_aws::serving::WriteStats;
use tickerpulse_aws::state::{put_run, ChangedPartitions, RunRecord};
use tickerpulse_aws::{sdk, HandlerError};
use tickerpulse_core::config::{self, Env};
use tickerpulse_core::HourPartition;

pub use run::LEASE_MS;
pub use tickerpulse_aggregate::run::{AggregateRequest, RunFailure};

#[derive(Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct AggregateResult {
    pub run_id: String,
    pub partitions: u64,
    /// Partitions whose cleaned file changed since last aggregated.
    pub partitions_changed: u64,
    pub partitions_unchanged: u64,
    /// Partitions without a cleaned file (clean has not run for them).
    pub partitions_missing: Vec<String>,
    pub rows_in: u64,
    pub items_written: u64,
    pub items_deleted: u64,
    pub items_unchanged: u64,
    pub recent_tweets_written: u64,
    pub dynamodb: WriteStats,
    pub analytics: Vec<String>,
    /// Pending partitions cleared from the ledger of changes.
    pub pending_cleared: u64,
    /// Partitions that failed compact or clean in this run (left pending).
    pub failed_partitions: Vec<String>,
    pub failed_count: u64,
}

pub struct Function {
    pub s3: aws_sdk_s3::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub stage_bucket: String,
    pub analytics_bucket: String,
    pub ticker_table: String,
    pub overall_table: String,
    pub recent_table: String,
    pub state_table: String,
    pub recent_ttl_days: i64,
}

pub(crate) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl Function {
    pub async fn from_env(env: &dyn Env) -> Result<Self, HandlerError> {
        let conf = sdk::load(env).await;
        let recent_ttl_days = config::number(env, "RECENT_TWEETS_TTL_DAYS", 7i64, 1..=36_500)?;
        Ok(Self {
            s3: sdk::s3_client(&conf),
            dynamodb: sdk::dynamodb_client(&conf),
            stage_bucket: config::required(env, config::STAGE_BUCKET)?,
            analytics_bucket: config::required(env, config::ANALYTICS_BUCKET)?,
            ticker_table: config::required(env, config::TICKER_SUMMARY_TABLE)?,
            overall_table: config::required(env, config::OVERALL_SUMMARY_TABLE)?,
            recent_table: config::required(env, config::RECENT_TWEETS_TABLE)?,
            state_table: config::required(env, config::STATE_TABLE)?,
            recent_ttl_days,
        })
    }

    pub async fn handle(&self, request: AggregateRequest) -> Result<AggregateResult, HandlerError> {
        let started_at = now_rfc3339();
        let invalid = |e: RunError| HandlerError::InvalidInput(e.to_string());
        let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
        let run_id = request.run_id(now).map_err(invalid)?;
        let record = |status: &str, partitions: u64, r: &AggregateResult, error| RunRecord {
            run_id: run_id.clone(),
            started_at: started_at.clone(),
            ended_at: now_rfc3339(),
            status: status.into(),
            partitions,
            partitions_changed: r.partitions_changed,
            rows_in: r.rows_in,
            rows_rejected: request.rows_rejected(),
            items_written: r.items_written,
            items_deleted: r.items_deleted,
            recent_tweets_written: r.recent_tweets_written,
            error,
        };
        if let Some(f) = &request.failure {
            let empty = AggregateResult::default();
            put_run(
                &self.dynamodb,
                &self.state_table,
                &record(
                    "failed",
                    request.partitions.len() as u64,
                    &empty,
                    Some(f.message()),
                ),
            )
            .await?;
            tracing::error!(run_id, error = %f.error, "run failed; recorded");
            return Ok(AggregateResult { run_id, ..empty });
        }
        let failed = request.failed();
        for (partition, why) in &failed {
            tracing::error!(%partition, %why, "partition failed in this run; left for the next");
        }
        let failed: BTreeSet<String> = failed.into_keys().collect();
        let partitions = request.partitions(&failed).map_err(invalid)?;
        let mut r = self.run(&run_id, &partitions).await?;
        r.failed_partitions = failed.iter().cloned().collect();
        r.failed_count = failed.len() as u64;
        let changes = ChangedPartitions {
            client: self.dynamodb.clone(),
            table: self.state_table.clone(),
        };
        let done: BTreeSet<String> = partitions.iter().map(HourPartition::path).collect();
        for (partition, version) in &request.versions {
            if done.contains(partition) && changes.clear(partition, *version).await? {
                r.pending_cleared += 1;
            }
        }
        // A failed run is recorded by the state machine (RecordFailedRun), which
        // sees every failure, not only aggregate's.
        let (status, error) = match r.failed_count {
            0 => ("succeeded", None),
            _ => (
                "partial",
                Some(format!(
                    "failed partitions: {}",
                    r.failed_partitions.join(", ")
                )),
            ),
        };
        put_run(
            &self.dynamodb,
            &self.state_table,
            &record(status, r.partitions, &r, error),
        )
        .await?;
        Ok(r)
    }
}
