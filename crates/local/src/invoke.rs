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
    limit: std::sync::atomic::AtomicUsize,
    in_flight: std::sync::atomic::AtomicUsize,
    /// Invocations refused so far.
    pub throttled: std::sync::atomic::AtomicU64,
    released: tokio::sync::Notify,
}

impl Default for Concurrency {
    fn default() -> Self {
        Self {
            limit: std::sync::atomic::AtomicUsize::new(1_000),
            in_flight: std::sync::atomic::AtomicUsize::new(0),
            throttled: std::sync::atomic::AtomicU64::new(0),
            released: tokio::sync::Notify::new(),
        }
    }
}

/// One running execution; dropping it frees its place.
#[derive(Debug)]
pub struct Permit(Arc<Concurrency>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0
            .in_flight
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        self.0.released.notify_waiters();
    }
}

impl Concurrency {
    pub fn set_limit(&self, limit: usize) {
        self.limit.store(limit, std::sync::atomic::Ordering::SeqCst);
    }

    fn take(&self) -> bool {
        use std::sync::atomic::Ordering::SeqCst;
        let limit = self.limit.load(SeqCst);
        self.in_flight
            .fetch_update(SeqCst, SeqCst, |n| (n < limit).then_some(n + 1))
            .is_ok()
    }

    /// A place for a synchronous invocation, or `None`: throttled.
    pub fn try_acquire(self: &Arc<Self>) -> Option<Permit> {
        if self.take() {
            Some(Permit(self.clone()))
        } else {
            self.throttled
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            None
        }
    }

    /// A place for an asynchronous invocation: it waits, as Lambda's queue does.
    pub async fn acquire(self: &Arc<Self>) -> Permit {
        loop {
            let released = self.released.notified();
            if self.take() {
                return Permit(self.clone());
            }
            // Woken by a release, or polled again in case one slipped past.
            let _ = tokio::time::timeout(std::time::Duration::from_millis(50), released).await;
        }
    }
}
