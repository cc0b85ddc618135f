//! ingest: polls the X API v2 search for the watch list and sends tweets to
//! Firehose. Triggered by an EventBridge schedule, or with a backfill event
//! `{"start_time": ..., "end_time": ..., "window": "15m"}`. The X API itself is
//! `tickerpulse_xapi`; the poll and backfill loops are in [`run`], the monthly
//! post budget in [`budget`].

pub mod budget;
mod run;

use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};
use tickerpulse_aws::firehose::{FirehoseSink, RecordSink};
use tickerpulse_aws::state::{CursorStore, DynamoCursors, Usage};
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
        /// At most this many windows this invocation (the rest on a rerun of
        /// the same event, which resumes from the checkpoint).
        #[serde(default)]
        max_windows: Option<usize>,
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
    /// The backfill window the run stopped at (a rate limit, the cap, the
    /// budget, a failure): not checkpointed, the rerun of the event reads it.
    pub failed_windows: Vec<(String, String)>,
    /// Queries whose pagination stopped at the run's time or posts: the next
    /// run resumes them from their `next_token`.
    pub queries_unfinished: usize,
    /// The posts this run could read of the month's budget (`None`: no budget).
    pub run_allowance: Option<u64>,
    /// X answered that the plan's monthly cap is reached: runs wait for the month.
    pub usage_capped: bool,
    /// Cursors that fell out of recent search's 7 days and restarted inside it.
    pub cursor_resets: Vec<budget::Gap>,
    /// A backfill's windows, where this run began, and how many are done.
    pub windows_total: usize,
    pub windows_resumed_from: usize,
    pub windows_done: usize,
}

pub struct Settings {
    /// Posts the plan may read a month, paced over the month (0: none).
    pub monthly_budget: u64,
    /// Prints the run's CloudWatch metrics (EMF) on stdout: in Lambda only,
    /// where stdout is the log group (locally it would mix with the output).
    pub emit_metrics: bool,
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
    /// Posts read per month, the cap and backfill checkpoints (the state table).
    pub usage: Option<Usage>,
    pub queries: Vec<String>,
    pub settings: Settings,
}

impl Function {
    pub async fn from_env(env: &dyn Env) -> Result<Self, HandlerError> {
        let stream = config::required(env, config::DELIVERY_STREAM)?;
        let table = config::required(env, config::STATE_TABLE)?;
        let conf = sdk::load(env).await;
        let token = tickerpulse_aws::secrets::x_bearer_of_env(env, &conf).await?;
        let base = config::optional(env, "X_API_BASE_URL", "https://api.x.com");
        let mut x = XApi::new(&base, token).map_err(|e| HandlerError::Fatal(e.to_string()))?;
        let endpoint = config::optional(env, "X_SEARCH_ENDPOINT", "recent");
        x.endpoint = tickerpulse_xapi::client::Endpoint::parse(&endpoint).ok_or_else(|| {
            HandlerError::Config(config::ConfigError::Invalid {
                name: "X_SEARCH_ENDPOINT",
                value: endpoint.clone(),
                reason: "want recent or all (full-archive search, on plans that have it)".into(),
            })
        })?;
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
            monthly_budget: long("X_MONTHLY_POST_BUDGET", 0)?,
            emit_metrics: env
                .var("AWS_LAMBDA_FUNCTION_NAME")
                .is_some_and(|n| !n.is_empty()),
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
                table: table.clone(),
            },
            usage: Some(Usage {
                client: sdk::dynamodb_client(&conf),
                table,
            }),
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
        let clock = budget::Clock::now();
        let report = match request {
            IngestRequest::Scheduled { .. } => self.poll(started, &clock).await?,
            IngestRequest::Backfill {
                start_time,
                end_time,
                window,
                max_windows,
            } => {
                let invalid =
                    |e: tickerpulse_xapi::WindowError| HandlerError::InvalidInput(e.to_string());
                let window = window.unwrap_or_else(|| "15m".into());
                let w = parse_window(&window).map_err(invalid)?;
                let windows = windows(&start_time, &end_time, w).map_err(invalid)?;
                self.recent_enough(&start_time, &clock)?;
                let id = format!("{start_time}|{end_time}|{window}");
                self.backfill(&id, &windows, max_windows, started, &clock)
                    .await?
            }
        };
        tracing::info!(?report, "ingest done");
        Ok(report)
    }
}

impl<S: RecordSink, C: CursorStore> Function<S, C> {
    /// Recent search keeps 7 days: an older start is refused before any call.
    fn recent_enough(&self, start: &str, clock: &budget::Clock) -> Result<(), HandlerError> {
        if self.x.endpoint != tickerpulse_xapi::client::Endpoint::Recent {
            return Ok(());
        }
        let start_ms = tickerpulse_core::partition::parse_rfc3339(start)
            .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
            .map_err(|e| HandlerError::InvalidInput(e.to_string()))?;
        let oldest = clock.now_ms - tickerpulse_xapi::client::RECENT_WINDOW_SECS * 1000 + 60_000;
        if start_ms < oldest {
            return Err(HandlerError::InvalidInput(format!(
                "start_time {start} is older than recent search's 7 days; \
                 backfill older posts with full-archive search (X_SEARCH_ENDPOINT=all, Pro and Enterprise plans)"
            )));
        }
        Ok(())
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
