//! `tickerpulse forget`: posts removed from every copy, in this order:
//!
//! 1. the raw zone's objects that hold them are rewritten without them, and
//!    every older version of those objects is deleted; their recent-posts
//!    items are deleted;
//! 2. their hours are marked changed and the pipeline runs, so compaction,
//!    cleaning and aggregation rebuild stage 1 and 2, the serving tables'
//!    summaries, words and hashtags, and the analytics zone from the raw
//!    zone, as for any changed hour (the summaries are recomputed, never
//!    decremented: exactly what the raw zone now holds);
//! 3. the older versions of those hours' stage objects (the files the run
//!    replaced) are deleted (the analytics zone holds counts only, no text
//!    or names, under one key per run: nothing there to purge).
//!
//! Steps 1 and 3 are `tickerpulse_aws::forget::Stores`, which the `comply`
//! function runs too, with the scheduled pipeline run between them.
//!
//! Run twice, it finds nothing the second time.

use anyhow::{bail, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use tickerpulse_aws::forget::Stores;
use tickerpulse_core::config;
use tickerpulse_core::forget::Forget;

/// Where the copies are: the functions' own variables (`RAW_BUCKET`,
/// `STAGE_BUCKET`, `ANALYTICS_BUCKET`, `RECENT_TWEETS_TABLE`, `STATE_TABLE`).
pub struct Copies {
    pub s3: aws_sdk_s3::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sfn: aws_sdk_sfn::Client,
    pub raw_bucket: String,
    pub stage_bucket: String,
    pub analytics_bucket: String,
    pub recent_table: String,
    pub state_table: String,
    pub state_machine: String,
}

impl Copies {
    pub fn stores(&self) -> Stores {
        Stores {
            s3: self.s3.clone(),
            dynamodb: self.dynamodb.clone(),
            raw_bucket: self.raw_bucket.clone(),
            stage_bucket: self.stage_bucket.clone(),
            recent_table: self.recent_table.clone(),
            state_table: self.state_table.clone(),
        }
    }

    pub async fn from_env(env: &BTreeMap<String, String>, state_machine: String) -> Result<Self> {
        let conf = tickerpulse_aws::sdk::load(env).await;
        let var = |k: &'static str| -> Result<String> { Ok(config::required(env, k)?) };
        Ok(Self {
            s3: tickerpulse_aws::sdk::s3_client(&conf),
            dynamodb: tickerpulse_aws::sdk::dynamodb_client(&conf),
            sfn: aws_sdk_sfn::Client::new(&conf),
            raw_bucket: var(config::RAW_BUCKET)?,
            stage_bucket: var(config::STAGE_BUCKET)?,
            analytics_bucket: var(config::ANALYTICS_BUCKET)?,
            recent_table: var(config::RECENT_TWEETS_TABLE)?,
            state_table: var(config::STATE_TABLE)?,
            state_machine,
        })
    }
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub posts_removed: usize,
    pub post_ids: Vec<String>,
    pub raw_objects_read: u64,
    pub raw_objects_rewritten: u64,
    pub raw_objects_deleted: u64,
    pub raw_versions_deleted: u64,
    pub hours_recomputed: Vec<String>,
    pub pipeline: Option<String>,
    pub stage_versions_deleted: u64,
    pub recent_items_deleted: u64,
}

pub async fn run(copies: &Copies, forget: &Forget, timeout: std::time::Duration) -> Result<Report> {
    if forget.is_empty() {
        bail!("nothing to forget: give --post or --author");
    }
    let stores = copies.stores();
    let removal = stores.remove(forget, "forget").await?;
    let raw = &removal.raw;
    let mut report = Report {
        posts_removed: raw.removed.len(),
        post_ids: removal.ids.iter().cloned().collect(),
        raw_objects_read: raw.objects_read,
        raw_objects_rewritten: raw.objects_rewritten,
        raw_objects_deleted: raw.objects_deleted,
        raw_versions_deleted: raw.versions_deleted,
        hours_recomputed: raw.hours.iter().cloned().collect(),
        recent_items_deleted: removal.recent_items_deleted,
        ..Report::default()
    };
    if !raw.hours.is_empty() {
        let name = format!(
            "forget-{}",
            time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000
        );
        let status = crate::pipeline::run(
            &copies.sfn,
            &copies.state_machine,
            &name,
            &serde_json::json!({}),
            timeout,
        )
        .await?;
        report.pipeline = Some(format!("{name}: {}", status.as_str()));
        if status != aws_sdk_sfn::types::ExecutionStatus::Succeeded {
            bail!(
                "the pipeline run {name} ended {}: the raw zone no longer holds the posts, but \
                 stage and the summaries do until a run succeeds (run forget again, or \
                 `tickerpulse pipeline run`)",
                status.as_str()
            );
        }
    }
    report.stage_versions_deleted = stores.purge_stage(&raw.hours).await?;
    Ok(report)
}
