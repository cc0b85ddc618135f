//! Backfill windows: a time range cut into `[start, end)` windows.

use std::time::Duration;
use tickerpulse_core::partition::parse_rfc3339;

/// The most windows one backfill event may ask for.
pub const MAX_WINDOWS: usize = 2000;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum WindowError {
    #[error("window {0:?}: want a number and s, m or h, such as 15m")]
    BadWindow(String),
    #[error("{0}")]
    BadTime(String),
    #[error("end_time {end} is not after start_time {start}")]
    Empty { start: String, end: String },
    #[error("{0} windows: use a larger window")]
    TooMany(usize),
}

/// `15m`, `1h`, `30s`: from 10 seconds to 7 days.
pub fn parse_window(w: &str) -> Result<Duration, WindowError> {
    let bad = || WindowError::BadWindow(w.to_string());
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
) -> Result<Vec<(String, String)>, WindowError> {
    let fmt = time::format_description::well_known::Rfc3339;
    let bad_time = |e: &dyn std::fmt::Display| WindowError::BadTime(e.to_string());
    let a = parse_rfc3339(start).map_err(|e| bad_time(&e))?;
    let b = parse_rfc3339(end).map_err(|e| bad_time(&e))?;
    if b <= a {
        return Err(WindowError::Empty {
            start: start.to_string(),
            end: end.to_string(),
        });
    }
    let step = time::Duration::try_from(window).map_err(|e| bad_time(&e))?;
    let count = ((b - a).whole_seconds() as f64 / step.whole_seconds() as f64).ceil() as usize;
    if count > MAX_WINDOWS {
        return Err(WindowError::TooMany(count));
    }
    let mut out = Vec::with_capacity(count);
    let mut t = a;
    while t < b {
        let next = (t + step).min(b);
        let f = |x: time::OffsetDateTime| x.format(&fmt).map_err(|e| bad_time(&e));
        out.push((f(t)?, f(next)?));
        t = next;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
