//! comply: on a schedule, the posts platforms and operators ask to be
//! forgotten leave every copy (docs/privacy.md). Each run:
//!
//! 1. the operators' queued requests (`POST /v1/forget`) are carried out;
//! 2. X's batch compliance: an open job is checked, and a complete one's
//!    withdrawn posts are forgotten; with none open, once
//!    `X_COMPLIANCE_INTERVAL_HOURS` have passed since the last, a job is
//!    started over the X posts stored in the last `X_COMPLIANCE_DAYS` days
//!    (X allows one job at a time and a job takes minutes to hours, so it
//!    spans runs);
//! 3. Reddit and Bluesky: once a day (`SOCIAL_RECHECK_INTERVAL_HOURS`), the
//!    posts of theirs stored in the last `SOCIAL_RECHECK_DAYS` days (7) are
//!    asked about (`/api/info`, 100 a request; `getPosts`, 25), and those
//!    deleted or removed are forgotten;
//! 4. hours whose posts left the raw zone and which a pipeline run has since
//!    rebuilt (no longer pending) lose their stage files' older versions.
//!
//! Forgetting is [`Stores::remove`]: the raw zone's objects rewritten, every
//! older version deleted, the recent-posts items deleted, the hours marked
//! changed so the pipeline's next run recomputes them from what remains.

use serde::Serialize;
use std::collections::BTreeSet;
use tickerpulse_aws::compliance::{ComplyState, OpenJob};
use tickerpulse_aws::forget::Stores;
use tickerpulse_aws::state::ChangedPartitions;
use tickerpulse_aws::{sdk, HandlerError};
use tickerpulse_core::config::{self, Env};
use tickerpulse_core::forget::Forget;
use tickerpulse_core::source::Source;
use tickerpulse_core::HourPartition;
use tickerpulse_social::bluesky::{self, Bluesky};
use tickerpulse_social::reddit::{self, Reddit};
use tickerpulse_xapi::XApi;
use tokio::sync::Mutex;

#[derive(Debug, Default, Serialize, PartialEq)]
pub struct ComplyResult {
    pub requests: usize,
    /// X's job: its id and status as this run found or left it.
    pub x_job: Option<(String, String)>,
    pub x_ids_uploaded: usize,
    /// Reddit and Bluesky posts re-checked, and how many were gone.
    pub social_checked: usize,
    pub social_gone: usize,
    pub posts_removed: usize,
    pub hours_marked: usize,
    pub hours_purged: usize,
    pub versions_purged: u64,
}

pub struct Function {
    pub stores: Stores,
    pub state: ComplyState,
    /// None when `X_COMPLIANCE` is off; an error when it is on and the X
    /// token cannot be had (the run then still carries out the requests and
    /// purges, and fails after them, so the errors alarm tells).
    pub x: Option<Result<XApi, String>>,
    pub days: u32,
    pub interval_ms: i64,
    /// The social sources whose secrets are set (others are not re-checked).
    pub bluesky: Option<Mutex<Bluesky>>,
    pub reddit: Option<Mutex<Reddit>>,
    pub recheck_days: u32,
    pub recheck_interval_ms: i64,
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

impl Function {
    pub async fn from_env(env: &dyn Env) -> Result<Self, HandlerError> {
        let conf = sdk::load(env).await;
        let dynamodb = sdk::dynamodb_client(&conf);
        let state_table = config::required(env, config::STATE_TABLE)?;
        let x = if config::optional(env, "X_COMPLIANCE", "on") == "on" {
            let base = config::optional(env, "X_API_BASE_URL", "https://api.x.com");
            Some(
                match tickerpulse_aws::secrets::x_bearer_of_env(env, &conf).await {
                    Ok(token) => XApi::new(&base, token).map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                },
            )
        } else {
            None
        };
        let sources = config::optional(env, "SOCIAL_SOURCES", "bluesky,reddit");
        let secret = |var: &'static str| env.var(var).filter(|a| !a.is_empty());
        let fatal = |e: tickerpulse_social::SocialError| HandlerError::Fatal(e.to_string());
        let bluesky = match secret("BLUESKY_SECRET_ARN").filter(|_| sources.contains("bluesky")) {
            Some(arn) => tickerpulse_aws::secrets::json_secret_if_set::<bluesky::Login>(
                &conf,
                &arn,
                "Bluesky app password",
                r#"{"identifier": "handle", "app_password": "xxxx-xxxx-xxxx-xxxx"}"#,
            )
            .await?
            .map(|login| {
                let base = config::optional(env, "BLUESKY_API_BASE_URL", "https://bsky.social");
                Bluesky::new(&base, login, Vec::new()).map(Mutex::new)
            })
            .transpose()
            .map_err(fatal)?,
            None => None,
        };
        let reddit = match secret("REDDIT_SECRET_ARN").filter(|_| sources.contains("reddit")) {
            Some(arn) => tickerpulse_aws::secrets::json_secret_if_set::<reddit::Credentials>(
                &conf,
                &arn,
                "Reddit app",
                r#"{"client_id": "...", "client_secret": "..."}"#,
            )
            .await?
            .map(|creds| {
                let auth = config::optional(env, "REDDIT_AUTH_BASE_URL", "https://www.reddit.com");
                let api = config::optional(env, "REDDIT_API_BASE_URL", "https://oauth.reddit.com");
                Reddit::new(&auth, &api, creds, &[]).map(Mutex::new)
            })
            .transpose()
            .map_err(fatal)?,
            None => None,
        };
        Ok(Self {
            bluesky,
            reddit,
            recheck_days: config::number(env, "SOCIAL_RECHECK_DAYS", 7u32, 1..=u32::MAX)?,
            recheck_interval_ms: config::number(
                env,
                "SOCIAL_RECHECK_INTERVAL_HOURS",
                24i64,
                1..=i64::MAX / 3_600_000,
            )? * 3_600_000,
            stores: Stores {
                s3: sdk::s3_client(&conf),
                dynamodb: dynamodb.clone(),
                raw_bucket: config::required(env, config::RAW_BUCKET)?,
                stage_bucket: config::required(env, config::STAGE_BUCKET)?,
                recent_table: config::required(env, config::RECENT_TWEETS_TABLE)?,
                state_table: state_table.clone(),
            },
            state: ComplyState {
                client: dynamodb,
                table: state_table,
            },
            x,
            days: config::number(env, "X_COMPLIANCE_DAYS", 30u32, 1..=u32::MAX)?,
            interval_ms: config::number(
                env,
                "X_COMPLIANCE_INTERVAL_HOURS",
                24i64,
                1..=i64::MAX / 3_600_000,
            )? * 3_600_000,
        })
    }

    /// Forgets, and remembers the hours to purge once rebuilt.
    async fn forget(
        &self,
        forget: &Forget,
        by: &str,
        out: &mut ComplyResult,
    ) -> Result<(), HandlerError> {
        if forget.is_empty() {
            return Ok(());
        }
        let removal = self.stores.remove(forget, by).await?;
        self.state.purge_later(&removal.raw.hours).await?;
        out.posts_removed += removal.ids.len();
        out.hours_marked += removal.raw.hours.len();
        tracing::info!(
            by,
            posts = removal.ids.len(),
            hours = removal.raw.hours.len(),
            "forgot"
        );
        Ok(())
    }

    async fn x_compliance(&self, x: &XApi, out: &mut ComplyResult) -> Result<(), HandlerError> {
        let x_err = |e: tickerpulse_xapi::XApiError| HandlerError::Retryable(format!("X: {e}"));
        if let Some(open) = self.state.open_job().await? {
            let job = x.compliance_job(&open.id).await.map_err(x_err)?;
            out.x_job = Some((job.id.clone(), job.status.clone()));
            match job.status.as_str() {
                "complete" => {
                    let events = x.compliance_results(&job).await.map_err(x_err)?;
                    let ids = events.into_iter().filter(|e| e.forgets()).map(|e| e.id);
                    self.forget(&Forget::new(ids, []), "x-compliance", out)
                        .await?;
                    self.state.job_done().await?;
                }
                "failed" | "expired" => {
                    tracing::warn!(job = job.id, status = job.status, "X compliance job ended");
                    self.state.job_done().await?;
                }
                _ => {}
            }
            return Ok(());
        }
        let now = now_ms();
        let last = self.state.last_started_ms().await?;
        if last.is_some_and(|t| now - t < self.interval_ms) {
            return Ok(());
        }
        let ids = self.stored_ids(self.days, Source::X).await?;
        if ids.is_empty() {
            return Ok(());
        }
        let job = x
            .create_compliance_job(&format!("tickerpulse-{}", now / 1000))
            .await
            .map_err(x_err)?;
        x.upload_compliance_ids(&job, &ids).await.map_err(x_err)?;
        self.state
            .started(&OpenJob {
                id: job.id.clone(),
                started_ms: now,
            })
            .await?;
        out.x_ids_uploaded = ids.len();
        out.x_job = Some((job.id, "in_progress".into()));
        Ok(())
    }

    /// One source's post ids stored in the last `days` days.
    async fn stored_ids(&self, days: u32, source: Source) -> Result<Vec<String>, HandlerError> {
        let days = HourPartition::last_days(time::OffsetDateTime::now_utc(), days);
        let ids = tickerpulse_aws::forget::post_ids(
            &self.stores.s3,
            &self.stores.raw_bucket,
            &days,
            source,
        )
        .await?;
        Ok(ids.into_iter().collect())
    }

    /// Reddit's and Bluesky's posts of the last days, asked about once a
    /// day; those gone are forgotten.
    async fn recheck(&self, out: &mut ComplyResult) -> Result<(), HandlerError> {
        if self.bluesky.is_none() && self.reddit.is_none() {
            return Ok(());
        }
        let now = now_ms();
        let last = self.state.last_rechecked_ms().await?;
        if last.is_some_and(|t| now - t < self.recheck_interval_ms) {
            return Ok(());
        }
        let social = |e: tickerpulse_social::SocialError| HandlerError::Retryable(e.to_string());
        let mut gone = Vec::new();
        if let Some(b) = &self.bluesky {
            let ids = self.stored_ids(self.recheck_days, Source::Bluesky).await?;
            out.social_checked += ids.len();
            gone.extend(b.lock().await.gone(&ids).await.map_err(social)?);
        }
        if let Some(r) = &self.reddit {
            let ids = self.stored_ids(self.recheck_days, Source::Reddit).await?;
            out.social_checked += ids.len();
            gone.extend(r.lock().await.gone(&ids).await.map_err(social)?);
        }
        out.social_gone += gone.len();
        self.forget(&Forget::new(gone, []), "social-recheck", out)
            .await?;
        self.state.rechecked(now).await
    }

    /// Stage versions of the hours a run has rebuilt since their posts went.
    async fn purge(&self, out: &mut ComplyResult) -> Result<(), HandlerError> {
        let changed = ChangedPartitions {
            client: self.state.client.clone(),
            table: self.state.table.clone(),
        };
        let pending: BTreeSet<String> = changed
            .pending()
            .await?
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        let rebuilt: BTreeSet<String> = self
            .state
            .purges()
            .await?
            .into_iter()
            .filter(|h| !pending.contains(h))
            .collect();
        out.versions_purged += self.stores.purge_stage(&rebuilt).await?;
        for hour in &rebuilt {
            self.state.purged(hour).await?;
        }
        out.hours_purged += rebuilt.len();
        Ok(())
    }

    pub async fn handle(&self) -> Result<ComplyResult, HandlerError> {
        let mut out = ComplyResult::default();
        self.purge(&mut out).await?;
        for r in self.state.requests().await? {
            let forget = Forget::new(r.posts.iter().cloned(), r.authors.iter().cloned());
            self.forget(&forget, &format!("request by {}", r.by), &mut out)
                .await?;
            self.state.request_done(&r.key).await?;
            out.requests += 1;
        }
        self.recheck(&mut out).await?;
        tracing::info!(result = ?out, "complied");
        match &self.x {
            Some(Ok(x)) => self.x_compliance(x, &mut out).await?,
            Some(Err(e)) => {
                return Err(HandlerError::Fatal(format!(
                    "X compliance is on (XCompliance) but {e}; the requests and purges were done"
                )))
            }
            None => {}
        }
        tracing::info!(result = ?out, "checked X");
        Ok(out)
    }
}
