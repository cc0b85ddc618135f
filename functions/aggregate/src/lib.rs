//! aggregate: the stage 2 hours that changed since they were last aggregated
//! (the ledger compares the cleaned files' ETags) become ticker and overall
//! summaries per 15 minutes and hour; the days, months and years above them
//! are recomputed from the stored level below; recent tweets are written; the
//! run's summaries go to the analytics zone as Parquet; the run is recorded.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::io::{BufWriter, Write};
use tickerpulse_aggregate::serving::{apply, Applied};
use tickerpulse_aggregate::{output, Aggregator, Bucket, Level};
use tickerpulse_aws::lake::{self, ScratchFile};
use tickerpulse_aws::serving::{self, batch_write, put, DynamoSummaries, WriteStats};
use tickerpulse_aws::state::{put_run, Ledger, RunRecord};
use tickerpulse_aws::{sdk, HandlerError};
use tickerpulse_core::config::{self, Env};
use tickerpulse_core::HourPartition;
use tickerpulse_lake::layout;

/// The state machine passes the plan on, and its execution name as the run id.
#[derive(Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AggregateRequest {
    #[serde(default)]
    pub partitions: Vec<String>,
    #[serde(default)]
    pub run_id: Option<String>,
    /// The plan's versions of pending partitions (scheduled runs): cleared
    /// from the ledger of changes once aggregated, unless they moved meanwhile.
    #[serde(default)]
    pub versions: std::collections::BTreeMap<String, u64>,
    /// The Map state's results, one per partition: a partition that failed
    /// compact or clean comes as `{"partition", "failed": true, "error", "cause"}`
    /// and is left for the next run.
    #[serde(default)]
    pub processed: Vec<serde_json::Value>,
    /// Set by the state machine when the run failed before or in aggregate:
    /// only the failed run is recorded (`{"Error", "Cause"}` as Step Functions gives it).
    #[serde(default)]
    pub failure: Option<RunFailure>,
}

#[derive(Debug, Deserialize, Serialize, PartialEq)]
pub struct RunFailure {
    #[serde(rename = "Error", default)]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

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

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl Function {
    pub async fn from_env(env: &dyn Env) -> Result<Self, HandlerError> {
        let conf = sdk::load(env).await;
        let ttl = config::optional(env, "RECENT_TWEETS_TTL_DAYS", "7");
        let recent_ttl_days = ttl.parse::<i64>().ok().filter(|d| *d > 0).ok_or_else(|| {
            HandlerError::Config(config::ConfigError::Invalid {
                name: "RECENT_TWEETS_TTL_DAYS",
                value: ttl.clone(),
                reason: "want a whole number of days > 0".into(),
            })
        })?;
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
        let run_id = request
            .run_id
            .clone()
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| {
                format!(
                    "run-{}",
                    time::OffsetDateTime::now_utc().unix_timestamp_nanos()
                )
            });
        if run_id.len() > 80
            || !run_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(HandlerError::InvalidInput(format!(
                "run_id {run_id:?}: want at most 80 letters, digits, '-', '_' or '.'"
            )));
        }
        if let Some(f) = &request.failure {
            // The cause is the failing function's JSON error; keep its message short.
            let cause: String = f.cause.chars().take(1_000).collect();
            put_run(
                &self.dynamodb,
                &self.state_table,
                &RunRecord {
                    run_id: run_id.clone(),
                    started_at: started_at.clone(),
                    ended_at: started_at,
                    status: "failed".into(),
                    partitions: request.partitions.len() as u64,
                    partitions_changed: 0,
                    rows_in: 0,
                    items_written: 0,
                    items_deleted: 0,
                    recent_tweets_written: 0,
                    error: Some(format!("{}: {cause}", f.error)),
                },
            )
            .await?;
            tracing::error!(run_id, error = %f.error, "run failed; recorded");
            return Ok(AggregateResult {
                run_id,
                ..Default::default()
            });
        }
        let failed: BTreeSet<String> = request
            .processed
            .iter()
            .filter(|r| r["failed"] == serde_json::Value::Bool(true))
            .filter_map(|r| r["partition"].as_str().map(String::from))
            .collect();
        for f in &failed {
            let why = request
                .processed
                .iter()
                .find(|r| r["partition"].as_str() == Some(f.as_str()))
                .map(|r| format!("{} {}", r["error"], r["cause"]))
                .unwrap_or_default();
            tracing::error!(partition = %f, %why, "partition failed in this run; left for the next");
        }
        let mut partitions = Vec::new();
        for p in request.partitions.iter().filter(|p| !failed.contains(*p)) {
            partitions.push(
                HourPartition::from_key(p)
                    .map_err(|e| HandlerError::InvalidInput(e.to_string()))?,
            );
        }
        partitions.sort();
        partitions.dedup();
        let mut result = self.run(&run_id, &partitions).await;
        if let Ok(r) = &mut result {
            r.failed_partitions = failed.iter().cloned().collect();
            r.failed_count = failed.len() as u64;
            let changes = tickerpulse_aws::state::ChangedPartitions {
                client: self.dynamodb.clone(),
                table: self.state_table.clone(),
            };
            let done: BTreeSet<String> = partitions.iter().map(HourPartition::path).collect();
            for (partition, version) in &request.versions {
                if done.contains(partition) && changes.clear(partition, *version).await? {
                    r.pending_cleared += 1;
                }
            }
        }
        // A failed run is recorded by the state machine (RecordFailedRun), which
        // sees every failure, not only aggregate's.
        if let Ok(r) = &result {
            let record = RunRecord {
                run_id: run_id.clone(),
                started_at,
                ended_at: now_rfc3339(),
                status: if r.failed_count > 0 {
                    "partial"
                } else {
                    "succeeded"
                }
                .into(),
                partitions: r.partitions,
                partitions_changed: r.partitions_changed,
                rows_in: r.rows_in,
                items_written: r.items_written,
                items_deleted: r.items_deleted,
                recent_tweets_written: r.recent_tweets_written,
                error: (r.failed_count > 0)
                    .then(|| format!("failed partitions: {}", r.failed_partitions.join(", "))),
            };
            put_run(&self.dynamodb, &self.state_table, &record).await?;
        }
        result
    }

    async fn run(
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
            let head = self
                .s3
                .head_object()
                .bucket(&self.stage_bucket)
                .key(&key)
                .send()
                .await;
            let etag = match head {
                Ok(h) => h.e_tag().unwrap_or_default().to_string(),
                Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => {
                    missing.push(p.path());
                    continue;
                }
                Err(e) => {
                    return Err(HandlerError::from_sdk(
                        &format!("looking at s3://{}/{key}", self.stage_bucket),
                        e,
                    ))
                }
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
        let mut requests = Vec::new();
        for t in recent.iter().filter(|t| t.created_micros >= since) {
            use aws_sdk_dynamodb::types::AttributeValue as A;
            let mut item = std::collections::HashMap::from([
                ("Feed".to_string(), A::S(serving::feed_all(&t.tweet_id))),
                (
                    "TimestampTweetId".to_string(),
                    A::S(serving::recent_sort_key(&t.created_at, &t.tweet_id)),
                ),
                ("TweetId".to_string(), A::S(t.tweet_id.clone())),
                ("CreatedAt".to_string(), A::S(t.created_at.clone())),
                ("Text".to_string(), A::S(t.text.clone())),
                ("TextClean".to_string(), A::S(t.text_clean.clone())),
                (
                    "Tickers".to_string(),
                    A::L(t.tickers.iter().map(|s| A::S(s.clone())).collect()),
                ),
                ("Label".to_string(), A::S(t.label.clone())),
                ("Compound".to_string(), A::N(t.compound.to_string())),
                ("ExpiresAt".to_string(), A::N(expires.to_string())),
            ]);
            if let Some(u) = &t.author_username {
                item.insert("AuthorUsername".into(), A::S(u.clone()));
            }
            // The same tweet in each of its tickers' feeds.
            for ticker in &t.tickers {
                let mut copy = item.clone();
                copy.insert("Feed".into(), A::S(serving::feed_ticker(ticker)));
                requests.push((self.recent_table.clone(), put(copy)?));
            }
            requests.push((self.recent_table.clone(), put(item)?));
        }
        // Tweets, not items: each is also in the feed of each of its tickers.
        let recent_written = requests
            .iter()
            .filter(|(_, r)| {
                r.put_request()
                    .and_then(|p| p.item().get("Feed"))
                    .and_then(|f| f.as_s().ok())
                    .is_some_and(|f| f.starts_with("all#"))
            })
            .count() as u64;
        let recent_stats = batch_write(&self.dynamodb, requests).await?;

        // The analytics zone: this run's recomputed summaries.
        let mut analytics = Vec::new();
        if !tickers.is_empty() || !overall.is_empty() {
            let ticker_file = ScratchFile::new("ticker_summary");
            let overall_file = ScratchFile::new("overall_summary");
            let create = |f: &ScratchFile| {
                std::fs::File::create(&f.0)
                    .map(BufWriter::new)
                    .map_err(|e| HandlerError::Fatal(format!("creating {}: {e}", f.0.display())))
            };
            let flush = |w: Result<
                BufWriter<std::fs::File>,
                tickerpulse_aggregate::AggregateError,
            >| {
                w.map_err(|e| HandlerError::Fatal(e.to_string()))?
                    .flush()
                    .map_err(|e| HandlerError::Fatal(format!("writing the analytics file: {e}")))
            };
            flush(output::write_ticker_summaries(
                &tickers,
                create(&ticker_file)?,
            ))?;
            flush(output::write_overall_summaries(
                &overall,
                create(&overall_file)?,
            ))?;
            for (name, file) in [
                ("ticker_summary", &ticker_file),
                ("overall_summary", &overall_file),
            ] {
                let key = format!("analytics/{name}/run_id={run_id}/{}", layout::FILE_NAME);
                lake::put_parquet(&self.s3, &self.analytics_bucket, &key, &file.0).await?;
                analytics.push(format!("s3://{}/{key}", self.analytics_bucket));
            }
        }

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
