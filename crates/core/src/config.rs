//! Names of the environment variables that `template.yaml` sets on the functions.
//!
//! The template is the one place where resources are declared; these are only the
//! variable names through which a function learns the physical names.

/// Bucket of the raw zone (Firehose output, JSON lines).
pub const RAW_BUCKET: &str = "RAW_BUCKET";
/// Bucket of stage 1 and stage 2 (Parquet).
pub const STAGE_BUCKET: &str = "STAGE_BUCKET";
/// Bucket of the analytics zone (Parquet by run id).
pub const ANALYTICS_BUCKET: &str = "ANALYTICS_BUCKET";
/// Ticker summaries per detail level.
pub const TICKER_SUMMARY_TABLE: &str = "TICKER_SUMMARY_TABLE";
/// Recent tweets, write-sharded.
pub const RECENT_TWEETS_TABLE: &str = "RECENT_TWEETS_TABLE";
/// Overall summaries per detail level.
pub const OVERALL_SUMMARY_TABLE: &str = "OVERALL_SUMMARY_TABLE";
/// Pipeline state: ingest cursors, the partition ledger, run records.
pub const STATE_TABLE: &str = "STATE_TABLE";
/// Firehose delivery stream that ingest writes to.
pub const DELIVERY_STREAM: &str = "DELIVERY_STREAM";
/// The users' alert rules.
pub const ALERT_RULES_TABLE: &str = "ALERT_RULES_TABLE";
/// Alerts fired: one item per firing, kept for `ALERT_HISTORY_DAYS`.
pub const ALERT_HISTORY_TABLE: &str = "ALERT_HISTORY_TABLE";
/// SNS topic that alerts are published to.
pub const ALERT_TOPIC_ARN: &str = "ALERT_TOPIC_ARN";
/// EventBridge bus that alerts are sent to.
pub const ALERT_EVENT_BUS: &str = "ALERT_EVENT_BUS";
/// `vader` or `finance`.
pub const SENTIMENT_MODE: &str = "SENTIMENT_MODE";

/// Where a function reads its configuration: the process environment in Lambda,
/// a map (the template's resolved variables) when the CLI runs handlers in-process.
pub trait Env: Send + Sync {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Env for std::collections::BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// Reads a required variable, naming it in the error.
pub fn required(env: &dyn Env, name: &'static str) -> Result<String, ConfigError> {
    match env.var(name) {
        Some(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(ConfigError::Missing(name)),
    }
}

/// Reads an optional variable, falling back to `default`.
pub fn optional(env: &dyn Env, name: &str, default: &str) -> String {
    env.var(name)
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// Reads an optional whole number within `range`, falling back to `default`: the
/// one parser of every function's numeric settings.
pub fn number<T>(
    env: &dyn Env,
    name: &'static str,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let Some(raw) = env.var(name).filter(|v| !v.trim().is_empty()) else {
        return Ok(default);
    };
    raw.trim()
        .parse::<T>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| ConfigError::Invalid {
            name,
            value: raw,
            reason: format!(
                "want a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        })
}

/// Reads an optional yes/no setting: `true`, `1` or `yes` are yes, `false`, `0` or
/// `no` are no; anything else is an error.
pub fn flag(env: &dyn Env, name: &'static str, default: bool) -> Result<bool, ConfigError> {
    match env.var(name).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if v.is_empty() => Ok(default),
        Some(v) if matches!(v.as_str(), "true" | "1" | "yes") => Ok(true),
        Some(v) if matches!(v.as_str(), "false" | "0" | "no") => Ok(false),
        Some(v) => Err(ConfigError::Invalid {
            name,
            value: v,
            reason: "want true or false".into(),
        }),
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("environment variable {0} is not set (template.yaml sets it on the function)")]
    Missing(&'static str),
    #[error("environment variable {name} has an invalid value {value:?}: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn numbers_default_parse_and_refuse_what_is_out_of_range() {
        let e = env(&[("A", " 12 "), ("B", "x"), ("C", "101"), ("D", "")]);
        assert_eq!(number(&e, "A", 5u32, 0..=100), Ok(12));
        assert_eq!(number(&e, "D", 5u32, 0..=100), Ok(5));
        assert_eq!(number(&e, "Z", 5u32, 0..=100), Ok(5));
        for name in ["B", "C"] {
            let err = number(&e, name, 5u32, 0..=100).unwrap_err();
            assert!(
                err.to_string()
                    .contains("want a whole number from 0 to 100"),
                "{err}"
            );
        }
        assert!(number(&env(&[("N", "-1")]), "N", 1i64, 0..=i64::MAX).is_err());
    }

    #[test]
    fn flags_take_yes_and_no_and_refuse_the_rest() {
        let e = env(&[("Y", "YES"), ("N", "0"), ("X", "maybe")]);
        assert_eq!(flag(&e, "Y", false), Ok(true));
        assert_eq!(flag(&e, "N", true), Ok(false));
        assert_eq!(flag(&e, "Z", true), Ok(true));
        assert!(flag(&e, "X", true).is_err());
    }
}
