//! `tickerpulse comply`: X's batch compliance over the X posts stored in the
//! last days (30 by default), then `forget` of every post X reports deleted,
//! made private, suspended or deactivated (docs/privacy.md). X's developer
//! terms ask for stored copies to follow such changes; the compliance API is
//! how X offers to learn them in bulk.

use crate::forget::{self, Copies};
use anyhow::Result;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;
use tickerpulse_core::forget::Forget;
use tickerpulse_core::HourPartition;
use tickerpulse_xapi::XApi;

#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// The X post ids stored in the days checked.
    pub ids_checked: usize,
    /// Events X reported, by reason.
    pub reasons: BTreeMap<String, usize>,
    /// What forgetting them did (none when X reported nothing to remove).
    pub forget: Option<forget::Report>,
}

/// How often and how long a job is polled.
#[derive(Debug, Clone, Copy)]
pub struct Polling {
    pub every: Duration,
    pub times: u32,
}

pub async fn run(
    copies: &Copies,
    x: &XApi,
    days: &[HourPartition],
    polling: Polling,
    pipeline_timeout: Duration,
) -> Result<Report> {
    let ids: Vec<String> = tickerpulse_aws::forget::post_ids(
        &copies.s3,
        &copies.raw_bucket,
        days,
        tickerpulse_core::source::Source::X,
    )
    .await?
    .into_iter()
    .collect();
    let name = format!(
        "tickerpulse-{}",
        time::OffsetDateTime::now_utc().unix_timestamp()
    );
    let events = x
        .check_posts(&name, &ids, polling.every, polling.times)
        .await?;
    let mut report = Report {
        ids_checked: ids.len(),
        ..Report::default()
    };
    for e in &events {
        *report.reasons.entry(e.reason.clone()).or_default() += 1;
    }
    let gone: Vec<String> = events
        .into_iter()
        .filter(|e| e.forgets())
        .map(|e| e.id)
        .collect();
    if !gone.is_empty() {
        let request = Forget::new(gone, []);
        report.forget = Some(forget::run(copies, &request, pipeline_timeout).await?);
    }
    Ok(report)
}
