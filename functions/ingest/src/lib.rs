//! ingest: polls the X API v2 recent search for the watch list and sends tweets to
//! Firehose. Triggered by an EventBridge schedule, or with a backfill event.

use serde::Deserialize;
use tickerpulse_aws::HandlerError;
use tickerpulse_core::config::{self, Env};

/// What an invocation asks for.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum IngestRequest {
    /// `{"start_time": ..., "end_time": ..., "window": "15m"}`
    Backfill {
        start_time: String,
        end_time: String,
        #[serde(default)]
        window: Option<String>,
    },
    /// An EventBridge scheduled event (`detail-type: Scheduled Event`).
    Scheduled {
        #[serde(rename = "detail-type")]
        detail_type: String,
    },
}

pub struct Function {
    pub delivery_stream: String,
    pub state_table: String,
}

impl Function {
    pub async fn from_env(env: &dyn Env) -> Result<Self, HandlerError> {
        Ok(Self {
            delivery_stream: config::required(env, config::DELIVERY_STREAM)?,
            state_table: config::required(env, config::STATE_TABLE)?,
        })
    }

    pub async fn handle(
        &self,
        event: serde_json::Value,
    ) -> Result<serde_json::Value, HandlerError> {
        let request: IngestRequest = serde_json::from_value(event).map_err(|e| {
            HandlerError::InvalidInput(format!(
                "want an EventBridge scheduled event or {{\"start_time\",\"end_time\",\"window\"}}: {e}"
            ))
        })?;
        tracing::info!(?request, stream = %self.delivery_stream, "ingest invoked");
        Err(HandlerError::NotBuilt {
            what: "ingest: polling the X API and sending to Firehose",
            issue: 4,
        })
    }
}
