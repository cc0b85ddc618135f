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
