//! The local stack's front door. It listens on the port that AWS clients (and moto's
//! own state-machine engine, through `MOTO_PORT`) use as the AWS endpoint, and:
//!
//! - answers the Lambda Invoke API (`POST /2015-03-31/functions/<name>/invocations`)
//!   by running the real Rust handler in-process;
//! - answers Firehose's `PutRecord`/`PutRecordBatch` with the local delivery
//!   (transform, then S3), see [`crate::firehose`];
//! - forwards every other request to moto unchanged.

use crate::firehose::LocalFirehose;
use crate::invoke::Invoke;
use crate::server::{json_reply, serve_http};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::net::TcpListener;

pub struct ProxyState {
    /// `http://127.0.0.1:<moto port>`
    pub moto: String,
    pub client: Client<HttpConnector, Full<Bytes>>,
    pub registry: Arc<dyn Invoke>,
    /// Physical function name -> Cargo binary.
    pub functions: HashMap<String, String>,
    pub firehose: LocalFirehose,
    /// The fake X API recent search, answered on the same port.
    pub x_api: Arc<tickerpulse_xapi::fake::FakeXState>,
    /// The fake Bluesky (`/xrpc/...`) and Reddit (`/api/v1/access_token`,
    /// `/r/...`), answered on the same port.
    pub bluesky: Arc<tickerpulse_social::fake::FakeBluesky>,
    pub reddit: Arc<tickerpulse_social::fake::FakeReddit>,
    /// Faults to inject into DynamoDB `BatchWriteItem` calls (tests of throttling).
    pub dynamodb_faults: Arc<DynamoFaults>,
    /// Invocations to fail (tests of partial runs).
    pub invoke_faults: Arc<InvokeFaults>,
    /// Latency added to AWS calls, and the calls counted (heavy-day runs).
    pub latency: Arc<Latency>,
    /// The roles the calls are signed as, each with the template's policies.
    pub roles: crate::iam::Roles,
    /// What IAM needs to name the resources of a call.
    pub names: crate::authz::Names,
    /// The account's concurrent Lambda executions (the Firehose delivery shares it).
    pub concurrency: Arc<crate::invoke::Concurrency>,
    /// Each function's asynchronous retries (`EventInvokeConfig`), by binary.
    pub async_retries: HashMap<String, u32>,
    /// Lambda waits about a minute before the first retry of a failed
    /// asynchronous invocation and two before the second; tests shorten it.
    pub async_retry_delay: std::sync::Mutex<std::time::Duration>,
}

/// How an asynchronous invocation ended, after its retries.
#[derive(Debug)]
pub struct AsyncOutcome {
    pub attempts: u32,
    pub result: Result<Value, String>,
}

/// Lambda's asynchronous invocation: queued until the account has room, retried
/// after a function error as often as the function's `EventInvokeConfig` says
/// (default 2, docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html),
/// then dropped with a log line (the template configures no destination).
pub fn invoke_async(
    state: &Arc<ProxyState>,
    binary: String,
    payload: Value,
) -> tokio::task::JoinHandle<AsyncOutcome> {
    let state = state.clone();
    tokio::spawn(async move {
        let retries = state.async_retries.get(&binary).copied().unwrap_or(2);
        let mut attempts = 0;
        loop {
            attempts += 1;
            let result = {
                let _permit = state.concurrency.acquire().await;
                match state.invoke_faults.matching(&binary, &payload.to_string()) {
                    Some(error_type) => Err(format!("{error_type}: injected by the local stack")),
                    None => state
                        .registry
                        .invoke(&binary, payload.clone())
                        .await
                        .map_err(|e| format!("{}: {e}", e.error_type())),
                }
            };
            match result {
                Ok(v) => {
                    return AsyncOutcome {
                        attempts,
                        result: Ok(v),
                    }
                }
                Err(e) if attempts > retries => {
                    tracing::warn!(function = %binary, attempts, error = %e, "asynchronous invocation failed; no retries left");
                    return AsyncOutcome {
                        attempts,
                        result: Err(e),
                    };
                }
                Err(e) => {
                    tracing::warn!(function = %binary, attempts, error = %e, "asynchronous invocation failed; Lambda retries it");
                    let delay = *state
                        .async_retry_delay
                        .lock()
                        .unwrap_or_else(|e| e.into_inner());
                    tokio::time::sleep(delay * attempts).await;
                }
            }
        }
    })
}

/// What the proxy adds to each DynamoDB and S3 call before moto answers it, so
/// that a run takes what it would take against AWS (set for heavy-day runs,
/// zero otherwise), and how many calls each service saw.
#[derive(Debug, Default)]
pub struct Latency {
    pub dynamodb_micros: std::sync::atomic::AtomicU64,
    pub s3_micros: std::sync::atomic::AtomicU64,
    pub dynamodb_calls: std::sync::atomic::AtomicU64,
    pub s3_calls: std::sync::atomic::AtomicU64,
}

impl Latency {
    pub fn set(&self, dynamodb: std::time::Duration, s3: std::time::Duration) {
        use std::sync::atomic::Ordering::Relaxed;
        self.dynamodb_micros
            .store(dynamodb.as_micros() as u64, Relaxed);
        self.s3_micros.store(s3.as_micros() as u64, Relaxed);
    }

    /// (DynamoDB calls, S3 calls) so far.
    pub fn calls(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (
            self.dynamodb_calls.load(Relaxed),
            self.s3_calls.load(Relaxed),
        )
    }

    /// Counts a call and waits as its service would: DynamoDB calls carry
    /// `x-amz-target: DynamoDB_20120810.*`, S3 calls are signed for `s3`.
    async fn delay(&self, headers: &http::HeaderMap) {
        use std::sync::atomic::Ordering::Relaxed;
        let header = |k: &str| {
            headers
                .get(k)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
        };
        let micros = if header("x-amz-target").starts_with("DynamoDB_20120810.") {
            self.dynamodb_calls.fetch_add(1, Relaxed);
            self.dynamodb_micros.load(Relaxed)
        } else if header("authorization").contains("/s3/aws4_request") {
            self.s3_calls.fetch_add(1, Relaxed);
            self.s3_micros.load(Relaxed)
        } else {
            0
        };
        if micros > 0 {
            tokio::time::sleep(std::time::Duration::from_micros(micros)).await;
        }
    }
}

/// Fails invocations of `function` (a binary name) whose payload contains
/// `contains`, with the handler error `error_type`, until removed.
#[derive(Debug, Default)]
pub struct InvokeFaults {
    pub rules: std::sync::Mutex<Vec<(String, String, String)>>,
}

impl InvokeFaults {
    pub fn fail(&self, function: &str, contains: &str, error_type: &str) {
        self.rules.lock().unwrap_or_else(|e| e.into_inner()).push((
            function.into(),
            contains.into(),
            error_type.into(),
        ));
    }
    pub fn clear(&self) {
        self.rules.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
    fn matching(&self, function: &str, payload: &str) -> Option<String> {
        self.rules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(f, c, _)| f == function && payload.contains(c.as_str()))
            .map(|(_, _, t)| t.clone())
    }
}

/// What the next `BatchWriteItem` call through the proxy suffers.
#[derive(Debug, Clone, PartialEq)]
pub enum DynamoFault {
    /// 400 `ProvisionedThroughputExceededException`, nothing written.
    Throttle,
    /// Only the first `keep` requests are written; the rest come back in `UnprocessedItems`.
    Unprocessed { keep: usize },
}

#[derive(Debug, Default)]
pub struct DynamoFaults {
    pub queue: std::sync::Mutex<std::collections::VecDeque<DynamoFault>>,
    /// Faults served so far.
    pub served: std::sync::atomic::AtomicUsize,
    /// The next this many reads (`Query`, `GetItem`) are throttled.
    pub read_throttles: std::sync::atomic::AtomicUsize,
    /// Every DynamoDB operation through the proxy, by name (`Query`, `Scan`...).
    pub operations: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
}

fn throttled() -> Response<Full<Bytes>> {
    json_reply(
        StatusCode::BAD_REQUEST,
        &[("x-amzn-errortype", "ProvisionedThroughputExceededException")],
        &json!({"__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                "message": "injected by the local stack: throughput exceeded"}),
    )
}

impl DynamoFaults {
    pub fn inject(&self, faults: impl IntoIterator<Item = DynamoFault>) {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(faults);
    }
    fn next(&self) -> Option<DynamoFault> {
        let f = self
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front();
        if f.is_some() {
            self.served
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        f
    }
}

/// Applies a fault to a `BatchWriteItem` call: a throttle answered here, or a
/// request cut down before moto sees it and the cut part returned unprocessed.
async fn batch_write_with_fault(
    state: &ProxyState,
    fault: DynamoFault,
    mut parts: http::request::Parts,
    body: Bytes,
) -> Response<Full<Bytes>> {
    let keep = match fault {
        DynamoFault::Throttle => return throttled(),
        DynamoFault::Unprocessed { keep } => keep,
    };
    let Ok(mut request) = serde_json::from_slice::<Value>(&body) else {
        return forward(state, parts, body).await;
    };
    let mut unprocessed = serde_json::Map::new();
    let mut kept = 0;
    if let Some(items) = request
        .get_mut("RequestItems")
        .and_then(Value::as_object_mut)
    {
        for (table, list) in items.iter_mut() {
            if let Some(list) = list.as_array_mut() {
                let take = keep.saturating_sub(kept).min(list.len());
                kept += take;
                let rest = list.split_off(take);
                if !rest.is_empty() {
                    unprocessed.insert(table.clone(), Value::Array(rest));
                }
            }
        }
        items.retain(|_, v| v.as_array().is_some_and(|a| !a.is_empty()));
    }
    let empty = request["RequestItems"]
        .as_object()
        .is_none_or(|m| m.is_empty());
    let mut reply = if empty {
        json!({"UnprocessedItems": {}})
    } else {
        parts.headers.remove(http::header::CONTENT_LENGTH);
        let resp = forward(state, parts, Bytes::from(request.to_string())).await;
        let (rparts, rbody) = resp.into_parts();
        let bytes = rbody
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        if !rparts.status.is_success() {
            return Response::from_parts(rparts, Full::new(bytes));
        }
        serde_json::from_slice(&bytes).unwrap_or_else(|_| json!({}))
    };
    if let Some(obj) = reply.as_object_mut() {
        let slot = obj.entry("UnprocessedItems").or_insert_with(|| json!({}));
        if let Some(map) = slot.as_object_mut() {
            for (table, rest) in unprocessed {
                let list = map.entry(table).or_insert_with(|| json!([]));
                if let (Some(list), Some(rest)) = (list.as_array_mut(), rest.as_array()) {
                    list.extend(rest.iter().cloned());
                }
            }
        }
    }
    json_reply(StatusCode::OK, &[], &reply)
}

impl ProxyState {
    pub fn new(
        moto: String,
        registry: Arc<dyn Invoke>,
        functions: HashMap<String, String>,
        firehose: LocalFirehose,
    ) -> Self {
        let client = Client::builder(TokioExecutor::new()).build_http();
        Self {
            moto,
            client,
            registry,
            functions,
            firehose,
            x_api: Arc::new(tickerpulse_xapi::fake::FakeXState::with_token(
                crate::stack::LOCAL_X_TOKEN,
            )),
            bluesky: Arc::new(tickerpulse_social::fake::FakeBluesky::new(
                crate::stack::LOCAL_BLUESKY_IDENTIFIER,
                crate::stack::LOCAL_BLUESKY_APP_PASSWORD,
            )),
            reddit: Arc::new(tickerpulse_social::fake::FakeReddit::new(
                crate::stack::LOCAL_REDDIT_CLIENT_ID,
                crate::stack::LOCAL_REDDIT_CLIENT_SECRET,
            )),
            dynamodb_faults: Arc::default(),
            invoke_faults: Arc::default(),
            latency: Arc::default(),
            roles: crate::iam::Roles::default(),
            names: crate::authz::Names::default(),
            concurrency: Arc::default(),
            async_retries: HashMap::new(),
            async_retry_delay: std::sync::Mutex::new(std::time::Duration::from_secs(60)),
        }
    }
}

/// Serves the proxy until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    state: Arc<ProxyState>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    serve_http(listener, move |req| handle(state.clone(), req), shutdown).await;
}

async fn handle(
    state: Arc<ProxyState>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return Ok(json_reply(
                StatusCode::BAD_REQUEST,
                &[],
                &json!({"message": format!("reading the request body: {e}")}),
            ))
        }
    };
    state.latency.delay(&parts.headers).await;
    let path = parts.uri.path().to_string();
    if parts.method == hyper::Method::GET
        && (path == "/2/tweets/search/recent" || path == "/2/tweets/search/all")
    {
        return Ok(tickerpulse_xapi::fake::answer(&state.x_api, &parts));
    }
    if tickerpulse_xapi::fake_compliance::is_compliance(&path) {
        return Ok(tickerpulse_xapi::fake_compliance::answer(
            &state.x_api,
            &parts,
            &body,
        ));
    }
    if tickerpulse_social::fake::is_bluesky(&path) {
        return Ok(tickerpulse_social::fake::answer_bluesky(
            &state.bluesky,
            &parts,
            &body,
        ));
    }
    if tickerpulse_social::fake::is_reddit(&path) {
        return Ok(tickerpulse_social::fake::answer_reddit(
            &state.reddit,
            &parts,
            &body,
        ));
    }
    // IAM: a call signed with a role's key does only what its policies allow.
    let mut role = None;
    if let Some((key, service)) = crate::authz::credential(&parts) {
        match state.roles.caller(&key) {
            crate::iam::Caller::Admin => {}
            crate::iam::Caller::Unknown(key) => {
                return Ok(crate::authz::unknown_key_reply(&service, &key));
            }
            crate::iam::Caller::Role(identity) => {
                for request in crate::authz::requests(&parts, &body, &service, &state.names) {
                    if let Err(denied) = identity.check(&request) {
                        tracing::warn!(role = %identity.role, action = %denied.action, resource = %denied.resource, "AccessDenied");
                        return Ok(crate::authz::denied_reply(
                            &service,
                            parts.method == hyper::Method::HEAD,
                            &denied.message,
                        ));
                    }
                }
                if service == "s3" {
                    role = Some(identity);
                }
            }
        }
    }
    if parts.method == hyper::Method::POST {
        if let Some(function) = path
            .strip_prefix("/2015-03-31/functions/")
            .and_then(|rest| rest.strip_suffix("/invocations"))
        {
            let invocation_type = parts
                .headers
                .get("x-amz-invocation-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("RequestResponse")
                .to_string();
            return Ok(invoke(&state, &percent_decode(function), &invocation_type, &body).await);
        }
        let target = parts
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if let Some(operation) = target.strip_prefix("DynamoDB_20120810.") {
            *state
                .dynamodb_faults
                .operations
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(operation.to_string())
                .or_default() += 1;
            if matches!(operation, "Query" | "GetItem") {
                let take = state.dynamodb_faults.read_throttles.fetch_update(
                    std::sync::atomic::Ordering::Relaxed,
                    std::sync::atomic::Ordering::Relaxed,
                    |n| n.checked_sub(1),
                );
                if take.is_ok() {
                    return Ok(throttled());
                }
            }
        }
        if target == "DynamoDB_20120810.BatchWriteItem" {
            if let Some(fault) = state.dynamodb_faults.next() {
                return Ok(batch_write_with_fault(&state, fault, parts, body).await);
            }
        }
        let firehose_op = match target {
            "Firehose_20150804.PutRecordBatch" => Some(true),
            "Firehose_20150804.PutRecord" => Some(false),
            _ => None,
        };
        if let Some(batch) = firehose_op {
            return Ok(match state.firehose.handle(&body, batch).await {
                Ok(v) => json_reply(StatusCode::OK, &[], &v),
                Err(f) => json_reply(
                    StatusCode::from_u16(f.status).unwrap_or(StatusCode::BAD_REQUEST),
                    &[("x-amzn-errortype", f.code)],
                    &json!({"__type": f.code, "message": f.message}),
                ),
            });
        }
    }
    let head = parts.method == hyper::Method::HEAD;
    let reply = forward(&state, parts, body).await;
    // S3 answers a missing key with 404 only to a caller allowed s3:ListBucket on
    // the bucket, and with 403 to anyone else
    // (docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, "Permissions").
    if let Some(identity) = role {
        let object = path.trim_start_matches('/').split_once('/');
        if let Some((bucket, _)) = object.filter(|(_, key)| !key.is_empty()) {
            if reply.status() != StatusCode::NOT_FOUND {
                return Ok(reply);
            }
            let list = crate::iam::Request::new("s3:ListBucket", format!("arn:aws:s3:::{bucket}"));
            if let Err(denied) = identity.check(&list) {
                return Ok(crate::authz::denied_reply("s3", head, &denied.message));
            }
        }
    }
    Ok(reply)
}

async fn forward(
    state: &ProxyState,
    parts: http::request::Parts,
    body: Bytes,
) -> Response<Full<Bytes>> {
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let uri = format!("{}{path_and_query}", state.moto);
    let mut builder = Request::builder().method(parts.method).uri(uri);
    for (k, v) in &parts.headers {
        builder = builder.header(k, v);
    }
    let request = match builder.body(Full::new(body)) {
        Ok(r) => r,
        Err(e) => {
            return json_reply(
                StatusCode::BAD_GATEWAY,
                &[],
                &json!({"message": e.to_string()}),
            )
        }
    };
    match state.client.request(request).await {
        Ok(resp) => {
            let (parts, body) = resp.into_parts();
            let bytes = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            Response::from_parts(parts, Full::new(bytes))
        }
        Err(e) => json_reply(
            StatusCode::BAD_GATEWAY,
            &[],
            &json!({"message": format!("the emulator did not answer: {e}")}),
        ),
    }
}

/// `arn:aws:lambda:us-east-1:123:function:name:qualifier` or `name` -> `name`.
fn function_name(reference: &str) -> &str {
    match reference.split_once(":function:") {
        Some((_, rest)) => rest.split(':').next().unwrap_or(rest),
        None => reference.split(':').next().unwrap_or(reference),
    }
}

/// Lambda's payload quotas (docs.aws.amazon.com/lambda/latest/api/API_Invoke.html):
/// 6 MB for a synchronous request or response, 1 MB for an asynchronous request.
pub const SYNC_PAYLOAD_LIMIT: usize = 6_291_456;
pub const ASYNC_PAYLOAD_LIMIT: usize = 1_048_576;

/// Lambda's refusal of a request over its payload quota.
fn too_large_request(limit: usize) -> Response<Full<Bytes>> {
    json_reply(
        StatusCode::PAYLOAD_TOO_LARGE,
        &[
            ("x-amzn-errortype", "RequestEntityTooLargeException"),
            ("x-amzn-requestid", "00000000-0000-0000-0000-000000000413"),
        ],
        &json!({"Type": "User", "message": format!("Request must be smaller than {limit} bytes for the InvokeFunction operation")}),
    )
}

/// Lambda's answer for a function that failed: 200 with `X-Amz-Function-Error`,
/// the error's type (what the state machine's `Retry` and `Catch` match) in the body.
fn function_error(error_type: &str, message: &str) -> Response<Full<Bytes>> {
    json_reply(
        StatusCode::OK,
        &[
            ("x-amz-function-error", "Unhandled"),
            ("x-amz-executed-version", "$LATEST"),
        ],
        &json!({"errorType": error_type, "errorMessage": message}),
    )
}

/// A synchronous response over 6 MB is the function's failure, not its answer.
fn sized_response(value: &Value) -> Response<Full<Bytes>> {
    let body = value.to_string();
    if body.len() > SYNC_PAYLOAD_LIMIT {
        return function_error(
            "Function.ResponseSizeTooLarge",
            &format!(
                "Response payload size ({} bytes) exceeded maximum allowed payload size ({SYNC_PAYLOAD_LIMIT} bytes).",
                body.len()
            ),
        );
    }
    crate::server::json_bytes_reply(
        StatusCode::OK,
        &[("x-amz-executed-version", "$LATEST")],
        Bytes::from(body),
    )
}

async fn invoke(
    state: &Arc<ProxyState>,
    reference: &str,
    invocation_type: &str,
    body: &[u8],
) -> Response<Full<Bytes>> {
    let name = function_name(reference);
    let Some(binary) = state.functions.get(name).cloned() else {
        return json_reply(
            StatusCode::NOT_FOUND,
            &[("x-amzn-errortype", "ResourceNotFoundException")],
            &json!({"Type": "User", "message": format!("Function not found: {reference}")}),
        );
    };
    let limit = if invocation_type == "Event" {
        ASYNC_PAYLOAD_LIMIT
    } else {
        SYNC_PAYLOAD_LIMIT
    };
    if body.len() > limit {
        return too_large_request(limit);
    }
    let payload: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                return json_reply(
                    StatusCode::BAD_REQUEST,
                    &[("x-amzn-errortype", "InvalidRequestContentException")],
                    &json!({"Type": "User", "message": format!("Could not parse request body into json: {e}")}),
                )
            }
        }
    };
    if invocation_type == "DryRun" {
        return Response::builder()
            .status(StatusCode::NO_CONTENT)
            .body(Full::new(Bytes::new()))
            .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())));
    }
    if invocation_type == "Event" {
        drop(invoke_async(state, binary, payload));
        return json_reply(StatusCode::ACCEPTED, &[], &json!({}));
    }
    // Past the account's concurrent executions: throttled, as Lambda answers
    // (docs.aws.amazon.com/lambda/latest/api/API_Invoke.html, TooManyRequestsException);
    // moto's engine reports it to the state machine as Lambda.TooManyRequestsException.
    let Some(_permit) = state.concurrency.try_acquire() else {
        tracing::warn!(function = %binary, "throttled");
        return json_reply(
            StatusCode::TOO_MANY_REQUESTS,
            &[
                ("x-amzn-errortype", "TooManyRequestsException"),
                ("x-amzn-requestid", "00000000-0000-0000-0000-000000000429"),
            ],
            &json!({"Type": "User", "message": "Rate Exceeded.", "Reason": "ConcurrentInvocationLimitExceeded"}),
        );
    };
    tracing::info!(function = %binary, "invoke");
    if let Some(error_type) = state.invoke_faults.matching(&binary, &payload.to_string()) {
        return function_error(&error_type, "injected by the local stack");
    }
    match state.registry.invoke(&binary, payload).await {
        Ok(v) => sized_response(&v),
        Err(e) => {
            tracing::warn!(function = %binary, error = %e, "invocation failed");
            function_error(e.error_type(), &e.to_string())
        }
    }
}

/// Decodes `%XX` escapes of a path segment; malformed escapes are kept as they are.
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_past_lambdas_quotas_are_refused() {
        assert_eq!(
            too_large_request(SYNC_PAYLOAD_LIMIT).status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
        let small = sized_response(&json!({"ok": true}));
        assert!(small.headers().get("x-amz-function-error").is_none());
        let big = sized_response(&json!("x".repeat(SYNC_PAYLOAD_LIMIT)));
        assert_eq!(big.headers()["x-amz-function-error"], "Unhandled");
    }

    #[test]
    fn function_references_resolve_to_names() {
        assert_eq!(function_name("tickerpulse-plan"), "tickerpulse-plan");
        assert_eq!(
            function_name("arn:aws:lambda:us-east-1:123456789012:function:tickerpulse-plan"),
            "tickerpulse-plan"
        );
        assert_eq!(
            function_name(
                "arn:aws:lambda:us-east-1:123456789012:function:tickerpulse-plan:$LATEST"
            ),
            "tickerpulse-plan"
        );
        assert_eq!(
            percent_decode("arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Ax"),
            "arn:aws:lambda:us-east-1:1:function:x"
        );
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%41"), "A");
        assert_eq!(percent_decode("%é1"), "%é1");
        assert_eq!(percent_decode("a+b"), "a+b");
    }
}
