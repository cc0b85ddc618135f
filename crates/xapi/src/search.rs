//! One search call as a run makes it: server errors and transport failures
//! retried with exponential backoff, a 429 waited out until `x-rate-limit-reset`
//! (docs.x.com/x-api/fundamentals/rate-limits), all within the run's time budget.

use crate::client::{Page, SearchParams, XApi, XApiError};
use std::time::{Duration, Instant};
use tickerpulse_core::retry::Backoff;

/// How long a run may spend, and how often it retries.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub started: Instant,
    pub budget: Duration,
    pub retries: u32,
    pub retry_base: Duration,
}

/// Why a search gave up.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Stop {
    /// Rate limited past the budget or the retries: the next run resumes.
    #[error("rate limited past this run's time budget")]
    RateLimited,
    /// The plan's usage cap is reached: no retry passes before the period ends.
    #[error("the plan's {period} usage cap is reached")]
    Capped { period: String },
    /// Server errors or transport failures after every retry: a later try may pass.
    #[error("{error} after {attempts} retries")]
    Exhausted { error: XApiError, attempts: u32 },
    /// The API refused the request or answered what it does not document.
    #[error(transparent)]
    Refused(XApiError),
}

/// Searches once, retrying as the module says; `retries` counts each wait.
pub async fn search_within(
    x: &XApi,
    p: &SearchParams,
    budget: &Budget,
    retries: &mut usize,
) -> Result<Page, Stop> {
    let mut attempt = 0;
    loop {
        match x.search(p).await {
            Ok(page) => return Ok(page),
            Err(XApiError::RateLimited { reset_epoch }) => {
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                let wait =
                    Duration::from_secs(reset_epoch.map_or(900, |r| (r - now).max(0) as u64 + 1));
                if budget.started.elapsed() + wait >= budget.budget || attempt >= budget.retries {
                    tracing::warn!(
                        ?wait,
                        "rate limited past this run's time budget: the next run resumes"
                    );
                    return Err(Stop::RateLimited);
                }
                tracing::info!(?wait, "rate limited: waiting for the window to reset");
                *retries += 1;
                attempt += 1;
                tokio::time::sleep(wait).await;
            }
            // Waiting cannot help before the period ends: no retry is spent.
            Err(XApiError::UsageCapped { period }) => return Err(Stop::Capped { period }),
            Err(e @ (XApiError::Server(_) | XApiError::Transport(_))) => {
                let wait = Backoff::exponential(budget.retry_base).delay(attempt);
                if attempt >= budget.retries || budget.started.elapsed() + wait >= budget.budget {
                    return Err(Stop::Exhausted {
                        error: e,
                        attempts: attempt,
                    });
                }
                tracing::warn!(error = %e, ?wait, "retrying the X API");
                *retries += 1;
                attempt += 1;
                tokio::time::sleep(wait).await;
            }
            Err(e) => return Err(Stop::Refused(e)),
        }
    }
}
