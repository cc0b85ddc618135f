//! The fake X API's batch compliance endpoints, from X's documentation
//! (docs.x.com/x-api/compliance/batch-compliance: introduction, quick start,
//! and the API reference of `POST /2/compliance/jobs`,
//! `GET /2/compliance/jobs`, `GET /2/compliance/jobs/:id`):
//!
//! - a job has a type (`tweets` or `users`), an optional name of at most 64
//!   characters, and a status: `created` until its ids are uploaded,
//!   `in_progress`, then `complete` (or `failed`; `expired` when nothing was
//!   uploaded before its upload URL expired);
//! - one concurrent job per type: creating a second while one is `created`
//!   or `in_progress` is refused;
//! - the ids are uploaded with a `PUT` of a plain-text file, one id per line,
//!   to the job's `upload_url`, a signed storage URL that expires 15 minutes
//!   after the job was made; the results are read with a `GET` of its
//!   `download_url`, which expires a week after the job was made;
//! - the results are JSON lines, one per uploaded id that has a compliance
//!   event (ids with none are left out): `id`, `action` (`delete`, or
//!   `scrub_geo`), `created_at` (the post's), `redacted_at`, `reason`
//!   (`deleted`, `deactivated`, `protected`, `suspended`, `scrub_geo`);
//! - each endpoint allows 150 requests a 15-minute window, with the
//!   `x-rate-limit-*` headers (docs.x.com/x-api/fundamentals/rate-limits).
//!
//! The signed URLs point at this server (its `Host`), under `/x-storage/`;
//! storage errors come in Google Cloud Storage's XML (`<Error><Code>`,
//! cloud.google.com/storage/docs/xml-api/reference-status): an expired
//! signature is a 400 `ExpiredToken`, a wrong one a 403
//! `SignatureDoesNotMatch`, results not yet written a 404 `NoSuchKey`.
//! Processing takes one status request: the first `GET` of an uploaded job
//! answers `in_progress`, the next `complete` (X states no duration; a job
//! "can take minutes to hours"). The bodies of the refusals are X's problem
//! shape; their wording is this fake's (no recorded refusal was at hand).

use crate::fake::{invalid, reply, FakeXState};
use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;
use serde_json::{json, Value};
use std::collections::HashMap;

const UPLOAD_MS: i64 = 15 * 60 * 1000;
const DOWNLOAD_MS: i64 = 7 * 24 * 3600 * 1000;
const WINDOW_LIMIT: usize = 150;

/// One compliance event of a post.
#[derive(Debug, Clone)]
struct Event {
    created_at: Option<String>,
    redacted_at_ms: i64,
    reason: String,
}

#[derive(Debug, Clone)]
struct Job {
    id: u64,
    kind: String,
    name: Option<String>,
    created_ms: i64,
    status: &'static str,
    /// Status requests answered since the upload.
    polls: u32,
    signature: String,
    results: Option<String>,
}

/// The fake's compliance state: events by post id, the jobs.
#[derive(Debug, Default)]
pub struct Compliance {
    events: HashMap<String, Event>,
    jobs: Vec<Job>,
    /// Requests in each endpoint's 15-minute window (its start, epoch s).
    windows: HashMap<&'static str, (i64, usize)>,
}

impl Compliance {
    /// Records that `tweet` was withdrawn for `reason` at `now_ms`.
    pub(crate) fn record(&mut self, tweet: &Value, reason: &str, now_ms: i64) {
        let Some(id) = tweet.get("id").and_then(Value::as_str) else {
            return;
        };
        self.events.insert(
            id.to_string(),
            Event {
                created_at: tweet
                    .get("created_at")
                    .and_then(Value::as_str)
                    .map(String::from),
                redacted_at_ms: now_ms,
                reason: reason.to_string(),
            },
        );
    }

    /// Jobs made so far (tests).
    pub fn jobs(&self) -> usize {
        self.jobs.len()
    }
}

/// The paths this module answers.
pub fn is_compliance(path: &str) -> bool {
    path.starts_with("/2/compliance/jobs") || path.starts_with("/x-storage/")
}

fn stamp(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
            ))
            .ok()
        })
        .unwrap_or_default()
}

fn storage_error(status: StatusCode, code: &str, details: &str) -> Response<Full<Bytes>> {
    let body = format!(
        "<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{details}</Message></Error>"
    );
    Response::builder()
        .status(status)
        .header("content-type", "application/xml; charset=UTF-8")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

impl Job {
    fn view(&self, host: &str) -> Value {
        let url = |what: &str| {
            format!(
                "http://{host}/x-storage/{what}/{}?X-Goog-Signature={}",
                self.id, self.signature
            )
        };
        let mut v = json!({
            "id": self.id.to_string(),
            "type": self.kind,
            "status": self.status,
            "created_at": stamp(self.created_ms),
            "upload_url": url("upload"),
            "upload_expires_at": stamp(self.created_ms + UPLOAD_MS),
            "download_url": url("download"),
            "download_expires_at": stamp(self.created_ms + DOWNLOAD_MS),
            "resumable": false,
        });
        if let Some(name) = &self.name {
            v["name"] = json!(name);
        }
        v
    }

    /// The status as of `now_ms`: an upload URL that expired before any
    /// upload leaves the job `expired`.
    fn settle(&mut self, now_ms: i64) {
        if self.status == "created" && now_ms > self.created_ms + UPLOAD_MS {
            self.status = "expired";
        }
    }
}

/// Answers one request to the compliance endpoints or their storage URLs.
pub fn answer(st: &FakeXState, req: &http::request::Parts, body: &[u8]) -> Response<Full<Bytes>> {
    st.requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = req.uri.path();
    let now = st.now_ms();
    let mut c = st.compliance.lock().unwrap_or_else(|e| e.into_inner());
    for job in &mut c.jobs {
        job.settle(now);
    }
    if let Some(rest) = path.strip_prefix("/x-storage/") {
        return storage(&mut c, req, rest, body, now);
    }
    if let Some(refused) = crate::fake::unauthorized(st, req) {
        return refused;
    }
    let endpoint = match (req.method.as_str(), path) {
        ("POST", "/2/compliance/jobs") => "create",
        ("GET", "/2/compliance/jobs") => "list",
        ("GET", p) if p.starts_with("/2/compliance/jobs/") => "get",
        _ => {
            return reply(
                StatusCode::NOT_FOUND,
                json!({"errors": [{"message": "Sorry, that page does not exist", "code": 34}]}),
                &[],
            )
        }
    };
    let (count, reset) = {
        let start = now / 1000 / 900 * 900;
        let w = c.windows.entry(endpoint).or_insert((start, 0));
        if w.0 != start {
            *w = (start, 0);
        }
        w.1 += 1;
        (w.1, start + 900)
    };
    let headers = [
        ("x-rate-limit-limit", WINDOW_LIMIT.to_string()),
        (
            "x-rate-limit-remaining",
            WINDOW_LIMIT.saturating_sub(count).to_string(),
        ),
        ("x-rate-limit-reset", reset.to_string()),
    ];
    if count > WINDOW_LIMIT {
        return crate::fake::too_many_requests(&headers);
    }
    let host = req
        .headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string();
    let params: HashMap<String, String> =
        form_urlencoded::parse(req.uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let (status, out) = match endpoint {
        "create" => create(&mut c, body, now, &host),
        "list" => list(&c, &params, &host),
        _ => get(
            &mut c,
            path.trim_start_matches("/2/compliance/jobs/"),
            &host,
        ),
    };
    reply(status, out, &headers)
}

fn create(c: &mut Compliance, body: &[u8], now: i64, host: &str) -> (StatusCode, Value) {
    let bad = |param: &str, value: &str, message: String| {
        (StatusCode::BAD_REQUEST, invalid(param, value, message))
    };
    let Ok(req) = serde_json::from_slice::<Value>(body) else {
        return bad("body", "", "The request body is not valid JSON".into());
    };
    let kind = req.get("type").and_then(Value::as_str).unwrap_or_default();
    if kind != "tweets" && kind != "users" {
        return bad(
            "type",
            kind,
            format!("The `type` value [{kind}] is not one of [tweets, users]"),
        );
    }
    let name = req.get("name").and_then(Value::as_str).map(String::from);
    if name.as_ref().is_some_and(|n| n.chars().count() > 64) {
        return bad(
            "name",
            "",
            "The `name` value is longer than 64 characters".into(),
        );
    }
    if c.jobs
        .iter()
        .any(|j| j.kind == kind && matches!(j.status, "created" | "in_progress"))
    {
        return bad(
            "type",
            kind,
            format!("You already have a {kind} compliance job that is created or in progress"),
        );
    }
    let id = 1_372_966_999_991_541_762 + c.jobs.len() as u64;
    let job = Job {
        id,
        kind: kind.to_string(),
        name,
        created_ms: now,
        status: "created",
        polls: 0,
        signature: format!(
            "{:016x}",
            id.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ now as u64
        ),
        results: None,
    };
    let view = job.view(host);
    c.jobs.push(job);
    (StatusCode::OK, json!({ "data": view }))
}

fn list(c: &Compliance, params: &HashMap<String, String>, host: &str) -> (StatusCode, Value) {
    let kind = params.get("type").map(String::as_str).unwrap_or_default();
    if kind != "tweets" && kind != "users" {
        return (
            StatusCode::BAD_REQUEST,
            invalid(
                "type",
                kind,
                format!("The `type` query parameter value [{kind}] is not one of [tweets, users]"),
            ),
        );
    }
    let status = params.get("status");
    let data: Vec<Value> = c
        .jobs
        .iter()
        .rev()
        .filter(|j| j.kind == kind && status.is_none_or(|s| s == j.status))
        .map(|j| j.view(host))
        .collect();
    let n = data.len();
    (
        StatusCode::OK,
        json!({"data": data, "meta": {"result_count": n}}),
    )
}

fn get(c: &mut Compliance, id: &str, host: &str) -> (StatusCode, Value) {
    let Some(job) = c.jobs.iter_mut().find(|j| j.id.to_string() == id) else {
        return (
            StatusCode::OK,
            json!({"errors": [{
                "value": id, "detail": format!("Could not find compliance job with id: [{id}]."),
                "title": "Not Found Error", "resource_type": "compliance_job", "parameter": "id",
                "resource_id": id, "type": "https://api.twitter.com/2/problems/resource-not-found",
            }]}),
        );
    };
    if job.status == "in_progress" {
        job.polls += 1;
        if job.polls > 1 {
            job.status = "complete";
        }
    }
    (StatusCode::OK, json!({ "data": job.view(host) }))
}

fn storage(
    c: &mut Compliance,
    req: &http::request::Parts,
    rest: &str,
    body: &[u8],
    now: i64,
) -> Response<Full<Bytes>> {
    let (what, id) = rest.split_once('/').unwrap_or((rest, ""));
    let signature = req
        .uri
        .query()
        .and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "X-Goog-Signature")
                .map(|(_, v)| v.into_owned())
        })
        .unwrap_or_default();
    let events = c.events.clone();
    let Some(job) = c.jobs.iter_mut().find(|j| j.id.to_string() == id) else {
        return storage_error(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        );
    };
    if signature != job.signature {
        return storage_error(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        );
    }
    match (req.method.as_str(), what) {
        ("PUT", "upload") => {
            if now > job.created_ms + UPLOAD_MS {
                return storage_error(
                    StatusCode::BAD_REQUEST,
                    "ExpiredToken",
                    "The provided token has expired.",
                );
            }
            let text_plain = req
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/plain"));
            if !text_plain || job.status != "created" {
                return storage_error(
                    StatusCode::FORBIDDEN,
                    "SignatureDoesNotMatch",
                    "The request signature we calculated does not match the signature you provided.",
                );
            }
            let results: String = String::from_utf8_lossy(body)
                .lines()
                .map(str::trim)
                .filter_map(|id| Some((id, events.get(id)?)))
                .map(|(id, e)| {
                    let action = if e.reason == "scrub_geo" {
                        "scrub_geo"
                    } else {
                        "delete"
                    };
                    format!(
                        "{}\n",
                        json!({"id": id, "action": action, "created_at": e.created_at,
                               "redacted_at": stamp(e.redacted_at_ms), "reason": e.reason})
                    )
                })
                .collect();
            job.results = Some(results);
            job.status = "in_progress";
            Response::new(Full::new(Bytes::new()))
        }
        ("GET", "download") => {
            if now > job.created_ms + DOWNLOAD_MS {
                return storage_error(
                    StatusCode::BAD_REQUEST,
                    "ExpiredToken",
                    "The provided token has expired.",
                );
            }
            match (&job.results, job.status) {
                (Some(r), "complete") => Response::builder()
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::from(r.clone())))
                    .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()))),
                _ => storage_error(
                    StatusCode::NOT_FOUND,
                    "NoSuchKey",
                    "The specified key does not exist.",
                ),
            }
        }
        _ => storage_error(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        ),
    }
}
