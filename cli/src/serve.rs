//! `tickerpulse serve`: the API function on loopback, as API Gateway runs it.
//! Each HTTP request becomes an API Gateway REST proxy event (the JSON that
//! `sam local start-api` would send), parsed by `lambda_http` exactly as in
//! Lambda and answered by the same handler. The stage prefix (`/v1`) is taken
//! off the path as the gateway does, and a path outside it is refused as the
//! gateway refuses it (`/` alone redirects to the stage). With an authorizer
//! (the local stack's user pool) the routes that need a user refuse a request
//! without a valid ID token with the gateway's 401, and hand the handler the
//! token's claims; with API keys, the routes that need a key refuse a request
//! without one of them with the gateway's 403 (`api/openapi.yaml` says which);
//! with the stack's usage plans (`check_keys`), each user's own key (the one
//! `/me` hands out) opens them too, throttled by its plan.
//! A route the OpenAPI file does not declare is the gateway's 403
//! `MISSING_AUTHENTICATION_TOKEN`, and with `throttle` set (as `serve` and the
//! demo set it from the template's usage plans) a key past its burst gets 429.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tickerpulse_local::apigw::{
    in_stage, proxy_event, resource_path, security, with_claims, STAGE,
};
use tickerpulse_local::cognito::Authorizer;
use tokio::net::TcpListener;

/// API Gateway refuses larger request bodies (10 MB); the API takes none.
const MAX_BODY: usize = 10 * 1024 * 1024;

pub struct ApiServer {
    pub function: tickerpulse_fn_api::Function,
    /// The keys of the usage plans: any one of them opens a keyed route.
    pub api_keys: Vec<String>,
    /// The Cognito authorizer; `None` serves every route without a user.
    pub authorizer: Option<Authorizer>,
    requests: AtomicU64,
    /// The resources and methods of api/openapi.yaml: anything else is the
    /// gateway's 403 `MISSING_AUTHENTICATION_TOKEN`, as API Gateway answers a
    /// request no method matches.
    routes: Vec<(Vec<String>, Vec<String>)>,
    /// The usage plans' throttle, per key (requests without one share a bucket
    /// as the stage's method throttle): `None` until `throttle` sets it.
    buckets: std::sync::Mutex<Option<Buckets>>,
    /// The stack's usage plans in moto: a key of one of them opens a keyed
    /// route and is throttled by its plan (each user's own key).
    key_check: std::sync::OnceLock<tickerpulse_local::keys::KeyCheck>,
}

/// Token buckets of API Gateway's throttle: `rate` requests a second refill up
/// to `burst` (docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html).
#[derive(Default)]
struct Buckets {
    /// The limits of a key without a plan of its own (`throttle`); `None`:
    /// such keys are not throttled.
    default: Option<(f64, f64)>,
    by_key: std::collections::HashMap<String, (f64, std::time::Instant)>,
}

impl Buckets {
    /// One request of `key`, under its plan's `limits` (else the default).
    fn take(&mut self, key: &str, limits: Option<(f64, f64)>) -> bool {
        let Some((rate, burst)) = limits.or(self.default) else {
            return true;
        };
        let now = std::time::Instant::now();
        let (tokens, at) = self.by_key.entry(key.to_string()).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The resources and methods api/openapi.yaml declares (path segments, `{x}`
/// matching one segment).
fn openapi_routes() -> Vec<(Vec<String>, Vec<String>)> {
    let doc: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(include_str!("../../api/openapi.yaml")).unwrap_or_default();
    doc.get("paths")
        .and_then(|p| p.as_mapping())
        .into_iter()
        .flatten()
        .filter_map(|(path, item)| {
            let segments = path
                .as_str()?
                .split('/')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            let methods = item
                .as_mapping()?
                .keys()
                .filter_map(|m| m.as_str())
                .filter(|m| !m.starts_with("x-") && *m != "parameters")
                .map(str::to_uppercase)
                .collect();
            Some((segments, methods))
        })
        .collect()
}

impl ApiServer {
    fn routed(&self, method: &str, path: &str) -> bool {
        let sent: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        self.routes.iter().any(|(segments, methods)| {
            segments.len() == sent.len()
                && segments.iter().zip(&sent).all(|(t, s)| {
                    t == s || (t.starts_with('{') && t.ends_with('}') && !s.is_empty())
                })
                && methods.iter().any(|m| m == method)
        })
    }

    /// Throttles as the usage plans do: `rate` a second, `burst` at once, per key
    /// (the template's plans: 20 and 50). `tickerpulse serve` and the demo set it.
    pub fn throttle(&self, rate: f64, burst: f64) {
        self.buckets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(Buckets::default)
            .default = Some((rate, burst));
    }
}

impl ApiServer {
    /// Requires `api_key` (and the function's dashboard key) where the deployed
    /// API requires a key; no user.
    pub fn new(function: tickerpulse_fn_api::Function, api_key: Option<String>) -> Arc<Self> {
        Self::guarded(function, api_key, None)
    }

    /// As deployed: keys, and the user pool's authorizer.
    pub fn guarded(
        function: tickerpulse_fn_api::Function,
        api_key: Option<String>,
        authorizer: Option<Authorizer>,
    ) -> Arc<Self> {
        // `api_key` is a programmatic client's; users' own keys (what `/me`
        // hands out) open keyed routes once `check_keys` names their plans.
        let api_keys: Vec<String> = api_key.into_iter().collect();
        Arc::new(Self {
            function,
            api_keys,
            authorizer,
            requests: AtomicU64::new(0),
            routes: openapi_routes(),
            buckets: std::sync::Mutex::new(None),
            key_check: std::sync::OnceLock::new(),
        })
    }

    /// Accepts the keys of the stack's usage plans (users' own keys), each
    /// throttled by its plan, as the stage does.
    pub fn check_keys(&self, check: tickerpulse_local::keys::KeyCheck) {
        let _ = self.key_check.set(check);
        self.buckets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(Buckets::default);
    }
}

fn reply(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// The gateway's own answer (DEFAULT_4XX and DEFAULT_5XX of api/openapi.yaml):
/// its JSON, and the stack's CorsAllowOrigin, which the function also sends.
fn gateway_reply(server: &ApiServer, status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    let mut r = reply(status, body);
    if let Some(origin) = &server.function.cors_origin {
        r.headers_mut()
            .insert(hyper::header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    }
    r
}

/// One HTTP request through the handler.
pub async fn answer(server: Arc<ApiServer>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let id = server.requests.fetch_add(1, Ordering::Relaxed);
    let method = req.method().as_str().to_string();
    let req_path = req.uri().path().to_string();
    if req_path == "/" {
        // Local convenience only: the deployed API has no root, the dashboard
        // is at the stage (`.../v1/`).
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = StatusCode::FOUND;
        if let Ok(v) = hyper::header::HeaderValue::from_str(&format!("/{STAGE}/")) {
            r.headers_mut().insert(hyper::header::LOCATION, v);
        }
        return r;
    }
    if !in_stage(&req_path) {
        // API Gateway's answer for a path outside every stage of a REST API.
        return gateway_reply(
            &server,
            StatusCode::FORBIDDEN,
            &json!({"message": "Forbidden"}),
        );
    }
    let path = resource_path(&req_path);
    let query = req.uri().query().map(str::to_string);
    let mut headers: Vec<(String, String)> = Vec::new();
    for (k, v) in req.headers() {
        if let Ok(v) = v.to_str() {
            headers.push((k.as_str().to_string(), v.to_string()));
        }
    }
    if !server.routed(&method, &path) {
        // No resource and method of the OpenAPI file: the gateway's own 403
        // (a REST API's answer to a route it does not have, `/index.html` included).
        return gateway_reply(
            &server,
            StatusCode::FORBIDDEN,
            &json!({"error": "MISSING_AUTHENTICATION_TOKEN", "message": "Missing Authentication Token"}),
        );
    }
    let needs = security(&method, &path);
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    // The authorizer runs before the key is checked, as in API Gateway.
    let mut claims = None;
    if let (true, Some(auth)) = (needs.user, &server.authorizer) {
        match auth.authorize(header("authorization")) {
            Ok(c) => claims = Some(c),
            Err(refusal) => {
                tracing::info!(%refusal, path, "the authorizer refused a request");
                return gateway_reply(
                    &server,
                    StatusCode::UNAUTHORIZED,
                    &json!({"error": "UNAUTHORIZED", "message": refusal.message()}),
                );
            }
        }
    }
    let given = header("x-api-key");
    let mut limits = None;
    if needs.api_key && (!server.api_keys.is_empty() || server.key_check.get().is_some()) {
        let listed = server.api_keys.iter().any(|k| Some(k.as_str()) == given);
        let planned = match (listed, server.key_check.get()) {
            (false, Some(check)) => check.plan_of(given).await.ok(),
            _ => None,
        };
        if !listed && planned.is_none() {
            // The gateway's answer, through the DEFAULT_4XX template of api/openapi.yaml.
            return gateway_reply(
                &server,
                StatusCode::FORBIDDEN,
                &json!({"error": "INVALID_API_KEY", "message": "Forbidden"}),
            );
        }
        limits = planned.map(|p| (p.rate, p.burst));
    }
    let throttled = {
        let mut buckets = server.buckets.lock().unwrap_or_else(|e| e.into_inner());
        buckets
            .as_mut()
            .is_some_and(|b| !b.take(given.unwrap_or_default(), limits))
    };
    if throttled {
        return gateway_reply(
            &server,
            StatusCode::TOO_MANY_REQUESTS,
            &json!({"error": "THROTTLED", "message": "Too Many Requests"}),
        );
    }
    let body = match http_body_util::Limited::new(req.into_body(), MAX_BODY)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return gateway_reply(
                &server,
                StatusCode::PAYLOAD_TOO_LARGE,
                &json!({"message": "Request Too Long"}),
            )
        }
    };
    let mut event = proxy_event(
        &method,
        req_path.as_str(),
        query.as_deref(),
        &headers,
        &body,
        id,
    );
    if let Some(claims) = claims {
        with_claims(&mut event, claims);
    }
    let request = match lambda_http::request::from_str(&event.to_string()) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "the proxy event did not parse");
            return gateway_reply(
                &server,
                StatusCode::BAD_GATEWAY,
                &json!({"message": "Internal server error"}),
            );
        }
    };
    let response = match server.function.handle(request).await {
        Ok(r) => r,
        Err(e) => {
            // What API Gateway answers when the function fails.
            tracing::error!(error = %e, "the api function failed");
            return gateway_reply(
                &server,
                StatusCode::BAD_GATEWAY,
                &json!({"message": "Internal server error"}),
            );
        }
    };
    let (parts, body) = response.into_parts();
    let bytes = match body {
        lambda_http::Body::Empty => Bytes::new(),
        lambda_http::Body::Text(t) => Bytes::from(t),
        lambda_http::Body::Binary(b) => Bytes::from(b),
        _ => Bytes::new(),
    };
    let mut out = Response::new(Full::new(bytes));
    *out.status_mut() = parts.status;
    *out.headers_mut() = parts.headers;
    out
}

/// Serves until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    server: Arc<ApiServer>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tickerpulse_local::server::serve_http(
        listener,
        move |req| {
            let server = server.clone();
            async move { Ok::<_, std::convert::Infallible>(answer(server, req).await) }
        },
        shutdown,
    )
    .await;
}
