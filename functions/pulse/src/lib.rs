//! pulse: after each pipeline run, ranks what is trending over the rolling
//! 1 h, 24 h and 7 d windows ending at the newest hour with data, then
//! evaluates every alert rule there and delivers each new crossing once, to
//! SNS and EventBridge, recording it in the alert history first.

use futures_util::{stream, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use tickerpulse_aggregate::alerting::{self, hour_bucket, hour_of};
use tickerpulse_aggregate::level::Level;
use tickerpulse_aggregate::trending::{span, Hourly};
use tickerpulse_aws::alerts::AlertRules;
use tickerpulse_aws::pulse::{
    AlertHistory, Claim, Fired, Lease, Notifier, Ranking, Sent, Target, Trending,
};
use tickerpulse_aws::{reads, sdk, HandlerError};
use tickerpulse_core::alerts::MAX_COOLDOWN_HOURS;
use tickerpulse_core::config::{self, Env};
use tickerpulse_core::window::Window;
use time::format_description::well_known::Rfc3339;

/// How long a claim on a firing holds by default (`ALERT_LEASE_SECS`): past
/// the function's 300 s timeout, so a live run's claim is never taken over.
pub const DEFAULT_LEASE_SECS: i64 = 360;

/// Hours since the last run's anchor that a run evaluates, at most.
const CATCH_UP_HOURS: i64 = 24;

/// Hour partitions read at once.
const READS_IN_FLIGHT: usize = 8;

/// The state machine passes the execution name; a hand invocation may pass nothing.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PulseRequest {
    #[serde(default)]
    pub run_id: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct PulseResult {
    /// The newest hour with data, where every window ends (none before the first run).
    pub anchor: Option<String>,
    pub hours_read: u64,
    /// Hours whose crossings were evaluated: the anchor and those since the
    /// last run's anchor (at most a day).
    pub hours_evaluated: u64,
    /// Tickers ranked per window.
    pub trending: HashMap<String, u64>,
    pub rules: u64,
    pub crossings: u64,
    pub delivered: u64,
    /// Firings an earlier attempt recorded but did not finish delivering.
    pub redelivered: u64,
    /// Firings delivered by an earlier run or attempt (a repeat).
    pub already_delivered: u64,
    /// Firings another run holds (overlapping runs): left to it.
    pub held: u64,
    /// Sends skipped because an earlier attempt made them (per target).
    pub already_sent: u64,
}

pub struct Function {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub ticker_table: String,
    pub overall_table: String,
    pub rules: AlertRules,
    pub history: AlertHistory,
    pub notifier: Notifier,
    /// Mentions a ticker needs in a window to be ranked.
    pub min_mentions: u64,
    /// Tickers a window's ranking keeps (the item stays under DynamoDB's 400 KB
    /// whatever the watch list's size).
    pub top_n: usize,
    /// How long a claim on a firing holds: past the function's timeout, so no
    /// live run's claim is taken over.
    pub lease_secs: i64,
    /// The run's clock (Unix seconds); `None` reads the system's.
    pub clock: Option<i64>,
}

impl Function {
    pub async fn from_env(env: &dyn Env) -> Result<Self, HandlerError> {
        let conf = sdk::load(env).await;
        let dynamodb = sdk::dynamodb_client(&conf);
        Ok(Self {
            ticker_table: config::required(env, config::TICKER_SUMMARY_TABLE)?,
            overall_table: config::required(env, config::OVERALL_SUMMARY_TABLE)?,
            rules: AlertRules {
                client: dynamodb.clone(),
                table: config::required(env, config::ALERT_RULES_TABLE)?,
            },
            history: AlertHistory {
                client: dynamodb.clone(),
                table: config::required(env, config::ALERT_HISTORY_TABLE)?,
                keep_days: config::number(env, "ALERT_HISTORY_DAYS", 90i64, 1..=3650)?,
            },
            notifier: Notifier {
                sns: sdk::sns_client(&conf),
                events: sdk::eventbridge_client(&conf),
                topic_arn: config::required(env, config::ALERT_TOPIC_ARN)?,
                event_bus: config::optional(env, config::ALERT_EVENT_BUS, "default"),
            },
            min_mentions: config::number(env, "TRENDING_MIN_MENTIONS", 5u64, 1..=1_000_000)?,
            top_n: config::number(env, "TRENDING_TOP_N", 200usize, 100..=1_000)?,
            lease_secs: config::number(env, "ALERT_LEASE_SECS", DEFAULT_LEASE_SECS, 1..=86_400)?,
            clock: None,
            dynamodb,
        })
    }

    /// Hourly counts by ticker over `hours` (one Query per hour partition).
    async fn hourly(&self, hours: std::ops::RangeInclusive<i64>) -> Result<Hourly, HandlerError> {
        let rows: Vec<(i64, Vec<reads::TickerRow>)> = stream::iter(hours)
            .map(|h| async move {
                let rows = reads::tickers_of(&self.dynamodb, &self.ticker_table, hour_bucket(h));
                Ok::<_, HandlerError>((h, rows.await?))
            })
            .buffer_unordered(READS_IN_FLIGHT)
            .try_collect()
            .await?;
        let mut hourly = Hourly::default();
        for (h, rows) in rows {
            for r in rows {
                hourly.add(h, &r.ticker, &r.counts);
            }
        }
        Ok(hourly)
    }

    pub async fn handle(&self, request: PulseRequest) -> Result<PulseResult, HandlerError> {
        let mut r = PulseResult::default();
        let now = match self.clock {
            Some(secs) => time::OffsetDateTime::from_unix_timestamp(secs)
                .map_err(|e| HandlerError::Fatal(format!("the clock: {e}")))?,
            None => time::OffsetDateTime::now_utc(),
        };
        // Windows end at the newest complete hour with data: the hour now
        // filling would look quiet against full hours, and no post's hour is
        // after the clock (the transform bounds what is ahead of arrival).
        let last_complete = now.unix_timestamp().div_euclid(3600) - 1;
        let until = hour_bucket(last_complete).timestamp();
        let newest = reads::periods_until(
            &self.dynamodb,
            &self.overall_table,
            Level::Hour,
            Some(&until),
            1,
        )
        .await?;
        let Some(newest) = newest.first().map(|p| hour_of(&p.bucket)) else {
            tracing::info!("no complete hour has data yet: nothing to rank or evaluate");
            return Ok(r);
        };
        let trending = Trending {
            client: self.dynamodb.clone(),
            table: self.overall_table.clone(),
        };
        // The hours since the last run's anchor are evaluated too (at most a
        // day of them): a crossing between two runs still fires.
        let previous = trending
            .get(Window::Hour)
            .await?
            .and_then(|p| alerting::hour_of_anchor(&p.anchor));
        let first = match previous {
            Some(p) if p < newest => (p + 1).max(newest - CATCH_UP_HOURS + 1),
            _ => newest,
        };
        let hours = *span(Window::Week, first).start()..=newest;
        r.hours_read = (hours.end() - hours.start() + 1) as u64;
        r.hours_evaluated = (newest - first + 1) as u64;
        let hourly = self.hourly(hours).await?;
        let now_text = now
            .replace_nanosecond(0)
            .unwrap_or(now)
            .format(&Rfc3339)
            .unwrap_or_default();
        let anchor = hour_bucket(newest).timestamp();
        for window in Window::ALL {
            let mut trends = hourly.trending(newest, window, self.min_mentions);
            let ranked = trends.len() as u64;
            r.trending.insert(window.name().into(), ranked);
            trends.truncate(self.top_n);
            trending
                .put(&Ranking {
                    window,
                    anchor: anchor.clone(),
                    computed_at: now_text.clone(),
                    run_id: request.run_id.clone().unwrap_or_default(),
                    min_mentions: self.min_mentions,
                    ranked,
                    trends,
                })
                .await?;
        }
        r.anchor = Some(anchor);

        let rules = self.rules.all().await?;
        r.rules = rules.len() as u64;
        let per_hour: Vec<Vec<alerting::Firing>> = (first..=newest)
            .map(|h| alerting::crossings(&rules, &hourly, h))
            .collect();
        // The last firing of each (rule, ticker), from each owner's history as
        // far back as the longest cooldown.
        let since = hour_bucket(first - i64::from(MAX_COOLDOWN_HOURS) - 1).timestamp();
        let mut last_fired = HashMap::new();
        let mut owners: Vec<&str> = per_hour
            .iter()
            .flatten()
            .map(|f| f.owner.as_str())
            .collect();
        owners.sort_unstable();
        owners.dedup();
        for owner in owners {
            last_fired.extend(self.history.last_fired(owner, &since).await?);
        }
        let crossings = alerting::cooled_over(per_hour, &rules, &last_fired);
        r.crossings = crossings.len() as u64;
        let lease = Lease {
            owner: owner_id(request.run_id.as_deref()),
            now: now.unix_timestamp(),
            secs: self.lease_secs,
        };
        for firing in crossings {
            let fired = Fired::new(&firing, &now_text);
            let sent = match self.history.claim(&fired, &lease).await? {
                Claim::Delivered => {
                    r.already_delivered += 1;
                    continue;
                }
                Claim::Held { owner, until } => {
                    tracing::info!(alert_id = %fired.id, %owner, until, "alert held by another run");
                    r.held += 1;
                    continue;
                }
                Claim::Resumed(sent) => {
                    r.redelivered += 1;
                    sent
                }
                Claim::New => {
                    r.delivered += 1;
                    Sent::default()
                }
            };
            if let Err(e) = self.deliver(&fired, sent, &mut r).await {
                // The retry (Step Functions', or the next run) takes it over at
                // once and sends what was not sent.
                if let Err(release) = self.history.release(&fired, &lease.owner).await {
                    tracing::warn!(alert_id = %fired.id, error = %release, "could not release an alert's claim: it passes when the lease ends");
                }
                return Err(e);
            }
            tracing::info!(alert_id = %fired.id, ticker = %fired.ticker, value = fired.value, "alert delivered");
        }
        Ok(r)
    }

    /// Sends a firing to each target an earlier attempt did not, flagging
    /// each as it goes, then marks it delivered.
    async fn deliver(
        &self,
        fired: &Fired,
        sent: Sent,
        r: &mut PulseResult,
    ) -> Result<(), HandlerError> {
        for target in Target::ALL {
            if sent.contains(target) {
                r.already_sent += 1;
                continue;
            }
            self.notifier.send(fired, target).await?;
            self.history.mark_sent(fired, target).await?;
        }
        self.history.mark_delivered(fired).await
    }
}

/// A claim's owner: this invocation (the execution's name where the state
/// machine gives it, and what tells this process's attempts apart).
fn owner_id(run_id: Option<&str>) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{}/{}-{nanos}",
        run_id.unwrap_or("pulse"),
        std::process::id()
    )
}
