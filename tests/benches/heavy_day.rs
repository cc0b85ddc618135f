//! A heavy day, modelled: one hour of tweets at 1,000,000 and 10,000,000 a day
//! (arriving evenly, so 41,667 and 416,667 an hour) in the raw zone as Firehose
//! leaves it (one object per minute: its 60-second buffer), then the hourly
//! pipeline's functions on that hour (plan, compact, clean, aggregate), the
//! real handlers against the local stack, with the proxy adding to every call
//! what DynamoDB and S3 take:
//!
//! - DynamoDB: 10 ms a call. AWS documents "single-digit millisecond"
//!   responses (docs.aws.amazon.com/amazondynamodb/latest/developerguide/Introduction.html);
//!   a `BatchWriteItem` of 25 takes more than a `GetItem`, so the top of that range.
//! - S3: 30 ms a call. The S3 performance guide puts the median latency of
//!   small requests "in the tens of milliseconds"
//!   (docs.aws.amazon.com/whitepapers/latest/s3-optimizing-performance-best-practices/timeouts-and-retries-for-latency-sensitive-applications.html).
//!
//! moto's own time comes on top of the added latency, so every duration here
//! is an upper bound of what AWS would take; the calls are exact.
//!
//! `make bench-heavy-day` (TICKERPULSE_HEAVY_RATES=1000000,10000000 by default).

use std::time::{Duration, Instant};
use tickerpulse_e2e::{clients, gzip_lines, start_stack, RAW_BUCKET};
use tickerpulse_synth::{Config, EnrichedLines};

const HOUR: &str = "year=2026/month=01/day=01/hour=12";
const DYNAMODB: Duration = Duration::from_millis(10);
const S3: Duration = Duration::from_millis(30);

struct Measured {
    function: &'static str,
    timeout_s: u64,
    wall: Duration,
    dynamodb: u64,
    s3: u64,
    detail: String,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rates: Vec<u64> = std::env::var("TICKERPULSE_HEAVY_RATES")
        .unwrap_or_else(|_| "1000000,10000000".into())
        .split(',')
        .filter_map(|r| r.trim().parse().ok())
        .collect();
    println!(
        "heavy day: latency added per call: DynamoDB {DYNAMODB:?}, S3 {S3:?}; one hour ({HOUR})"
    );
    for rate in rates {
        let per_hour = rate / 24;
        let measured = hour_at(per_hour).await;
        println!("\n{rate} tweets/day = {per_hour} in the hour:");
        println!(
            "| function | timeout | measured | DynamoDB calls | S3 calls | latency alone | what it did |"
        );
        println!("| --- | --- | --- | --- | --- | --- | --- |");
        for m in measured {
            let alone = DYNAMODB * m.dynamodb as u32 + S3 * m.s3 as u32;
            println!(
                "| {} | {} s | {:.1} s | {} | {} | {:.1} s in a row | {} |",
                m.function,
                m.timeout_s,
                m.wall.as_secs_f64(),
                m.dynamodb,
                m.s3,
                alone.as_secs_f64(),
                m.detail
            );
            assert!(
                m.wall < Duration::from_secs(m.timeout_s),
                "{} took {:?}, past its {} s timeout",
                m.function,
                m.wall,
                m.timeout_s
            );
        }
    }
}

/// One hour's tweets, by minute, as Firehose's one-minute buffers write them.
fn minutes(per_hour: u64) -> Vec<Vec<String>> {
    let config = Config {
        days: 1,
        authors: 50_000.max(per_hour as usize / 4),
        ..Config::default()
    };
    let mut by_minute: Vec<Vec<String>> = vec![Vec::new(); 60];
    for line in EnrichedLines::new(config, per_hour) {
        // Every tweet into the one hour, keeping its minute and second.
        let Some(at) = line.find("\"created_at\":\"") else {
            continue;
        };
        let t = at + "\"created_at\":\"".len();
        let minute: usize = line[t + 14..t + 16].parse().unwrap_or(0);
        let mut line = line;
        line.replace_range(t..t + 13, "2026-01-01T12");
        by_minute[minute].push(line);
    }
    by_minute
}

async fn hour_at(per_hour: u64) -> Vec<Measured> {
    let stack = start_stack("heavy-day")
        .await
        .expect("starting the local stack");
    let c = clients(&stack).await.unwrap();
    let env = stack.env().unwrap();
    let t = Instant::now();
    let minutes = minutes(per_hour);
    let tweets: usize = minutes.iter().map(Vec::len).sum();
    eprintln!("generated {tweets} tweets in {:.1?}", t.elapsed());
    for (m, lines) in minutes.iter().enumerate() {
        c.s3.put_object()
            .bucket(RAW_BUCKET.as_str())
            .key(format!(
                "raw/tweets/{HOUR}/tickerpulse-tweets-1-2026-01-01-12-{m:02}-00-heavy.gz"
            ))
            .body(gzip_lines(lines).into())
            .send()
            .await
            .unwrap();
    }
    drop(minutes);
    stack.latency.set(DYNAMODB, S3);
    let mut out = Vec::new();
    let mut step = |function, timeout_s, started: Instant, before: (u64, u64), detail: String| {
        let after = stack.latency.calls();
        out.push(Measured {
            function,
            timeout_s,
            wall: started.elapsed(),
            dynamodb: after.0 - before.0,
            s3: after.1 - before.1,
            detail,
        });
    };

    let plan = tickerpulse_fn_plan::Function::from_env(&tickerpulse_e2e::as_function(
        &stack, "plan", &env,
    ))
    .await
    .unwrap();
    let (before, started) = (stack.latency.calls(), Instant::now());
    let p = plan
        .handle(tickerpulse_fn_plan::PlanRequest {
            from: Some("2026-01-01T12:00:00Z".into()),
            to: Some("2026-01-01T12:00:00Z".into()),
        })
        .await
        .unwrap();
    step(
        "plan",
        60,
        started,
        before,
        format!("{} partition", p.partition_count),
    );

    let compact = tickerpulse_fn_compact::Function::from_env(&tickerpulse_e2e::as_function(
        &stack, "compact", &env,
    ))
    .await
    .unwrap();
    let (before, started) = (stack.latency.calls(), Instant::now());
    let r = compact
        .handle(tickerpulse_fn_compact::PartitionTask {
            partition: HOUR.into(),
        })
        .await
        .unwrap();
    step(
        "compact",
        300,
        started,
        before,
        serde_json::to_value(&r)
            .map(|v| format!("{} rows from {} objects", v["rows"], v["objects"]))
            .unwrap_or_default(),
    );

    let clean = tickerpulse_fn_clean::Function::from_env(&tickerpulse_e2e::as_function(
        &stack, "clean", &env,
    ))
    .await
    .unwrap();
    let (before, started) = (stack.latency.calls(), Instant::now());
    let r = clean
        .handle(tickerpulse_fn_clean::PartitionTask {
            partition: HOUR.into(),
            rejected: 0,
        })
        .await
        .unwrap();
    step(
        "clean",
        300,
        started,
        before,
        serde_json::to_value(&r)
            .map(|v| format!("{} kept, {} spam", v["cleaned"], v["spam"]))
            .unwrap_or_default(),
    );

    let aggregate = tickerpulse_fn_aggregate::Function::from_env(&tickerpulse_e2e::as_function(
        &stack,
        "aggregate",
        &env,
    ))
    .await
    .unwrap();
    let (before, started) = (stack.latency.calls(), Instant::now());
    let r = aggregate
        .handle(tickerpulse_fn_aggregate::AggregateRequest {
            partitions: vec![HOUR.into()],
            run_id: Some("heavy".into()),
            versions: Default::default(),
            processed: Vec::new(),
            failure: None,
        })
        .await
        .unwrap();
    step(
        "aggregate",
        900,
        started,
        before,
        format!(
            "{} rows, {} summary items, {} recent tweets, {} item writes in {} BatchWriteItem calls",
            r.rows_in, r.items_written, r.recent_tweets_written, r.dynamodb.requests, r.dynamodb.calls
        ),
    );
    stack.stop().await;
    out
}
