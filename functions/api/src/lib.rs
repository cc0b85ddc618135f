//! api: the REST API behind API Gateway.

use lambda_http::{Body, Request, Response};
use serde_json::json;
use tickerpulse_aws::HandlerError;
use tickerpulse_core::config::{self, Env};

pub struct Function {
    pub ticker_summary_table: String,
}

fn json_response(status: u16, body: serde_json::Value) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() = lambda_http::http::StatusCode::from_u16(status)
        .unwrap_or(lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        lambda_http::http::header::CONTENT_TYPE,
        lambda_http::http::HeaderValue::from_static("application/json"),
    );
    response
}

impl Function {
    pub async fn from_env(env: &dyn Env) -> Result<Self, HandlerError> {
        Ok(Self {
            ticker_summary_table: config::required(env, config::TICKER_SUMMARY_TABLE)?,
        })
    }

    pub async fn handle(&self, request: Request) -> Result<Response<Body>, HandlerError> {
        let path = request.uri().path().trim_end_matches('/');
        tracing::info!(path, method = %request.method(), "api request");
        Ok(match path {
            "/health" | "/v1/health" => json_response(200, json!({"status": "ok"})),
            _ => json_response(
                501,
                json!({"error": "not_built", "message": format!("{path}: the REST API is built in issue #8")}),
            ),
        })
    }
}
