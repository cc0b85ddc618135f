//! compact: one hour partition of the lake (see the README's data flow).

use serde::{Deserialize, Serialize};
use tickerpulse_aws::HandlerError;
use tickerpulse_core::config::{self, Env};
use tickerpulse_core::HourPartition;

/// One item of the pipeline's Map state.
#[derive(Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PartitionTask {
    /// `year=YYYY/month=MM/day=DD/hour=HH`
    pub partition: String,
}

pub struct Function {
    pub raw_bucket: String,
    pub stage_bucket: String,
}

impl Function {
    pub async fn from_env(env: &dyn Env) -> Result<Self, HandlerError> {
        Ok(Self {
            raw_bucket: config::required(env, config::RAW_BUCKET)?,
            stage_bucket: config::required(env, config::STAGE_BUCKET)?,
        })
    }

    pub async fn handle(&self, task: PartitionTask) -> Result<serde_json::Value, HandlerError> {
        let partition = HourPartition::from_key(&task.partition)
            .map_err(|e| HandlerError::InvalidInput(e.to_string()))?;
        tracing::info!(%partition, "compact invoked");
        Err(HandlerError::NotBuilt {
            what: "compact of an hour partition",
            issue: 5,
        })
    }
}
