//! The plan's monthly posts spread over the month's runs, the month and the
//! recent search window of a run's clock, and the run's metrics.

use serde::Serialize;

/// The time a run sees.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub now_ms: i64,
}

impl Clock {
    pub fn now() -> Self {
        Self {
            now_ms: (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64,
        }
    }

    /// Where a restarted cursor begins: a minute inside recent search's 7 days.
    pub fn window_start_ms(&self) -> i64 {
        self.now_ms - tickerpulse_xapi::client::RECENT_WINDOW_SECS * 1000 + 60_000
    }
}

fn utc(ms: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// `YYYY-MM` of a time (UTC): X counts posts per calendar month.
pub fn month(ms: i64) -> String {
    let t = utc(ms);
    format!("{:04}-{:02}", t.year(), t.month() as u8)
}

/// The first second of the next month (UTC), epoch seconds.
pub fn next_month_secs(ms: i64) -> i64 {
    let t = utc(ms);
    let (y, m) = if t.month() == time::Month::December {
        (t.year() + 1, time::Month::January)
    } else {
        (t.year(), t.month().next())
    };
    time::Date::from_calendar_date(y, m, 1)
        .map(|d| d.midnight().assume_utc().unix_timestamp())
        .unwrap_or(0)
}

/// The posts this run may read: what is left of the month's budget shared
/// equally by the runs left in the month (one every `interval_secs`), so the
/// cap is never spent early. `None` without a budget.
pub fn run_allowance(budget: u64, used: u64, now_ms: i64, interval_secs: u64) -> Option<u64> {
    if budget == 0 {
        return None;
    }
    let left = budget.saturating_sub(used);
    let secs_left = (next_month_secs(now_ms) - now_ms / 1000).max(1) as u64;
    let runs_left = secs_left.div_ceil(interval_secs.max(1)).max(1);
    Some(left.div_ceil(runs_left))
}

/// The query a run starts with: consecutive runs start one further along.
pub fn first_query(now_ms: i64, interval_secs: u64, queries: usize) -> usize {
    if queries == 0 {
        return 0;
    }
    ((now_ms / 1000) as u64 / interval_secs.max(1) % queries as u64) as usize
}

/// A cursor that fell out of recent search's 7 days and was restarted: the
/// posts between its time and the restart are not read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gap {
    pub query: String,
    pub since_id: u64,
    /// When the lost stretch began and where reading resumed (RFC 3339).
    pub from: String,
    pub to: String,
}

impl Gap {
    pub fn new(query: &str, since_id: u64, restart: u64) -> Self {
        let at = |id| {
            utc(tickerpulse_xapi::client::snowflake_millis(id))
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        };
        Self {
            query: query.to_string(),
            since_id,
            from: at(since_id),
            to: at(restart),
        }
    }
}

/// The run's figures as CloudWatch metrics, in the embedded metric format
/// (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/
/// CloudWatch_Embedded_Metric_Format_Specification.html): one line on stdout,
/// which Lambda sends to the function's log group, and CloudWatch turns into
/// `TickerPulse/Ingest` metrics that the template's alarms watch.
pub fn emit_metrics(r: &crate::IngestReport) {
    println!("{}", metrics_line(r, Clock::now().now_ms));
}

pub fn metrics_line(r: &crate::IngestReport, now_ms: i64) -> String {
    serde_json::json!({
        "_aws": {
            "Timestamp": now_ms,
            "CloudWatchMetrics": [{
                "Namespace": "TickerPulse/Ingest",
                "Dimensions": [[]],
                "Metrics": [
                    {"Name": "PostsRead", "Unit": "Count"},
                    {"Name": "CursorResets", "Unit": "Count"},
                    {"Name": "UsageCapped", "Unit": "Count"},
                ],
            }],
        },
        "PostsRead": r.tweets,
        "CursorResets": r.cursor_resets.len(),
        "UsageCapped": u8::from(r.usage_capped),
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        (tickerpulse_core::partition::parse_rfc3339(s)
            .unwrap()
            .unix_timestamp_nanos()
            / 1_000_000) as i64
    }

    #[test]
    fn months_and_their_ends() {
        assert_eq!(month(ms("2026-12-05T03:00:00Z")), "2026-12");
        assert_eq!(
            next_month_secs(ms("2026-12-31T23:59:59Z")),
            ms("2027-01-01T00:00:00Z") / 1000
        );
        assert_eq!(
            next_month_secs(ms("2026-02-10T00:00:00Z")),
            ms("2026-03-01T00:00:00Z") / 1000
        );
    }

    #[test]
    fn the_budget_is_shared_by_the_runs_left() {
        // 10,000 posts, the 1st at midnight, a run every 5 minutes: 8,928 runs
        // in December, 2 posts a run (rounded up).
        let start = ms("2026-12-01T00:00:00Z");
        assert_eq!(run_allowance(10_000, 0, start, 300), Some(2));
        // Half spent with half the month left: the same pace.
        let mid = ms("2026-12-16T12:00:00Z");
        assert_eq!(run_allowance(10_000, 5_000, mid, 300), Some(2));
        // Spent: nothing; no budget: no limit.
        assert_eq!(run_allowance(10_000, 10_000, mid, 300), Some(0));
        assert_eq!(run_allowance(0, 123, mid, 300), None);
        // The last run of the month may read all that is left.
        let last = ms("2026-12-31T23:58:00Z");
        assert_eq!(run_allowance(10_000, 9_000, last, 300), Some(1_000));
    }

    #[test]
    fn a_whole_month_of_runs_never_passes_the_budget() {
        let budget = 15_000u64;
        let mut used = 0u64;
        let mut t = ms("2026-11-01T00:00:00Z");
        let end = ms("2026-12-01T00:00:00Z");
        let mut runs = 0;
        while t < end {
            // Each run reads its whole allowance (the most it may).
            used += run_allowance(budget, used, t, 300).unwrap();
            assert!(used <= budget, "{used} after {runs} runs");
            t += 300_000;
            runs += 1;
        }
        assert_eq!(runs, 8640);
        assert!(
            used >= budget * 99 / 100,
            "the month's budget is used: {used}"
        );
        // Never more than a fair share in a day: 1/30 of the budget, rounded up per run.
        let first_day: u64 = (0..288)
            .scan(0u64, |u, i| {
                let a = run_allowance(budget, *u, ms("2026-11-01T00:00:00Z") + i * 300_000, 300)
                    .unwrap();
                *u += a;
                Some(a)
            })
            .sum();
        assert!(first_day <= budget / 30 + 288, "{first_day}");
    }

    #[test]
    fn runs_take_turns_at_the_first_query() {
        let t = ms("2026-12-05T03:00:00Z");
        let a = first_query(t, 300, 7);
        assert_eq!(first_query(t + 300_000, 300, 7), (a + 1) % 7);
        assert_eq!(first_query(t, 300, 0), 0);
    }
}
