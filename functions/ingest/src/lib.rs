//! ingest: polls the X API v2 recent search for the watch list and sends tweets to
//! Firehose. Triggered by an EventBridge schedule, or with a backfill event
//! `{"start_time": ..., "end_time": ..., "window": "15m"}`. The X API itself is
//! `tickerpulse_xapi`; the poll and backfill loops are in [`run`].

mod run;

use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};
use tickerpulse_aws::firehose::{FirehoseSink, RecordSink};
use tickerpulse_aws::state::{CursorStore, DynamoCursors};
use tickerpulse_aws::{sdk, HandlerError};
use tickerpulse_core::config::{self, Env};
use tickerpulse_xapi::{build_queries, parse_window, windows, XApi};

/// What an invocation asks for.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum IngestRequest {
    Backfill {
        start_time: String,
        end_time: String,
        #[serde(default)]
        window: Option<String>,
    },
    /// An EventBridge scheduled event (`detail-type: Scheduled Event`).
    Scheduled {
        #[serde(rename = "detail-type")]
        detail_type: String,
    },
}

/// What a run did; the Lambda's response.
#[derive(Debug, Default, Serialize, PartialEq)]
pub struct IngestReport {
    pub mode: &'static str,
    pub queries: usize,
    pub queries_completed: usize,
    pub pages: usize,
    pub tweets: usize,
    pub sent: usize,
    /// Records Firehose still refused after every retry (their query's cursor is
    /// not moved, so the next run fetches them again).
    pub failed_records: usize,
    pub cursors_advanced: usize,
    pub rate_limited: bool,
    pub retries: usize,
    /// Backfill windows that failed, to rerun alone.
    pub failed_windows: Vec<(String, String)>,
}

pub struct Settings {
    pub max_results: u32,
    pub max_pages: usize,
    pub budget: Duration,
    pub retry_base: Duration,
    pub retries: u32,
}

pub struct Function<S: RecordSink = FirehoseSink, C: CursorStore = DynamoCursors> {
    pub x: XApi,
    pub sink: S,
    pub cursors: C,
    pub queries: Vec<String>,
    pub settings: Settings,
}

/// The bearer token: `X_BEARER_SECRET_ARN` (Secrets Manager) in AWS, or
/// `X_BEARER_TOKEN` for local runs against the fake API.
async fn bearer_token(env: &dyn Env, conf: &aws_config::SdkConfig) -> Result<String, HandlerError> {
    if let Some(token) = env.var("X_BEARER_TOKEN").filter(|t| !t.is_empty()) {
        return Ok(token);
    }
    let arn = config::required(env, "X_BEARER_SECRET_ARN")?;
    tickerpulse_aws::secrets::x_bearer_token(conf, &arn).await
}

impl Function {
    pub async fn from_env(env: &dyn Env) -> Result<Self, HandlerError> {
        let stream = config::required(env, config::DELIVERY_STREAM)?;
        let table = config::required(env, config::STATE_TABLE)?;
        let conf = sdk::load(env).await;
        let token = bearer_token(env, &conf).await?;
        let base = config::optional(env, "X_API_BASE_URL", "https://api.x.com");
        let x = XApi::new(&base, token).map_err(|e| HandlerError::Fatal(e.to_string()))?;
        let watchlist = tickerpulse_aws::watchlist::load(env).await?;
        let lang = config::optional(env, "INGEST_LANG", "en");
        let queries = build_queries(
            &watchlist.symbols(),
            config::number(env, "INGEST_QUERY_MAX_LEN", 512usize, 1..=usize::MAX)?,
            config::flag(env, "INGEST_EXCLUDE_RETWEETS", true)?,
            Some(lang.as_str()).filter(|l| *l != "*"),
        );
        let long = |name, default| config::number(env, name, default, 0..=u64::MAX);
        let settings = Settings {
            max_results: config::number(env, "INGEST_MAX_RESULTS", 100u32, 0..=u32::MAX)?,
            max_pages: config::number(env, "INGEST_MAX_PAGES", 50usize, 0..=usize::MAX)?,
            budget: Duration::from_secs(long("INGEST_TIME_BUDGET_SECS", 240)?),
            retry_base: Duration::from_millis(long("INGEST_RETRY_BASE_MS", 1000)?),
            retries: config::number(env, "INGEST_RETRIES", 3u32, 0..=u32::MAX)?,
        };
        Ok(Self {
            x,
            sink: FirehoseSink {
                client: sdk::firehose_client(&conf),
                stream,
            },
            cursors: DynamoCursors {
                client: sdk::dynamodb_client(&conf),
                table,
            },
            queries,
            settings,
        })
    }
}

impl<S: RecordSink, C: CursorStore> Function<S, C> {
    pub async fn handle(&self, event: serde_json::Value) -> Result<IngestReport, HandlerError> {
        let request: IngestRequest = serde_json::from_value(event).map_err(|e| {
            HandlerError::InvalidInput(format!(
                "want an EventBridge scheduled event or {{\"start_time\",\"end_time\",\"window\"}}: {e}"
            ))
        })?;
        let started = Instant::now();
        let report = match request {
            IngestRequest::Scheduled { .. } => self.poll(started).await?,
            IngestRequest::Backfill {
                start_time,
                end_time,
                window,
            } => {
                let invalid =
                    |e: tickerpulse_xapi::WindowError| HandlerError::InvalidInput(e.to_string());
                let w = parse_window(window.as_deref().unwrap_or("15m")).map_err(invalid)?;
                let windows = windows(&start_time, &end_time, w).map_err(invalid)?;
                self.backfill(&windows, started).await?
            }
        };
        tracing::info!(?report, "ingest done");
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_recognized() {
        let s: IngestRequest =
            serde_json::from_str(include_str!("../../../events/schedule.json")).unwrap();
        assert!(matches!(s, IngestRequest::Scheduled { .. }));
        let b: IngestRequest =
            serde_json::from_str(include_str!("../../../events/backfill.json")).unwrap();
        assert!(matches!(b, IngestRequest::Backfill { .. }));
    }
}
