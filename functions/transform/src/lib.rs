//! transform: the Firehose data-transformation Lambda.

use aws_lambda_events::event::firehose::{KinesisFirehoseEvent, KinesisFirehoseResponse};
use tickerpulse_aws::HandlerError;
use tickerpulse_core::config::{self, Env};

pub struct Function {
    /// `vader` or `finance`.
    pub sentiment_mode: String,
}

impl Function {
    pub async fn from_env(env: &dyn Env) -> Result<Self, HandlerError> {
        let sentiment_mode = config::optional(env, config::SENTIMENT_MODE, "finance");
        if !matches!(sentiment_mode.as_str(), "vader" | "finance") {
            return Err(HandlerError::Config(config::ConfigError::Invalid {
                name: config::SENTIMENT_MODE,
                value: sentiment_mode,
                reason: "want vader or finance".into(),
            }));
        }
        Ok(Self { sentiment_mode })
    }

    pub async fn handle(
        &self,
        event: KinesisFirehoseEvent,
    ) -> Result<KinesisFirehoseResponse, HandlerError> {
        tracing::info!(records = event.records.len(), "transform invoked");
        Err(HandlerError::NotBuilt {
            what: "transform: scoring and partitioning tweets",
            issue: 4,
        })
    }
}
