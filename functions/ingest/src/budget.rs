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

/// The first second of the month (UTC), epoch seconds.
pub fn month_start_secs(ms: i64) -> i64 {
    let t = utc(ms);
    time::Date::from_calendar_date(t.year(), t.month(), 1)
        .map(|d| d.midnight().assume_utc().unix_timestamp())
        .unwrap_or(0)
}

/// The posts this run may read: the month's budget paced evenly over the
/// month (by now, the share of the month gone by), less what was read. However
/// often runs come, the cap is never spent early and never passed.
/// `None` without a budget.
pub fn run_allowance(budget: u64, used: u64, now_ms: i64) -> Option<u64> {
    if budget == 0 {
        return None;
    }
    let start = month_start_secs(now_ms);
    let length = (next_month_secs(now_ms) - start).max(1) as u128;
    let gone = (now_ms / 1000 - start).clamp(0, length as i64) as u128;
    let paced = (budget as u128 * gone / length) as u64;
    Some(paced.saturating_sub(used))
}

/// The query a run starts with: one further along every minute, so a small
/// allowance reaches each query in turn.
pub fn first_query(now_ms: i64, queries: usize) -> usize {
    if queries == 0 {
        return 0;
    }
    ((now_ms / 60_000) as u64 % queries as u64) as usize
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

    #[test]
    fn the_metrics_line_is_cloudwatch_embedded_metric_format() {
        let r = crate::IngestReport {
            tweets: 120,
            usage_capped: true,
            cursor_resets: vec![Gap::new("q", 1 << 40, 1 << 41)],
            ..Default::default()
        };
        let v: serde_json::Value = serde_json::from_str(&metrics_line(&r, 5)).unwrap();
        let m = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(m["Namespace"], "TickerPulse/Ingest");
        assert_eq!(v["_aws"]["Timestamp"], 5);
        for metric in m["Metrics"].as_array().unwrap() {
            let name = metric["Name"].as_str().unwrap();
            assert!(v[name].is_number(), "{name} has its value at the top level");
        }
        assert_eq!(
            (
                v["PostsRead"].as_u64(),
                v["CursorResets"].as_u64(),
                v["UsageCapped"].as_u64()
            ),
            (Some(120), Some(1), Some(1))
        );
    }

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
    fn the_budget_is_paced_over_the_month() {
        // 31 days in December: by noon of the 16th, 15.5 days, half the budget.
        let mid = ms("2026-12-16T12:00:00Z");
        assert_eq!(run_allowance(10_000, 0, mid), Some(5_000));
        assert_eq!(run_allowance(10_000, 4_000, mid), Some(1_000));
        // Ahead of the pace: nothing until the month catches up.
        assert_eq!(run_allowance(10_000, 6_000, mid), Some(0));
        assert_eq!(
            run_allowance(10_000, 0, ms("2026-12-01T00:00:00Z")),
            Some(0)
        );
        // No budget: no limit.
        assert_eq!(run_allowance(0, 123, mid), None);
        // The month's last second: all of it.
        assert_eq!(
            run_allowance(10_000, 9_000, ms("2026-12-31T23:59:59Z")),
            Some(999)
        );
    }

    #[test]
    fn a_month_of_runs_never_passes_the_budget_nor_spends_it_in_a_day() {
        let budget = 15_000u64;
        let mut used = 0u64;
        let start = ms("2026-11-01T00:00:00Z");
        let mut t = start;
        let mut runs = 0;
        let mut first_day = 0;
        while t < ms("2026-12-01T00:00:00Z") {
            // Each run reads its whole allowance (the most it may).
            used += run_allowance(budget, used, t).unwrap();
            assert!(used <= budget, "{used} after {runs} runs");
            if t < start + 86_400_000 {
                first_day = used;
            }
            t += 300_000;
            runs += 1;
        }
        assert_eq!(runs, 8640);
        assert!(
            used >= budget * 99 / 100,
            "the month's budget is used: {used}"
        );
        assert!(
            first_day <= budget / 30 + 1,
            "the first day read {first_day}"
        );
    }

    #[test]
    fn runs_take_turns_at_the_first_query() {
        let t = ms("2026-12-05T03:00:00Z");
        let a = first_query(t, 7);
        assert_eq!(first_query(t + 60_000, 7), (a + 1) % 7);
        assert_eq!(first_query(t, 0), 0);
    }
}
