//! Freshness, measured: how long a tweet takes from its arrival (ingest's
//! `PutRecordBatch` to Firehose) to being served by the API, on the local
//! stack, and what a run touches when it comes every 15 minutes.
//!
//! Each round sends a handful of tweets of the current hour (after a first
//! round that fills a day of history), starts the pipeline as its schedule
//! would, and polls `GET /v1/tweets` and `GET /v1/trending?window=1h` through
//! the api handler until both show them. The local Firehose delivers at once
//! (no 60-second buffer) and moto answers in a millisecond, so the figure is
//! the pipeline's own time; `docs/freshness.md` adds the buffer and the
//! schedule to state the figure on AWS.
//!
//! `make bench-freshness` (TICKERPULSE_FRESHNESS_ROUNDS=5 by default).

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tickerpulse_e2e::{clients, put_records, run_execution, start_stack, succeeded_output};

const PIPELINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:tickerpulse-pipeline";
const WORDS: [&str; 12] = [
    "solid", "strong", "quiet", "busy", "fresh", "wild", "calm", "bold", "steady", "heavy",
    "light", "sharp",
];

fn record(id: u64, at: &str) -> Vec<u8> {
    let text = format!(
        "$NVDA {} {} {} move",
        WORDS[(id % 12) as usize],
        WORDS[((id / 12) % 12) as usize],
        WORDS[((id / 144) % 12) as usize]
    );
    let mut line = json!({"id": id.to_string(), "text": text, "created_at": at, "lang": "en",
        "author_id": (id % 1000).to_string()})
    .to_string();
    line.push('\n');
    line.into_bytes()
}

async fn get(api: &tickerpulse_fn_api::Function, path: &str, query: &str) -> Value {
    let event = tickerpulse_local::apigw::proxy_event("GET", path, Some(query), &[], b"", 1);
    let request = lambda_http::request::from_str(&event.to_string()).expect("an event");
    let response = api.handle(request).await.expect("the handler answers");
    match response.body() {
        lambda_http::Body::Text(t) => serde_json::from_str(t).expect("json"),
        other => panic!("unexpected body {other:?}"),
    }
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rounds: usize = std::env::var("TICKERPULSE_FRESHNESS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let stack = start_stack("freshness").await.expect("the local stack");
    let c = clients(&stack).await.unwrap();
    let api = tickerpulse_fn_api::Function::from_env(&stack.function_env("api").unwrap())
        .await
        .unwrap();
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap();
    // A day of history first: 6 tweets an hour for the 24 hours before now.
    let history: Vec<Vec<u8>> = (0..24 * 6)
        .map(|i| {
            record(
                1_000 + i,
                &rfc3339(now - Duration::from_secs(600 * (i + 1))),
            )
        })
        .collect();
    put_records(&c.firehose, &history).await.unwrap();
    let run = run_execution(&c.sfn, PIPELINE, "fresh-history", &json!({}))
        .await
        .unwrap();
    let out = succeeded_output(&run);
    println!(
        "history: {} tweets over {} hour partitions",
        out["rows_in"], out["partitions"]
    );

    let mut lags = Vec::new();
    for round in 0..rounds {
        let first = 10_000 + 10 * round as u64;
        let batch: Vec<Vec<u8>> = (first..first + 5)
            .map(|id| {
                record(
                    id,
                    &rfc3339(
                        time::OffsetDateTime::now_utc()
                            .replace_nanosecond(0)
                            .unwrap(),
                    ),
                )
            })
            .collect();
        let newest = (first + 4).to_string();
        let arrived = Instant::now();
        put_records(&c.firehose, &batch).await.unwrap();
        let run = run_execution(&c.sfn, PIPELINE, &format!("fresh-{round}"), &json!({}))
            .await
            .unwrap();
        let out = succeeded_output(&run);
        let ran = arrived.elapsed();
        loop {
            let tweets = get(&api, "/tweets", "ticker=NVDA&limit=5").await;
            let served = tweets["tweets"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t["tweet_id"] == newest.as_str()));
            if served {
                break;
            }
            assert!(
                arrived.elapsed() < Duration::from_secs(120),
                "not served: {tweets}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let lag = arrived.elapsed();
        let trending = get(&api, "/trending", "window=1h").await;
        println!(
            "round {round}: served after {:.2} s (pipeline {:.2} s); the run touched {} partition(s) of {} rows; trending anchor {}",
            lag.as_secs_f64(),
            ran.as_secs_f64(),
            out["partitions"],
            out["rows_in"],
            trending["anchor"]
        );
        lags.push(lag.as_secs_f64());
    }
    lags.sort_by(f64::total_cmp);
    println!(
        "\nlag from arrival to the API, local stack, {rounds} rounds: median {:.2} s, max {:.2} s",
        lags[lags.len() / 2],
        lags[lags.len() - 1]
    );
    stack.stop().await;
}
