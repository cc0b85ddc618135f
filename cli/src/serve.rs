//! `tickerpulse serve`: the API function on loopback, as API Gateway runs it.
//! Each HTTP request becomes an API Gateway REST proxy event (the JSON that
//! `sam local start-api` would send), parsed by `lambda_http` exactly as in
//! Lambda and answered by the same handler. The stage prefix (`/v1`) is taken
//! off the path as the gateway does; `--api-key` makes the key required on the
//! routes that need one in `api/openapi.yaml`, with the gateway's 403.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::net::TcpListener;

pub const STAGE: &str = "v1";
/// API Gateway refuses larger request bodies (10 MB); the API takes none.
const MAX_BODY: usize = 10 * 1024 * 1024;

pub struct ApiServer {
    pub function: tickerpulse_fn_api::Function,
    pub api_key: Option<String>,
    requests: AtomicU64,
}

impl ApiServer {
    pub fn new(function: tickerpulse_fn_api::Function, api_key: Option<String>) -> Arc<Self> {
        Arc::new(Self {
            function,
            api_key,
            requests: AtomicU64::new(0),
        })
    }
}

/// Routes the gateway serves without a key (the dashboard, its assets, health).
pub fn keyless(method: &str, path: &str) -> bool {
    method == "OPTIONS"
        || matches!(path, "/" | "/index.html" | "/health")
        || path.starts_with("/assets/")
}

/// Strips the stage from a request path: `/v1/leaderboard` -> `/leaderboard`.
pub fn resource_path(path: &str) -> String {
    match path.strip_prefix("/v1") {
        Some("") => "/".into(),
        Some(rest) if rest.starts_with('/') => rest.into(),
        _ => path.into(),
    }
}

/// The API Gateway REST proxy event of one request.
pub fn proxy_event(
    method: &str,
    path: &str,
    query: Option<&str>,
    headers: &[(String, String)],
    body: &[u8],
    request_id: u64,
) -> Value {
    let mut single = Map::new();
    let mut multi: Map<String, Value> = Map::new();
    for (k, v) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        single.insert(k.to_string(), json!(v));
        if let Some(a) = multi
            .entry(k.to_string())
            .or_insert_with(|| json!([]))
            .as_array_mut()
        {
            a.push(json!(v));
        }
    }
    let mut h = Map::new();
    let mut mh: Map<String, Value> = Map::new();
    for (k, v) in headers {
        h.insert(k.clone(), json!(v));
        if let Some(a) = mh
            .entry(k.clone())
            .or_insert_with(|| json!([]))
            .as_array_mut()
        {
            a.push(json!(v));
        }
    }
    let proxy = path.trim_start_matches('/');
    let (body, base64) = match std::str::from_utf8(body) {
        _ if body.is_empty() => (Value::Null, false),
        Ok(t) => (json!(t), false),
        Err(_) => {
            use base64::Engine;
            (
                json!(base64::engine::general_purpose::STANDARD.encode(body)),
                true,
            )
        }
    };
    let now = time::OffsetDateTime::now_utc();
    json!({
        "resource": if proxy.is_empty() { "/" } else { "/{proxy+}" },
        "path": path,
        "httpMethod": method,
        "headers": h,
        "multiValueHeaders": mh,
        "queryStringParameters": if single.is_empty() { Value::Null } else { Value::Object(single) },
        "multiValueQueryStringParameters": if multi.is_empty() { Value::Null } else { Value::Object(multi) },
        "pathParameters": if proxy.is_empty() { Value::Null } else { json!({"proxy": proxy}) },
        "stageVariables": null,
        "requestContext": {
            "accountId": "123456789012",
            "resourceId": "local",
            "stage": STAGE,
            "requestId": format!("local-{request_id}"),
            "identity": {"sourceIp": "127.0.0.1", "userAgent": headers.iter().find(|(k, _)| k == "user-agent").map(|(_, v)| v.as_str())},
            "resourcePath": if proxy.is_empty() { "/" } else { "/{proxy+}" },
            "httpMethod": method,
            "apiId": "local",
            "path": format!("/{STAGE}{path}"),
            "protocol": "HTTP/1.1",
            "requestTimeEpoch": now.unix_timestamp() * 1000,
        },
        "body": body,
        "isBase64Encoded": base64,
    })
}

fn reply(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// One HTTP request through the handler.
pub async fn answer(server: Arc<ApiServer>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let id = server.requests.fetch_add(1, Ordering::Relaxed);
    let method = req.method().as_str().to_string();
    let path = resource_path(req.uri().path());
    let query = req.uri().query().map(str::to_string);
    let mut headers: Vec<(String, String)> = Vec::new();
    for (k, v) in req.headers() {
        if let Ok(v) = v.to_str() {
            headers.push((k.as_str().to_string(), v.to_string()));
        }
    }
    if let Some(key) = &server.api_key {
        let given = headers
            .iter()
            .find(|(k, _)| k == "x-api-key")
            .map(|(_, v)| v);
        if !keyless(&method, &path) && given != Some(key) {
            // The gateway's answer, through the DEFAULT_4XX template of api/openapi.yaml.
            return reply(
                StatusCode::FORBIDDEN,
                &json!({"error": "INVALID_API_KEY", "message": "Forbidden"}),
            );
        }
    }
    let body = match http_body_util::Limited::new(req.into_body(), MAX_BODY)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return reply(
                StatusCode::PAYLOAD_TOO_LARGE,
                &json!({"message": "Request Too Long"}),
            )
        }
    };
    let event = proxy_event(&method, &path, query.as_deref(), &headers, &body, id);
    let request = match lambda_http::request::from_str(&event.to_string()) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "the proxy event did not parse");
            return reply(
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
            return reply(
                StatusCode::BAD_GATEWAY,
                &json!({"message": "Internal server error"}),
            );
        }
    };
    let (parts, body) = response.into_parts();
    let bytes = if method == "HEAD" {
        Bytes::new()
    } else {
        match body {
            lambda_http::Body::Empty => Bytes::new(),
            lambda_http::Body::Text(t) => Bytes::from(t),
            lambda_http::Body::Binary(b) => Bytes::from(b),
            _ => Bytes::new(),
        }
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
    crate::proxy::serve_http(
        listener,
        move |req| {
            let server = server.clone();
            async move { Ok::<_, std::convert::Infallible>(answer(server, req).await) }
        },
        shutdown,
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_and_keyless_routes() {
        assert_eq!(resource_path("/v1/leaderboard"), "/leaderboard");
        assert_eq!(resource_path("/v1"), "/");
        assert_eq!(resource_path("/v10"), "/v10");
        assert_eq!(resource_path("/leaderboard"), "/leaderboard");
        assert!(keyless("GET", "/"));
        assert!(keyless("GET", "/assets/app.js"));
        assert!(!keyless("GET", "/leaderboard"));
        assert!(keyless("OPTIONS", "/leaderboard"));
    }

    #[test]
    fn events_parse_as_lambda_http_requests() {
        use lambda_http::RequestExt;
        let event = proxy_event(
            "GET",
            "/leaderboard",
            Some("level=day&sort=positive&q=a+b%21"),
            &[("x-api-key".into(), "k".into())],
            b"",
            1,
        );
        let req = lambda_http::request::from_str(&event.to_string()).unwrap();
        assert_eq!(req.raw_http_path(), "/leaderboard");
        let q = req.query_string_parameters();
        assert_eq!(q.first("sort"), Some("positive"));
        assert_eq!(q.first("q"), Some("a b!"));
    }
}
