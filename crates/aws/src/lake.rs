//! The S3 lake behind a small trait, so domain steps can be tested on any store.

use crate::HandlerError;
use tickerpulse_core::HourPartition;

/// Where the raw zone keeps its JSON lines.
pub const RAW_PREFIX: &str = "raw/tweets";

/// The lake as the pipeline sees it.
#[allow(async_fn_in_trait)]
pub trait Lake {
    /// Whether the raw zone has at least one object for this hour.
    async fn raw_partition_exists(&self, partition: &HourPartition) -> Result<bool, HandlerError>;
}

/// The lake in S3.
#[derive(Clone, Debug)]
pub struct S3Lake {
    pub client: aws_sdk_s3::Client,
    pub raw_bucket: String,
}

impl Lake for S3Lake {
    async fn raw_partition_exists(&self, partition: &HourPartition) -> Result<bool, HandlerError> {
        let prefix = format!("{RAW_PREFIX}/{}/", partition.path());
        let out = self
            .client
            .list_objects_v2()
            .bucket(&self.raw_bucket)
            .prefix(&prefix)
            .max_keys(1)
            .send()
            .await
            .map_err(|e| {
                HandlerError::from_sdk(&format!("listing s3://{}/{prefix}", self.raw_bucket), e)
            })?;
        Ok(out.key_count().unwrap_or(0) > 0)
    }
}
