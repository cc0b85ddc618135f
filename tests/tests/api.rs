//! The REST API on the local stack with known data: tweets go through the real
//! compact, clean and aggregate handlers into DynamoDB; then each endpoint is
//! called with an API Gateway proxy event (the handler as Lambda runs it) and
//! its answer is checked value by value. Bad parameters get a 400 with a JSON
//! body. Last, `tickerpulse serve` is called over HTTP with an API key.

use serde_json::{json, Value};
use std::io::{Read, Write};
use tickerpulse_e2e::{clients, compact_and_clean, enriched, put_raw, start_stack};
use tickerpulse_fn_aggregate::AggregateRequest;

const H1: &str = "year=2020/month=04/day=15/hour=01";
const H2: &str = "year=2020/month=04/day=15/hour=02";
const H3: &str = "year=2020/month=04/day=16/hour=10";

/// (id, created_at, text, tickers, compound, label, hashtags)
type Tweet = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    f64,
    &'static str,
    &'static [&'static str],
);

const TWEETS: &[Tweet] = &[
    (
        "3001",
        "2020-04-15T01:05:00.000Z",
        "$TSLA strong deliveries",
        &["TSLA"],
        0.5106,
        "positive",
        &["stocks", "ev"],
    ),
    (
        "3002",
        "2020-04-15T01:20:00.000Z",
        "$TSLA $AAPL weak guidance",
        &["TSLA", "AAPL"],
        -0.4404,
        "negative",
        &["stocks"],
    ),
    (
        "3003",
        "2020-04-15T01:50:00.000Z",
        "$AAPL flat open",
        &["AAPL"],
        0.0,
        "neutral",
        &["stocks"],
    ),
    (
        "3004",
        "2020-04-15T02:05:00.000Z",
        "$TSLA breaking out",
        &["TSLA"],
        0.3182,
        "positive",
        &["stocks", "ev"],
    ),
    (
        "3005",
        "2020-04-15T02:10:00.000Z",
        "$MSFT downgraded",
        &["MSFT"],
        -0.2732,
        "negative",
        &["stocks"],
    ),
    (
        "3006",
        "2020-04-16T10:00:00.000Z",
        "$AAPL record services revenue",
        &["AAPL"],
        0.4,
        "positive",
        &["stocks"],
    ),
    (
        "3007",
        "2020-04-16T10:30:00.000Z",
        "$AAPL $MSFT cloud growth",
        &["AAPL", "MSFT"],
        0.3,
        "positive",
        &["stocks"],
    ),
];

fn lines(hour_prefix: &str) -> Vec<String> {
    TWEETS
        .iter()
        .filter(|t| t.1.starts_with(hour_prefix))
        .map(|(id, at, text, tickers, compound, label, tags)| {
            let mut v = enriched(id, at, text, tickers, tickers, (*compound, label));
            v["hashtags"] = json!(tags);
            v.to_string()
        })
        .collect()
}

/// The origin the tests' stack lets call the API (`CorsAllowOrigin`).
const ORIGIN: &str = "https://app.example.com";

struct Api(tickerpulse_fn_api::Function);

impl Api {
    async fn call(&self, method: &str, path: &str, query: &str) -> (u16, Value) {
        self.call_as(method, path, query, None).await
    }

    /// As a signed-in user of `groups` (the authorizer's claims), or without claims.
    async fn call_as(
        &self,
        method: &str,
        path: &str,
        query: &str,
        groups: Option<&str>,
    ) -> (u16, Value) {
        let mut event = tickerpulse_local::apigw::proxy_event(
            method,
            path,
            (!query.is_empty()).then_some(query),
            &[("x-api-key".into(), "k".into())],
            b"",
            1,
        );
        if let Some(groups) = groups {
            let claims = json!({"sub": "s-1", "cognito:username": "u", "cognito:groups": groups});
            tickerpulse_local::apigw::with_claims(&mut event, claims.as_object().unwrap().clone());
        }
        let request =
            lambda_http::request::from_str(&event.to_string()).expect("an API Gateway event");
        let response = self.0.handle(request).await.expect("the handler answers");
        let status = response.status().as_u16();
        assert_eq!(
            response.headers()["access-control-allow-origin"],
            ORIGIN,
            "CORS on {path}"
        );
        let body = match response.body() {
            lambda_http::Body::Text(t) => t.clone(),
            lambda_http::Body::Empty => String::new(),
            other => panic!("unexpected body {other:?}"),
        };
        let value = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&body).unwrap_or(Value::String(body))
        };
        (status, value)
    }

    async fn ok(&self, path: &str, query: &str) -> Value {
        let (status, body) = self.call("GET", path, query).await;
        assert_eq!(status, 200, "{path}?{query}: {body}");
        body
    }

    async fn refused(&self, path: &str, query: &str, code: &str) {
        let (status, body) = self.call("GET", path, query).await;
        assert_eq!(status, 400, "{path}?{query}: {body}");
        assert_eq!(body["error"], code, "{path}?{query}: {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
    }
}

fn tickers_of(board: &Value) -> Vec<String> {
    board["tickers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["ticker"].as_str().unwrap().to_string())
        .collect()
}

fn ids(page: &Value) -> Vec<String> {
    page["tweets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tweet_id"].as_str().unwrap().to_string())
        .collect()
}

/// The checks are one long async body with large `json!` values: in a debug
/// build it needs more than the test thread's 2 MiB of stack.
#[test]
fn every_endpoint_answers_exact_values_and_refuses_bad_parameters() {
    std::thread::Builder::new()
        .stack_size(32 << 20)
        .spawn(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_stack_size(32 << 20)
                .enable_all()
                .build()
                .unwrap()
                .block_on(Box::pin(every_endpoint()))
        })
        .unwrap()
        .join()
        .unwrap();
}

async fn every_endpoint() {
    let stack = start_stack("api").await.expect("starting the local stack");
    let c = clients(&stack).await.unwrap();
    let env = stack.env().unwrap();
    for (p, prefix) in [
        (H1, "2020-04-15T01"),
        (H2, "2020-04-15T02"),
        (H3, "2020-04-16T10"),
    ] {
        put_raw(&c.s3, p, "a.gz", &lines(prefix)).await;
        compact_and_clean(&stack, p).await;
    }
    let aggregate = tickerpulse_fn_aggregate::Function::from_env(&tickerpulse_e2e::as_function(
        &stack,
        "aggregate",
        &env,
    ))
    .await
    .unwrap();
    aggregate
        .handle(AggregateRequest {
            partitions: [H1, H2, H3].iter().map(|p| p.to_string()).collect(),
            run_id: Some("r1".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    // Two more run records, around r1, for the runs' pages.
    for (id, started, status) in [
        ("r0", "2000-01-01T00:00:00Z", "failed"),
        ("r2", "2999-01-01T00:00:00Z", "partial"),
    ] {
        tickerpulse_aws::state::put_run(
            &c.dynamodb,
            "tickerpulse-state",
            &tickerpulse_aws::state::RunRecord {
                run_id: id.into(),
                started_at: started.into(),
                ended_at: started.into(),
                status: status.into(),
                partitions: 1,
                partitions_changed: 1,
                rows_in: 0,
                rows_rejected: 0,
                items_written: 0,
                items_deleted: 0,
                recent_tweets_written: 0,
                error: (status == "failed").then(|| "States.TaskFailed".into()),
            },
        )
        .await
        .unwrap();
    }
    // By default the API sends no CORS header (the dashboard is same-origin);
    // a stack that sets CorsAllowOrigin gets it on every answer.
    let same_origin = Api(
        tickerpulse_fn_api::Function::from_env(&tickerpulse_e2e::as_function(&stack, "api", &env))
            .await
            .unwrap(),
    );
    let event = tickerpulse_local::apigw::proxy_event("GET", "/health", None, &[], b"", 1);
    let response = same_origin
        .0
        .handle(lambda_http::request::from_str(&event.to_string()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none(),
        "{:?}",
        response.headers()
    );
    let mut env = env.clone();
    env.insert("CORS_ALLOW_ORIGIN".into(), ORIGIN.into());
    let api = Api(
        tickerpulse_fn_api::Function::from_env(&tickerpulse_e2e::as_function(&stack, "api", &env))
            .await
            .unwrap(),
    );

    // Health, the watch list, the dashboard and its assets.
    assert_eq!(api.ok("/health", "").await["status"], "ok");
    let watch = api.ok("/tickers", "").await;
    assert!(watch["tickers"].as_array().unwrap().len() > 400);
    let (status, page) = api.call("GET", "/", "").await;
    assert_eq!(status, 200);
    assert!(page
        .as_str()
        .unwrap()
        .contains("<title>TickerPulse</title>"));
    let (status, _) = api.call("GET", "/assets/uPlot.iife.min.js", "").await;
    assert_eq!(status, 200);

    // Periods, newest first, with their tweet counts.
    let periods = api.ok("/periods", "level=day").await;
    assert_eq!(
        periods["periods"],
        json!([
            {"period": "2020-04-16", "start": "2020-04-16T00:00:00Z", "tweets": 2},
            {"period": "2020-04-15", "start": "2020-04-15T00:00:00Z", "tweets": 5},
        ])
    );
    assert_eq!(
        api.ok("/periods", "level=month").await["periods"][0]["tweets"],
        7
    );
    assert_eq!(
        api.ok("/periods", "level=15min&limit=2").await["periods"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Overall: the newest day by default; an explicit day.
    let latest = api.ok("/overall", "").await;
    assert_eq!(latest["period"], "2020-04-16");
    assert_eq!(
        (latest["tweets"].as_u64(), latest["positive"].as_u64()),
        (Some(2), Some(2))
    );
    let day = api.ok("/overall", "level=day&period=2020-04-15").await;
    assert_eq!(
        day,
        json!({
            "level": "day", "period": "2020-04-15", "start": "2020-04-15T00:00:00Z",
            "tweets": 5, "mentions": 5, "positive": 2, "negative": 2, "neutral": 1,
            "positive_ratio": 0.4, "negative_ratio": 0.4, "neutral_ratio": 0.2,
            // (5106 - 4404 + 0 + 3182 - 2732) / 5 = 230.4 ten-thousandths
            "mean_compound": 0.023,
            // The lexicon modes give no class probabilities (tests/tests/model_mode.rs).
            "mean_p_positive": null, "mean_p_neutral": null, "mean_p_negative": null,
            // Every tweet here came from X (docs/sources.md).
            "sources": {"x": 5, "bluesky": 0, "reddit": 0},
            "ticker_mentions": 6, "unique_authors": 5,
        })
    );
    let empty = api.ok("/overall", "level=day&period=2021-01-01").await;
    assert_eq!(
        (empty["tweets"].as_u64(), empty["period"].as_str()),
        (Some(0), Some("2021-01-01"))
    );

    // Leaderboards of 2020-04-15: by mentions, by ratio, top N, a floor.
    let q = "level=day&period=2020-04-15";
    let board = api.ok("/leaderboard", &format!("{q}&limit=15")).await;
    assert_eq!(tickers_of(&board), ["TSLA", "AAPL", "MSFT"]);
    assert_eq!(
        board["tickers"][0],
        json!({
            "rank": 1, "ticker": "TSLA", "name": "Tesla, Inc.", "unique_authors": 3,
            "mentions": 3, "positive": 2, "negative": 1, "neutral": 0,
            "positive_ratio": 0.6667, "negative_ratio": 0.3333, "neutral_ratio": 0.0,
            // (5106 - 4404 + 3182) / 3 = 1294.67
            "mean_compound": 0.1295,
            "mean_p_positive": null, "mean_p_neutral": null, "mean_p_negative": null,
            "sources": {"x": 3, "bluesky": 0, "reddit": 0},
        })
    );
    assert_eq!(board["tickers_in_period"], 3);
    let negative = api.ok("/leaderboard", &format!("{q}&sort=negative")).await;
    assert_eq!(tickers_of(&negative), ["MSFT", "AAPL", "TSLA"]);
    assert_eq!(
        tickers_of(
            &api.ok("/leaderboard", &format!("{q}&sort=neutral&limit=1"))
                .await
        ),
        ["AAPL"]
    );
    assert_eq!(
        tickers_of(&api.ok("/leaderboard", &format!("{q}&limit=2")).await),
        ["TSLA", "AAPL"]
    );
    assert_eq!(
        tickers_of(
            &api.ok("/leaderboard", &format!("{q}&sort=negative&min_mentions=2"))
                .await
        ),
        ["AAPL", "TSLA"]
    );
    let hour = api
        .ok("/leaderboard", "level=hour&period=2020-04-15-02")
        .await;
    assert_eq!(
        tickers_of(&hour),
        ["MSFT", "TSLA"],
        "ties by mentions go by symbol"
    );
    let quarter = api
        .ok("/leaderboard", "level=15min&period=2020-04-15-01:15")
        .await;
    assert_eq!(tickers_of(&quarter), ["AAPL", "TSLA"]);

    // A ticker's trend at a granularity, over a range.
    let trend = api.ok("/tickers/TSLA/trend", "granularity=hour").await;
    let points: Vec<(String, u64)> = trend["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["period"].as_str().unwrap().to_string(),
                p["mentions"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        points,
        [
            ("2020-04-15-01".to_string(), 2),
            ("2020-04-15-02".to_string(), 1)
        ]
    );
    assert_eq!(trend["points"][0]["positive"], 1);
    assert_eq!(trend["points"][0]["negative"], 1);
    let later = api
        .ok(
            "/tickers/TSLA/trend",
            "granularity=hour&from=2020-04-15T02:00:00Z",
        )
        .await;
    assert_eq!(later["points"].as_array().unwrap().len(), 1);
    let aapl = api
        .ok(
            "/tickers/aapl/trend",
            "granularity=day&from=2020-04-01&to=2020-04-30",
        )
        .await;
    assert_eq!(aapl["ticker"], "AAPL");
    let days: Vec<u64> = aapl["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["mentions"].as_u64().unwrap())
        .collect();
    assert_eq!(days, [2, 2]);
    // One rule for tickers: `$TSLA` percent-encoded in the path is TSLA, as
    // `?ticker=%24TSLA` is.
    assert_eq!(
        api.ok("/tickers/%24TSLA/trend", "granularity=hour").await["points"],
        trend["points"]
    );
    let by_param = api.ok("/tweets", "ticker=%24TSLA").await;
    assert_eq!(by_param["ticker"], "TSLA");
    assert_eq!(by_param, api.ok("/tweets", "ticker=TSLA").await);
    assert_eq!(
        api.ok("/tickers/AAPL/trend", "granularity=day&limit=1")
            .await["points"][0]["period"],
        "2020-04-16"
    );
    assert_eq!(
        api.ok("/tickers/NVDA/trend", "").await["points"],
        json!([]),
        "a watched ticker with no data"
    );

    // Recent tweets, newest first, paged; one ticker's.
    let first = api.ok("/tweets", "limit=3").await;
    assert_eq!(ids(&first), ["3007", "3006", "3005"]);
    assert_eq!(first["tweets"][0]["label"], "positive");
    assert_eq!(first["tweets"][0]["tickers"], json!(["AAPL", "MSFT"]));
    let token = first["next_page"].as_str().unwrap().to_string();
    let second = api.ok("/tweets", &format!("limit=3&page={token}")).await;
    assert_eq!(ids(&second), ["3004", "3003", "3002"]);
    let third = api
        .ok(
            "/tweets",
            &format!("limit=3&page={}", second["next_page"].as_str().unwrap()),
        )
        .await;
    assert_eq!(ids(&third), ["3001"]);
    assert_eq!(third["next_page"], Value::Null);
    assert_eq!(
        ids(&api.ok("/tweets", "ticker=MSFT").await),
        ["3007", "3005"]
    );
    assert_eq!(
        ids(&api.ok("/tweets", "ticker=$tsla&limit=2").await),
        ["3004", "3002"]
    );
    // Within a window of creation times: a period of the trend chart.
    assert_eq!(
        ids(&api.ok("/tweets", "from=2020-04-16&to=2020-04-17").await),
        ["3007", "3006"]
    );
    assert_eq!(
        ids(&api
            .ok(
                "/tweets",
                "ticker=MSFT&from=2020-04-15&to=2020-04-16T00:00:00Z"
            )
            .await),
        ["3005"]
    );
    assert_eq!(
        ids(&api.ok("/tweets", "from=2020-04-16T10:30:00Z").await),
        ["3007"],
        "from includes its second"
    );
    assert_eq!(
        ids(&api.ok("/tweets", "to=2020-04-16T10:30:00Z&limit=2").await),
        ["3006", "3005"],
        "to excludes its second"
    );

    // Hashtags and words of a period.
    let tags = api.ok("/hashtags", q).await;
    assert_eq!(
        tags["hashtags"],
        json!([{"hashtag": "stocks", "count": 5}, {"hashtag": "ev", "count": 2}])
    );
    let words = api.ok("/words", q).await;
    let word_list: Vec<(&str, u64)> = words["words"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["word"].as_str().unwrap(), w["count"].as_u64().unwrap()))
        .collect();
    assert!(word_list.contains(&("guidance", 1)), "{words}");
    assert!(
        !word_list.iter().any(|(w, _)| *w == "services"),
        "a word of another day: {words}"
    );
    let aapl_words = api
        .ok("/words", "level=day&period=2020-04-16&ticker=AAPL")
        .await;
    assert_eq!(aapl_words["ticker"], "AAPL");
    assert!(
        aapl_words["words"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["word"] == "services"),
        "{aapl_words}"
    );
    assert_eq!(
        api.ok("/words", "level=day&period=2020-04-16&ticker=TSLA")
            .await["words"],
        json!([])
    );

    // Runs, newest first, paged.
    let runs = api.ok("/runs", "limit=2").await;
    let run_ids: Vec<&str> = runs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap())
        .collect();
    assert_eq!(run_ids, ["r2", "r1"]);
    assert_eq!(runs["runs"][1]["status"], "succeeded");
    assert_eq!(runs["runs"][1]["rows_in"], 7);
    let older = api
        .ok(
            "/runs",
            &format!("limit=2&page={}", runs["next_page"].as_str().unwrap()),
        )
        .await;
    assert_eq!(older["runs"][0]["run_id"], "r0");
    // A run's error text (bucket names, causes) only to the operators group.
    assert_eq!(
        older["runs"][0]["error"],
        tickerpulse_fn_api::HIDDEN_ERROR,
        "{older}"
    );
    let page = format!("limit=2&page={}", runs["next_page"].as_str().unwrap());
    let (_, as_editor) = api.call_as("GET", "/runs", &page, Some("editors")).await;
    assert_eq!(
        as_editor["runs"][0]["error"],
        tickerpulse_fn_api::HIDDEN_ERROR
    );
    let (_, as_operator) = api.call_as("GET", "/runs", &page, Some("operators")).await;
    assert_eq!(as_operator["runs"][0]["error"], "States.TaskFailed");
    assert_eq!(older["next_page"], Value::Null);

    // Bad requests: 400 with a JSON body, never a 500.
    api.refused("/leaderboard", "level=weekly", "bad_parameter")
        .await;
    api.refused("/leaderboard", "level=day&period=2020-04", "bad_parameter")
        .await;
    api.refused(
        "/leaderboard",
        "level=day&period=2020-02-30",
        "bad_parameter",
    )
    .await;
    api.refused("/leaderboard", "limit=0", "bad_parameter")
        .await;
    api.refused("/leaderboard", "limit=101", "bad_parameter")
        .await;
    api.refused("/leaderboard", "limit=five", "bad_parameter")
        .await;
    api.refused("/leaderboard", "sort=hype", "bad_parameter")
        .await;
    api.refused("/leaderboard", "levle=day", "unknown_parameter")
        .await;
    api.refused("/tickers/ZZZZ/trend", "", "unknown_ticker")
        .await;
    api.refused("/tickers/%F0%9F%9A%80/trend", "", "bad_parameter")
        .await;
    api.refused(
        "/tickers/TSLA/trend",
        "from=2020-05-01&to=2020-04-01",
        "bad_parameter",
    )
    .await;
    api.refused("/tickers/TSLA/trend", "from=yesterday", "bad_parameter")
        .await;
    api.refused("/tickers/TSLA/trend", "granularity=minute", "bad_parameter")
        .await;
    api.refused("/tweets", "from=2020-04-16&to=2020-04-15", "bad_parameter")
        .await;
    api.refused("/tweets", "from=2020-04-16&to=2020-04-16", "bad_parameter")
        .await;
    api.refused("/tweets", "from=yesterday", "bad_parameter")
        .await;
    api.refused("/tweets", "ticker=ZZZZ", "unknown_ticker")
        .await;
    api.refused("/tweets", "page=bm90IGEgdG9rZW4", "bad_page_token")
        .await;
    api.refused("/tweets", "page=%00%FF", "bad_page_token")
        .await;
    // A well-formed token made by hand (the shape of a real one, unsigned, or
    // with a real token's tag under another sort key): refused, not served.
    use base64::Engine;
    let b64 = &base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let forged = b64.encode("tweets:2099-01-01T00:00:00Z#9");
    api.refused("/tweets", &format!("page={forged}"), "bad_page_token")
        .await;
    let real = runs["next_page"].as_str().unwrap();
    let (_, tag) = real.split_once('.').expect("a signed token");
    let swapped = format!("{}.{tag}", b64.encode("runs:2999-12-31T00:00:00Z#r9"));
    api.refused("/runs", &format!("page={swapped}"), "bad_page_token")
        .await;
    api.refused("/runs", &format!("page={token}"), "bad_page_token")
        .await;
    api.refused("/words", "ticker=not-a-ticker!", "bad_parameter")
        .await;
    let (status, body) = api.call("GET", "/nope", "").await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    let (status, body) = api.call("POST", "/leaderboard", "").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (405, Some("method_not_allowed"))
    );
    let (status, _) = api.call("OPTIONS", "/leaderboard", "").await;
    assert_eq!(status, 204);

    // Every read was a Query or a GetItem.
    let ops = stack.dynamodb_faults.operations.lock().unwrap().clone();
    assert_eq!(ops.get("Scan"), None, "{ops:?}");
    assert!(ops["Query"] > 20 && ops["GetItem"] > 5, "{ops:?}");

    // A throttled table: the SDK's retries give up, the API answers 503 with
    // the JSON error shape and nothing internal in it.
    stack
        .dynamodb_faults
        .read_throttles
        .store(1_000, std::sync::atomic::Ordering::Relaxed);
    let (status, body) = api
        .call("GET", "/overall", "level=day&period=2020-04-15")
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "unavailable");
    assert!(
        !body["message"].as_str().unwrap().contains("Throughput"),
        "{body}"
    );
    stack
        .dynamodb_faults
        .read_throttles
        .store(0, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(
        api.ok("/overall", "level=day&period=2020-04-15").await["tweets"],
        5
    );

    // `tickerpulse serve`: HTTP in, API Gateway events to the same handler, the
    // key required where the deployed API requires it.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tickerpulse::serve::ApiServer::new(
        tickerpulse_fn_api::Function::from_env(&tickerpulse_e2e::as_function(&stack, "api", &env))
            .await
            .unwrap(),
        Some("secret-key".into()),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = server.clone();
    let serving = tokio::spawn(tickerpulse::serve::serve(listener, server, async move {
        let _ = stopped.await;
    }));
    let get = move |path: &'static str, key: Option<&'static str>| {
        tokio::task::spawn_blocking(move || {
            let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            let key = key
                .map(|k| format!("x-api-key: {k}\r\n"))
                .unwrap_or_default();
            write!(
                s,
                "GET {path} HTTP/1.1\r\nHost: localhost\r\n{key}Connection: close\r\n\r\n"
            )
            .unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            let status: u16 = out[9..12].parse().unwrap();
            let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
            // Every answer, the gateway's own refusals too, lets the allowed origin read it.
            assert!(
                head.to_ascii_lowercase()
                    .contains(&format!("access-control-allow-origin: {ORIGIN}"))
                    || status == 302,
                "{path}: {head}"
            );
            (status, body.to_string())
        })
    };
    let (status, body) = get("/v1/overall?level=month", None).await.unwrap();
    assert_eq!(
        (status, body.as_str()),
        (403, r#"{"error":"INVALID_API_KEY","message":"Forbidden"}"#)
    );
    let (status, body) = get("/v1/overall?level=month", Some("secret-key"))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""tweets":7"#), "{body}");
    // The dashboard at the stage; without its trailing slash the page's
    // relative links would leave the stage, so the function redirects.
    let (status, body) = get("/v1/", None).await.unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("TickerPulse"));
    let (status, _) = get("/v1", None).await.unwrap();
    assert_eq!(status, 301);
    // Outside the stage, the gateway's refusal (the data routes too).
    let (status, body) = get("/overall?level=month", Some("secret-key"))
        .await
        .unwrap();
    assert_eq!((status, body.as_str()), (403, r#"{"message":"Forbidden"}"#));
    let (status, _) = get("/", None).await.unwrap();
    assert_eq!(status, 302, "locally, / leads to the stage");
    let (status, body) = get("/v1/leaderboard?limit=0", Some("secret-key"))
        .await
        .unwrap();
    assert_eq!(status, 400, "{body}");
    // A route api/openapi.yaml does not declare is the gateway's answer, not the
    // function's, whatever the function could serve (it has /index.html).
    let missing =
        r#"{"error":"MISSING_AUTHENTICATION_TOKEN","message":"Missing Authentication Token"}"#;
    for path in ["/v1/index.html", "/v1/nowhere", "/v1/tickers/TSLA"] {
        let (status, body) = get(path, Some("secret-key")).await.unwrap();
        assert_eq!((status, body.as_str()), (403, missing), "{path}");
    }
    // The usage plan's throttle: past the burst, the gateway's 429.
    served.throttle(1.0, 3.0);
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(get("/v1/health", Some("secret-key")).await.unwrap());
    }
    let throttled: Vec<_> = statuses.iter().filter(|(s, _)| *s == 429).collect();
    assert!(
        !throttled.is_empty() && statuses.iter().filter(|(s, _)| *s == 200).count() >= 3,
        "{statuses:?}"
    );
    assert_eq!(
        throttled[0].1,
        r#"{"error":"THROTTLED","message":"Too Many Requests"}"#
    );
    let _ = stop.send(());
    serving.await.unwrap();

    // Served without `--api-key`: users' own keys (what `/me` hands out) are
    // still the stage's keys, so a keyed route without a key, or with a key of
    // no plan, is refused as the stage refuses it, and a user's key opens it.
    let keyed = tickerpulse_e2e::as_function(&stack, "api", &env);
    let conf = tickerpulse_aws::sdk::load(&keyed).await;
    let user_key = tickerpulse_aws::apikeys::UserKeys::from_env(&keyed, &conf)
        .expect("the users' plan")
        .key_for("someone")
        .await
        .unwrap();
    let server = tickerpulse::serve::ApiServer::new(
        tickerpulse_fn_api::Function::from_env(&keyed)
            .await
            .unwrap(),
        None,
    );
    server.check_keys(
        tickerpulse_local::keys::KeyCheck::new(&stack.env().unwrap(), stack.usage_plans.clone())
            .await,
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(tickerpulse::serve::serve(listener, server, async move {
        let _ = stopped.await;
    }));
    let status_of = move |key: Option<String>| {
        tokio::task::spawn_blocking(move || {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            let key = key
                .map(|k| format!("x-api-key: {k}\r\n"))
                .unwrap_or_default();
            write!(
                s,
                "GET /v1/overall?level=month HTTP/1.1\r\nHost: localhost\r\n{key}Connection: close\r\n\r\n"
            )
            .unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            out[9..12].parse::<u16>().unwrap()
        })
    };
    assert_eq!(status_of(None).await.unwrap(), 403);
    assert_eq!(status_of(Some(user_key)).await.unwrap(), 200);
    assert_eq!(
        status_of(Some("a-key-of-no-plan-0123456789".into()))
            .await
            .unwrap(),
        403
    );
    let _ = stop.send(());
    serving.await.unwrap();
    stack.stop().await;
}
