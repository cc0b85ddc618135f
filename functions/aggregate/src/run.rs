//! One run's work: which changed hours to read (the ledger compares the cleaned
//! files' ETags), their summaries applied to the serving tables, recent tweets,
//! the analytics files, and the ledger recorded last.

use crate::{now_rfc3339, AggregateResult, Function};
use std::collections::BTreeSet;
use tickerpulse_aggregate::serving::{apply, Applied};
use tickerpulse_aggregate::{output, Aggregator, Bucket, Level};
use tickerpulse_aws::lake;
use tickerpulse_aws::lease::Lease;
use tickerpulse_aws::serving::{self, DynamoSummaries};
use tickerpulse_aws::state::Ledger;
use tickerpulse_aws::HandlerError;
use tickerpulse_core::HourPartition;
use tickerpulse_lake::layout;

/// How long a run holds the aggregate lease: past the function's 900 s
/// timeout, so a run that dies mid-way never leaves it to a second run while
/// it may still write. The state machine retries `TickerPulse.Busy` each
/// minute for longer than this.
pub const LEASE_MS: i64 = 960_000;

impl Function {
    /// A run, one at a time: summaries are read, merged and written back, so
    /// two runs at once would lose counts. The lease replaces the reserved
    /// concurrency of 1 that a new account's quota refuses.
    pub(crate) async fn run(
        &self,
        run_id: &str,
        partitions: &[HourPartition],
    ) -> Result<AggregateResult, HandlerError> {
        let lease = Lease {
            client: self.dynamodb.clone(),
            table: self.state_table.clone(),
            name: "aggregate",
        };
        let now_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
        if !lease.acquire(run_id, now_ms, LEASE_MS).await? {
            let holder = lease.holder().await?.map(|(o, _)| o).unwrap_or_default();
            return Err(HandlerError::Busy(format!(
                "run {holder} is aggregating; {run_id} waits for it"
            )));
        }
        let result = self.run_held(run_id, partitions).await;
        if let Err(e) = lease.release(run_id).await {
            tracing::warn!(error = %e, "the aggregate lease was not given back; it expires");
        }
        result
    }

    async fn run_held(
        &self,
        run_id: &str,
        partitions: &[HourPartition],
    ) -> Result<AggregateResult, HandlerError> {
        let ledger = Ledger {
            client: self.dynamodb.clone(),
            table: self.state_table.clone(),
        };
        let paths: Vec<String> = partitions.iter().map(HourPartition::path).collect();
        let known = ledger.etags(&paths).await?;
        let mut changed: Vec<(HourPartition, String)> = Vec::new();
        let mut missing = Vec::new();
        let mut unchanged = 0;
        for p in partitions {
            let key = layout::key(layout::STAGE2_CLEANED, p);
            let Some(etag) = lake::etag(&self.s3, &self.stage_bucket, &key).await? else {
                missing.push(p.path());
                continue;
            };
            if known.get(&p.path()) == Some(&etag) {
                unchanged += 1;
            } else {
                changed.push((*p, etag));
            }
        }
        if !missing.is_empty() {
            tracing::warn!(
                ?missing,
                "no cleaned file for these partitions; they wait for clean"
            );
        }

        // Aggregate the changed hours (their files are small: one hour each).
        let mut aggregator = Aggregator::default();
        let mut recent = Vec::new();
        let mut hours = BTreeSet::new();
        for (p, _) in &changed {
            let key = layout::key(layout::STAGE2_CLEANED, p);
            let bytes = lake::get_bytes(&self.s3, &self.stage_bucket, &key).await?;
            let bad = |e: String| {
                HandlerError::InvalidInput(format!("s3://{}/{key}: {e}", self.stage_bucket))
            };
            let reader = tickerpulse_aggregate::read_stage2(bytes, output::RECENT_COLUMNS)
                .map_err(|e| bad(e.to_string()))?;
            for batch in reader {
                let batch = batch.map_err(|e| bad(e.to_string()))?;
                aggregator
                    .push_batch(&batch)
                    .map_err(|e| bad(e.to_string()))?;
                recent.extend(output::recent_tweets(&batch).map_err(|e| bad(e.to_string()))?);
            }
            let start = p
                .start()
                .map_err(|e| HandlerError::InvalidInput(e.to_string()))?;
            let micros = i64::try_from(start.unix_timestamp_nanos() / 1_000).unwrap_or_default();
            hours.insert(Bucket::quarter_of(micros).at(Level::Hour));
        }
        let rows_in = aggregator.rows;
        let (tickers, overall) = aggregator.finish();
        let store = DynamoSummaries {
            client: self.dynamodb.clone(),
            ticker_table: self.ticker_table.clone(),
            overall_table: self.overall_table.clone(),
            run_id: run_id.to_string(),
            stats: Default::default(),
        };
        let Applied {
            stats,
            tickers,
            overall,
        } = apply(&store, &hours, tickers, overall).await?;

        // Recent tweets: those within the TTL of the newest tweet of the run.
        let newest = recent.iter().map(|t| t.created_micros).max().unwrap_or(0);
        let since = newest - self.recent_ttl_days * 86_400_000_000;
        let expires =
            time::OffsetDateTime::now_utc().unix_timestamp() + self.recent_ttl_days * 86_400;
        let (recent_written, recent_stats) =
            serving::write_recent(&self.dynamodb, &self.recent_table, &recent, since, expires)
                .await?;

        // The analytics zone: this run's recomputed summaries.
        let analytics =
            lake::put_analytics(&self.s3, &self.analytics_bucket, run_id, &tickers, &overall)
                .await?;

        // Only now are the partitions done.
        let entries: Vec<(String, String)> =
            changed.iter().map(|(p, e)| (p.path(), e.clone())).collect();
        ledger.record(&entries, run_id, &now_rfc3339()).await?;
        let mut dynamodb = store.stats.lock().map(|s| *s).unwrap_or_default();
        dynamodb.requests += recent_stats.requests;
        dynamodb.calls += recent_stats.calls;
        dynamodb.retries += recent_stats.retries;
        tracing::info!(
            run_id,
            changed = changed.len(),
            unchanged,
            rows_in,
            written = stats.items_written,
            deleted = stats.items_deleted,
            recent_written,
            retries = dynamodb.retries,
            "aggregated"
        );
        Ok(AggregateResult {
            run_id: run_id.to_string(),
            partitions: partitions.len() as u64,
            partitions_changed: changed.len() as u64,
            partitions_unchanged: unchanged,
            partitions_missing: missing,
            rows_in,
            items_written: stats.items_written,
            items_deleted: stats.items_deleted,
            items_unchanged: stats.items_unchanged,
            recent_tweets_written: recent_written,
            dynamodb,
            analytics,
            ..Default::default()
        })
    }
}
