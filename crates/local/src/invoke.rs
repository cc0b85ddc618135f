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
