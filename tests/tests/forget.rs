//! Forgetting posts reaches every copy: after `tickerpulse forget`, no version
//! of any raw or stage object holds them, the recent-posts table has none of
//! their items, and the serving tables are exactly those of a stack that never
//! received them (the first principles of "forgotten").

use serde_json::json;
use std::collections::BTreeMap;
use tickerpulse_e2e::{clients, enriched, put_raw, run_execution, start_stack};
use tickerpulse_local::LocalStack;

/// (id, hour 1 or 2 of yesterday, minute, author, text, tickers, sentiment):
/// recent enough for the recent-posts table.
type Post = (
    &'static str,
    u8,
    u32,
    &'static str,
    &'static str,
    &'static [&'static str],
    (f64, &'static str),
);

const POSTS: &[Post] = &[
    (
        "3001",
        1,
        5,
        "ann",
        "$TSLA strong deliveries #ev",
        &["TSLA"],
        (0.51, "positive"),
    ),
    (
        "3002",
        1,
        20,
        "mallory",
        "$TSLA $AAPL dump it all now",
        &["TSLA", "AAPL"],
        (-0.44, "negative"),
    ),
    (
        "3003",
        1,
        50,
        "bob",
        "$AAPL flat open",
        &["AAPL"],
        (0.0, "neutral"),
    ),
    (
        "3004",
        2,
        5,
        "mallory",
        "$MSFT is a fraud #scam",
        &["MSFT"],
        (-0.6, "negative"),
    ),
    (
        "3005",
        2,
        10,
        "cid",
        "$MSFT upgraded, nice",
        &["MSFT"],
        (0.42, "positive"),
    ),
    (
        "3006",
        2,
        40,
        "ann",
        "$AAPL new highs #ev",
        &["AAPL"],
        (0.3, "positive"),
    ),
];

fn yesterday() -> time::Date {
    (time::OffsetDateTime::now_utc() - time::Duration::days(1)).date()
}

/// The raw partition of hour 1 or 2 of yesterday.
fn partition(hour: u8) -> String {
    let d = yesterday();
    format!(
        "year={}/month={:02}/day={:02}/hour={hour:02}",
        d.year(),
        u8::from(d.month()),
        d.day()
    )
}

fn line(p: &Post) -> String {
    let (id, hour, minute, author, text, tickers, sentiment) = *p;
    let mut v = enriched(
        id,
        &format!("{}T{hour:02}:{minute:02}:00.000Z", yesterday()),
        text,
        tickers,
        tickers,
        sentiment,
    );
    v["author_username"] = json!(author);
    v["author_id"] = json!(format!("id-{author}"));
    v["hashtags"] = json!(text
        .split_whitespace()
        .filter_map(|w| w.strip_prefix('#'))
        .collect::<Vec<_>>());
    v.to_string()
}

/// Puts `posts` in the raw zone (one object per hour) and runs the pipeline.
async fn ingest_and_run(stack: &LocalStack, posts: &[&Post], run: &str) {
    let c = clients(stack).await.unwrap();
    for hour in [1, 2] {
        let lines: Vec<String> = posts
            .iter()
            .filter(|p| p.1 == hour)
            .map(|p| line(p))
            .collect();
        put_raw(&c.s3, &partition(hour), "a.gz", &lines).await;
    }
    let machine = stack.template.state_machines().unwrap()[0].arn.clone();
    // A direct put leaves no changed-hour record locally (Firehose's delivery
    // does): the run names its hours.
    let d = yesterday();
    let range = json!({"from": format!("{d}T01:00:00Z"), "to": format!("{d}T02:59:59Z")});
    let out = run_execution(&c.sfn, &machine, run, &range).await.unwrap();
    assert_eq!(out.status().as_str(), "SUCCEEDED", "{out:?}");
}

/// An attribute value written the same whatever order its maps came in.
fn canon(v: &aws_sdk_dynamodb::types::AttributeValue) -> String {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    match v {
        A::M(m) => {
            let sorted: BTreeMap<&String, String> = m.iter().map(|(k, v)| (k, canon(v))).collect();
            format!("M{sorted:?}")
        }
        A::L(l) => format!("L{:?}", l.iter().map(canon).collect::<Vec<_>>()),
        other => format!("{other:?}"),
    }
}

/// A table's items with what differs between runs of the same data taken out
/// (which run wrote them, when, when they expire).
async fn table(db: &aws_sdk_dynamodb::Client, name: &str) -> Vec<BTreeMap<String, String>> {
    let mut out = Vec::new();
    let mut pages = db.scan().table_name(name).into_paginator().send();
    while let Some(page) = pages.next().await {
        for item in page.unwrap().items() {
            let row: BTreeMap<String, String> = item
                .iter()
                .filter(|(k, _)| {
                    !matches!(
                        k.as_str(),
                        "RunId" | "UpdatedAt" | "ComputedAt" | "ExpiresAt"
                    )
                })
                .map(|(k, v)| (k.clone(), canon(v)))
                .collect();
            out.push(row);
        }
    }
    out.sort();
    out
}

async fn serving(stack: &LocalStack) -> Figures {
    let env = stack.env().unwrap();
    let db = clients(stack).await.unwrap().dynamodb;
    let mut out = BTreeMap::new();
    for (name, var) in [
        ("tickers", "TICKER_SUMMARY_TABLE"),
        ("overall", "OVERALL_SUMMARY_TABLE"),
        ("recent", "RECENT_TWEETS_TABLE"),
    ] {
        out.insert(name, table(&db, &env[var]).await);
    }
    out
}

/// Every version of every object under a bucket, decompressed where gzip.
async fn every_version(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let listed = s3
        .list_object_versions()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    assert_ne!(
        listed.is_truncated(),
        Some(true),
        "a page holds them all here"
    );
    for v in listed.versions() {
        let (key, version) = (v.key().unwrap(), v.version_id().unwrap());
        let got = s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .version_id(version)
            .send()
            .await
            .unwrap();
        let bytes = got.body.collect().await.unwrap().into_bytes().to_vec();
        let bytes = if key.ends_with(".gz") {
            use std::io::Read;
            let mut text = Vec::new();
            flate2::read::MultiGzDecoder::new(&bytes[..])
                .read_to_end(&mut text)
                .unwrap();
            text
        } else {
            bytes
        };
        out.push((format!("{key}@{version}"), bytes));
    }
    out
}

/// What a reader finds in an object: a JSON-lines object as it is, a Parquet
/// file's string values one per line.
fn readable(name: &str, bytes: &[u8]) -> String {
    if !name.contains(".parquet@") {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    use arrow_array::cast::AsArray;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        bytes::Bytes::from(bytes.to_vec()),
    )
    .unwrap()
    .build()
    .unwrap();
    let mut out = String::new();
    for batch in reader {
        let batch = batch.unwrap();
        for column in batch.columns() {
            if column.data_type() == &arrow_schema::DataType::Utf8 {
                for v in column.as_string::<i32>().iter().flatten() {
                    out.push_str(v);
                    out.push('\n');
                }
            }
        }
    }
    out
}

type Figures = BTreeMap<&'static str, Vec<BTreeMap<String, String>>>;

/// The serving tables of a stack that never got mallory's posts nor post 3006.
async fn never_figures(name: &str) -> Figures {
    let gone = |p: &&Post| p.3 == "mallory" || p.0 == "3006";
    let never = start_stack(name).await.expect("a local stack");
    let kept: Vec<&Post> = POSTS.iter().filter(|p| !gone(p)).collect();
    ingest_and_run(&never, &kept, "never-1").await;
    let expected = serving(&never).await;
    never.stop().await;
    assert!(
        !expected["tickers"].is_empty() && !expected["recent"].is_empty(),
        "{:?}",
        expected
            .iter()
            .map(|(k, v)| (k, v.len()))
            .collect::<Vec<_>>()
    );
    expected
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forgotten_post_is_in_no_copy_and_the_figures_are_as_if_it_never_came() {
    let expected = never_figures("forget-never").await;

    // The stack that got them all, then forgets them.
    let stack = start_stack("forget").await.expect("a local stack");
    let all: Vec<&Post> = POSTS.iter().collect();
    ingest_and_run(&stack, &all, "all-1").await;
    let before = serving(&stack).await;
    assert_ne!(before, expected, "the forgotten posts counted before");

    let env = stack.env().unwrap();
    let machine = stack.template.state_machines().unwrap()[0].arn.clone();
    let copies = tickerpulse::forget::Copies::from_env(&env, machine)
        .await
        .unwrap();
    let forget =
        tickerpulse_core::forget::Forget::new(["3006".to_string()], ["@Mallory".to_string()]);
    let started = std::time::Instant::now();
    let report = tickerpulse::forget::run(&copies, &forget, std::time::Duration::from_secs(120))
        .await
        .unwrap();
    // docs/privacy.md quotes it (a figure, not a limit).
    eprintln!("forget, two hours recomputed: {:?}", started.elapsed());
    assert_eq!(report.post_ids, ["3002", "3004", "3006"], "{report:?}");
    assert_eq!(report.raw_objects_rewritten, 2, "{report:?}");
    assert_eq!(report.hours_recomputed, [partition(1), partition(2)]);
    assert!(report.raw_versions_deleted >= 2, "{report:?}");
    assert!(report.stage_versions_deleted > 0, "{report:?}");
    assert!(report.recent_items_deleted > 0, "{report:?}");

    // The figures, words, hashtags and recent posts are the never-stack's.
    let after = serving(&stack).await;
    for (name, rows) in &expected {
        assert_eq!(&after[name], rows, "{name}");
    }

    // No version of any raw or stage object holds their text or ids.
    let s3 = clients(&stack).await.unwrap().s3;
    for var in ["RAW_BUCKET", "STAGE_BUCKET"] {
        let versions = every_version(&s3, &env[var]).await;
        assert!(!versions.is_empty(), "{var}");
        let mut kept = false;
        for (name, bytes) in &versions {
            let text = readable(name, bytes);
            for needle in ["dump it all now", "is a fraud", "new highs", "mallory"] {
                assert!(
                    !text.contains(needle),
                    "{var} {name} still holds {needle:?}"
                );
            }
            for id in ["3002", "3004", "3006"] {
                assert!(
                    !text.contains(&format!("\"tweet_id\":\"{id}\""))
                        && !text.lines().any(|l| l == id),
                    "{var} {name} still holds post {id}"
                );
            }
            kept |= text.contains("strong deliveries");
        }
        assert!(kept, "{var}: the kept posts are still there");
    }

    // Forgetting again finds nothing and changes nothing.
    let again = tickerpulse::forget::run(&copies, &forget, std::time::Duration::from_secs(120))
        .await
        .unwrap();
    assert_eq!(
        (again.posts_removed, again.pipeline.is_none()),
        (0, true),
        "{again:?}"
    );
    assert_eq!(serving(&stack).await, after);
    stack.stop().await;
}

/// How many versions and delete markers a bucket holds, and how many keys
/// a plain listing shows.
async fn census(s3: &aws_sdk_s3::Client, bucket: &str) -> (usize, usize) {
    let versions = tickerpulse_aws::lake::versions(s3, bucket, "")
        .await
        .unwrap();
    let current = tickerpulse_aws::lake::list_keys(s3, bucket, "")
        .await
        .unwrap();
    (versions.len(), current.len())
}

/// Post text leaves stage 1 and 2 `PostTextDays` after it was written, and
/// the raw zone after `RawRetentionDays`, by the buckets' own lifecycle rules
/// (run as S3's daily pass would, days ahead); the figures stay as they were.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_text_expires_by_the_lifecycle_rules_and_the_figures_stay() {
    use tickerpulse_local::lifecycle;
    const DAY: i64 = 86_400_000;
    let stack = start_stack("retention").await.expect("a local stack");
    let all: Vec<&Post> = POSTS.iter().collect();
    ingest_and_run(&stack, &all, "retention-1").await;
    let figures = serving(&stack).await;
    let env = stack.env().unwrap();
    let s3 = clients(&stack).await.unwrap().s3;
    let (stage, raw, analytics) = (
        env["STAGE_BUCKET"].clone(),
        env["RAW_BUCKET"].clone(),
        env["ANALYTICS_BUCKET"].clone(),
    );
    let analytics_keys = tickerpulse_aws::lake::list_keys(&s3, &analytics, "")
        .await
        .unwrap();
    assert!(!analytics_keys.is_empty());

    // The template's days, as the bucket holds them.
    let days_of = |rules: Vec<tickerpulse_local::template::LifecycleRule>| {
        rules.iter().find_map(|r| r.expiration_days).map(i64::from)
    };
    let text_days = days_of(lifecycle::rules(&s3, &stage).await.unwrap()).expect("stage expiry");
    let raw_days = days_of(lifecycle::rules(&s3, &raw).await.unwrap()).expect("raw expiry");
    assert_eq!(
        (text_days, raw_days),
        (365, 365),
        "the parameters' defaults"
    );
    assert_eq!(
        days_of(lifecycle::rules(&s3, &analytics).await.unwrap()),
        None
    );

    let now = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    let (stage_versions, stage_files) = census(&s3, &stage).await;
    assert!(
        stage_files >= 4,
        "stage 1 and 2 of two hours: {stage_files}"
    );

    // A day before: nothing goes.
    let early = lifecycle::run(&s3, &stage, now + (text_days - 1) * DAY)
        .await
        .unwrap();
    assert_eq!(early, lifecycle::Expired::default());
    // A day after: every stage file expires (a delete marker each).
    let after = now + (text_days + 1) * DAY;
    let expired = lifecycle::run(&s3, &stage, after).await.unwrap();
    assert_eq!(expired.current as usize, stage_files, "{expired:?}");
    assert_eq!(census(&s3, &stage).await.1, 0, "no stage file is listed");
    // Seven days later the expired versions are deleted, and the next pass
    // removes the delete markers left alone: nothing of the text remains.
    let purge = lifecycle::run(&s3, &stage, after + 8 * DAY).await.unwrap();
    assert_eq!(purge.noncurrent as usize, stage_versions, "{purge:?}");
    let markers = lifecycle::run(&s3, &stage, after + 9 * DAY).await.unwrap();
    assert_eq!(markers.markers as usize, stage_files, "{markers:?}");
    assert_eq!(census(&s3, &stage).await, (0, 0));

    // The raw zone keeps its text until its own days are out.
    assert_eq!(census(&s3, &raw).await.1, 2);
    let raw_gone = lifecycle::run(&s3, &raw, now + (raw_days + 1) * DAY)
        .await
        .unwrap();
    assert_eq!(raw_gone.current, 2, "{raw_gone:?}");
    // The analytics zone (counts, no text) and the serving tables stay.
    let far = lifecycle::run(&s3, &analytics, now + 3650 * DAY)
        .await
        .unwrap();
    assert_eq!(far, lifecycle::Expired::default());
    assert_eq!(
        tickerpulse_aws::lake::list_keys(&s3, &analytics, "")
            .await
            .unwrap(),
        analytics_keys
    );
    assert_eq!(serving(&stack).await, figures);
    stack.stop().await;
}

/// Every post in the raw zone and its figures (a pipeline run), and the X
/// posts at the fake X too, as X holds what it served.
async fn received_everywhere(stack: &LocalStack, run: &str) {
    let all: Vec<&Post> = POSTS.iter().collect();
    ingest_and_run(stack, &all, run).await;
    stack.x_api.add(POSTS.iter().map(|p| {
        json!({"id": p.0, "text": p.4, "author_id": format!("id-{}", p.3),
               "created_at": format!("{}T{:02}:{:02}:00.000Z", yesterday(), p.1, p.2)})
    }));
}

/// X's batch compliance reaches the same end: X deletes post 3006 and
/// mallory's account goes private; `comply` asks X about every stored X
/// post, and forgets what X reports, leaving the never-stack's figures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_x_reports_withdrawn_is_forgotten() {
    use tickerpulse::comply;
    let expected = never_figures("comply-never").await;
    let stack = start_stack("comply").await.expect("a local stack");
    received_everywhere(&stack, "comply-1").await;
    stack.x_api.delete(&[3006]);
    stack.x_api.withdraw_author("id-mallory", "protected");

    let env = stack.env().unwrap();
    let machine = stack.template.state_machines().unwrap()[0].arn.clone();
    let copies = tickerpulse::forget::Copies::from_env(&env, machine)
        .await
        .unwrap();
    let x = tickerpulse_xapi::XApi::new(
        &env["X_API_BASE_URL"],
        tickerpulse_local::stack::LOCAL_X_TOKEN.into(),
    )
    .unwrap();
    let days = tickerpulse_core::HourPartition::last_days(time::OffsetDateTime::now_utc(), 30);
    let polling = comply::Polling {
        every: std::time::Duration::from_millis(20),
        times: 5,
    };
    let timeout = std::time::Duration::from_secs(120);
    let report = comply::run(&copies, &x, &days, polling, timeout)
        .await
        .unwrap();
    assert_eq!(report.ids_checked, 6, "{report:?}");
    let reasons: Vec<(&str, usize)> = report
        .reasons
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(reasons, [("deleted", 1), ("protected", 2)]);
    let forgot = report.forget.as_ref().expect("posts forgotten");
    assert_eq!(forgot.post_ids, ["3002", "3004", "3006"], "{report:?}");
    assert_eq!(serving(&stack).await, expected);

    // The next run asks about the three left and forgets nothing.
    let again = comply::run(&copies, &x, &days, polling, timeout)
        .await
        .unwrap();
    assert_eq!(
        (again.ids_checked, again.forget.is_none()),
        (3, true),
        "{again:?}"
    );
    assert_eq!(stack.x_api.compliance.lock().unwrap().jobs(), 2);
    stack.stop().await;
}

/// The scheduled `comply` function, run with its own role as the schedule
/// runs it: an operator's request (mallory's posts) and X's compliance job
/// (X deleted post 3006) are carried out over several runs, the pipeline's
/// run recomputes the hours, and the next `comply` run purges the stage
/// files' old versions: the never-stack's figures, and no copy left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_comply_function_forgets_what_operators_and_x_ask() {
    let expected = never_figures("comply-fn-never").await;
    let stack = start_stack("comply-fn").await.expect("a local stack");
    received_everywhere(&stack, "comply-fn-1").await;
    stack.x_api.delete(&[3006]);
    let c = clients(&stack).await.unwrap();
    let env = stack.env().unwrap();
    let state = tickerpulse_aws::compliance::ComplyState {
        client: c.dynamodb.clone(),
        table: env["STATE_TABLE"].clone(),
    };
    state
        .request(1, "req-1", &[], &["mallory".to_string()], "an operator")
        .await
        .unwrap();

    let run = || comply_run(&stack);
    // 1: the request is carried out; X's job starts over the four X posts left.
    let first = run().await;
    assert_eq!(
        (
            first["requests"].as_u64(),
            first["posts_removed"].as_u64(),
            first["x_ids_uploaded"].as_u64()
        ),
        (Some(1), Some(2), Some(4)),
        "{first}"
    );
    // 2: the job is in progress; the hours are not rebuilt yet, so no purge.
    let second = run().await;
    assert_eq!(second["x_job"][1], "in_progress", "{second}");
    assert_eq!(second["hours_purged"], 0, "{second}");
    // 3: the job is complete: X's deleted post goes.
    let third = run().await;
    assert_eq!(
        (third["x_job"][1].as_str(), third["posts_removed"].as_u64()),
        (Some("complete"), Some(1)),
        "{third}"
    );
    // The pipeline's run rebuilds the marked hours; the next comply run
    // purges their stage files' old versions.
    pipeline_run(&stack, "comply-fn-2").await;
    let fourth = run().await;
    assert_eq!(fourth["hours_purged"], 2, "{fourth}");
    assert!(fourth["versions_purged"].as_u64().unwrap() > 0, "{fourth}");

    assert_eq!(serving(&stack).await, expected);
    no_copy_holds(
        &stack,
        &["dump it all now", "is a fraud", "new highs", "mallory"],
    )
    .await;
    stack.stop().await;
}

/// (post, source, id at its platform): two Bluesky posts and two Reddit
/// things, one of each deleted later.
fn social_posts() -> Vec<(Post, &'static str, String)> {
    let uri = |i: u8| format!("at://did:plc:author{i}/app.bsky.feed.post/3kpost{i}");
    vec![
        (
            (
                "s1",
                1,
                7,
                "bea",
                "$TSLA holding up well #ev",
                &["TSLA"],
                (0.4, "positive"),
            ),
            "bluesky",
            uri(0),
        ),
        (
            (
                "s2",
                1,
                30,
                "bo",
                "$AAPL is a scam, dump it",
                &["AAPL"],
                (-0.5, "negative"),
            ),
            "bluesky",
            uri(1),
        ),
        (
            (
                "s3",
                2,
                12,
                "rae",
                "$MSFT steady quarter",
                &["MSFT"],
                (0.2, "positive"),
            ),
            "reddit",
            "t3_abc0".to_string(),
        ),
        (
            (
                "s4",
                2,
                44,
                "rob",
                "$TSLA will crash tomorrow",
                &["TSLA"],
                (-0.4, "negative"),
            ),
            "reddit",
            "t1_abc1".to_string(),
        ),
    ]
}

/// Puts the social posts (all, or those `keep` keeps) in the raw zone and
/// runs the pipeline over yesterday's hours 1 and 2.
async fn social_received(stack: &LocalStack, keep: impl Fn(&str) -> bool, run: &str) {
    let c = clients(stack).await.unwrap();
    for hour in [1, 2] {
        let lines: Vec<String> = social_posts()
            .iter()
            .filter(|(p, _, id)| p.1 == hour && keep(id))
            .map(|(p, source, id)| {
                let mut v: serde_json::Value = serde_json::from_str(&line(p)).unwrap();
                v["source"] = json!(source);
                v["tweet_id"] = json!(id);
                v.to_string()
            })
            .collect();
        put_raw(&c.s3, &partition(hour), "social.gz", &lines).await;
    }
    let machine = stack.template.state_machines().unwrap()[0].arn.clone();
    let d = yesterday();
    let range = json!({"from": format!("{d}T01:00:00Z"), "to": format!("{d}T02:59:59Z")});
    let out = run_execution(&c.sfn, &machine, run, &range).await.unwrap();
    assert_eq!(out.status().as_str(), "SUCCEEDED", "{out:?}");
}

/// Reddit and Bluesky re-checked: a Bluesky post and a Reddit comment are
/// deleted at the fakes (Bluesky's `getPosts` then leaves it out; Reddit's
/// `/api/info` shows a `[deleted]` shell); the comply function asks, forgets
/// them, and after a pipeline run the figures are those of a stack that
/// never got them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_reddit_and_bluesky_no_longer_show_is_forgotten() {
    let gone = ["at://did:plc:author1/app.bsky.feed.post/3kpost1", "t1_abc1"];
    let never = start_stack("recheck-never").await.expect("a local stack");
    social_received(&never, |id| !gone.contains(&id), "never-1").await;
    let expected = serving(&never).await;
    never.stop().await;

    let stack = start_stack("recheck").await.expect("a local stack");
    social_received(&stack, |_| true, "recheck-1").await;
    for (p, source, id) in social_posts() {
        let created = format!("{}T{:02}:{:02}:00.000Z", yesterday(), p.1, p.2);
        if source == "bluesky" {
            let i = &id[id.len() - 1..];
            stack.bluesky.add([tickerpulse_social::fake::bluesky_view(
                &format!("did:plc:author{i}"),
                &format!("{}.bsky.social", p.3),
                &format!("3kpost{i}"),
                p.4,
                &created,
                1,
            )]);
        } else {
            let secs = tickerpulse_core::partition::parse_rfc3339(&created)
                .unwrap()
                .unix_timestamp() as f64;
            stack.reddit.add([tickerpulse_social::fake::reddit_child(
                &id[3..],
                "stocks",
                p.3,
                p.4,
                None,
                secs,
                1,
                id.starts_with("t1_"),
            )]);
        }
    }
    stack.bluesky.delete(&[gone[0]]);
    stack.reddit.delete(&[gone[1]]);

    let run = || comply_run(&stack);
    let first = run().await;
    assert_eq!(
        (
            first["social_checked"].as_u64(),
            first["social_gone"].as_u64(),
            first["posts_removed"].as_u64()
        ),
        (Some(4), Some(2), Some(2)),
        "{first}"
    );
    pipeline_run(&stack, "recheck-2").await;
    let second = run().await;
    assert_eq!(second["hours_purged"], 2, "{second}");
    // Re-checked once a day: the second run asked nothing.
    assert_eq!(second["social_checked"], 0, "{second}");
    assert_eq!(serving(&stack).await, expected);
    no_copy_holds(&stack, &["is a scam", "will crash tomorrow"]).await;
    stack.stop().await;
}

/// One run of the comply function as its schedule runs it (its role, no
/// retry); its result.
async fn comply_run(stack: &LocalStack) -> serde_json::Value {
    let started = std::time::Instant::now();
    let outcome = stack
        .fire_schedule("ComplyFunction.Schedule")
        .await
        .unwrap()
        .await
        .unwrap();
    eprintln!("a comply run: {:?}", started.elapsed());
    outcome.result.expect("comply runs")
}

/// One run of the pipeline over the changed hours, which must succeed.
async fn pipeline_run(stack: &LocalStack, name: &str) {
    let c = clients(stack).await.unwrap();
    let machine = stack.template.state_machines().unwrap()[0].arn.clone();
    let started = std::time::Instant::now();
    let out = run_execution(&c.sfn, &machine, name, &json!({}))
        .await
        .unwrap();
    eprintln!("the pipeline run: {:?}", started.elapsed());
    assert_eq!(out.status().as_str(), "SUCCEEDED", "{out:?}");
}

/// No version of any raw or stage object holds any of `needles`.
async fn no_copy_holds(stack: &LocalStack, needles: &[&str]) {
    let env = stack.env().unwrap();
    let s3 = clients(stack).await.unwrap().s3;
    for var in ["RAW_BUCKET", "STAGE_BUCKET"] {
        for (name, bytes) in every_version(&s3, &env[var]).await {
            let text = readable(&name, &bytes);
            for needle in needles {
                assert!(
                    !text.contains(needle),
                    "{var} {name} still holds {needle:?}"
                );
            }
        }
    }
}
