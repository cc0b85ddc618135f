//! ingest: polls the X API v2 recent search for the watch list and sends tweets to
//! Firehose. Triggered by an EventBridge schedule, or with a backfill event
//! `{"start_time": ..., "end_time": ..., "window": "15m"}`.

pub mod xapi;

use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};
use tickerpulse_aws::firehose::{send_all, FirehoseSink, RecordSink};
use tickerpulse_aws::state::{CursorStore, DynamoCursors};
use tickerpulse_aws::{sdk, HandlerError};
use tickerpulse_core::config::{self, Env};
use tickerpulse_core::partition::parse_rfc3339;
use xapi::{Page, SearchParams, XApi, XApiError};

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

/// The search queries for a watch list: `($A OR $B ...) -is:retweet lang:en`, each
/// within `max_len` characters. Class shares (`BRK.B`) are searched by their
/// cashtag (`$BRK`), which is how X tags them.
pub fn build_queries(
    symbols: &[&str],
    max_len: usize,
    exclude_retweets: bool,
    lang: Option<&str>,
) -> Vec<String> {
    let mut suffix = String::new();
    if exclude_retweets {
        suffix.push_str(" -is:retweet");
    }
    if let Some(l) = lang.filter(|l| !l.is_empty()) {
        suffix.push_str(&format!(" lang:{l}"));
    }
    let mut tags: Vec<String> = Vec::new();
    for s in symbols {
        let tag = format!("${}", s.split('.').next().unwrap_or(s));
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    let mut queries = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let fits = |terms: &[&str], extra: &str| {
        let body: usize =
            terms.iter().map(|t| t.len()).sum::<usize>() + 4 * terms.len().saturating_sub(1);
        let body = body + extra.len() + if terms.is_empty() { 0 } else { 4 };
        body + 2 + suffix.len() <= max_len
    };
    for tag in &tags {
        if !current.is_empty() && !fits(&current, tag) {
            queries.push(format!("({}){suffix}", current.join(" OR ")));
            current.clear();
        }
        current.push(tag);
    }
    if !current.is_empty() {
        queries.push(format!("({}){suffix}", current.join(" OR ")));
    }
    queries
}

/// A stable key for a query's cursor.
pub fn query_key(query: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in query.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// `15m`, `1h`, `30s`
pub fn parse_window(w: &str) -> Result<Duration, HandlerError> {
    let bad = || {
        HandlerError::InvalidInput(format!(
            "window {w:?}: want a number and s, m or h, such as 15m"
        ))
    };
    let (n, unit) = w.trim().split_at(w.trim().len().saturating_sub(1));
    let n: u64 = n.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(bad()),
    };
    if !(10..=7 * 24 * 3600).contains(&secs) {
        return Err(bad());
    }
    Ok(Duration::from_secs(secs))
}

/// The windows of a backfill, each `[start, end)`, RFC 3339.
pub fn windows(
    start: &str,
    end: &str,
    window: Duration,
) -> Result<Vec<(String, String)>, HandlerError> {
    let fmt = time::format_description::well_known::Rfc3339;
    let a = parse_rfc3339(start).map_err(|e| HandlerError::InvalidInput(e.to_string()))?;
    let b = parse_rfc3339(end).map_err(|e| HandlerError::InvalidInput(e.to_string()))?;
    if b <= a {
        return Err(HandlerError::InvalidInput(format!(
            "end_time {end} is not after start_time {start}"
        )));
    }
    let step =
        time::Duration::try_from(window).map_err(|e| HandlerError::InvalidInput(e.to_string()))?;
    let count = ((b - a).whole_seconds() as f64 / step.whole_seconds() as f64).ceil() as usize;
    if count > 2000 {
        return Err(HandlerError::InvalidInput(format!(
            "{count} windows: use a larger window"
        )));
    }
    let mut out = Vec::with_capacity(count);
    let mut t = a;
    while t < b {
        let next = (t + step).min(b);
        let f = |x: time::OffsetDateTime| {
            x.format(&fmt)
                .map_err(|e| HandlerError::Fatal(e.to_string()))
        };
        out.push((f(t)?, f(next)?));
        t = next;
    }
    Ok(out)
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

fn flag(env: &dyn Env, name: &str, default: bool) -> bool {
    matches!(
        config::optional(env, name, if default { "true" } else { "false" }).as_str(),
        "true" | "1" | "yes"
    )
}

fn number<T: std::str::FromStr>(
    env: &dyn Env,
    name: &'static str,
    default: T,
) -> Result<T, HandlerError> {
    match env.var(name).filter(|v| !v.trim().is_empty()) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| {
            HandlerError::Config(config::ConfigError::Invalid {
                name,
                value: v,
                reason: "want a number".into(),
            })
        }),
    }
}

/// The bearer token: `X_BEARER_SECRET_ARN` (Secrets Manager) in AWS, or
/// `X_BEARER_TOKEN` for local runs against the fake API.
async fn bearer_token(env: &dyn Env, conf: &aws_config::SdkConfig) -> Result<String, HandlerError> {
    if let Some(token) = env.var("X_BEARER_TOKEN").filter(|t| !t.is_empty()) {
        return Ok(token);
    }
    let arn = config::required(env, "X_BEARER_SECRET_ARN")?;
    let out = aws_sdk_secretsmanager::Client::new(conf)
        .get_secret_value()
        .secret_id(&arn)
        .send()
        .await
        .map_err(|e| {
            HandlerError::from_sdk("reading the X bearer token from Secrets Manager", e)
        })?;
    out.secret_string()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && s != "replace-me")
        .ok_or_else(|| {
            HandlerError::Fatal(
                "the X bearer token secret is not set (see README: put-secret-value)".into(),
            )
        })
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
            number(env, "INGEST_QUERY_MAX_LEN", 512usize)?,
            flag(env, "INGEST_EXCLUDE_RETWEETS", true),
            Some(lang.as_str()).filter(|l| *l != "*"),
        );
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
            settings: Settings {
                max_results: number(env, "INGEST_MAX_RESULTS", 100u32)?,
                max_pages: number(env, "INGEST_MAX_PAGES", 50usize)?,
                budget: Duration::from_secs(number(env, "INGEST_TIME_BUDGET_SECS", 240u64)?),
                retry_base: Duration::from_millis(number(env, "INGEST_RETRY_BASE_MS", 1000u64)?),
                retries: number(env, "INGEST_RETRIES", 3u32)?,
            },
        })
    }
}

enum Stop {
    RateLimited,
    Failed(HandlerError),
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
                let w = parse_window(window.as_deref().unwrap_or("15m"))?;
                self.backfill(&windows(&start_time, &end_time, w)?, started)
                    .await?
            }
        };
        tracing::info!(?report, "ingest done");
        Ok(report)
    }

    /// One search call, with 5xx and transport retries and 429 waits inside the budget.
    async fn search(
        &self,
        p: &SearchParams,
        started: Instant,
        report: &mut IngestReport,
    ) -> Result<Page, Stop> {
        let mut attempt = 0;
        loop {
            match self.x.search(p).await {
                Ok(page) => return Ok(page),
                Err(XApiError::RateLimited { reset_epoch }) => {
                    let now = time::OffsetDateTime::now_utc().unix_timestamp();
                    let wait = Duration::from_secs(
                        reset_epoch.map_or(900, |r| (r - now).max(0) as u64 + 1),
                    );
                    if started.elapsed() + wait >= self.settings.budget
                        || attempt >= self.settings.retries
                    {
                        tracing::warn!(
                            ?wait,
                            "rate limited past this run's time budget: the next run resumes"
                        );
                        report.rate_limited = true;
                        return Err(Stop::RateLimited);
                    }
                    tracing::info!(?wait, "rate limited: waiting for the window to reset");
                    report.retries += 1;
                    attempt += 1;
                    tokio::time::sleep(wait).await;
                }
                Err(e @ (XApiError::Server(_) | XApiError::Transport(_))) => {
                    let wait = self.settings.retry_base * 2u32.saturating_pow(attempt);
                    if attempt >= self.settings.retries
                        || started.elapsed() + wait >= self.settings.budget
                    {
                        return Err(Stop::Failed(HandlerError::Retryable(format!(
                            "{e} after {} retries",
                            attempt
                        ))));
                    }
                    tracing::warn!(error = %e, ?wait, "retrying the X API");
                    report.retries += 1;
                    attempt += 1;
                    tokio::time::sleep(wait).await;
                }
                Err(e) => return Err(Stop::Failed(HandlerError::Fatal(e.to_string()))),
            }
        }
    }

    /// All pages of one query; returns the newest id of the first page.
    async fn run_query(
        &self,
        base: SearchParams,
        started: Instant,
        report: &mut IngestReport,
    ) -> Result<(Option<u64>, bool), Stop> {
        let mut params = base;
        let mut newest = None;
        let mut all_sent = true;
        for page_no in 0..self.settings.max_pages {
            let page = self.search(&params, started, report).await?;
            report.pages += 1;
            if page_no == 0 {
                newest = page.newest_id;
            }
            report.tweets += page.tweets.len();
            let records: Vec<Vec<u8>> = page
                .tweets
                .iter()
                .map(|t| {
                    let mut line = serde_json::to_vec(t).unwrap_or_default();
                    line.push(b'\n');
                    line
                })
                .collect();
            if !records.is_empty() {
                let sent = send_all(&self.sink, &records, 5, self.settings.retry_base / 4)
                    .await
                    .map_err(Stop::Failed)?;
                report.sent += sent.sent;
                let failed = sent.failed.len() + sent.oversized.len();
                if failed > 0 {
                    tracing::error!(failed, codes = ?sent.failed, "Firehose refused records after retries");
                    report.failed_records += failed;
                    all_sent = false;
                }
            }
            match page.next_token {
                Some(token) if started.elapsed() < self.settings.budget => {
                    params.next_token = Some(token)
                }
                _ => break,
            }
        }
        Ok((newest, all_sent))
    }

    async fn poll(&self, started: Instant) -> Result<IngestReport, HandlerError> {
        let mut report = IngestReport {
            mode: "scheduled",
            queries: self.queries.len(),
            ..Default::default()
        };
        for query in &self.queries {
            if started.elapsed() >= self.settings.budget {
                break;
            }
            let key = query_key(query);
            let since_id = self.cursors.get(&key).await?;
            let params = SearchParams {
                query: query.clone(),
                since_id,
                max_results: self.settings.max_results,
                ..Default::default()
            };
            match self.run_query(params, started, &mut report).await {
                Ok((newest, all_sent)) => {
                    report.queries_completed += 1;
                    // The cursor moves only when every tweet up to it reached Firehose.
                    if let (Some(id), true) = (newest, all_sent) {
                        if self.cursors.advance(&key, id, query).await? {
                            report.cursors_advanced += 1;
                        }
                    }
                }
                Err(Stop::RateLimited) => break,
                Err(Stop::Failed(e)) => return Err(e),
            }
        }
        Ok(report)
    }

    async fn backfill(
        &self,
        windows: &[(String, String)],
        started: Instant,
    ) -> Result<IngestReport, HandlerError> {
        let mut report = IngestReport {
            mode: "backfill",
            queries: self.queries.len(),
            ..Default::default()
        };
        for (start, end) in windows {
            let mut ok = true;
            for query in &self.queries {
                let params = SearchParams {
                    query: query.clone(),
                    start_time: Some(start.clone()),
                    end_time: Some(end.clone()),
                    max_results: self.settings.max_results,
                    ..Default::default()
                };
                match self.run_query(params, started, &mut report).await {
                    Ok((_, all_sent)) => {
                        report.queries_completed += 1;
                        ok &= all_sent;
                    }
                    Err(Stop::RateLimited) => {
                        ok = false;
                        break;
                    }
                    Err(Stop::Failed(e)) => {
                        tracing::warn!(%start, %end, error = %e, "backfill window failed");
                        ok = false;
                        break;
                    }
                }
            }
            if !ok {
                report.failed_windows.push((start.clone(), end.clone()));
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_fit_the_limit_and_cover_the_list() {
        let w = tickerpulse_core::watchlist::Watchlist::bundled();
        let symbols = w.symbols();
        let qs = build_queries(&symbols, 512, true, Some("en"));
        assert!(
            qs.iter().all(|q| q.len() <= 512),
            "{:?}",
            qs.iter().map(|q| q.len()).max()
        );
        assert!(qs.iter().all(|q| q.ends_with(") -is:retweet lang:en")));
        for s in &symbols {
            let tag = format!("${} ", s.split('.').next().unwrap());
            let tag_end = format!("${})", s.split('.').next().unwrap());
            assert!(
                qs.iter().any(|q| q.contains(&tag) || q.contains(&tag_end)),
                "{s} missing"
            );
        }
        assert!(
            qs.len() >= 7,
            "503 symbols need several queries, got {}",
            qs.len()
        );
        assert_eq!(
            build_queries(&["BRK.B", "BRK.A", "TSLA"], 512, false, None),
            ["($BRK OR $TSLA)"]
        );
    }

    #[test]
    fn windows_and_their_errors() {
        let w = windows(
            "2020-04-15T00:00:00Z",
            "2020-04-15T00:40:00Z",
            parse_window("15m").unwrap(),
        )
        .unwrap();
        assert_eq!(w.len(), 3);
        assert_eq!(
            w[2],
            ("2020-04-15T00:30:00Z".into(), "2020-04-15T00:40:00Z".into())
        );
        assert!(
            parse_window("15x").is_err()
                && parse_window("m").is_err()
                && parse_window("1s").is_err()
        );
        assert!(windows(
            "2020-04-15T01:00:00Z",
            "2020-04-15T00:00:00Z",
            Duration::from_secs(60)
        )
        .is_err());
    }

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
