//! The `model` sentiment mode end to end on the local stack (`SentimentMode=model`,
//! as `sam deploy --parameter-overrides` sets it): tweets through Firehose and the
//! transform, the pipeline and the API, whose summaries give the mean class
//! probabilities beside the counts, exactly as the model scores each tweet.

use serde_json::{json, Value};
use tickerpulse_e2e::{clients, put_records, run_execution, start_stack_with, succeeded_output};
use tickerpulse_vader::{Analyzer, Label, Mode};

const PIPELINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:tickerpulse-pipeline";

const TEXTS: &[&str] = &[
    "$TSLA beats on deliveries and raises guidance, shares jump 8%",
    "$TSLA plunges after a massive recall, downgraded to sell",
    "$TSLA annual meeting scheduled for July 7",
    "Loading up on $TSLA calls, this is going to the moon",
    "$AAPL and $TSLA both red today, terrible tape",
];

async fn get(api: &tickerpulse_fn_api::Function, path: &str, query: &str) -> Value {
    let event = tickerpulse_local::apigw::proxy_event(
        "GET",
        path,
        Some(query),
        &[("x-api-key".into(), "k".into())],
        b"",
        1,
    );
    let request = lambda_http::request::from_str(&event.to_string()).expect("an event");
    let response = api.handle(request).await.expect("the handler answers");
    assert_eq!(response.status(), 200, "{path}?{query}");
    match response.body() {
        lambda_http::Body::Text(t) => serde_json::from_str(t).expect("json"),
        other => panic!("unexpected body {other:?}"),
    }
}

/// What the API should say of these texts: label counts, and each class's
/// mean probability (summed in millionths, four decimals), as aggregate does.
fn expected(texts: &[&str]) -> (u64, u64, u64, [f64; 3]) {
    let model = Analyzer::new(Mode::Model);
    let (mut pos, mut neg, mut neu, mut sums) = (0, 0, 0, [0i64; 3]);
    for t in texts {
        let s = model.sentiment(t);
        match s.label {
            Label::Positive => pos += 1,
            Label::Negative => neg += 1,
            Label::Neutral => neu += 1,
        }
        let p = s.probabilities.expect("model mode");
        for (sum, v) in sums.iter_mut().zip([p.positive, p.neutral, p.negative]) {
            *sum += (v * 1_000_000.0).round() as i64;
        }
    }
    let n = texts.len() as f64;
    let means = sums.map(|s| (s as f64 / n / 100.0).round() / 10_000.0);
    (pos, neg, neu, means)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_mode_probabilities_reach_the_api() {
    let stack = start_stack_with("model-mode", "SentimentMode=model")
        .await
        .expect("starting the local stack");
    let c = clients(&stack).await.unwrap();
    let records: Vec<Vec<u8>> = TEXTS
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let mut line = json!({
                "id": format!("{}", 7000 + i),
                "text": text,
                "created_at": format!("2020-04-15T01:{:02}:00.000Z", 10 + i),
                "lang": "en",
                "author_id": format!("{}", 500 + i),
            })
            .to_string();
            line.push('\n');
            line.into_bytes()
        })
        .collect();
    let out = put_records(&c.firehose, &records).await.unwrap();
    assert_eq!(out.failed_put_count(), 0);
    let run = run_execution(&c.sfn, PIPELINE, "model-1", &json!({}))
        .await
        .unwrap();
    let out = succeeded_output(&run);
    assert_eq!(out["rows_in"], json!(TEXTS.len()), "{out}");

    // The raw zone holds the records as the transform wrote them.
    let listed =
        c.s3.list_objects_v2()
            .bucket(tickerpulse_e2e::RAW_BUCKET.as_str())
            .prefix("raw/tweets/")
            .send()
            .await
            .unwrap();
    let mut raw = String::new();
    for o in listed.contents() {
        let gz = tickerpulse_e2e::get_object(&c.s3, &tickerpulse_e2e::RAW_BUCKET, o.key().unwrap())
            .await
            .unwrap();
        if gz.starts_with(&[0x1f, 0x8b]) {
            std::io::Read::read_to_string(
                &mut flate2::read::GzDecoder::new(gz.as_slice()),
                &mut raw,
            )
            .unwrap();
        } else {
            raw.push_str(std::str::from_utf8(&gz).unwrap());
        }
    }
    let records: Vec<Value> = raw
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), TEXTS.len(), "{raw}");
    for r in &records {
        assert_eq!(r["sentiment"]["mode"], "model", "{r}");
        assert!(r["sentiment"]["probabilities"]["positive"].is_f64(), "{r}");
    }

    let env = stack.env().unwrap();
    let api =
        tickerpulse_fn_api::Function::from_env(&tickerpulse_e2e::as_function(&stack, "api", &env))
            .await
            .unwrap();
    let day = get(&api, "/overall", "level=day&period=2020-04-15").await;
    let (pos, neg, neu, means) = expected(TEXTS);
    assert_eq!(
        (
            day["positive"].as_u64(),
            day["negative"].as_u64(),
            day["neutral"].as_u64()
        ),
        (Some(pos), Some(neg), Some(neu)),
        "{day}"
    );
    assert_eq!(
        [
            day["mean_p_positive"].as_f64(),
            day["mean_p_neutral"].as_f64(),
            day["mean_p_negative"].as_f64()
        ],
        means.map(Some),
        "{day}"
    );
    // The model was not idle: some tweet of each class, probabilities that differ.
    assert!(pos > 0 && neg > 0, "{day}");

    // A ticker's entry in the leaderboard: only the tweets that name it.
    let board = get(&api, "/leaderboard", "level=day&period=2020-04-15").await;
    let aapl = board["tickers"]
        .as_array()
        .expect("tickers")
        .iter()
        .find(|e| e["ticker"] == "AAPL")
        .unwrap_or_else(|| panic!("AAPL in {board}"));
    let (_, _, _, means) = expected(&TEXTS[4..]);
    assert_eq!(aapl["mean_p_negative"].as_f64(), Some(means[2]), "{aapl}");
    stack.stop().await;
}
