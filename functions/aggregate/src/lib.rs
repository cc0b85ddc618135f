//! aggregate: stage 2 to the analytics zone and the DynamoDB serving tables.

use serde::{Deserialize, Serialize};
use tickerpulse_aws::HandlerError;
use tickerpulse_core::config::{self, Env};

/// The state machine passes the plan on.
#[derive(Debug, Deserialize, Serialize, PartialEq)]
pub struct AggregateRequest {
    pub partitions: Vec<String>,
}

pub struct Function {
    pub stage_bucket: String,
    pub ticker_summary_table: String,
}

impl Function {
    pub async fn from_env(env: &dyn Env) -> Result<Self, HandlerError> {
        Ok(Self {
            stage_bucket: config::required(env, config::STAGE_BUCKET)?,
            ticker_summary_table: config::required(env, config::TICKER_SUMMARY_TABLE)?,
        })
    }

    pub async fn handle(
        &self,
        request: AggregateRequest,
    ) -> Result<serde_json::Value, HandlerError> {
        tracing::info!(partitions = request.partitions.len(), "aggregate invoked");
        Err(HandlerError::NotBuilt {
            what: "aggregate: summaries to the analytics zone and DynamoDB",
            issue: 6,
        })
    }
}
