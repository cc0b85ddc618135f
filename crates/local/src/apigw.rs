//! API Gateway (REST, v1) as the local stack emulates it for the `api` function:
//! what each route asks of a caller, the stage in the path, and the Lambda proxy event a
//! request becomes (docs.aws.amazon.com/apigateway/latest/developerguide/
//! set-up-lambda-proxy-integrations.html, "Input format of a Lambda function for
//! proxy integration").

use serde_json::{json, Map, Value};

/// The stage the template deploys, and the local server's path prefix.
pub const STAGE: &str = "v1";

/// What a route of `api/openapi.yaml` asks of a caller: the usage plan's key
/// (`x-api-key`), a signed-in user's ID token (`Authorization`), or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Security {
    pub api_key: bool,
    pub user: bool,
}

/// The security of a route: none for the dashboard, its assets, its sign-in
/// configuration, health and CORS preflights; a user for `/me` and `/me/key`
/// (where a user gets their key); a user and a key for everything else.
pub fn security(method: &str, path: &str) -> Security {
    let open = method == "OPTIONS"
        || matches!(path, "/" | "/index.html" | "/health" | "/config.json")
        || path.starts_with("/assets/");
    Security {
        api_key: !open && path != "/me" && path != "/me/key",
        user: !open,
    }
}

/// Puts what the Cognito authorizer found into an event, where API Gateway
/// puts it: `requestContext.authorizer.claims`.
pub fn with_claims(event: &mut Value, claims: Map<String, Value>) {
    if let Some(ctx) = event
        .get_mut("requestContext")
        .and_then(Value::as_object_mut)
    {
        ctx.insert("authorizer".into(), json!({ "claims": claims }));
    }
}

/// What follows the stage in a path the client sent (`""` or `/...`), if the
/// path is inside it.
fn after_stage(sent: &str) -> Option<&str> {
    sent.strip_prefix('/')
        .and_then(|p| p.strip_prefix(STAGE))
        .filter(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Whether a path the client sent is inside the stage (`/v1` or `/v1/...`).
pub fn in_stage(sent: &str) -> bool {
    after_stage(sent).is_some()
}

/// Strips the stage from a request path: `/v1/leaderboard` -> `/leaderboard`.
pub fn resource_path(path: &str) -> String {
    match after_stage(path) {
        Some("") => "/".into(),
        Some(rest) => rest.into(),
        None => path.into(),
    }
}

/// The API Gateway REST proxy event of one request. `sent` is the path as the
/// client sent it, with the stage (`/v1/leaderboard`) or without.
pub fn proxy_event(
    method: &str,
    sent: &str,
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
    let path = resource_path(sent);
    let path = path.as_str();
    // API Gateway's requestContext.path is the client's path, stage included.
    let sent = if in_stage(sent) {
        sent.to_string()
    } else {
        format!("/{STAGE}{path}")
    };
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
            "path": sent,
            "protocol": "HTTP/1.1",
            "requestTimeEpoch": now.unix_timestamp() * 1000,
        },
        "body": body,
        "isBase64Encoded": base64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_and_route_security() {
        assert_eq!(resource_path("/v1/leaderboard"), "/leaderboard");
        assert_eq!(resource_path("/v1"), "/");
        assert_eq!(resource_path("/v10"), "/v10");
        assert_eq!(resource_path("/leaderboard"), "/leaderboard");
        assert!(in_stage("/v1") && in_stage("/v1/") && in_stage("/v1/leaderboard"));
        assert!(!in_stage("/") && !in_stage("/v10") && !in_stage("/leaderboard"));
        let open = Security {
            api_key: false,
            user: false,
        };
        assert_eq!(security("GET", "/"), open);
        assert_eq!(security("GET", "/assets/app.js"), open);
        assert_eq!(security("OPTIONS", "/leaderboard"), open);
        assert_eq!(
            security("GET", "/leaderboard"),
            Security {
                api_key: true,
                user: true
            }
        );
        assert_eq!(
            security("GET", "/me"),
            Security {
                api_key: false,
                user: true
            }
        );
    }

    #[test]
    fn the_context_path_is_what_the_client_sent() {
        let at = |sent: &str| {
            let e = proxy_event("GET", sent, None, &[], b"", 1);
            (
                e["path"].as_str().unwrap().to_string(),
                e["requestContext"]["path"].as_str().unwrap().to_string(),
            )
        };
        assert_eq!(at("/v1"), ("/".into(), "/v1".into()));
        assert_eq!(at("/v1/"), ("/".into(), "/v1/".into()));
        assert_eq!(
            at("/v1/leaderboard"),
            ("/leaderboard".into(), "/v1/leaderboard".into())
        );
        assert_eq!(
            at("/leaderboard"),
            ("/leaderboard".into(), "/v1/leaderboard".into())
        );
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
