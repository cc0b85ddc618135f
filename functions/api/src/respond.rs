//! Response shapes: the JSON and error bodies every route answers with.

use crate::params::ApiError;
use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::{Body, Response};
use serde_json::{json, Value};
use tickerpulse_aggregate::{Bucket, Counts};
use tickerpulse_aws::HandlerError;

pub(crate) fn response(status: u16, content_type: &'static str, body: Body) -> Response<Body> {
    let mut r = Response::new(body);
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

pub(crate) fn json_response(status: u16, body: &Value) -> Response<Body> {
    let mut r = response(status, "application/json", Body::Text(body.to_string()));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub(crate) fn error_response(e: &ApiError) -> Response<Body> {
    json_response(e.status, &json!({"error": e.code, "message": e.message}))
}

/// The JSON of a set of counts; the mean class probabilities are null where
/// no mention was scored by the model mode.
pub fn counts_json(c: &Counts) -> Value {
    let p = c.mean_probabilities();
    json!({
        "mentions": c.mentions,
        "positive": c.positive,
        "negative": c.negative,
        "neutral": c.neutral,
        "positive_ratio": c.positive_ratio(),
        "negative_ratio": c.negative_ratio(),
        "neutral_ratio": c.neutral_ratio(),
        "mean_compound": c.mean_compound(),
        "mean_p_positive": p.map(|p| p[0]),
        "mean_p_neutral": p.map(|p| p[1]),
        "mean_p_negative": p.map(|p| p[2]),
        "sources": sources_json(c),
    })
}

fn sources_json(c: &Counts) -> Value {
    let m = c.source_mentions();
    json!({"x": m[0], "bluesky": m[1], "reddit": m[2]})
}

/// The counts of one source's posts, or of all.
pub(crate) fn of_source(c: &Counts, source: Option<tickerpulse_aggregate::Source>) -> Counts {
    match source {
        Some(s) => c.of_source(s),
        None => *c,
    }
}

pub(crate) fn period_json(b: Option<Bucket>) -> (Value, Value) {
    match b {
        Some(b) => (json!(b.key()), json!(b.timestamp())),
        None => (Value::Null, Value::Null),
    }
}

pub(crate) fn merge(mut a: Value, b: Value) -> Value {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
    a
}

/// Why an endpoint gives no JSON answer: a request it refuses (4xx with a code),
/// or a serving table that failed (503 or 500).
#[derive(Debug)]
pub(crate) enum Failure {
    Refused(ApiError),
    Tables(HandlerError),
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure::Refused(e)
    }
}

impl From<HandlerError> for Failure {
    fn from(e: HandlerError) -> Self {
        Failure::Tables(e)
    }
}

/// An endpoint's answer.
pub(crate) type Answer = Result<Value, Failure>;
