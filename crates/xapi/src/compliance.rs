//! X's batch compliance API, as TickerPulse uses it: which of the post ids it
//! stores X now reports deleted, made private (`protected`), suspended or
//! deactivated (docs.x.com/x-api/compliance/batch-compliance). A job is made
//! (`POST /2/compliance/jobs`), the ids are uploaded to its signed
//! `upload_url` (a plain-text file, one id per line, within 15 minutes), the
//! job is polled until `complete`, and its results (JSON lines, one per id
//! with an event) are read from `download_url`.
//!
//! X allows one job of a type at a time: a job left `in_progress` by an
//! earlier run is waited for and its results kept (they name ids this
//! deployment stored), and one left `created` is used for this upload while
//! its URL lasts.

use crate::client::{XApi, XApiError};
use serde_json::Value;
use std::time::Duration;

/// A compliance job as X describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: String,
    /// `created`, `in_progress`, `complete`, `failed` or `expired`.
    pub status: String,
    pub upload_url: String,
    pub download_url: String,
    pub upload_expires_at: String,
}

/// One line of a job's results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: String,
    /// `delete` or `scrub_geo`.
    pub action: String,
    /// `deleted`, `deactivated`, `protected`, `suspended` or `scrub_geo`.
    pub reason: String,
}

impl Event {
    /// Whether the post must go (every action but removing its geo data,
    /// which TickerPulse does not store).
    pub fn forgets(&self) -> bool {
        self.action == "delete"
    }
}

fn job_of(v: &Value) -> Result<Job, XApiError> {
    let field = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map(String::from)
            .ok_or_else(|| XApiError::BadResponse(format!("a compliance job without {k}: {v}")))
    };
    Ok(Job {
        id: field("id")?,
        status: field("status")?,
        upload_url: field("upload_url")?,
        download_url: field("download_url")?,
        upload_expires_at: field("upload_expires_at")?,
    })
}

/// The job of a `{"data": {...}}` answer.
pub fn parse_job(body: &[u8]) -> Result<Job, XApiError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| XApiError::BadResponse(e.to_string()))?;
    match v.get("data") {
        Some(d) => job_of(d),
        None => Err(XApiError::BadResponse(
            String::from_utf8_lossy(body).chars().take(300).collect(),
        )),
    }
}

/// A results file: its events, and how many lines were not one.
pub fn parse_events(body: &[u8]) -> (Vec<Event>, usize) {
    let mut events = Vec::new();
    let mut unreadable = 0;
    for line in body.split(|&b| b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let v: Option<Value> = serde_json::from_slice(line).ok();
        let s = |k: &str| {
            v.as_ref()
                .and_then(|v| v.get(k))
                .and_then(Value::as_str)
                .map(String::from)
        };
        match (s("id"), s("action"), s("reason")) {
            (Some(id), Some(action), Some(reason)) => events.push(Event { id, action, reason }),
            _ => unreadable += 1,
        }
    }
    (events, unreadable)
}

fn refused(status: u16, body: &[u8], reset: Option<i64>) -> XApiError {
    match status {
        429 => XApiError::RateLimited { reset_epoch: reset },
        500..=599 => XApiError::Server(status),
        _ => XApiError::Client(
            status,
            String::from_utf8_lossy(body).chars().take(300).collect(),
        ),
    }
}

impl XApi {
    /// `POST /2/compliance/jobs` for post ids.
    pub async fn create_compliance_job(&self, name: &str) -> Result<Job, XApiError> {
        let body = serde_json::json!({"type": "tweets", "name": name}).to_string();
        let url = format!("{}/2/compliance/jobs", self.base());
        let (status, reset, body) = self
            .send(
                hyper::Method::POST,
                &url,
                true,
                Some("application/json"),
                body.into_bytes(),
            )
            .await?;
        match status {
            200 => parse_job(&body),
            _ => Err(refused(status, &body, reset)),
        }
    }

    /// `GET /2/compliance/jobs/:id`.
    pub async fn compliance_job(&self, id: &str) -> Result<Job, XApiError> {
        let url = format!("{}/2/compliance/jobs/{id}", self.base());
        let (status, reset, body) = self
            .send(hyper::Method::GET, &url, true, None, Vec::new())
            .await?;
        match status {
            200 => parse_job(&body),
            _ => Err(refused(status, &body, reset)),
        }
    }

    /// `GET /2/compliance/jobs?type=tweets`: the post jobs X keeps.
    pub async fn compliance_jobs(&self) -> Result<Vec<Job>, XApiError> {
        let url = format!("{}/2/compliance/jobs?type=tweets", self.base());
        let (status, reset, body) = self
            .send(hyper::Method::GET, &url, true, None, Vec::new())
            .await?;
        if status != 200 {
            return Err(refused(status, &body, reset));
        }
        let v: Value =
            serde_json::from_slice(&body).map_err(|e| XApiError::BadResponse(e.to_string()))?;
        v.get("data")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(job_of)
            .collect()
    }

    /// Uploads the ids (one a line) to a job's signed URL (no bearer token).
    pub async fn upload_compliance_ids(&self, job: &Job, ids: &[String]) -> Result<(), XApiError> {
        let mut file = ids.join("\n");
        file.push('\n');
        let (status, reset, body) = self
            .send(
                hyper::Method::PUT,
                &job.upload_url,
                false,
                Some("text/plain"),
                file.into_bytes(),
            )
            .await?;
        match status {
            200 => Ok(()),
            _ => Err(refused(status, &body, reset)),
        }
    }

    /// A complete job's results.
    pub async fn compliance_results(&self, job: &Job) -> Result<Vec<Event>, XApiError> {
        let (status, reset, body) = self
            .send(
                hyper::Method::GET,
                &job.download_url,
                false,
                None,
                Vec::new(),
            )
            .await?;
        if status != 200 {
            return Err(refused(status, &body, reset));
        }
        let (events, unreadable) = parse_events(&body);
        if unreadable > 0 {
            tracing::warn!(unreadable, "compliance result lines that are no event");
        }
        Ok(events)
    }

    /// Polls a job until it ends; its results if it completed.
    async fn finish(
        &self,
        mut job: Job,
        poll: Duration,
        polls: u32,
    ) -> Result<Vec<Event>, XApiError> {
        for _ in 0..polls {
            match job.status.as_str() {
                "complete" => return self.compliance_results(&job).await,
                "failed" | "expired" => {
                    return Err(XApiError::Client(
                        200,
                        format!("compliance job {} ended {}", job.id, job.status),
                    ))
                }
                _ => {}
            }
            tokio::time::sleep(poll).await;
            job = self.compliance_job(&job.id).await?;
        }
        Err(XApiError::Transport(format!(
            "compliance job {} still {} after {polls} polls",
            job.id, job.status
        )))
    }

    /// Asks X which of `ids` were withdrawn: one job (after finishing one an
    /// earlier run left), polled every `poll` at most `polls` times.
    pub async fn check_posts(
        &self,
        name: &str,
        ids: &[String],
        poll: Duration,
        polls: u32,
    ) -> Result<Vec<Event>, XApiError> {
        let mut events = Vec::new();
        let mut open = None;
        for job in self.compliance_jobs().await? {
            match job.status.as_str() {
                "in_progress" => events.extend(self.finish(job, poll, polls).await?),
                "created" => open = Some(job),
                _ => {}
            }
        }
        if ids.is_empty() {
            return Ok(events);
        }
        let job = match open {
            Some(job) => job,
            None => self.create_compliance_job(name).await?,
        };
        self.upload_compliance_ids(&job, ids).await?;
        let job = self.compliance_job(&job.id).await?;
        events.extend(self.finish(job, poll, polls).await?);
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_lines_as_x_documents_them() {
        // The quick start's example lines, and one that is not an event.
        let body = br#"{"id": "1234567890", "action": "delete", "created_at": "2024-01-10T12:00:00.000Z", "redacted_at": "2024-01-12T08:30:00.000Z", "reason": "deleted"}
{"id": "1234567891", "action": "delete", "created_at": "2024-01-10T12:00:00.000Z", "redacted_at": "2024-01-13T14:20:00.000Z", "reason": "suspended"}
{"id": "1234567892", "action": "scrub_geo", "reason": "scrub_geo"}

not json
"#;
        let (events, unreadable) = parse_events(body);
        assert_eq!(unreadable, 1);
        let gone: Vec<&str> = events
            .iter()
            .filter(|e| e.forgets())
            .map(|e| e.id.as_str())
            .collect();
        assert_eq!(gone, ["1234567890", "1234567891"]);
        assert_eq!(events[1].reason, "suspended");
    }

    #[test]
    fn a_job_needs_its_urls() {
        assert!(parse_job(br#"{"data": {"id": "1", "status": "created"}}"#).is_err());
        assert!(parse_job(br#"{"errors": []}"#).is_err());
    }
}
