//! A watch list of 8,000 symbols, every one ranked in a busy window: the ranking
//! pulse writes must fit DynamoDB's 400 KB item (moto holds items to it, as
//! DynamoDB does: docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html).
//! The whole ranking in one item does not; the top `TRENDING_TOP_N` does, with the
//! count of what was ranked, and the API reads it back.

use tickerpulse_aggregate::trending::Trend;
use tickerpulse_aggregate::Counts;
use tickerpulse_aws::pulse::{Ranking, Trending};
use tickerpulse_core::window::Window;
use tickerpulse_e2e::start_stack;

fn trends(n: usize) -> Vec<Trend> {
    (0..n)
        .map(|i| Trend {
            ticker: format!("T{i:05}"),
            rank: i + 1,
            previous_rank: Some(n - i),
            rank_change: Some(n as i64 - 2 * i as i64 - 1),
            score: 1000.0 / (i as f64 + 1.0),
            mentions: 10_000 - i as u64,
            previous_mentions: 5_000,
            baseline_mean: 12.345_678,
            baseline_spread: 3.456_789,
            counts: Counts {
                mentions: 10_000 - i as u64,
                positive: 4_000,
                negative: 2_000,
                neutral: 4_000 + i as u64,
                compound_e4: 12_345_678,
                ..Default::default()
            },
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_eight_thousand_symbol_ranking_fits_its_item() {
    let stack = start_stack("trending-size")
        .await
        .expect("starting the local stack");
    let env = stack.function_env("pulse").unwrap();
    let store = Trending {
        client: aws_sdk_dynamodb::Client::new(&tickerpulse_aws::sdk::load(&env).await),
        table: env["OVERALL_SUMMARY_TABLE"].clone(),
    };
    let ranking = |trends: Vec<Trend>| Ranking {
        window: Window::Day,
        anchor: "2026-12-04T10:00:00Z".into(),
        computed_at: "2026-12-04T10:05:00Z".into(),
        run_id: "size".into(),
        min_mentions: 5,
        ranked: 8_000,
        trends,
    };
    // The whole ranking: past 400 KB, refused (what every run did with such a list).
    let whole = store.put(&ranking(trends(8_000))).await.unwrap_err();
    assert!(whole.to_string().contains("size"), "{whole}");
    // What pulse writes: the top N.
    let top_n: usize = stack
        .template
        .functions()
        .unwrap()
        .into_iter()
        .find(|f| f.binary == "pulse")
        .unwrap()
        .environment["TRENDING_TOP_N"]
        .parse()
        .unwrap();
    let mut kept = trends(8_000);
    kept.truncate(top_n);
    store.put(&ranking(kept)).await.unwrap();
    let back = store.get(Window::Day).await.unwrap().unwrap();
    assert_eq!((back.ranked, back.trends.len()), (8_000, top_n));
    let api = tickerpulse_fn_api::Function::from_env(&stack.function_env("api").unwrap())
        .await
        .unwrap();
    let shown = tickerpulse::demo::api_get(&api, "/trending", "window=24h&limit=100")
        .await
        .unwrap();
    assert_eq!(shown["tickers_ranked"], 8_000, "{shown}");
    assert_eq!(shown["tickers"].as_array().unwrap().len(), 100);
    stack.stop().await;
}
