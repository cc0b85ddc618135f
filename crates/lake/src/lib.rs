//! The lake's domain, pure (no AWS): the Parquet codec of stage 1 and 2,
//! compaction of raw JSON lines, cleaning and the spam rules.

pub mod clean;
pub mod codec;
pub mod compact;
pub mod fastjson;

pub use clean::{clean, CleanStats, SpamRules};
pub use compact::{CompactStats, Compactor};

/// Where each zone keeps its files (one file per hour partition and table,
/// under Hive-style `year=/month=/day=/hour=` folders).
pub mod layout {
    use tickerpulse_core::HourPartition;

    pub const STAGE1_TWEETS: &str = "stage1/tweets";
    pub const STAGE2_CLEANED: &str = "stage2/cleaned_tweets";
    pub const STAGE2_SPAM: &str = "stage2/spam_tweets";
    /// Every stage table: each holds posts' text, one file per hour.
    pub const STAGE_TABLES: [&str; 3] = [STAGE1_TWEETS, STAGE2_CLEANED, STAGE2_SPAM];
    /// The one file of a partition: a rerun writes the same key, so it replaces.
    pub const FILE_NAME: &str = "part-00000.zstd.parquet";

    /// The analytics zone's tables (the Glue tables `analytics_ticker_summary` and
    /// `analytics_overall_summary`, partitioned by `run_id`).
    pub const ANALYTICS_TICKER_SUMMARY: &str = "analytics/ticker_summary";
    pub const ANALYTICS_OVERALL_SUMMARY: &str = "analytics/overall_summary";

    pub fn key(table: &str, partition: &HourPartition) -> String {
        format!("{table}/{}/{FILE_NAME}", partition.path())
    }

    /// The one file of a run in an analytics table.
    pub fn analytics_key(table: &str, run_id: &str) -> String {
        format!("{table}/run_id={run_id}/{FILE_NAME}")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    #[error("reading {0}")]
    Read(String),
    #[error("{0}")]
    Invalid(String),
}
