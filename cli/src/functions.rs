//! Runs any TickerPulse function's real handler in-process, JSON in, JSON out, as
//! the Lambda Invoke API would.

use aws_lambda_events::event::apigw::ApiGatewayProxyResponse;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tickerpulse_aws::HandlerError;
use tickerpulse_core::config::Env;
use tickerpulse_local::{Invocation, Invoke, MakeInvoker};
pub use tickerpulse_local::{InvokeError, FUNCTIONS};
use tokio::sync::Mutex;

/// A constructed handler.
pub enum Handler {
    /// Boxed (ingest and api): they hold HTTP and SDK clients, several times the others' size.
    Ingest(Box<tickerpulse_fn_ingest::Function>),
    Transform(tickerpulse_fn_transform::Function),
    Plan(tickerpulse_fn_plan::Function),
    Compact(tickerpulse_fn_compact::Function),
    Clean(tickerpulse_fn_clean::Function),
    Aggregate(tickerpulse_fn_aggregate::Function),
    Pulse(tickerpulse_fn_pulse::Function),
    Api(Box<tickerpulse_fn_api::Function>),
    Track(tickerpulse_fn_track::Function),
    Social(Box<tickerpulse_fn_social::Function>),
    Comply(Box<tickerpulse_fn_comply::Function>),
}

fn parse<T: serde::de::DeserializeOwned>(
    function: &str,
    payload: Value,
) -> Result<T, HandlerError> {
    serde_json::from_value(payload).map_err(|e| {
        HandlerError::InvalidInput(format!(
            "{function}: the event does not match its type: {e}"
        ))
    })
}

fn to_json<T: serde::Serialize>(value: T) -> Result<Value, HandlerError> {
    serde_json::to_value(value)
        .map_err(|e| HandlerError::Fatal(format!("serializing the response: {e}")))
}

impl Handler {
    /// Builds a function's handler from its configuration.
    pub async fn build(binary: &str, env: &dyn Env) -> Result<Self, InvokeError> {
        Ok(match binary {
            "ingest" => Handler::Ingest(Box::new(
                tickerpulse_fn_ingest::Function::from_env(env).await?,
            )),
            "transform" => {
                Handler::Transform(tickerpulse_fn_transform::Function::from_env(env).await?)
            }
            "plan" => Handler::Plan(tickerpulse_fn_plan::Function::from_env(env).await?),
            "compact" => Handler::Compact(tickerpulse_fn_compact::Function::from_env(env).await?),
            "clean" => Handler::Clean(tickerpulse_fn_clean::Function::from_env(env).await?),
            "aggregate" => {
                Handler::Aggregate(tickerpulse_fn_aggregate::Function::from_env(env).await?)
            }
            "pulse" => Handler::Pulse(tickerpulse_fn_pulse::Function::from_env(env).await?),
            "api" => Handler::Api(Box::new(tickerpulse_fn_api::Function::from_env(env).await?)),
            "track" => Handler::Track(tickerpulse_fn_track::Function::from_env(env).await?),
            "social" => Handler::Social(Box::new(
                tickerpulse_fn_social::Function::from_env(env).await?,
            )),
            "comply" => Handler::Comply(Box::new(
                tickerpulse_fn_comply::Function::from_env(env).await?,
            )),
            other => return Err(InvokeError::UnknownFunction(other.to_string())),
        })
    }

    /// Invokes the handler with a JSON event, as Lambda would.
    pub async fn invoke(&self, payload: Value) -> Result<Value, HandlerError> {
        match self {
            Handler::Ingest(f) => to_json(f.handle(payload).await?),
            // As the Lambda does: the payload's bytes, read in place.
            Handler::Transform(f) => {
                let bytes = serde_json::to_vec(&payload)
                    .map_err(|e| HandlerError::Fatal(format!("serializing the event: {e}")))?;
                to_json(f.handle_json(&bytes).await?)
            }
            Handler::Plan(f) => to_json(f.handle(parse("plan", payload)?).await?),
            Handler::Compact(f) => to_json(f.handle(parse("compact", payload)?).await?),
            Handler::Clean(f) => to_json(f.handle(parse("clean", payload)?).await?),
            Handler::Aggregate(f) => to_json(f.handle(parse("aggregate", payload)?).await?),
            Handler::Track(f) => to_json(f.handle(parse("track", payload)?).await?),
            Handler::Pulse(f) => to_json(f.handle(parse("pulse", payload)?).await?),
            Handler::Social(f) => to_json(f.handle(payload).await?),
            Handler::Comply(f) => to_json(f.handle().await?),
            Handler::Api(f) => {
                let request =
                    lambda_http::request::from_str(&payload.to_string()).map_err(|e| {
                        HandlerError::InvalidInput(format!(
                            "api: not an API Gateway proxy event: {e}"
                        ))
                    })?;
                let response = f.handle(request).await?;
                to_json(proxy_response(response))
            }
        }
    }
}

/// An API Gateway (REST, v1) proxy response, as Lambda returns it.
fn proxy_response(response: lambda_http::Response<lambda_http::Body>) -> ApiGatewayProxyResponse {
    use aws_lambda_events::encodings::Body as EventBody;
    let (parts, body) = response.into_parts();
    let (body, is_base64_encoded) = match body {
        lambda_http::Body::Empty => (None, false),
        lambda_http::Body::Text(t) => (Some(EventBody::Text(t)), false),
        lambda_http::Body::Binary(b) => (Some(EventBody::Binary(b)), true),
        _ => (None, false),
    };
    let mut out = ApiGatewayProxyResponse::default();
    out.status_code = i64::from(parts.status.as_u16());
    out.multi_value_headers = parts.headers.clone();
    out.headers = parts.headers;
    out.body = body;
    out.is_base64_encoded = is_base64_encoded;
    out
}

/// Builds each handler once and keeps it, as a warm Lambda would, each with its
/// own function's environment.
pub struct Registry {
    envs: BTreeMap<String, BTreeMap<String, String>>,
    handlers: Mutex<HashMap<String, Arc<Handler>>>,
}

impl Registry {
    pub fn new(envs: BTreeMap<String, BTreeMap<String, String>>) -> Self {
        Self {
            envs,
            handlers: Mutex::new(HashMap::new()),
        }
    }

    pub async fn handler(&self, binary: &str) -> Result<Arc<Handler>, InvokeError> {
        let mut handlers = self.handlers.lock().await;
        if let Some(h) = handlers.get(binary) {
            return Ok(h.clone());
        }
        let env = self
            .envs
            .get(binary)
            .ok_or_else(|| InvokeError::UnknownFunction(binary.to_string()))?;
        let h = Arc::new(Handler::build(binary, env).await?);
        handlers.insert(binary.to_string(), h.clone());
        Ok(h)
    }

    pub async fn invoke(&self, binary: &str, payload: Value) -> Result<Value, InvokeError> {
        let handler = self.handler(binary).await?;
        Ok(handler.invoke(payload).await?)
    }
}

impl Invoke for Registry {
    fn invoke<'a>(&'a self, binary: &'a str, payload: Value) -> Invocation<'a> {
        Box::pin(Registry::invoke(self, binary, payload))
    }
}

/// What the local stack runs its functions with: a [`Registry`] of the real
/// handlers over the environment it is given.
pub fn invoker() -> MakeInvoker {
    Arc::new(|envs| Arc::new(Registry::new(envs)) as Arc<dyn Invoke>)
}
