//! `tickerpulse demo` / `make demo`: the real path end to end on the local stack.
//!
//! The 5,000 real tweets of taborda-2020 (as X API v2 objects, see `taborda`)
//! are served by the fake X API to `ingest`, which sends them through Firehose
//! and `transform` into the raw zone; the S3 events mark the changed hours; the
//! Step Functions pipeline compacts, cleans and aggregates them into DynamoDB;
//! then the API answers from there. The demo prints what happened, with every
//! input tweet counted once, and serves the dashboard and the API until Ctrl-C.

use anyhow::{anyhow, Context, Result};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use tickerpulse_local::stack::{self as local, LocalStack};
use tickerpulse_local::Template;

/// What the demo measured, stage by stage.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Figures {
    pub source: String,
    pub input: u64,
    /// Input posts the sources' reads must return, from the queries' semantics
    /// over the input (`crate::expected`), not from what came back.
    pub expected: u64,
    /// Input posts no read should return (no watched cashtag, a retweet,
    /// another language, before the read's start): `input - expected`.
    pub not_matched: u64,
    /// Expected posts that reached neither the lake nor its error prefix nor
    /// the transform's drops, and posts there that no read should have returned.
    pub lost: u64,
    pub unexpected: u64,
    pub fetched: u64,
    /// Of the input, the posts the fake Bluesky and Reddit served instead of
    /// the fake X (a tenth each of the taborda tweets), and what `social` read.
    pub bluesky_in: u64,
    pub reddit_in: u64,
    pub social_fetched: u64,
    pub queries: u64,
    pub pages: u64,
    /// Lines in the raw zone, and the hour partitions they landed in.
    pub landed: u64,
    pub partitions: u64,
    /// Posts the transform marked `ProcessingFailed` (in the error prefix).
    pub failed: u64,
    /// Expected posts in a language the transform does not keep (`Dropped`).
    pub dropped: u64,
    /// Stage 1 rows (deduplicated by tweet id), and the copies of tweets that
    /// landed more than once (returned by two queries) that compaction removed.
    pub stage1_rows: u64,
    pub duplicates: u64,
    /// Stage 2: kept (watched ticker, not spam), spam, and no watched ticker.
    pub cleaned: u64,
    pub spam: u64,
    pub unwatched: u64,
    /// The last execution, its status, how many ran, and the partitions they processed.
    pub execution: String,
    pub execution_status: String,
    pub executions: u64,
    pub partitions_processed: u64,
    /// Tickers whose synthetic daily prices went to the lake's `prices/daily/`.
    pub price_files: u64,
    /// The API's total of tweets over every year (equals `cleaned`).
    pub api_tweets: u64,
    pub tickers_seen: u64,
    pub busiest_day: Option<String>,
    pub busiest_day_tweets: u64,
    /// The busiest day's top tickers: (ticker, mentions, positive, negative, neutral ratios, mean compound).
    pub top: Vec<(String, u64, f64, f64, f64, f64)>,
    pub seconds: Vec<(String, f64)>,
}

impl Figures {
    /// Every input tweet is counted once: not matched by the reads' semantics,
    /// dropped, failed, without a watched ticker, spam or kept, with none of
    /// the expected lost and none unexpected; and the API's total is what the
    /// pipeline kept. (`duplicates` are extra copies, not input tweets.)
    pub fn balanced(&self) -> bool {
        self.lost == 0
            && self.unexpected == 0
            && self.input
                == self.not_matched
                    + self.dropped
                    + self.failed
                    + self.unwatched
                    + self.spam
                    + self.cleaned
            && self.api_tweets == self.cleaned
    }
}

fn bucket_of(t: &Template, logical: &str) -> Result<String> {
    Ok(t.buckets()?
        .into_iter()
        .find(|b| b.logical_id == logical)
        .with_context(|| format!("the template has no {logical}"))?
        .name)
}

async fn rows_under(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Result<u64> {
    use parquet::file::reader::FileReader;
    let mut rows = 0u64;
    for key in tickerpulse_aws::lake::list_keys(s3, bucket, prefix).await? {
        if !key.ends_with(".parquet") {
            continue;
        }
        let bytes = tickerpulse_aws::lake::get_bytes(s3, bucket, &key).await?;
        let reader = parquet::file::reader::SerializedFileReader::new(bytes)
            .with_context(|| format!("reading s3://{bucket}/{key}"))?;
        rows += reader.metadata().file_metadata().num_rows() as u64;
    }
    Ok(rows)
}

/// Lines, hour partitions and the distinct post ids of the JSON lines under a
/// prefix: a landed record's `tweet_id`, or the `id` inside a failed record's
/// `rawData` (Firehose's error output).
async fn lines_under(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Result<(u64, u64, BTreeSet<String>)> {
    use base64::Engine;
    let mut lines = 0u64;
    let mut partitions = BTreeSet::new();
    let mut ids = BTreeSet::new();
    for key in tickerpulse_aws::lake::list_keys(s3, bucket, prefix).await? {
        if let Some((dir, _)) = key.rsplit_once('/') {
            partitions.insert(dir.to_string());
        }
        let body = tickerpulse_aws::lake::read_object(s3, bucket, &key).await?;
        for line in body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            lines += 1;
            let Ok(v) = serde_json::from_slice::<Value>(line) else {
                continue;
            };
            let id = match (v["tweet_id"].as_str(), v["rawData"].as_str()) {
                (Some(id), _) => Some(id.to_string()),
                (None, Some(raw)) => base64::engine::general_purpose::STANDARD
                    .decode(raw)
                    .ok()
                    .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                    .and_then(|r| r["id"].as_str().map(str::to_string)),
                _ => None,
            };
            ids.extend(id);
        }
    }
    Ok((lines, partitions.len() as u64, ids))
}

/// How many generated tweets the demo runs where the data root is absent.
pub const FALLBACK_TWEETS: u64 = 5_000;

/// `n` generated tweets (`crates/synth`: a few hundred watched tickers with
/// Zipf popularity, skewed authors, 10% spam, spread over 120 days from
/// 2026-01-01), as X API v2 objects with their authors.
pub fn synthetic(n: u64) -> Result<Vec<Value>> {
    let mut generator = tickerpulse_synth::Generator::new(tickerpulse_synth::Config::default(), n);
    (0..n)
        .map(|_| serde_json::to_value(generator.next_tweet().0).context("a generated tweet"))
        .collect()
}

/// The demo's user of the local pool (an emulator, on loopback: not a secret).
pub const DEMO_USER: &str = "demo";
pub const DEMO_PASSWORD: &str = "Demo-password-1";

/// Calls the API function in-process with an API Gateway event.
pub async fn api_get(api: &tickerpulse_fn_api::Function, path: &str, query: &str) -> Result<Value> {
    api_get_as(api, path, query, None).await
}

/// [`api_get`] as a signed-in user of `groups` (the authorizer's claims).
pub async fn api_get_as(
    api: &tickerpulse_fn_api::Function,
    path: &str,
    query: &str,
    groups: Option<&str>,
) -> Result<Value> {
    let mut event = tickerpulse_local::apigw::proxy_event(
        "GET",
        path,
        (!query.is_empty()).then_some(query),
        &[],
        b"",
        0,
    );
    if let Some(groups) = groups {
        let claims = json!({"sub": "demo", "cognito:username": "demo", "cognito:groups": groups});
        if let Some(claims) = claims.as_object() {
            tickerpulse_local::apigw::with_claims(&mut event, claims.clone());
        }
    }
    let request = lambda_http::request::from_str(&event.to_string())
        .map_err(|e| anyhow!("building the API event: {e}"))?;
    let response = api.handle(request).await.map_err(|e| anyhow!("api: {e}"))?;
    let status = response.status();
    let body = match response.body() {
        lambda_http::Body::Text(t) => t.clone(),
        _ => String::new(),
    };
    anyhow::ensure!(status.is_success(), "api {path}?{query}: {status} {body}");
    serde_json::from_str(&body).with_context(|| format!("api {path}: not JSON"))
}

/// The demo's prices: synthetic daily bars (`tickerpulse_synth::prices`, a
/// seeded random walk: made up, and the demo says so) of every watched ticker
/// its tweets mention five times or more, on the weekdays of their dates and
/// two weeks each side, put under the lake's `prices/daily/` as an operator
/// puts real ones (`aws s3 cp`). The repository holds no real prices.
pub async fn load_synthetic_prices(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    tweets: &[Value],
) -> Result<u64> {
    let watchlist = tickerpulse_core::watchlist::Watchlist::bundled();
    let mut mentions = std::collections::BTreeMap::<String, u64>::new();
    let mut days = std::collections::BTreeSet::new();
    for tweet in tweets {
        for symbol in
            tickerpulse_core::watchlist::cashtags_in_text(tweet["text"].as_str().unwrap_or(""))
        {
            if watchlist.contains(&symbol) {
                *mentions.entry(symbol).or_default() += 1;
            }
        }
        let created = tweet["created_at"].as_str().unwrap_or("");
        days.extend(tickerpulse_core::partition::parse_rfc3339(created).map(|t| t.date()));
    }
    let (Some(&first), Some(&last)) = (days.first(), days.last()) else {
        return Ok(0);
    };
    let margin = time::Duration::days(14);
    let mut n = 0;
    for (symbol, _) in mentions.iter().filter(|(_, m)| **m >= 5) {
        let key = format!("{}{symbol}.csv", tickerpulse_aws::prices::DAILY_PREFIX);
        let csv = tickerpulse_synth::prices::daily_csv(symbol, first - margin, last + margin);
        s3.put_object()
            .bucket(bucket)
            .key(&key)
            .content_type("text/csv")
            .body(aws_sdk_s3::primitives::ByteStream::from(csv.into_bytes()))
            .send()
            .await
            .with_context(|| format!("writing s3://{bucket}/{key}"))?;
        n += 1;
    }
    Ok(n)
}

/// Tweets as posts of the three sources: every tenth (the fourth of each ten)
/// a Bluesky post, and every tenth (the eighth) a Reddit comment in
/// r/wallstreetbets written without its `$` (as Reddit writes tickers); the
/// rest stay X's.
pub fn split_sources(tweets: Vec<Value>) -> (Vec<Value>, Vec<Value>, Vec<Value>) {
    let (mut x, mut bluesky, mut reddit) = (Vec::new(), Vec::new(), Vec::new());
    for (i, t) in tweets.into_iter().enumerate() {
        let s = |k: &str| {
            t.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let (id, text, created) = (s("id"), s("text"), s("created_at"));
        let author = t
            .get("author_id")
            .and_then(Value::as_str)
            .unwrap_or("0")
            .to_string();
        match i % 10 {
            3 => bluesky.push(tickerpulse_social::fake::bluesky_view(
                &format!("did:plc:taborda{author}"),
                &format!("user{author}.bsky.social"),
                &format!("3k{id}"),
                &text,
                &created,
                (i % 17) as u64,
            )),
            7 => {
                let secs = tickerpulse_core::partition::parse_rfc3339(&created)
                    .map(|t| t.unix_timestamp() as f64)
                    .unwrap_or_default();
                let plain: String = text.replace('$', "");
                reddit.push(tickerpulse_social::fake::reddit_child(
                    &format!(
                        "d{}",
                        id.parse::<u64>()
                            .map(|n| format!("{n:x}"))
                            .unwrap_or(id.clone())
                    ),
                    "wallstreetbets",
                    &format!("redditor{author}"),
                    &plain,
                    None,
                    secs,
                    (i % 23) as i64,
                    true,
                ));
            }
            _ => x.push(t),
        }
    }
    (x, bluesky, reddit)
}

/// The posts the reads must return, and those of them the transform drops.
struct Expected {
    ids: BTreeSet<String>,
    dropped: BTreeSet<String>,
}

/// [`crate::expected`] with the functions' own configuration: ingest's watch
/// list, language and retweet setting, social's subreddits, the transform's
/// languages.
async fn expected_reads(
    stack: &LocalStack,
    x: &[Value],
    bluesky: &[Value],
    reddit: &[Value],
    since: &str,
) -> Result<Expected> {
    use crate::expected::{reddit_ids, BlueskySearch, XSearch};
    use tickerpulse_core::config;
    let ingest = stack.function_env("ingest")?;
    let social = stack.function_env("social")?;
    let transform = stack.function_env("transform")?;
    let watchlist = tickerpulse_aws::watchlist::load(&ingest)
        .await
        .map_err(|e| anyhow!("the watch list: {e}"))?;
    let lang = config::optional(&ingest, "INGEST_LANG", "en");
    let no_retweets = config::flag(&ingest, "INGEST_EXCLUDE_RETWEETS", true)?;
    let mut ids = XSearch::new(&watchlist, &lang, no_retweets).ids(x);
    ids.extend(
        BlueskySearch::new(&watchlist, &config::optional(&social, "INGEST_LANG", "en"))
            .ids(bluesky, since),
    );
    let subs = config::optional(
        &social,
        "REDDIT_SUBREDDITS",
        tickerpulse_social::reddit::DEFAULT_SUBREDDITS,
    );
    let subs: Vec<&str> = subs.split(',').map(str::trim).collect();
    ids.extend(reddit_ids(reddit, &subs, since));
    // The transform keeps the languages it is given; a post without one is kept.
    let kept = config::optional(
        &transform,
        "TRANSFORM_LANGUAGES",
        tickerpulse_enrich::DEFAULT_LANGUAGES,
    );
    let kept: Vec<String> = kept
        .split(',')
        .map(|l| l.trim().to_ascii_lowercase())
        .collect();
    // A post's language as the transform reads it: X's `lang`, Bluesky's
    // first `langs` (its primary subtag); Reddit gives none.
    let langs: std::collections::HashMap<&str, String> = x
        .iter()
        .filter_map(|t| Some((t["id"].as_str()?, t["lang"].as_str()?.to_ascii_lowercase())))
        .chain(bluesky.iter().filter_map(|v| {
            let l = v["record"]["langs"][0].as_str()?;
            Some((
                v["uri"].as_str()?,
                l.split('-').next().unwrap_or(l).to_ascii_lowercase(),
            ))
        }))
        .collect();
    let lang_of = |id: &String| langs.get(id.as_str()).cloned();
    let dropped = if kept.iter().any(|l| l == "*") {
        BTreeSet::new()
    } else {
        ids.iter()
            .filter(|id| lang_of(id).is_some_and(|l| !kept.contains(&l)))
            .cloned()
            .collect()
    };
    Ok(Expected { ids, dropped })
}

/// Loads `tweets` into the fake X API and runs the real path: ingest, Firehose
/// and transform, the pipeline state machine, and the API's view of the result.
pub async fn load_and_run(stack: &LocalStack, source: &str, tweets: Vec<Value>) -> Result<Figures> {
    load_and_run_with(stack, source, tweets, false).await
}

/// The demo's run; with `sources`, a tenth of the tweets each goes through
/// the fake Bluesky and the fake Reddit and the `social` function.
pub async fn load_and_run_with(
    stack: &LocalStack,
    source: &str,
    tweets: Vec<Value>,
    sources: bool,
) -> Result<Figures> {
    let mut f = Figures {
        source: source.to_string(),
        input: tweets.len() as u64,
        ..Default::default()
    };
    let t = &stack.template;
    let env = stack.env()?;
    let conf = tickerpulse_aws::sdk::load(&env).await;
    let s3 = tickerpulse_aws::sdk::s3_client(&conf);
    let sfn = aws_sdk_sfn::Client::new(&conf);
    f.price_files = load_synthetic_prices(&s3, &bucket_of(t, "AnalyticsBucket")?, &tweets).await?;
    let (tweets, bluesky, reddit) = if sources {
        split_sources(tweets)
    } else {
        (tweets, Vec::new(), Vec::new())
    };
    (f.bluesky_in, f.reddit_in) = (bluesky.len() as u64, reddit.len() as u64);
    let raw_bucket = bucket_of(t, "RawBucket")?;
    let stage_bucket = bucket_of(t, "StageBucket")?;
    // Social reads every query back to the oldest post it was given (a
    // deployed one reads forward from its cursors).
    let since = bluesky
        .iter()
        .filter_map(|v| v["record"]["createdAt"].as_str().map(str::to_string))
        .chain(reddit.iter().filter_map(|c| {
            c["data"]["created_utc"]
                .as_f64()
                .and_then(tickerpulse_social::rfc3339_of_secs)
        }))
        .min()
        .unwrap_or_else(|| "2020-01-01T00:00:00Z".into());
    let expected = expected_reads(stack, &tweets, &bluesky, &reddit, &since).await?;
    f.expected = expected.ids.len() as u64;
    stack.x_api.replace(tweets);
    stack.x_api.live_after_newest();

    // Ingest: the schedule's event, as EventBridge sends it. One run takes every
    // page (a deployed ingest stops at INGEST_MAX_PAGES and its time budget).
    let started = Instant::now();
    // As the functions' roles, as on AWS.
    let mut ingest_env = stack.function_env("ingest")?;
    ingest_env.insert("INGEST_MAX_PAGES".into(), "100000000".into());
    ingest_env.insert("INGEST_TIME_BUDGET_SECS".into(), "86400".into());
    // The demo's tweets span months: read as a plan with full-archive search
    // would (recent search keeps 7 days).
    ingest_env.insert("X_SEARCH_ENDPOINT".into(), "all".into());
    // The fake's posts cost nothing: no monthly budget.
    ingest_env.insert("X_MONTHLY_POST_BUDGET".into(), "0".into());
    ingest_env.insert("INGEST_MAX_RESULTS".into(), "500".into());
    let ingest = tickerpulse_fn_ingest::Function::from_env(&ingest_env)
        .await
        .map_err(|e| anyhow!("ingest: {e}"))?;
    let bar = indicatif::ProgressBar::new(f.input);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} ingest {elapsed:>4} [{bar:30}] {pos}/{len} tweets served by the search ({per_sec})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let ticker = {
        let (bar, x) = (bar.clone(), stack.x_api.clone());
        tokio::spawn(async move {
            loop {
                bar.set_position(x.served.load(std::sync::atomic::Ordering::Relaxed) as u64);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    let report = ingest
        .handle(json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}))
        .await
        .map_err(|e| anyhow!("ingest: {e}"));
    ticker.abort();
    bar.finish_and_clear();
    let report = report?;
    anyhow::ensure!(
        report.failed_records == 0,
        "ingest: {} records failed",
        report.failed_records
    );
    f.fetched = report.tweets as u64;
    f.queries = report.queries as u64;
    f.pages = report.pages as u64;
    if sources {
        // The fakes live at the X fake's time; `social` backfills from the
        // oldest post (a deployed one reads forward from its cursors).
        let now = stack.x_api.now_ms();
        stack.bluesky.clock.set(now);
        stack.reddit.clock.set(now);
        stack.bluesky.add(bluesky);
        stack.reddit.add(reddit);
        let mut social_env = stack.function_env("social")?;
        social_env.insert("BLUESKY_MAX_QUERIES".into(), "10000".into());
        social_env.insert("SOCIAL_MAX_POSTS".into(), "1000000".into());
        social_env.insert("SOCIAL_MAX_PAGES".into(), "100".into());
        let social = tickerpulse_fn_social::Function::from_env(&social_env)
            .await
            .map_err(|e| anyhow!("social: {e}"))?;
        let reports = social
            .handle(json!({ "since": since }))
            .await
            .map_err(|e| anyhow!("social: {e}"))?;
        for (name, r) in &reports {
            anyhow::ensure!(
                r.failed_records == 0 && r.error.is_none(),
                "social: {name}: {r:?}"
            );
            f.social_fetched += r.posts as u64;
            f.queries += r.queries as u64;
            f.pages += r.pages as u64;
        }
        f.fetched += f.social_fetched;
    }
    let prefix = format!("{}/", tickerpulse_aws::lake::RAW_PREFIX);
    let (landed_ids, failed_ids);
    (f.landed, f.partitions, landed_ids) = lines_under(&s3, &raw_bucket, &prefix).await?;
    (_, _, failed_ids) = lines_under(&s3, &raw_bucket, "raw-errors/").await?;
    let distinct = landed_ids.len() as u64;
    // A tweet with cashtags in two queries is returned by both: the same tweet
    // lands twice (at-least-once), and compaction keeps one.
    f.duplicates = f.landed - distinct;
    f.failed = failed_ids.len() as u64;
    let seen: BTreeSet<&String> = landed_ids.union(&failed_ids).collect();
    let dropped: BTreeSet<&String> = expected
        .dropped
        .iter()
        .filter(|id| !seen.contains(id))
        .collect();
    f.dropped = dropped.len() as u64;
    f.lost = expected
        .ids
        .iter()
        .filter(|id| !seen.contains(id) && !dropped.contains(id))
        .count() as u64;
    f.unexpected = seen
        .iter()
        .filter(|id| !expected.ids.contains(**id))
        .count() as u64;
    f.not_matched = f.input - f.expected;
    f.seconds.push((
        "ingest + Firehose + transform".into(),
        started.elapsed().as_secs_f64(),
    ));

    // The pipeline, as the schedule starts it: the changed partitions (a run
    // takes at most the plan's cap, so more hours take more runs).
    let started = Instant::now();
    let machine = t
        .state_machines()?
        .into_iter()
        .next()
        .context("the template has no state machine")?;
    loop {
        f.execution = format!(
            "demo-{}",
            time::OffsetDateTime::now_utc().unix_timestamp_nanos()
        );
        let status = crate::pipeline::run(
            &sfn,
            &machine.arn,
            &f.execution,
            &json!({}),
            Duration::from_secs(7200),
        )
        .await?;
        f.execution_status = status.as_str().to_string();
        f.executions += 1;
        let arn = format!(
            "{}:{}",
            machine.arn.replace(":stateMachine:", ":execution:"),
            f.execution
        );
        let output = sfn
            .describe_execution()
            .execution_arn(&arn)
            .send()
            .await
            .map_err(|e| anyhow!("reading {arn}: {}", tickerpulse_aws::sdk::describe(&e)))?;
        let done: u64 = output
            .output()
            .and_then(|o| serde_json::from_str::<Value>(o).ok())
            .and_then(|o| o["partitions"].as_u64())
            .unwrap_or(0);
        f.partitions_processed += done;
        if status != aws_sdk_sfn::types::ExecutionStatus::Succeeded
            || f.partitions_processed >= f.partitions
            || done == 0
            || f.executions >= 20
        {
            break;
        }
    }
    f.seconds.push((
        format!(
            "pipeline: {} execution(s), {} partitions (compact, clean, aggregate)",
            f.executions, f.partitions_processed
        ),
        started.elapsed().as_secs_f64(),
    ));
    f.stage1_rows = rows_under(&s3, &stage_bucket, "stage1/").await?;
    anyhow::ensure!(
        f.stage1_rows == distinct,
        "stage 1 has {} rows for {distinct} distinct landed tweets",
        f.stage1_rows
    );
    f.cleaned = rows_under(&s3, &stage_bucket, "stage2/cleaned_tweets/").await?;
    f.spam = rows_under(&s3, &stage_bucket, "stage2/spam_tweets/").await?;
    f.unwatched = f.stage1_rows.saturating_sub(f.cleaned + f.spam);

    // The API's view.
    let started = Instant::now();
    let api = tickerpulse_fn_api::Function::from_env(&env)
        .await
        .map_err(|e| anyhow!("api: {e}"))?;
    let years = api_get(&api, "/periods", "level=year").await?;
    for y in years["periods"].as_array().into_iter().flatten() {
        f.api_tweets += y["tweets"].as_u64().unwrap_or(0);
        let period = y["period"].as_str().unwrap_or_default();
        let board = api_get(
            &api,
            "/leaderboard",
            &format!("level=year&period={period}&limit=1"),
        )
        .await?;
        f.tickers_seen += board["tickers_in_period"].as_u64().unwrap_or(0);
    }
    let days = api_get(&api, "/periods", "level=day&limit=1000").await?;
    if let Some(busiest) = days["periods"]
        .as_array()
        .into_iter()
        .flatten()
        .max_by_key(|p| p["tweets"].as_u64().unwrap_or(0))
    {
        let day = busiest["period"].as_str().unwrap_or_default().to_string();
        f.busiest_day_tweets = busiest["tweets"].as_u64().unwrap_or(0);
        let board = api_get(
            &api,
            "/leaderboard",
            &format!("level=day&period={day}&limit=5"),
        )
        .await?;
        for r in board["tickers"].as_array().into_iter().flatten() {
            let n = |k: &str| r[k].as_f64().unwrap_or(0.0);
            f.top.push((
                r["ticker"].as_str().unwrap_or_default().to_string(),
                r["mentions"].as_u64().unwrap_or(0),
                n("positive_ratio"),
                n("negative_ratio"),
                n("neutral_ratio"),
                n("mean_compound"),
            ));
        }
        f.busiest_day = Some(day);
    }
    f.seconds.push((
        "API: periods, leaderboards, totals".into(),
        started.elapsed().as_secs_f64(),
    ));
    Ok(f)
}

pub fn print_summary(f: &Figures) {
    println!("tweets in:   {} ({})", f.input, f.source);
    if f.bluesky_in + f.reddit_in > 0 {
        println!(
            "sources:     {} through the fake X, {} the fake Bluesky, {} the fake Reddit; social read {} posts",
            f.input - f.bluesky_in - f.reddit_in,
            f.bluesky_in,
            f.reddit_in,
            f.social_fetched
        );
    }
    println!(
        "prices:      {} tickers' SYNTHETIC daily bars (a seeded random walk, not market data) in the lake's prices/daily/",
        f.price_files
    );
    println!(
        "ingest:      {} returned by the searches and listings ({} queries, {} pages; {} of them a second time, by another query)",
        f.fetched, f.queries, f.pages, f.duplicates
    );
    println!(
        "expected:    {} of the input by the queries' semantics; {} not matched (no watched cashtag, a retweet, another language); {} lost, {} returned unexpectedly",
        f.expected, f.not_matched, f.lost, f.unexpected
    );
    println!(
        "transform:   {} landed in {} hour partitions, {} dropped, {} failed (in raw-errors/)",
        f.landed, f.partitions, f.dropped, f.failed
    );
    println!(
        "pipeline:    {} {}: {} stage 1 rows (duplicates removed), {} kept, {} spam, {} without a watched ticker",
        f.execution,
        f.execution_status,
        f.stage1_rows,
        f.cleaned,
        f.spam,
        f.unwatched
    );
    println!(
        "serving:     {} tweets in the API's totals, {} tickers seen; every input tweet counted once: {}",
        f.api_tweets,
        f.tickers_seen,
        if f.balanced() { "yes" } else { "NO" }
    );
    if let Some(day) = &f.busiest_day {
        println!(
            "busiest day: {day} ({} tweets); top tickers:",
            f.busiest_day_tweets
        );
        for (t, m, p, n, u, c) in &f.top {
            println!(
                "  {t:<6} {m:>4} mentions  {:>5.1}% positive {:>5.1}% negative {:>5.1}% neutral  mean compound {c:+.4}",
                p * 100.0,
                n * 100.0,
                u * 100.0
            );
        }
    }
    println!("{:<72} {:>9} {:>11}", "stage", "seconds", "tweets/s");
    for (stage, s) in &f.seconds {
        println!(
            "{stage:<72} {s:>9.1} {:>11.0}",
            f.input as f64 / s.max(1e-9)
        );
    }
}

/// Starts the stack, runs the demo, serves the dashboard and the API, and stops
/// every process it started on every way out: the end of a `--no-wait` run, an
/// error, Ctrl-C or SIGTERM at any point.
pub async fn run(
    template: Template,
    port: u16,
    api_port: u16,
    api_key: Option<String>,
    synthetic_tweets: Option<u64>,
    no_wait: bool,
) -> Result<()> {
    // Without the data root, the real tweets cannot be read: say so first (the
    // loader's message says how to point at them), and run as many generated
    // ones through every source instead.
    let missing = match synthetic_tweets {
        None => tickerpulse_dataroot::read(tickerpulse_dataroot::TABORDA).err(),
        Some(_) => None,
    };
    if let Some(why) = &missing {
        println!(
            "no data root: running {FALLBACK_TWEETS} generated tweets (crates/synth) instead of the 5,000 real taborda-2020 tweets. {why}"
        );
    }
    let fallback = missing.is_some();
    let state = local::state_dir(&template).join("demo");
    let started = Instant::now();
    let stack = LocalStack::start_on(template, &state, port, crate::functions::invoker()).await?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("listening for SIGTERM")?;
    let outcome = tokio::select! {
        r = body(&stack, started, api_port, api_key, synthetic_tweets, fallback, no_wait) => r,
        _ = tokio::signal::ctrl_c() => Ok(()),
        _ = term.recv() => Ok(()),
    };
    stack.stop().await;
    println!("stopped");
    outcome
}

async fn body(
    stack: &LocalStack,
    started: Instant,
    api_port: u16,
    api_key: Option<String>,
    synthetic_tweets: Option<u64>,
    fallback: bool,
    no_wait: bool,
) -> Result<()> {
    println!(
        "local AWS stack up at {} in {:.1} s (moto pid {})",
        stack.endpoint(),
        started.elapsed().as_secs_f64(),
        stack.moto_pid().unwrap_or_default()
    );
    let figures = match synthetic_tweets {
        Some(n) => {
            let generated = Instant::now();
            let tweets = synthetic(n)?;
            let seconds = generated.elapsed().as_secs_f64();
            let mut f = load_and_run(stack, "generated by crates/synth", tweets).await?;
            f.seconds.insert(0, ("generate".into(), seconds));
            f
        }
        None if fallback => {
            load_and_run_with(
                stack,
                "generated by crates/synth, no data root: X API v2 objects, a tenth each as Bluesky and Reddit posts",
                synthetic(FALLBACK_TWEETS)?,
                true,
            )
            .await?
        }
        None => {
            load_and_run_with(
                stack,
                "taborda-2020 from the data root: X API v2 objects, a tenth each as Bluesky and Reddit posts",
                tickerpulse_synth::taborda::tweets()?,
                true,
            )
            .await?
        }
    };
    print_summary(&figures);
    anyhow::ensure!(
        figures.execution_status == "SUCCEEDED",
        "the pipeline ended {}",
        figures.execution_status
    );
    anyhow::ensure!(figures.balanced(), "the figures do not add up: {figures:?}");
    if no_wait {
        return Ok(());
    }
    let api = tickerpulse_fn_api::Function::from_env(&stack.env()?)
        .await
        .map_err(|e| anyhow!("api: {e}"))?;
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", api_port)).await {
        Ok(l) => l,
        Err(e) => {
            println!("port {api_port} is taken ({e}); using a free one");
            tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?
        }
    };
    let addr = listener.local_addr()?;
    println!("dashboard:   http://{addr}/v1/");
    println!("API:         http://{addr}/v1/leaderboard?level=day (see api/openapi.yaml)");
    println!(
        "AWS:         export AWS_ENDPOINT_URL={} AWS_REGION={} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing",
        stack.endpoint(),
        stack.template.region()
    );
    if api_key.is_some() {
        println!("             the API key is required in x-api-key, as deployed");
    }
    let authorizer = stack.authorizer().await?;
    stack.invite(DEMO_USER, DEMO_PASSWORD, &["editors"]).await?;
    println!(
        "sign in:     {DEMO_USER} / {DEMO_PASSWORD} (in the editors group; the local pool only)"
    );
    println!(
        "             the first sign-in enrols an authenticator app; without one, \
         `tickerpulse code <key>` prints its current code"
    );
    println!("Ctrl-C stops everything this demo started.");
    let server = crate::serve::ApiServer::guarded(api, api_key, Some(authorizer));
    server.check_keys(
        tickerpulse_local::keys::KeyCheck::new(&stack.env()?, stack.usage_plans.clone()).await,
    );
    if let Some((rate, burst)) = stack.template.api_throttle()? {
        server.throttle(rate, burst);
    }
    crate::serve::serve(listener, server, std::future::pending::<()>()).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A post lost between a search and the lake no longer hides in "not
    /// matched": that count comes from the queries' semantics, and the loss
    /// is its own figure.
    #[test]
    fn a_lost_post_unbalances_the_figures() {
        let whole = Figures {
            input: 10,
            expected: 6,
            not_matched: 4,
            cleaned: 5,
            spam: 1,
            api_tweets: 5,
            ..Default::default()
        };
        assert!(whole.balanced());
        // One of the six never reached the lake: five landed, one lost.
        let lost = Figures {
            cleaned: 4,
            api_tweets: 4,
            lost: 1,
            ..whole.clone()
        };
        assert!(!lost.balanced());
        // Counted as before (what was left over was "not matched"), it balanced.
        let leftover = Figures {
            not_matched: 5,
            lost: 0,
            ..lost.clone()
        };
        assert!(leftover.balanced(), "the old, circular count");
        let unexpected = Figures {
            unexpected: 1,
            ..whole
        };
        assert!(!unexpected.balanced());
    }
}
