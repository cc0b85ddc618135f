//! clean: one hour partition's stage 1 file becomes two stage 2 files, the
//! cleaned tweets (normalized text, watched tickers only) and the spam, each
//! row with the rules it broke. A rerun replaces both.

use serde::{Deserialize, Serialize};
use std::io::{BufWriter, Write};
use tickerpulse_aws::lake::{self, ScratchFile};
use tickerpulse_aws::{sdk, HandlerError};
use tickerpulse_core::config::{self, Env};
use tickerpulse_core::watchlist::Watchlist;
use tickerpulse_core::HourPartition;
use tickerpulse_lake::{layout, CleanStats, LakeError, SpamRules};

/// One item of the pipeline's Map state.
#[derive(Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PartitionTask {
    /// `year=YYYY/month=MM/day=DD/hour=HH`
    pub partition: String,
    /// Raw lines compact could not read (passed on to the run's record).
    #[serde(default)]
    pub rejected: u64,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct CleanResult {
    pub partition: String,
    /// Compact's rejected raw lines, passed on.
    #[serde(default)]
    pub rejected: u64,
    pub cleaned_output: String,
    pub spam_output: String,
    #[serde(flatten)]
    pub stats: CleanStats,
}

pub struct Function {
    pub s3: aws_sdk_s3::Client,
    pub stage_bucket: String,
    pub watchlist: Watchlist,
    pub rules: SpamRules,
}

/// `CLEAN_MAX_CASHTAGS`, `CLEAN_DUPLICATE_ACCOUNTS`, `CLEAN_NEW_ACCOUNT_DAYS`.
fn rules(env: &dyn Env) -> Result<SpamRules, HandlerError> {
    let defaults = SpamRules::default();
    let number =
        |name: &'static str, default: i64| config::number(env, name, default, 0..=i64::MAX);
    Ok(SpamRules {
        max_cashtags: number("CLEAN_MAX_CASHTAGS", defaults.max_cashtags as i64)? as usize,
        duplicate_accounts: number(
            "CLEAN_DUPLICATE_ACCOUNTS",
            defaults.duplicate_accounts as i64,
        )? as usize,
        new_account_days: number("CLEAN_NEW_ACCOUNT_DAYS", defaults.new_account_days)?,
        ..defaults
    })
}

impl Function {
    pub async fn from_env(env: &dyn Env) -> Result<Self, HandlerError> {
        let conf = sdk::load(env).await;
        Ok(Self {
            s3: sdk::s3_client(&conf),
            stage_bucket: config::required(env, config::STAGE_BUCKET)?,
            watchlist: tickerpulse_aws::watchlist::load(env).await?,
            rules: rules(env)?,
        })
    }

    pub async fn handle(&self, task: PartitionTask) -> Result<CleanResult, HandlerError> {
        let partition = HourPartition::from_key(&task.partition)
            .map_err(|e| HandlerError::InvalidInput(e.to_string()))?;
        let input = layout::key(layout::STAGE1_TWEETS, &partition);
        let stage1 = lake::get_bytes(&self.s3, &self.stage_bucket, &input).await?;
        let cleaned = ScratchFile::new("cleaned");
        let spam = ScratchFile::new("spam");
        let (cleaned_path, spam_path) = (cleaned.0.clone(), spam.0.clone());
        let rules = self.rules.clone();
        let watchlist = self.watchlist.clone();
        let stats = tokio::task::spawn_blocking(move || -> Result<CleanStats, LakeError> {
            let create = |p: &std::path::Path| {
                std::fs::File::create(p)
                    .map(|f| BufWriter::with_capacity(1 << 20, f))
                    .map_err(|e| LakeError::Invalid(format!("creating {}: {e}", p.display())))
            };
            let (mut a, mut b, stats) = tickerpulse_lake::clean(
                stage1,
                create(&cleaned_path)?,
                create(&spam_path)?,
                &rules,
                Some(&watchlist),
            )?;
            a.flush()
                .and_then(|()| b.flush())
                .map_err(|e| LakeError::Invalid(format!("writing stage 2 files: {e}")))?;
            Ok(stats)
        })
        .await
        .map_err(|e| HandlerError::Fatal(format!("cleaning worker: {e}")))?
        .map_err(|e| {
            HandlerError::InvalidInput(format!("s3://{}/{input}: {e}", self.stage_bucket))
        })?;
        let cleaned_key = layout::key(layout::STAGE2_CLEANED, &partition);
        let spam_key = layout::key(layout::STAGE2_SPAM, &partition);
        lake::put_parquet(&self.s3, &self.stage_bucket, &cleaned_key, &cleaned.0).await?;
        lake::put_parquet(&self.s3, &self.stage_bucket, &spam_key, &spam.0).await?;
        tracing::info!(
            %partition,
            rows_in = stats.rows_in,
            cleaned = stats.cleaned,
            spam = stats.spam,
            unwatched = stats.unwatched,
            "cleaned"
        );
        Ok(CleanResult {
            partition: partition.path(),
            rejected: task.rejected,
            cleaned_output: format!("s3://{}/{cleaned_key}", self.stage_bucket),
            spam_output: format!("s3://{}/{spam_key}", self.stage_bucket),
            stats,
        })
    }
}
