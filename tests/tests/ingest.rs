//! ingest end to end: a fake X API on loopback (real tweet objects from a recorded
//! page, given cashtags, plus generated tweets; pagination; a 503 and a 429),
//! the local stack's Firehose, the real transform, and the raw zone in S3. The
//! fake keeps recent search's 7 days on the real clock, so the tweets are made
//! hours ago, with snowflake ids of their times, as X's are.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use tickerpulse_e2e::{clients, get_object, list_keys, start_stack};
use tickerpulse_local::fakex::{FakeX, Fault};

static RAW: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| tickerpulse_e2e::bucket("RawBucket"));

/// The start of the hour six hours ago: the tests' "hour 10".
fn base_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    (now / 3600 - 6) * 3600 * 1000
}

fn at(hour: u32, minute: u64) -> (i64, String) {
    let ms = base_ms() + (hour as i64 - 10) * 3_600_000 + minute as i64 * 60_000;
    let t = time::OffsetDateTime::from_unix_timestamp(ms / 1000).unwrap();
    (
        ms,
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap(),
    )
}

fn rfc3339(hour: u32) -> String {
    at(hour, 0).1.replace(".000", "")
}

fn id_at(ms: i64, i: u64) -> String {
    (tickerpulse_xapi::client::snowflake_at(ms) + i).to_string()
}

fn generated(i: u64, ticker: &str, hour: u32) -> Value {
    let (ms, created) = at(hour, i % 60);
    json!({
        "id": id_at(ms, i),
        "text": format!("${ticker} looking strong today, great volume #{i}"),
        "created_at": created,
        "author_id": format!("{}", 900 + i % 4),
        "lang": "en",
        "entities": {"cashtags": [{"start": 0, "end": ticker.len() + 1, "tag": ticker}]},
        "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": i % 9, "quote_count": 0},
        "author": {"id": format!("{}", 900 + i % 4), "username": format!("user{}", i % 4), "verified": false,
                   "public_metrics": {"followers_count": 10 * i}}
    })
}

/// The recorded real page's tweets and users, each tweet given a cashtag.
fn recorded() -> Vec<Value> {
    let text = tickerpulse_dataroot::require(tickerpulse_dataroot::X_SEARCH_PAGE);
    let page: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let users: BTreeMap<String, Value> = page["includes"]["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["id"].as_str().unwrap().to_string(), u.clone()))
        .collect();
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["lang"] == "en" && !t["text"].as_str().unwrap().starts_with("RT @"))
        .enumerate()
        .map(|(i, t)| {
            let mut t = t.clone();
            // Made in hour 10, as the generated ones (recent search keeps 7 days).
            let (ms, created) = at(10, 30 + i as u64 % 30);
            t["id"] = json!(id_at(ms, 500 + i as u64));
            t["created_at"] = json!(created);
            t["text"] = json!(format!("$MSFT {}", t["text"].as_str().unwrap()));
            t["entities"]["cashtags"] = json!([{"start": 0, "end": 5, "tag": "MSFT"}]);
            if let Some(u) = users.get(t["author_id"].as_str().unwrap()) {
                t["author"] = u.clone();
            }
            t
        })
        .collect()
}

async fn landed_lines(s3: &aws_sdk_s3::Client) -> Vec<Value> {
    let mut out = Vec::new();
    for key in list_keys(s3, &RAW, "raw/tweets/").await.unwrap() {
        let text = get_object(s3, &RAW, &key).await.unwrap();
        out.extend(
            String::from_utf8(text)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap()),
        );
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_polls_pages_retries_and_lands_every_tweet() {
    let stack = start_stack("ingest")
        .await
        .expect("starting the local stack");
    let c = clients(&stack).await.unwrap();
    let fake = FakeX::start("test-token").await.unwrap();
    let real = recorded();
    assert!(real.len() >= 5, "the recorded page has English originals");
    let mut tweets: Vec<Value> = (0..45)
        .map(|i| generated(i, ["AAPL", "TSLA", "NVDA"][i as usize % 3], 10))
        .collect();
    let (ms, created) = at(10, 0);
    tweets.push(
        json!({"id": id_at(ms, 900), "text": "$AAPL hola", "created_at": created, "lang": "es"}),
    );
    tweets.push(json!({"id": id_at(ms, 901), "text": "RT @x: $AAPL up", "created_at": created, "lang": "en"}));
    tweets.push(json!({"id": id_at(ms, 902), "text": "$DOGE not watched", "created_at": created, "lang": "en"}));
    fake.add(tweets);
    fake.add(real.clone());
    let expected = 45 + real.len();
    fake.inject(Fault::Status(503));
    fake.inject(Fault::RateLimit { reset_in_secs: 1 });

    let mut env = stack.env().unwrap();
    env.insert("X_API_BASE_URL".into(), fake.base_url());
    env.insert("X_BEARER_TOKEN".into(), "test-token".into());
    env.insert("INGEST_MAX_RESULTS".into(), "10".into());
    env.insert("INGEST_RETRY_BASE_MS".into(), "20".into());
    env.insert("X_MONTHLY_POST_BUDGET".into(), "0".into());
    env.insert("X_SEARCH_ENDPOINT".into(), "recent".into());
    let ingest = tickerpulse_fn_ingest::Function::from_env(&tickerpulse_e2e::as_function(
        &stack, "ingest", &env,
    ))
    .await
    .unwrap();
    let schedule: Value = serde_json::from_str(include_str!("../../events/schedule.json")).unwrap();

    let report = ingest.handle(schedule.clone()).await.unwrap();
    assert_eq!(report.tweets, expected, "{report:?}");
    assert_eq!(report.sent, expected);
    assert_eq!(report.failed_records, 0);
    assert_eq!(report.retries, 2, "one 503 and one 429 were retried");
    assert!(!report.rate_limited);
    assert!(
        report.pages > report.queries,
        "results of 10 a page are paginated"
    );
    assert_eq!(report.queries_completed, report.queries);
    let symbols = tickerpulse_core::watchlist::Watchlist::bundled();
    let queries = tickerpulse_xapi::build_queries(&symbols.symbols(), 512, true, Some("en"));
    let with_results = queries
        .iter()
        .filter(|q| {
            ["$AAPL ", "$TSLA ", "$NVDA ", "$MSFT "]
                .iter()
                .any(|t| q.contains(t) || q.contains(&t.replace(' ', ")")))
        })
        .count();
    assert_eq!(report.queries, queries.len());
    assert_eq!(
        report.cursors_advanced, with_results,
        "each query with results moved its cursor"
    );

    let lines = landed_lines(&c.s3).await;
    assert_eq!(lines.len(), expected);
    let mut ids: Vec<&str> = lines
        .iter()
        .map(|l| l["tweet_id"].as_str().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), expected, "each tweet once");
    let real_line = lines
        .iter()
        .find(|l| l["tweet_id"] == real[0]["id"])
        .expect("a recorded tweet landed");
    assert_eq!(real_line["tickers"], json!(["MSFT"]));
    assert!(
        real_line["author_username"].is_string(),
        "the author was merged from includes.users"
    );
    let hour10 = time::OffsetDateTime::from_unix_timestamp(base_ms() / 1000).unwrap();
    let prefix = format!(
        "raw/tweets/year={}/month={:02}/day={:02}/hour={:02}/",
        hour10.year(),
        hour10.month() as u8,
        hour10.day(),
        hour10.hour()
    );
    assert!(
        !list_keys(&c.s3, &RAW, &prefix).await.unwrap().is_empty(),
        "{prefix}"
    );

    // The cursor holds: a second run fetches nothing new.
    let again = ingest.handle(schedule.clone()).await.unwrap();
    assert_eq!(again.tweets, 0, "{again:?}");
    // New tweets: only those.
    fake.add((100..105).map(|i| generated(i, "TSLA", 11)));
    let third = ingest.handle(schedule.clone()).await.unwrap();
    assert_eq!((third.tweets, third.sent), (5, 5), "{third:?}");

    // A rate limit past the time budget stops the run without moving cursors.
    let mut short = env.clone();
    short.insert("INGEST_TIME_BUDGET_SECS".into(), "2".into());
    let hurried = tickerpulse_fn_ingest::Function::from_env(&tickerpulse_e2e::as_function(
        &stack, "ingest", &short,
    ))
    .await
    .unwrap();
    fake.add((200..203).map(|i| generated(i, "AAPL", 12)));
    fake.inject(Fault::RateLimit { reset_in_secs: 60 });
    let stopped = hurried.handle(schedule.clone()).await.unwrap();
    assert!(stopped.rate_limited, "{stopped:?}");
    let resumed = ingest.handle(schedule.clone()).await.unwrap();
    assert_eq!(
        resumed.tweets, 3,
        "the next run resumes where it stopped: {resumed:?}"
    );

    // Backfill walks windows independently of the cursors.
    let backfill = ingest
        .handle(json!({"start_time": rfc3339(10), "end_time": rfc3339(11), "window": "30m"}))
        .await
        .unwrap();
    assert_eq!(backfill.mode, "backfill");
    assert_eq!(backfill.tweets, 45 + real.len(), "{backfill:?}");
    assert!(backfill.failed_windows.is_empty());
    // Every tweet of the hour was sent again (at least once): compact deduplicates.
    assert_eq!(
        landed_lines(&c.s3).await.len(),
        expected + 5 + 3 + 45 + real.len()
    );

    // Bad events are invalid input, not crashes.
    let err = ingest
        .handle(json!({"start_time": "x", "end_time": "y"}))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "TickerPulse.InvalidInput");
    let err = ingest.handle(json!({"hello": 1})).await.unwrap_err();
    assert_eq!(err.error_type(), "TickerPulse.InvalidInput");
    stack.stop().await;
}
