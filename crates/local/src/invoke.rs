//! How the emulator runs a function: whoever embeds it (the CLI, the tests) hands
//! it an [`Invoke`], so the emulator depends on no function crate.

use serde_json::Value;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tickerpulse_aws::HandlerError;

/// The Cargo binary names of the functions, as `template.yaml` builds them.
pub const FUNCTIONS: &[&str] = &[
    "ingest",
    "transform",
    "plan",
    "compact",
    "clean",
    "aggregate",
    "pulse",
    "api",
    "track",
    "social",
    "comply",
];

#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error("unknown function {0:?} (known: {list})", list = FUNCTIONS.join(", "))]
    UnknownFunction(String),
    #[error(transparent)]
    Handler(#[from] HandlerError),
}

impl InvokeError {
    /// The Lambda `errorType` this failure reports.
    pub fn error_type(&self) -> &'static str {
        match self {
            InvokeError::UnknownFunction(_) => "ResourceNotFoundException",
            InvokeError::Handler(e) => e.error_type(),
        }
    }
}

/// A boxed invocation, so that [`Invoke`] can be used as a trait object.
pub type Invocation<'a> = Pin<Box<dyn Future<Output = Result<Value, InvokeError>> + Send + 'a>>;

/// Runs a function's handler with a JSON event, as the Lambda Invoke API would.
pub trait Invoke: Send + Sync {
    fn invoke<'a>(&'a self, binary: &'a str, payload: Value) -> Invocation<'a>;
}

/// Builds the emulator's [`Invoke`] from each function's environment (by Cargo
/// binary: the template's variables pointed at the local stack, and the
/// credentials of the function's role).
pub type MakeInvoker =
    Arc<dyn Fn(BTreeMap<String, BTreeMap<String, String>>) -> Arc<dyn Invoke> + Send + Sync>;

/// The account's concurrent executions, as Lambda counts them: an invocation
/// past the limit is throttled (`TooManyRequestsException`, 429, for a
/// synchronous call; an asynchronous one waits in Lambda's queue).
/// docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html. The limit is
/// AWS's default quota (1,000) unless a test sets a new account's 10.
#[derive(Debug)]
pub struct Concurrency {
    places: Arc<tokio::sync::Semaphore>,
    limit: std::sync::Mutex<usize>,
    /// Invocations refused so far.
    pub throttled: std::sync::atomic::AtomicU64,
}

impl Default for Concurrency {
    fn default() -> Self {
        Self {
            places: Arc::new(tokio::sync::Semaphore::new(1_000)),
            limit: std::sync::Mutex::new(1_000),
            throttled: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

/// One running execution; dropping it frees its place.
pub type Permit = tokio::sync::OwnedSemaphorePermit;

impl Concurrency {
    /// A new limit; set it while nothing runs (places in use are not taken back).
    pub fn set_limit(&self, limit: usize) {
        let mut current = self.limit.lock().unwrap_or_else(|e| e.into_inner());
        if limit > *current {
            self.places.add_permits(limit - *current);
        } else {
            self.places.forget_permits(*current - limit);
        }
        *current = limit;
    }

    /// A place for a synchronous invocation, or `None`: throttled.
    pub fn try_acquire(&self) -> Option<Permit> {
        let place = self.places.clone().try_acquire_owned().ok();
        if place.is_none() {
            self.throttled
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        place
    }

    /// A place for an asynchronous invocation: it waits, as Lambda's queue does.
    pub async fn acquire(&self) -> Permit {
        self.places
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed")
    }
}
