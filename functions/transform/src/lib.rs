//! transform: the Firehose data-transformation Lambda. The work is in
//! `tickerpulse-enrich`; this crate reads the configuration and logs.

use tickerpulse_aws::HandlerError;
use tickerpulse_core::config::{self, Env};
use tickerpulse_core::watchlist::Watchlist;
use tickerpulse_vader::{Analyzer, Mode};

pub use tickerpulse_enrich::{
    enrich, read_records, BatchError, Counts, FirehoseEvent, FirehoseResponse, InputRecord,
    Metadata, OutputRecord, RecordRef, RecordResult, ResponseJson, Transformer, DEFAULT_LANGUAGES,
    RESPONSE_LIMIT,
};

pub struct Function {
    pub transformer: Transformer,
}

/// Parses `SENTIMENT_MODE`.
fn mode(env: &dyn Env) -> Result<Mode, HandlerError> {
    let raw = config::optional(env, config::SENTIMENT_MODE, "finance");
    raw.parse().map_err(|_| {
        HandlerError::Config(config::ConfigError::Invalid {
            name: config::SENTIMENT_MODE,
            value: raw,
            reason: "want vader or finance".into(),
        })
    })
}

impl Function {
    pub async fn from_env(env: &dyn Env) -> Result<Self, HandlerError> {
        let analyzer = Analyzer::new(mode(env)?);
        let watchlist = tickerpulse_aws::watchlist::load(env).await?;
        let languages = config::optional(env, "TRANSFORM_LANGUAGES", DEFAULT_LANGUAGES);
        let languages = if languages.trim() == "*" {
            Vec::new()
        } else {
            languages
                .split(',')
                .map(|l| l.trim().to_ascii_lowercase())
                .filter(|l| !l.is_empty())
                .collect()
        };
        Ok(Self::new(analyzer, watchlist, languages))
    }

    pub fn new(analyzer: Analyzer, watchlist: Watchlist, languages: Vec<String>) -> Self {
        Self {
            transformer: Transformer {
                enricher: enrich::Enricher {
                    analyzer,
                    watchlist,
                    languages,
                },
            },
        }
    }

    /// The invocation's payload as Lambda sends it: the event is read here,
    /// borrowing each record's data (see `main.rs` for how the runtime hands
    /// over the bytes).
    pub async fn handle_json(&self, payload: &[u8]) -> Result<ResponseJson, HandlerError> {
        let (response, counts) = self
            .transformer
            .transform_json(payload)
            .map_err(to_handler)?;
        tracing::info!(
            ok = counts.ok,
            dropped = counts.dropped,
            failed = counts.failed,
            over_size_limit = counts.over_size_limit,
            "transformed batch"
        );
        Ok(response)
    }

    /// The whole batch, synchronously.
    pub fn transform(&self, event: FirehoseEvent) -> Result<(ResponseJson, Counts), HandlerError> {
        self.transformer.transform(event).map_err(to_handler)
    }

    /// The whole batch, parsed back into records (for tests and tools).
    pub fn transform_records(
        &self,
        event: FirehoseEvent,
    ) -> Result<(FirehoseResponse, Counts), HandlerError> {
        let (json, counts) = self.transform(event)?;
        let response = serde_json::from_str(json.get())
            .map_err(|e| HandlerError::Fatal(format!("transform response: {e}")))?;
        Ok((response, counts))
    }
}

/// A payload that is not an event is the caller's error (not retried as is);
/// a response that cannot be assembled is ours.
fn to_handler(e: BatchError) -> HandlerError {
    match e {
        BatchError::NotAnEvent(_) => HandlerError::InvalidInput(e.to_string()),
        BatchError::Response(_) => HandlerError::Fatal(e.to_string()),
    }
}
