//! A 2021 `$FB` post from Firehose to the API: the transform counts it under
//! META (FB's ticker until 2022-06-09, crates/core/data/symbol-aliases.csv),
//! `clean` keeps it watched against today's list (where FB is not), and the
//! leaderboard of that day shows it under META.

use serde_json::json;
use tickerpulse_e2e::{clients, put_records, run_execution, start_stack, succeeded_output};

const PIPELINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:tickerpulse-pipeline";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2021_fb_post_counts_under_meta_from_firehose_to_the_api() {
    let stack = start_stack("aliases")
        .await
        .expect("starting the local stack");
    let c = clients(&stack).await.unwrap();
    let tweet = |id: u32, text: &str| {
        let at = format!("2021-06-01T14:1{id}:00.000Z");
        tickerpulse_e2e::x_record(id, text, &at, 500 + id)
    };
    let out = put_records(
        &c.firehose,
        &[
            tweet(1, "$FB earnings beat, great quarter"),
            tweet(2, "$TWTR user growth is strong"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(out.failed_put_count(), 0);
    let hour = json!({"from": "2021-06-01T14:00:00Z", "to": "2021-06-01T14:59:59Z"});
    let run = run_execution(&c.sfn, PIPELINE, "aliases", &hour)
        .await
        .unwrap();
    let done = succeeded_output(&run);
    assert_eq!(done["rows_in"], 2, "{done}");
    let api = tickerpulse_fn_api::Function::from_env(&stack.function_env("api").unwrap())
        .await
        .unwrap();
    let board = tickerpulse::demo::api_get(&api, "/leaderboard", "level=day&period=2021-06-01")
        .await
        .unwrap();
    let tickers: Vec<(String, u64)> = board["tickers"]
        .as_array()
        .unwrap_or_else(|| panic!("{board}"))
        .iter()
        .map(|t| {
            (
                t["ticker"].as_str().unwrap().to_string(),
                t["mentions"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(tickers.contains(&("META".into(), 1)), "{board}");
    assert!(tickers.contains(&("TWTR".into(), 1)), "{board}");
    assert!(!tickers.iter().any(|(t, _)| t == "FB"), "{board}");
    stack.stop().await;
}
