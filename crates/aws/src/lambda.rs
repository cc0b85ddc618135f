//! Lambda glue: logging and the error type every handler returns.

use lambda_runtime::Diagnostic;

/// The error a handler returns. Its `error_type` is what Step Functions matches in
/// `Retry` and `Catch` (`TickerPulse.Retryable` is retried with backoff,
/// `TickerPulse.Busy` at a slow pace; the others are not, because trying again
/// cannot help).
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The event or a record is malformed: retrying cannot help.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Configuration is missing or wrong.
    #[error(transparent)]
    Config(#[from] tickerpulse_core::config::ConfigError),
    /// A dependency failed in a way that may pass on a later try (throttling,
    /// timeouts, 5xx).
    #[error("retryable: {0}")]
    Retryable(String),
    /// Another run holds the job's lease: try again once it may have ended
    /// (the state machine waits a minute between tries, long enough in all).
    #[error("busy: {0}")]
    Busy(String),
    /// Anything else.
    #[error("{0}")]
    Fatal(String),
}

impl HandlerError {
    pub fn error_type(&self) -> &'static str {
        match self {
            HandlerError::InvalidInput(_) => "TickerPulse.InvalidInput",
            HandlerError::Config(_) => "TickerPulse.Config",
            HandlerError::Retryable(_) => "TickerPulse.Retryable",
            HandlerError::Busy(_) => "TickerPulse.Busy",
            HandlerError::Fatal(_) => "TickerPulse.Fatal",
        }
    }

    /// Classifies an SDK error: throttling, timeouts, dispatch failures and 5xx are
    /// retryable; the rest are not.
    pub fn from_sdk<E, R>(context: &str, err: aws_sdk_s3::error::SdkError<E, R>) -> Self
    where
        E: std::error::Error + Send + Sync + 'static + aws_sdk_s3::error::ProvideErrorMetadata,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        use aws_sdk_s3::error::SdkError;
        let retryable = match &err {
            SdkError::TimeoutError(_)
            | SdkError::DispatchFailure(_)
            | SdkError::ResponseError(_) => true,
            SdkError::ServiceError(e) => {
                let code = e.err().code().unwrap_or_default();
                code.contains("Throttl")
                    || code.contains("ProvisionedThroughputExceeded")
                    || code == "RequestLimitExceeded"
                    || code == "SlowDown"
                    || code == "InternalError"
                    || code == "ServiceUnavailable"
            }
            _ => false,
        };
        let text = format!("{context}: {}", crate::sdk::describe(&err));
        if retryable {
            HandlerError::Retryable(text)
        } else {
            HandlerError::Fatal(text)
        }
    }
}

impl From<HandlerError> for Diagnostic {
    fn from(err: HandlerError) -> Self {
        Diagnostic {
            error_type: err.error_type().to_string(),
            error_message: err.to_string(),
        }
    }
}

impl From<serde_json::Error> for HandlerError {
    fn from(err: serde_json::Error) -> Self {
        HandlerError::InvalidInput(err.to_string())
    }
}

/// JSON logs as Lambda expects them. The level and format follow the function's
/// logging configuration (`AWS_LAMBDA_LOG_FORMAT`, `AWS_LAMBDA_LOG_LEVEL`).
pub fn init_tracing() {
    lambda_runtime::tracing::init_default_subscriber();
}
