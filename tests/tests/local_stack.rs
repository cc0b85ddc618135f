//! The local stack end to end: the real state machine definition executing in the
//! emulator, invoking the real handlers in-process; Firehose delivery through the
//! transform into S3; and no process left behind.

use base64::Engine;
use serde_json::{json, Value};
use tickerpulse::pipeline::history;
use tickerpulse_e2e::{
    clients, get_object, list_keys, put_records, run_execution, run_record, start_stack,
    succeeded_output,
};
use tickerpulse_local::stack::alive;

static RAW: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| tickerpulse_e2e::bucket("RawBucket"));
const PIPELINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:tickerpulse-pipeline";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_machine_runs_real_handlers_and_stack_stops_cleanly() {
    let stack = start_stack("sfn").await.expect("starting the local stack");
    let moto_pid = stack.moto_pid().expect("moto runs");
    assert!(alive(moto_pid));
    let c = clients(&stack).await.unwrap();

    // Every resource of the template exists.
    let buckets: Vec<String> =
        c.s3.list_buckets()
            .send()
            .await
            .unwrap()
            .buckets()
            .iter()
            .filter_map(|b| b.name().map(String::from))
            .collect();
    for b in stack.template.buckets().unwrap() {
        assert!(buckets.contains(&b.name), "bucket {} missing", b.name);
    }
    let summary = c
        .dynamodb
        .describe_table()
        .table_name("tickerpulse-ticker-summary")
        .send()
        .await
        .unwrap();
    let gsi = summary.table().unwrap().global_secondary_indexes();
    assert_eq!(gsi.len(), 1);
    assert_eq!(gsi[0].index_name(), Some("TickerDetail-Timestamp"));

    // The template's MapMaxConcurrency, as plan passes it on to the Map.
    let max_concurrency: u64 = stack.function_env("plan").unwrap()["MAP_MAX_CONCURRENCY"]
        .parse()
        .unwrap();
    // An empty range: the plan handler runs in-process and nothing is processed.
    let range = json!({"from": "2020-04-15T00:00:00Z", "to": "2020-04-15T05:00:00Z"});
    let done = run_execution(&c.sfn, PIPELINE, "empty-range", &range)
        .await
        .unwrap();
    let output = succeeded_output(&done);
    assert_eq!(
        output,
        json!({"partitions": [], "partition_count": 0, "versions": {},
               "max_concurrency": max_concurrency, "tolerated_failure_percentage": 0})
    );

    // Raw data in two hours of the range (and one outside it).
    for hour in ["01", "03", "07"] {
        c.s3.put_object()
            .bucket(RAW.as_str())
            .key(format!(
                "raw/tweets/year=2020/month=04/day=15/hour={hour}/part-1.gz"
            ))
            .body(b"{}".to_vec().into())
            .send()
            .await
            .unwrap();
    }
    let run = run_execution(&c.sfn, PIPELINE, "two-hours", &range)
        .await
        .unwrap();
    let history = history(&c.sfn, run.execution_arn()).await.unwrap();
    // The plan's own output, as the state machine received it from the handler.
    let plan_output = history
        .iter()
        .find_map(|e| e.task_succeeded_event_details().and_then(|d| d.output()))
        .expect("the plan task succeeded");
    let plan_output: Value = serde_json::from_str(plan_output).unwrap();
    assert_eq!(
        plan_output["Payload"],
        json!({"partitions": ["year=2020/month=04/day=15/hour=01", "year=2020/month=04/day=15/hour=03"], "partition_count": 2, "versions": {},
               "max_concurrency": max_concurrency, "tolerated_failure_percentage": 0})
    );
    let map_runs = history
        .iter()
        .filter(|e| e.r#type().as_str() == "MapRunStarted")
        .count();
    assert_eq!(map_runs, 1, "the Distributed Map started a map run");
    // compact, clean and aggregate run for each hour (the raw objects hold
    // no readable tweet, so the stage files are empty and nothing is counted).
    let output = succeeded_output(&run);
    assert_eq!(output["run_id"], "two-hours");
    assert_eq!(output["partitions"], 2);
    assert_eq!(output["partitions_changed"], 2);
    assert_eq!(output["rows_in"], 0);
    let stage = list_keys(&c.s3, &tickerpulse_e2e::bucket("StageBucket"), "stage")
        .await
        .unwrap();
    assert_eq!(
        stage.len(),
        6,
        "stage 1, cleaned and spam for two hours: {stage:?}"
    );

    // Invalid input is the handler's InvalidInput, not a crash.
    let bad = run_execution(
        &c.sfn,
        PIPELINE,
        "half-range",
        &json!({"from": "2020-04-15T00:00:00Z"}),
    )
    .await
    .unwrap();
    assert_eq!(bad.error(), Some("TickerPulse.InvalidInput"));
    // The state machine recorded the failed run for the API.

    let failed = run_record(&c.dynamodb, "half-range")
        .await
        .unwrap()
        .expect("a run record for the failed execution");
    assert_eq!(failed["Status"].as_s().unwrap(), "failed");
    let error = failed["Error"].as_s().unwrap();
    assert!(error.starts_with("TickerPulse.InvalidInput: "), "{error}");
    assert!(error.contains("give both `from` and `to`"), "{error}");
    assert!(failed["SK"].as_s().unwrap().ends_with("#half-range"));

    stack.stop().await;
    assert!(
        !alive(moto_pid),
        "moto (pid {moto_pid}) still runs after stop"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firehose_delivery_runs_transform_and_keeps_every_record() {
    let stack = start_stack("firehose")
        .await
        .expect("starting the local stack");
    let c = clients(&stack).await.unwrap();
    let good = |i: u32, hour: u32| {
        format!("{{\"id\":\"{i}\",\"text\":\"$TSLA great {i}\",\"created_at\":\"2020-04-15T{hour:02}:00:0{}.000Z\",\"lang\":\"en\"}}\n", i % 10)
            .into_bytes()
    };
    let mut records: Vec<Vec<u8>> = (0..6).map(|i| good(i, 1 + i % 2)).collect();
    records.push(b"{\"id\":\"100\",\"text\":\"hola $TSLA\",\"created_at\":\"2020-04-15T01:00:00Z\",\"lang\":\"es\"}\n".to_vec());
    records.push(b"{\"id\":\"101\",\"text\":\"truncated".to_vec());
    records.push(b"{\"id\":\"102\",\"text\":\"no time\"}".to_vec());
    records.push(b"\xff\xfe not utf-8".to_vec());
    let out = put_records(&c.firehose, &records).await.unwrap();
    assert_eq!(out.failed_put_count(), 0);
    assert_eq!(out.request_responses().len(), records.len());

    // Landed: enriched JSON lines under the tweet's own hour.
    let mut landed: Vec<Value> = Vec::new();
    for key in list_keys(&c.s3, &RAW, "raw/tweets/").await.unwrap() {
        let hour = if key.contains("/hour=01/") {
            "01"
        } else {
            "02"
        };
        assert!(
            key.starts_with(&format!(
                "raw/tweets/year=2020/month=04/day=15/hour={hour}/"
            )),
            "{key}"
        );
        assert!(key.ends_with(".gz"));
        let text = get_object(&c.s3, &RAW, &key).await.unwrap();
        for line in String::from_utf8(text).unwrap().lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["created_at"].as_str().unwrap()[11..13], *hour);
            assert_eq!(v["tickers"], json!(["TSLA"]));
            assert_eq!(v["sentiment"]["label"], "positive");
            landed.push(v);
        }
    }
    assert_eq!(landed.len(), 6);
    // Failed: in the error prefix with their original bytes.
    let mut failed: Vec<Vec<u8>> = Vec::new();
    let mut raw_data: Vec<String> = Vec::new();
    for key in list_keys(&c.s3, &RAW, "raw-errors/processing-failed/")
        .await
        .unwrap()
    {
        assert!(
            key.starts_with("raw-errors/processing-failed/year="),
            "{key}"
        );
        let text = get_object(&c.s3, &RAW, &key).await.unwrap();
        for line in String::from_utf8(text).unwrap().lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["errorCode"], "Lambda.ProcessingFailedStatus");
            raw_data.push(v["rawData"].as_str().unwrap().to_string());
            failed.push(
                base64::engine::general_purpose::STANDARD
                    .decode(v["rawData"].as_str().unwrap())
                    .unwrap(),
            );
        }
    }
    failed.sort();
    let mut want: Vec<Vec<u8>> = records[7..].to_vec();
    want.sort();
    assert_eq!(failed, want, "the unreadable records, byte for byte");
    // Every record: 6 landed + 1 dropped (language not watched) + 3 failed.
    assert_eq!(landed.len() + 1 + failed.len(), records.len());
    // Why each failed, beside them: the same rawData, with the transform's reason.
    let mut reasons: Vec<(String, String)> = Vec::new();
    for key in list_keys(&c.s3, &RAW, "raw-errors/reasons/year=")
        .await
        .unwrap()
    {
        let text = get_object(&c.s3, &RAW, &key).await.unwrap();
        for line in String::from_utf8(text).unwrap().lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            reasons.push((
                v["rawData"].as_str().unwrap().to_string(),
                v["reason"].as_str().unwrap().to_string(),
            ));
        }
    }
    reasons.sort();
    raw_data.sort();
    assert_eq!(
        reasons.iter().map(|r| r.0.clone()).collect::<Vec<_>>(),
        raw_data,
        "one reason for each of Firehose's error records"
    );
    let said: Vec<&str> = reasons.iter().map(|r| r.1.as_str()).collect();
    assert!(
        said.iter().any(|r| r.contains("not a JSON tweet object")),
        "{said:?}"
    );
    assert!(
        said.iter().any(|r| r.contains("tweet has no created_at")),
        "{said:?}"
    );
    assert!(said.iter().any(|r| r.contains("not UTF-8")), "{said:?}");

    // Firehose's own validation.
    let err = c
        .firehose
        .put_record_batch()
        .delivery_stream_name("no-such-stream")
        .records(
            aws_sdk_firehose::types::Record::builder()
                .data(b"x".to_vec().into())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert!(format!("{err:?}").contains("ResourceNotFoundException"));
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_list_in_s3_replaces_the_bundled_one() {
    let bucket = &tickerpulse_e2e::bucket("StageBucket");
    // Deployed with the parameter, as an operator would: it sets the functions'
    // WATCHLIST_URI and grants their roles the object (ReadWatchlist).
    let stack = tickerpulse_e2e::start_stack_with(
        "watchlist",
        &format!("WatchlistUri=s3://{bucket}/config/watchlist.csv"),
    )
    .await
    .expect("starting the local stack");
    let c = clients(&stack).await.unwrap();
    c.s3.put_object()
        .bucket(bucket)
        .key("config/watchlist.csv")
        .body(
            b"symbol,name\nTSLA,Tesla\nbrk-b,Berkshire Hathaway B\nGME,GameStop\n"
                .to_vec()
                .into(),
        )
        .send()
        .await
        .unwrap();
    let mut env = stack.env().unwrap();
    env.insert(
        "WATCHLIST_URI".into(),
        format!("s3://{bucket}/config/watchlist.csv"),
    );
    let w = tickerpulse_aws::watchlist::load(&env).await.unwrap();
    assert_eq!(w.symbols(), ["BRK.B", "GME", "TSLA"]);
    // The transform function configured this way flags tickers against it.
    let transform = tickerpulse_fn_transform::Function::from_env(&tickerpulse_e2e::as_function(
        &stack,
        "transform",
        &env,
    ))
    .await
    .unwrap();
    let watchlist = &transform.transformer.enricher.watchlist;
    assert!(watchlist.contains("GME") && !watchlist.contains("AAPL"));

    env.insert(
        "WATCHLIST_URI".into(),
        format!("s3://{bucket}/config/missing.csv"),
    );
    let err = tickerpulse_aws::watchlist::load(&env).await.unwrap_err();
    assert!(err.to_string().contains("missing.csv"), "{err}");
    env.insert(
        "WATCHLIST_URI".into(),
        "https://example.com/list.csv".into(),
    );
    assert_eq!(
        tickerpulse_aws::watchlist::load(&env)
            .await
            .unwrap_err()
            .error_type(),
        "TickerPulse.Config"
    );
    c.s3.put_object()
        .bucket(bucket)
        .key("config/bad.csv")
        .body(b"ticker\nNOT A SYMBOL\n".to_vec().into())
        .send()
        .await
        .unwrap();
    env.insert(
        "WATCHLIST_URI".into(),
        format!("s3://{bucket}/config/bad.csv"),
    );
    assert!(tickerpulse_aws::watchlist::load(&env)
        .await
        .unwrap_err()
        .to_string()
        .contains("NOT A SYMBOL"));
    stack.stop().await;
}
