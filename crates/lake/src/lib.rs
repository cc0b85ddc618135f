//! The lake's domain, pure (no AWS): the Parquet codec of stage 1 and 2,
//! compaction of raw JSON lines, cleaning and the spam rules.

pub mod codec;
pub mod compact;
pub mod fastjson;

pub use compact::{CompactStats, Compactor};

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
