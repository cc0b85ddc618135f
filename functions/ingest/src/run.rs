//! The poll and backfill loops: every query's pages to Firehose, cursors moved
//! only when every tweet up to them reached Firehose.

use crate::{Function, IngestReport};
use std::time::Instant;
use tickerpulse_aws::firehose::{send_all, RecordSink};
use tickerpulse_aws::state::CursorStore;
use tickerpulse_aws::HandlerError;
use tickerpulse_xapi::{query_key, search_within, Budget, SearchParams, Stop};

/// Why a query stopped before its last page.
enum Halt {
    /// Rate limited past the budget: the next run resumes.
    RateLimited,
    Failed(HandlerError),
}

impl From<Stop> for Halt {
    /// Server errors after every retry may pass later (Step Functions and
    /// EventBridge retry); a refusal cannot.
    fn from(stop: Stop) -> Self {
        match stop {
            Stop::RateLimited => Halt::RateLimited,
            e @ Stop::Exhausted { .. } => Halt::Failed(HandlerError::Retryable(e.to_string())),
            Stop::Refused(e) => Halt::Failed(HandlerError::Fatal(e.to_string())),
        }
    }
}

impl<S: RecordSink, C: CursorStore> Function<S, C> {
    /// All pages of one query; returns the newest id of the first page and
    /// whether every tweet reached Firehose.
    async fn run_query(
        &self,
        mut params: SearchParams,
        started: Instant,
        report: &mut IngestReport,
    ) -> Result<(Option<u64>, bool), Halt> {
        let budget = Budget {
            started,
            budget: self.settings.budget,
            retries: self.settings.retries,
            retry_base: self.settings.retry_base,
        };
        let mut newest = None;
        let mut all_sent = true;
        for page_no in 0..self.settings.max_pages {
            let page = match search_within(&self.x, &params, &budget, &mut report.retries).await {
                Ok(page) => page,
                Err(stop) => {
                    report.rate_limited |= stop == Stop::RateLimited;
                    return Err(stop.into());
                }
            };
            report.pages += 1;
            if page_no == 0 {
                newest = page.newest_id;
            }
            report.tweets += page.tweets.len();
            let records: Vec<Vec<u8>> = page
                .tweets
                .iter()
                .map(|t| {
                    let mut line = serde_json::to_vec(t).unwrap_or_default();
                    line.push(b'\n');
                    line
                })
                .collect();
            if !records.is_empty() {
                let sent = send_all(&self.sink, &records, 5, self.settings.retry_base / 4)
                    .await
                    .map_err(Halt::Failed)?;
                report.sent += sent.sent;
                let failed = sent.failed.len() + sent.oversized.len();
                if failed > 0 {
                    tracing::error!(failed, codes = ?sent.failed, "Firehose refused records after retries");
                    report.failed_records += failed;
                    all_sent = false;
                }
            }
            match page.next_token {
                Some(token) if started.elapsed() < self.settings.budget => {
                    params.next_token = Some(token)
                }
                _ => break,
            }
        }
        Ok((newest, all_sent))
    }

    pub(crate) async fn poll(&self, started: Instant) -> Result<IngestReport, HandlerError> {
        let mut report = IngestReport {
            mode: "scheduled",
            queries: self.queries.len(),
            ..Default::default()
        };
        for query in &self.queries {
            if started.elapsed() >= self.settings.budget {
                break;
            }
            let key = query_key(query);
            let since_id = self.cursors.get(&key).await?;
            let params = SearchParams {
                query: query.clone(),
                since_id,
                max_results: self.settings.max_results,
                ..Default::default()
            };
            match self.run_query(params, started, &mut report).await {
                Ok((newest, all_sent)) => {
                    report.queries_completed += 1;
                    // The cursor moves only when every tweet up to it reached Firehose.
                    if let (Some(id), true) = (newest, all_sent) {
                        if self.cursors.advance(&key, id, query).await? {
                            report.cursors_advanced += 1;
                        }
                    }
                }
                Err(Halt::RateLimited) => break,
                Err(Halt::Failed(e)) => return Err(e),
            }
        }
        Ok(report)
    }

    pub(crate) async fn backfill(
        &self,
        windows: &[(String, String)],
        started: Instant,
    ) -> Result<IngestReport, HandlerError> {
        let mut report = IngestReport {
            mode: "backfill",
            queries: self.queries.len(),
            ..Default::default()
        };
        for (start, end) in windows {
            let mut ok = true;
            for query in &self.queries {
                let params = SearchParams {
                    query: query.clone(),
                    start_time: Some(start.clone()),
                    end_time: Some(end.clone()),
                    max_results: self.settings.max_results,
                    ..Default::default()
                };
                match self.run_query(params, started, &mut report).await {
                    Ok((_, all_sent)) => {
                        report.queries_completed += 1;
                        ok &= all_sent;
                    }
                    Err(Halt::RateLimited) => {
                        ok = false;
                        break;
                    }
                    Err(Halt::Failed(e)) => {
                        tracing::warn!(%start, %end, error = %e, "backfill window failed");
                        ok = false;
                        break;
                    }
                }
            }
            if !ok {
                report.failed_windows.push((start.clone(), end.clone()));
            }
        }
        Ok(report)
    }
}
