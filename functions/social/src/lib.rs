//! social: polls the sources beyond X (Bluesky, Reddit) on a schedule and sends
//! their posts to the same Firehose as X's, each query from its cursor, within
//! a post budget a run. The sources and their poll loop are
//! `tickerpulse_social`; the cursors live in the state table
//! (`tickerpulse_aws::social`). A post read twice (an overlap, two queries)
//! is counted once by the lake.

use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;
use tickerpulse_aws::firehose::{send_all, FirehoseSink, RecordSink};
use tickerpulse_aws::social::{DynamoSocialCursors, SocialCursorStore};
use tickerpulse_aws::{sdk, secrets, HandlerError};
use tickerpulse_core::config::{self, Env};
use tickerpulse_social::bluesky::{self, Bluesky};
use tickerpulse_social::reddit::{self, Reddit};
use tickerpulse_social::{poll, PostSource, Rotation, Source};
use tokio::sync::Mutex;

/// What one source's run did.
#[derive(Debug, Default, Serialize, PartialEq)]
pub struct SourceReport {
    pub queries: usize,
    pub pages: usize,
    pub posts: usize,
    pub sent: usize,
    pub failed_records: usize,
    pub cursors_advanced: usize,
    /// Queries left before their cursor (budget, page cap): the next run goes on.
    pub unfinished: usize,
    pub rate_limited: bool,
    pub error: Option<String>,
    /// The source's secret still holds the template's placeholder: it was not
    /// read (a deploy polls only the sources whose credentials are set).
    pub not_configured: bool,
}

pub struct Settings {
    /// Posts a source may send a run.
    pub max_posts: usize,
    pub max_pages: usize,
    /// Bluesky queries a run reads (one a ticker), going round the watch list.
    pub max_queries: usize,
}

pub struct Function<S: RecordSink = FirehoseSink, C: SocialCursorStore = DynamoSocialCursors> {
    pub bluesky: Option<Mutex<Bluesky>>,
    pub reddit: Option<Mutex<Reddit>>,
    pub sink: S,
    pub cursors: C,
    pub settings: Settings,
    /// Sources asked for whose secret is not set yet: skipped, and reported.
    pub not_configured: Vec<Source>,
}

impl Function {
    pub async fn from_env(env: &dyn Env) -> Result<Self, HandlerError> {
        let conf = sdk::load(env).await;
        let sources = config::optional(env, "SOCIAL_SOURCES", "bluesky,reddit");
        let wanted = tickerpulse_social::parse_sources(&sources).map_err(|reason| {
            HandlerError::Config(config::ConfigError::Invalid {
                name: "SOCIAL_SOURCES",
                value: sources.clone(),
                reason,
            })
        })?;
        let fatal = |e: tickerpulse_social::SocialError| HandlerError::Fatal(e.to_string());
        let mut not_configured = Vec::new();
        let bluesky_login: Option<bluesky::Login> = credentials(
            &conf,
            env,
            (&wanted, Source::Bluesky, "BLUESKY_SECRET_ARN"),
            "Bluesky app password",
            r#"{"identifier": "handle", "app_password": "xxxx-xxxx-xxxx-xxxx"}"#,
            &mut not_configured,
        )
        .await?;
        let bluesky = if let Some(login) = bluesky_login {
            let watchlist = tickerpulse_aws::watchlist::load(env).await?;
            let lang = config::optional(env, "INGEST_LANG", "en");
            let finder = tickerpulse_core::tickers::TickerFinder::bundled(watchlist.clone());
            let queries = bluesky::build_queries(
                &watchlist.symbols(),
                Some(lang.as_str()).filter(|l| *l != "*"),
                |s| finder.rule(s) != tickerpulse_core::tickers::Rule::Caps,
            );
            let base = config::optional(env, "BLUESKY_API_BASE_URL", "https://bsky.social");
            Some(Mutex::new(
                Bluesky::new(&base, login, queries).map_err(fatal)?,
            ))
        } else {
            None
        };
        let reddit_creds: Option<reddit::Credentials> = credentials(
            &conf,
            env,
            (&wanted, Source::Reddit, "REDDIT_SECRET_ARN"),
            "Reddit app",
            r#"{"client_id": "...", "client_secret": "..."}"#,
            &mut not_configured,
        )
        .await?;
        let reddit = if let Some(creds) = reddit_creds {
            let subs = config::optional(env, "REDDIT_SUBREDDITS", reddit::DEFAULT_SUBREDDITS);
            let subs: Vec<&str> = subs
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            let auth = config::optional(env, "REDDIT_AUTH_BASE_URL", "https://www.reddit.com");
            let api = config::optional(env, "REDDIT_API_BASE_URL", "https://oauth.reddit.com");
            Some(Mutex::new(
                Reddit::new(&auth, &api, creds, &subs).map_err(fatal)?,
            ))
        } else {
            None
        };
        let table = config::required(env, config::STATE_TABLE)?;
        let settings = Settings {
            max_posts: config::number(env, "SOCIAL_MAX_POSTS", 5_000usize, 1..=1_000_000)?,
            max_pages: config::number(env, "SOCIAL_MAX_PAGES", 10usize, 1..=100)?,
            max_queries: config::number(env, "BLUESKY_MAX_QUERIES", 100usize, 1..=10_000)?,
        };
        Ok(Self {
            bluesky,
            reddit,
            sink: FirehoseSink {
                client: sdk::firehose_client(&conf),
                stream: config::required(env, config::DELIVERY_STREAM)?,
            },
            cursors: DynamoSocialCursors {
                client: sdk::dynamodb_client(&conf),
                table,
            },
            settings,
            not_configured,
        })
    }
}

/// A wanted source's credentials from its secret (`var` names its ARN); a source
/// whose secret is not set yet goes on `not_configured` instead.
async fn credentials<T: serde::de::DeserializeOwned>(
    conf: &sdk::SdkConfig,
    env: &dyn Env,
    (wanted, source, var): (&[Source], Source, &'static str),
    what: &str,
    shape: &str,
    not_configured: &mut Vec<Source>,
) -> Result<Option<T>, HandlerError> {
    if !wanted.contains(&source) {
        return Ok(None);
    }
    let arn = config::required(env, var)?;
    let found = secrets::json_secret_if_set(conf, &arn, what, shape).await?;
    if found.is_none() {
        not_configured.push(source);
    }
    Ok(found)
}

impl<S: RecordSink, C: SocialCursorStore> Function<S, C> {
    /// Any event (the schedule's) runs every configured source once; an
    /// event `{"since": "2026-12-01T00:00:00Z"}` backfills: the queries
    /// without a cursor read back to that time (Bluesky's `since`; Reddit's
    /// listings reach 1,000 items back at most).
    pub async fn handle(
        &self,
        event: serde_json::Value,
    ) -> Result<BTreeMap<&'static str, SourceReport>, HandlerError> {
        let since =
            tickerpulse_social::backfill_since(&event).map_err(HandlerError::InvalidInput)?;
        let minute = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() / 60) as usize;
        let mut out = BTreeMap::new();
        for source in &self.not_configured {
            tracing::warn!(
                source = source.as_str(),
                "not polled: its secret still holds the template's placeholder (README, Deploying)"
            );
            out.insert(
                source.as_str(),
                SourceReport {
                    not_configured: true,
                    ..Default::default()
                },
            );
        }
        if let Some(b) = &self.bluesky {
            let mut b = b.lock().await;
            out.insert(
                "bluesky",
                self.run_source(&mut *b, minute, since.as_deref()).await?,
            );
        }
        if let Some(r) = &self.reddit {
            let mut r = r.lock().await;
            out.insert(
                "reddit",
                self.run_source(&mut *r, minute, since.as_deref()).await?,
            );
        }
        tracing::info!(?out, "social done");
        Ok(out)
    }

    /// One source: its queries from their cursors (a share of them a run,
    /// going round), the posts to Firehose, then the cursors of the queries
    /// whose posts all arrived.
    pub async fn run_source<P: PostSource>(
        &self,
        src: &mut P,
        minute: usize,
        since: Option<&str>,
    ) -> Result<SourceReport, HandlerError> {
        let source = src.source();
        let cursors = self.cursors.load(source).await?;
        let mut limited = Rotation::new(src, self.settings.max_queries, minute);
        let polled = poll(
            &mut limited,
            &cursors,
            since,
            self.settings.max_posts,
            self.settings.max_pages,
            0,
        )
        .await;
        let mut report = SourceReport {
            queries: limited.queries().len(),
            pages: polled.pages,
            posts: polled.posts.len(),
            unfinished: polled.unfinished,
            ..Default::default()
        };
        let records: Vec<Vec<u8>> = polled.posts.iter().map(|p| p.record()).collect();
        let sent = send_all(&self.sink, &records, 5, Duration::from_millis(200)).await?;
        report.sent = sent.sent;
        report.failed_records = sent.failed.len() + sent.oversized.len();
        // A cursor moves only when every post reached Firehose; otherwise the
        // next run reads them again (the lake counts each once).
        if report.failed_records == 0 {
            for (query, cursor) in &polled.cursors {
                report.cursors_advanced +=
                    usize::from(self.cursors.save(source, query, cursor).await?);
            }
        } else {
            tracing::error!(failed = report.failed_records, %source, "Firehose refused posts; cursors kept");
        }
        if let Some(e) = polled.stopped {
            report.rate_limited = matches!(e, tickerpulse_social::SocialError::RateLimited { .. });
            tracing::warn!(%source, error = %e, "a source stopped early");
            if matches!(e, tickerpulse_social::SocialError::Unauthorized(..)) {
                return Err(HandlerError::Fatal(e.to_string()));
            }
            report.error = Some(e.to_string());
        }
        Ok(report)
    }
}
