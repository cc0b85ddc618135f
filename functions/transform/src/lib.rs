//! transform: the Firehose data-transformation Lambda. The work is in
//! `tickerpulse-enrich`; this crate reads the configuration and logs.

use tickerpulse_aws::HandlerError;
use tickerpulse_core::config::{self, Env};
use tickerpulse_core::watchlist::Watchlist;
use tickerpulse_vader::{Analyzer, Mode};

pub use tickerpulse_enrich::{
    enrich, read_records, BatchError, Counts, Failure, FirehoseEvent, FirehoseResponse,
    InputRecord, Metadata, OutputRecord, RecordRef, RecordResult, ResponseJson, Transformer,
    DEFAULT_LANGUAGES, RESPONSE_LIMIT,
};

pub struct Function {
    pub transformer: Transformer,
    /// Where the reasons of failed records go (the raw bucket); `None` keeps
    /// them in the log only.
    pub reasons: Option<(aws_sdk_s3::Client, String)>,
}

/// Parses `SENTIMENT_MODE`.
fn mode(env: &dyn Env) -> Result<Mode, HandlerError> {
    let raw = config::optional(env, config::SENTIMENT_MODE, "model");
    raw.parse().map_err(|_| {
        HandlerError::Config(config::ConfigError::Invalid {
            name: config::SENTIMENT_MODE,
            value: raw,
            reason: "want vader, finance or model".into(),
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
        let mut f = Self::new(analyzer, watchlist, languages);
        if let Some(bucket) = env.var(config::RAW_BUCKET).filter(|b| !b.is_empty()) {
            let conf = tickerpulse_aws::sdk::load(env).await;
            f.reasons = Some((tickerpulse_aws::sdk::s3_client(&conf), bucket));
        }
        Ok(f)
    }

    pub fn new(analyzer: Analyzer, watchlist: Watchlist, languages: Vec<String>) -> Self {
        Self {
            transformer: Transformer {
                enricher: enrich::Enricher::new(analyzer, watchlist, languages),
            },
            reasons: None,
        }
    }

    /// The invocation's payload as Lambda sends it: the event is read here,
    /// borrowing each record's data (see `main.rs` for how the runtime hands
    /// over the bytes).
    pub async fn handle_json(&self, payload: &[u8]) -> Result<ResponseJson, HandlerError> {
        let records = read_records(payload).map_err(to_handler)?;
        let mut failures = self.reasons.as_ref().map(|_| Vec::new());
        let (response, counts) = self
            .transformer
            .transform_explained(&records, &mut failures)
            .map_err(to_handler)?;
        if let (Some((s3, bucket)), Some(failures)) = (&self.reasons, failures) {
            self.write_reasons(s3, bucket, &failures).await;
        }
        tracing::info!(
            ok = counts.ok,
            dropped = counts.dropped,
            failed = counts.failed,
            over_size_limit = counts.over_size_limit,
            "transformed batch"
        );
        Ok(response)
    }

    /// Puts why each record failed beside Firehose's error records. The batch's
    /// answer does not wait on it: a failed write is logged, and the records
    /// still reach `raw-errors/` through Firehose.
    async fn write_reasons(
        &self,
        s3: &aws_sdk_s3::Client,
        bucket: &str,
        failures: &[tickerpulse_enrich::Failure],
    ) {
        let Some(first) = failures.first() else {
            return;
        };
        let mut lines = Vec::new();
        for f in failures {
            if serde_json::to_writer(&mut lines, f).is_ok() {
                lines.push(b'\n');
            }
        }
        let arrival = first.arrival_timestamp.unwrap_or_else(|| {
            (std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis())) as i64
        });
        // One object a batch: named by its first record (record ids are unique).
        let name = format!(
            "{:016x}",
            tickerpulse_core::hash::stable(first.record_id.as_bytes())
        );
        match tickerpulse_aws::lake::put_error_reasons(s3, bucket, arrival, &name, lines).await {
            Ok(key) => {
                tracing::info!(failed = failures.len(), %key, "reasons of the failed records written")
            }
            Err(e) => {
                tracing::error!(error = %e, "the failed records' reasons could not be written")
            }
        }
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
