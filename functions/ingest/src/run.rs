//! The poll and backfill loops: every query's pages to Firehose, cursors moved
//! only when every tweet up to them reached Firehose, within the run's share of
//! the plan's monthly posts.

use crate::budget::{self, Clock};
use crate::{Function, IngestReport};
use std::time::Instant;
use tickerpulse_aws::firehose::{send_all, RecordSink};
use tickerpulse_aws::state::{BackfillPosition, CursorStore, Pending};
use tickerpulse_aws::HandlerError;
use tickerpulse_xapi::{query_key, search_within, Budget, SearchParams, Stop, XApiError};

/// Why a query stopped before its last page.
pub(crate) enum Halt {
    /// Rate limited past the budget: the next run resumes.
    RateLimited,
    /// The plan's usage cap: nothing passes before the month ends.
    Capped,
    /// The cursor is older than recent search keeps.
    Stale(u64),
    /// A held pagination's token is refused.
    StaleToken,
    Failed(HandlerError),
}

impl From<Stop> for Halt {
    /// Server errors after every retry may pass later (Step Functions and
    /// EventBridge retry); a refusal cannot.
    fn from(stop: Stop) -> Self {
        match stop {
            Stop::RateLimited => Halt::RateLimited,
            Stop::Capped { .. } => Halt::Capped,
            Stop::Refused(XApiError::StaleSinceId { since_id }) => Halt::Stale(since_id),
            Stop::Refused(XApiError::StaleNextToken) => Halt::StaleToken,
            e @ Stop::Exhausted { .. } => Halt::Failed(HandlerError::Retryable(e.to_string())),
            Stop::Refused(e) => Halt::Failed(HandlerError::Fatal(e.to_string())),
        }
    }
}

/// How one query's pagination ended.
pub(crate) struct Outcome {
    /// The newest id of the result set (every page gives it).
    pub newest: Option<u64>,
    pub all_sent: bool,
    /// Where the pagination stopped, if it did before its last page.
    pub next_token: Option<String>,
    /// It stopped at a rate limit (the run goes no further).
    pub rate_limited: bool,
}

impl<S: RecordSink, C: CursorStore> Function<S, C> {
    /// The pages of one query while the time budget and `posts_left` last.
    pub(crate) async fn run_query(
        &self,
        mut params: SearchParams,
        started: Instant,
        report: &mut IngestReport,
        posts_left: &mut Option<u64>,
    ) -> Result<Outcome, Halt> {
        let budget = Budget {
            started,
            budget: self.settings.budget,
            retries: self.settings.retries,
            retry_base: self.settings.retry_base,
        };
        let mut out = Outcome {
            newest: None,
            all_sent: true,
            next_token: params.next_token.clone(),
            rate_limited: false,
        };
        for _ in 0..self.settings.max_pages {
            if let Some(left) = *posts_left {
                // A page costs up to max_results posts: ask for no more than is left.
                params.max_results = self.settings.max_results.min(left.max(10) as u32);
            }
            let page = match search_within(&self.x, &params, &budget, &mut report.retries).await {
                Ok(page) => page,
                Err(Stop::RateLimited) if out.newest.is_some() => {
                    // Pages were read: the pagination is held at the page not yet
                    // read (its token), not dropped and paid for again.
                    report.rate_limited = true;
                    out.rate_limited = true;
                    out.next_token = params.next_token.clone();
                    return Ok(out);
                }
                Err(stop) => {
                    report.rate_limited |= stop == Stop::RateLimited;
                    return Err(stop.into());
                }
            };
            report.pages += 1;
            out.newest = out.newest.or(page.newest_id);
            report.tweets += page.tweets.len();
            if let Some(left) = posts_left.as_mut() {
                *left = left.saturating_sub(page.tweets.len() as u64);
            }
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
                    out.all_sent = false;
                }
            }
            out.next_token = page.next_token;
            let Some(token) = &out.next_token else { break };
            if started.elapsed() >= self.settings.budget || posts_left.is_some_and(|l| l < 10) {
                break;
            }
            params.next_token = Some(token.clone());
        }
        Ok(out)
    }

    /// A scheduled run. The posts it read are added to the month's usage on every
    /// exit, a failed one too (what X served is spent whatever happened next).
    pub(crate) async fn poll(
        &self,
        started: Instant,
        clock: &Clock,
    ) -> Result<IngestReport, HandlerError> {
        let mut report = IngestReport {
            mode: "scheduled",
            queries: self.queries.len(),
            ..Default::default()
        };
        let result = self.poll_queries(started, clock, &mut report).await;
        self.finish(clock, report, result).await
    }

    /// Ends a run: what it read is added to the month's usage whatever happened
    /// (what X served is spent), then its failure or, with the metrics, its report.
    async fn finish(
        &self,
        clock: &Clock,
        report: IngestReport,
        result: Result<(), HandlerError>,
    ) -> Result<IngestReport, HandlerError> {
        if let Some(u) = &self.usage {
            u.add(&budget::month(clock.now_ms), report.tweets as u64)
                .await?;
        }
        result?;
        if self.settings.emit_metrics {
            budget::emit_metrics(&report);
        }
        Ok(report)
    }

    /// X answered that the plan's monthly cap is reached: recorded until the month ends.
    async fn mark_capped(
        &self,
        clock: &Clock,
        report: &mut IngestReport,
    ) -> Result<(), HandlerError> {
        report.usage_capped = true;
        if let Some(u) = &self.usage {
            u.capped(budget::next_month_secs(clock.now_ms)).await?;
        }
        Ok(())
    }

    async fn poll_queries(
        &self,
        started: Instant,
        clock: &Clock,
        report: &mut IngestReport,
    ) -> Result<(), HandlerError> {
        let Some(usage) = self.usage_unless_capped(clock, report).await? else {
            return Ok(());
        };
        let mut posts_left = budget::run_allowance(
            self.settings.monthly_budget,
            usage.as_ref().map_or(0, |u| u.posts),
            clock.now_ms,
        );
        report.run_allowance = posts_left;
        // Runs start at a different query so a small allowance reaches each in turn.
        let first = budget::first_query(clock.now_ms, self.queries.len());
        let order = self
            .queries
            .iter()
            .cycle()
            .skip(first)
            .take(self.queries.len());
        for query in order {
            if started.elapsed() >= self.settings.budget || posts_left.is_some_and(|l| l < 10) {
                break;
            }
            let key = query_key(query);
            let mut cursor = self.cursors.get(&key).await?;
            let mut params = SearchParams {
                query: query.clone(),
                since_id: cursor.since_id,
                next_token: cursor.pending.as_ref().map(|p| p.next_token.clone()),
                max_results: self.settings.max_results,
                ..Default::default()
            };
            let mut outcome = self
                .run_query(params.clone(), started, report, &mut posts_left)
                .await;
            if let Err(Halt::StaleToken) = outcome {
                // The held pagination cannot resume: read the query again from
                // its cursor (what was read twice, compaction keeps once).
                tracing::warn!(query = %key, "held pagination token refused: reading from the cursor again");
                self.cursors.drop_pending(&key).await?;
                cursor.pending = None;
                params.next_token = None;
                outcome = self
                    .run_query(params.clone(), started, report, &mut posts_left)
                    .await;
            }
            if let Err(Halt::Stale(old)) = outcome {
                // A gap: the cursor fell out of the 7 days (the cap, an outage).
                // Restart inside the window and say what was lost.
                let restart = tickerpulse_xapi::client::snowflake_at(clock.window_start_ms());
                tracing::warn!(query = %key, since_id = old, restart, "cursor older than recent search keeps: restarting inside the window");
                self.cursors.advance(&key, restart, query).await?;
                report
                    .cursor_resets
                    .push(budget::Gap::new(&key, old, restart));
                cursor.pending = None;
                params.since_id = Some(restart);
                params.next_token = None;
                outcome = self
                    .run_query(params, started, report, &mut posts_left)
                    .await;
            }
            match outcome {
                Ok(o) => {
                    // The newest id of an unfinished pagination is the one it began with.
                    let newest = cursor.pending.as_ref().map(|p| p.newest).or(o.newest);
                    match (o.next_token, newest) {
                        (Some(token), Some(newest)) if o.all_sent => {
                            self.cursors
                                .hold(
                                    &key,
                                    &Pending {
                                        next_token: token,
                                        newest,
                                    },
                                )
                                .await?;
                            report.queries_unfinished += 1;
                            if o.rate_limited {
                                break;
                            }
                        }
                        (None, Some(id)) if o.all_sent => {
                            report.queries_completed += 1;
                            // The cursor moves only when every tweet up to it reached Firehose.
                            if self.cursors.advance(&key, id, query).await? {
                                report.cursors_advanced += 1;
                            }
                        }
                        _ => report.queries_completed += 1,
                    }
                }
                Err(Halt::RateLimited) => break,
                Err(Halt::Capped) => {
                    self.mark_capped(clock, report).await?;
                    break;
                }
                Err(Halt::Stale(id)) => {
                    return Err(HandlerError::Fatal(format!(
                        "since_id {id} refused again after restarting inside the window"
                    )))
                }
                Err(Halt::StaleToken) => {
                    return Err(HandlerError::Fatal(
                        "a pagination token was refused on a fresh pagination".into(),
                    ))
                }
                Err(Halt::Failed(e)) => return Err(e),
            }
        }
        Ok(())
    }

    /// The month's usage (`Some(None)` without a usage table), or `None` while X's
    /// cap holds: asking again only burns requests.
    async fn usage_unless_capped(
        &self,
        clock: &Clock,
        report: &mut IngestReport,
    ) -> Result<Option<Option<tickerpulse_aws::state::UsageRecord>>, HandlerError> {
        let usage = match &self.usage {
            Some(u) => Some(u.read(&budget::month(clock.now_ms)).await?),
            None => None,
        };
        if let Some(until) = usage.as_ref().and_then(|u| u.capped_until) {
            if until * 1000 > clock.now_ms {
                report.usage_capped = true;
                return Ok(None);
            }
        }
        Ok(Some(usage))
    }

    /// The windows of a backfill from the checkpoint `id` left, in order, each
    /// while the time budget lasts. The checkpoint moves only over what was read
    /// whole: windows, and in the window where the run stopped (a rate limit,
    /// the plan's cap, the month's budget, the time or page limit, a failure),
    /// its queries read whole and the page the stopped one would read next; the
    /// rerun of the same event goes on from there. The posts read count against
    /// the month's budget and are recorded on every exit.
    pub(crate) async fn backfill(
        &self,
        id: &str,
        windows: &[(String, String)],
        max_windows: Option<usize>,
        started: Instant,
        clock: &Clock,
    ) -> Result<IngestReport, HandlerError> {
        let mut report = IngestReport {
            mode: "backfill",
            queries: self.queries.len(),
            windows_total: windows.len(),
            ..Default::default()
        };
        let result = self
            .backfill_windows(id, windows, max_windows, started, clock, &mut report)
            .await;
        self.finish(clock, report, result).await
    }

    async fn backfill_windows(
        &self,
        id: &str,
        windows: &[(String, String)],
        max_windows: Option<usize>,
        started: Instant,
        clock: &Clock,
        report: &mut IngestReport,
    ) -> Result<(), HandlerError> {
        let resumed = match &self.usage {
            Some(u) => u.backfill_position(id).await?,
            None => BackfillPosition::default(),
        };
        let done = resumed.done.min(windows.len());
        report.windows_resumed_from = done;
        report.windows_done = done;
        let Some(usage) = self.usage_unless_capped(clock, report).await? else {
            return Ok(());
        };
        // What is left of the month's budget (a backfill is asked for: it is not
        // paced over the month as scheduled runs are, but it cannot pass it).
        let mut posts_left = (self.settings.monthly_budget > 0).then(|| {
            self.settings
                .monthly_budget
                .saturating_sub(usage.as_ref().map_or(0, |u| u.posts))
        });
        report.run_allowance = posts_left;
        let mut at = BackfillPosition {
            done,
            ..resumed.clone()
        };
        let last = max_windows.map_or(windows.len(), |m| (done + m).min(windows.len()));
        let mut failure = None;
        for (start, end) in &windows[done..last] {
            // A window is started only with time to finish one more query, and
            // budget for a page.
            if started.elapsed() + self.settings.budget / 10 >= self.settings.budget
                || posts_left.is_some_and(|l| l < 10)
            {
                break;
            }
            let stop = self
                .backfill_window(start, end, &mut at, started, clock, report, &mut posts_left)
                .await?;
            if let Some(stop) = stop {
                report.failed_windows.push((start.clone(), end.clone()));
                failure = stop;
                break;
            }
            at = BackfillPosition {
                done: at.done + 1,
                ..Default::default()
            };
        }
        report.windows_done = at.done;
        if at != resumed {
            if let Some(u) = &self.usage {
                u.backfill_checkpoint(id, &at, windows.len()).await?;
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The queries of one window from where `at` says, moving `at` over each
    /// query read whole and holding a stopped pagination at its page not yet
    /// read. `None`: the window is done; `Some(failure)`: it stopped there (a
    /// rate limit, the cap, the time or page limit, a refused token: `None`
    /// inside; a failure the run reports: `Some`).
    #[allow(clippy::too_many_arguments)]
    async fn backfill_window(
        &self,
        start: &str,
        end: &str,
        at: &mut BackfillPosition,
        started: Instant,
        clock: &Clock,
        report: &mut IngestReport,
        posts_left: &mut Option<u64>,
    ) -> Result<Option<Option<HandlerError>>, HandlerError> {
        for query in self.queries.iter().skip(at.queries_done) {
            let params = SearchParams {
                query: query.clone(),
                start_time: Some(start.to_string()),
                end_time: Some(end.to_string()),
                max_results: self.settings.max_results,
                next_token: at.next_token.clone(),
                ..Default::default()
            };
            match self.run_query(params, started, report, posts_left).await {
                Ok(o) if o.next_token.is_none() && o.all_sent => {
                    report.queries_completed += 1;
                    at.queries_done += 1;
                    at.next_token = None;
                }
                // Stopped between pages (the page or time limit, a rate limit
                // after some pages): held at the page not yet read.
                Ok(o) if o.all_sent => {
                    at.next_token = o.next_token;
                    return Ok(Some(None));
                }
                // Firehose refused some of it: the held position stays where
                // this read began, so the rerun reads those pages again.
                Ok(_) | Err(Halt::RateLimited) | Err(Halt::Stale(_)) => return Ok(Some(None)),
                Err(Halt::StaleToken) => {
                    // The held token is refused: the rerun reads the query from
                    // its first page (what was read twice, compaction keeps once).
                    at.next_token = None;
                    return Ok(Some(None));
                }
                Err(Halt::Capped) => {
                    self.mark_capped(clock, report).await?;
                    return Ok(Some(None));
                }
                Err(Halt::Failed(e)) => {
                    tracing::warn!(%start, %end, error = %e, "backfill window failed");
                    return Ok(Some(Some(e)));
                }
            }
        }
        Ok(None)
    }
}
