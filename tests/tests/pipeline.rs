//! The scheduled pipeline on the local stack: Firehose deliveries raise S3
//! events that `track` turns into pending partitions; a scheduled execution
//! (`{}`) plans from that ledger, processes several hours through compact,
//! clean and aggregate into DynamoDB and clears them; a second execution with
//! no new data does nothing and succeeds; a late tweet is picked up alone.

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;
use tickerpulse::pipeline::history;
use tickerpulse_e2e::{
    clients, put_records, run_execution, run_record, start_stack, state_items, succeeded_output,
};

const PIPELINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:tickerpulse-pipeline";

fn tweet(id: u32, hour: u32, text: &str) -> Vec<u8> {
    let at = format!("2020-04-15T{hour:02}:1{}:00.000Z", id % 10);
    tickerpulse_e2e::x_record(id, text, &at, 100 + id)
}

async fn deliver(c: &tickerpulse_e2e::Clients, records: Vec<Vec<u8>>) {
    let out = put_records(&c.firehose, &records).await.unwrap();
    assert_eq!(out.failed_put_count(), 0);
}

async fn pending(db: &aws_sdk_dynamodb::Client) -> Vec<String> {
    state_items(db, "changed#raw")
        .await
        .unwrap()
        .iter()
        .map(|i| i["SK"].as_s().unwrap().clone())
        .collect()
}

async fn day_mentions(db: &aws_sdk_dynamodb::Client) -> String {
    db.get_item()
        .table_name("tickerpulse-overall-summary")
        .key("DetailLevel", AttributeValue::S("2020-04-15".into()))
        .send()
        .await
        .unwrap()
        .item
        .map(|i| i["Mentions"].as_n().unwrap().clone())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_runs_process_what_changed_and_nothing_else() {
    let stack = start_stack("pipeline")
        .await
        .expect("starting the local stack");
    let c = clients(&stack).await.unwrap();

    let mut records = Vec::new();
    for (i, hour) in [(1, 1), (2, 1), (3, 2), (4, 3), (5, 3), (6, 3)] {
        records.push(tweet(i, hour, &format!("$TSLA great quarter {i}")));
    }
    deliver(&c, records).await;
    assert_eq!(
        pending(&c.dynamodb).await,
        [
            "year=2020/month=04/day=15/hour=01",
            "year=2020/month=04/day=15/hour=02",
            "year=2020/month=04/day=15/hour=03"
        ]
    );

    let run = run_execution(&c.sfn, PIPELINE, "scheduled-1", &json!({}))
        .await
        .unwrap();
    let out = succeeded_output(&run);
    assert_eq!(
        (
            &out["partitions_changed"],
            &out["rows_in"],
            &out["pending_cleared"]
        ),
        (&json!(3), &json!(6), &json!(3)),
        "{out}"
    );
    assert!(pending(&c.dynamodb).await.is_empty());
    assert_eq!(day_mentions(&c.dynamodb).await, "6");
    let history = history(&c.sfn, run.execution_arn()).await.unwrap();
    // A Distributed Map: the partitions ran as a map run of child executions.
    let kinds: Vec<&str> = history.iter().map(|e| e.r#type().as_str()).collect();
    assert!(
        kinds.contains(&"MapRunStarted") && kinds.contains(&"MapRunSucceeded"),
        "{kinds:?}"
    );

    // Nothing new: nothing to do, and a success.
    let idle = run_execution(&c.sfn, PIPELINE, "scheduled-2", &json!({}))
        .await
        .unwrap();
    let out = succeeded_output(&idle);
    assert_eq!(out["partition_count"], 0, "{out}");

    // A late tweet for hour 2: only that hour is processed, totals stay exact.
    deliver(&c, vec![tweet(7, 2, "$TSLA late news")]).await;
    assert_eq!(
        pending(&c.dynamodb).await,
        ["year=2020/month=04/day=15/hour=02"]
    );
    let late = run_execution(&c.sfn, PIPELINE, "scheduled-3", &json!({}))
        .await
        .unwrap();
    let out = succeeded_output(&late);
    assert_eq!(
        (&out["partitions"], &out["rows_in"]),
        (&json!(1), &json!(2)),
        "{out}"
    );
    assert_eq!(day_mentions(&c.dynamodb).await, "7");

    // A raw line compact cannot read: counted in the run's record (and so in
    // /v1/runs), and named beside the data.
    tickerpulse_e2e::put_raw(
        &c.s3,
        "year=2020/month=04/day=15/hour=03",
        "torn.gz",
        &["{\"tweet_id\": \"torn".to_string()],
    )
    .await;
    let hour = json!({"from": "2020-04-15T03:00:00Z", "to": "2020-04-15T03:59:59Z"});
    run_execution(&c.sfn, PIPELINE, "range-1", &hour)
        .await
        .unwrap();
    let record = run_record(&c.dynamodb, "range-1")
        .await
        .unwrap()
        .expect("run recorded");
    assert_eq!(record["RowsRejected"].as_n().unwrap(), "1");
    let named = tickerpulse_e2e::get_object(
        &c.s3,
        &tickerpulse_e2e::RAW_BUCKET,
        "raw-errors/rejected-lines/year=2020/month=04/day=15/hour=03/rejects.jsonl",
    )
    .await
    .unwrap();
    assert!(String::from_utf8(named).unwrap().contains("torn.gz"));
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_partition_makes_a_partial_run_and_the_next_run_completes_it() {
    let stack = start_stack("pipeline-fault")
        .await
        .expect("starting the local stack");
    let c = clients(&stack).await.unwrap();
    let records = [(1, 1), (2, 2), (3, 2), (4, 3)]
        .into_iter()
        .map(|(i, hour)| tweet(i, hour, &format!("$AAPL solid numbers {i}")))
        .collect();
    deliver(&c, records).await;
    // compact fails on hour 2 (after its retries: the error is not retryable).
    stack
        .invoke_faults
        .fail("compact", "hour=02", "TickerPulse.Fatal");
    let run = run_execution(&c.sfn, PIPELINE, "partial-1", &json!({}))
        .await
        .unwrap();
    let out = succeeded_output(&run);
    assert_eq!(
        out["failed_partitions"],
        json!(["year=2020/month=04/day=15/hour=02"]),
        "{out}"
    );
    assert_eq!(
        (&out["partitions_changed"], &out["rows_in"]),
        (&json!(2), &json!(2)),
        "{out}"
    );
    assert_eq!(
        pending(&c.dynamodb).await,
        ["year=2020/month=04/day=15/hour=02"]
    );
    assert_eq!(day_mentions(&c.dynamodb).await, "2");
    // Reported: the run record says partial, and the execution notified the topic.
    let record = run_record(&c.dynamodb, "partial-1")
        .await
        .unwrap()
        .expect("run recorded");
    assert_eq!(record["Status"].as_s().unwrap(), "partial");
    assert!(record["Error"].as_s().unwrap().contains("hour=02"));
    let history = history(&c.sfn, run.execution_arn()).await.unwrap();
    assert!(history.iter().any(|e| e
        .state_entered_event_details()
        .is_some_and(|d| d.name() == "NotifyPartial")));

    // The fault is gone: the next scheduled run completes hour 2, totals exact.
    stack.invoke_faults.clear();
    let next = run_execution(&c.sfn, PIPELINE, "partial-2", &json!({}))
        .await
        .unwrap();
    let out = succeeded_output(&next);
    assert_eq!(
        (&out["partitions"], &out["rows_in"], &out["failed_count"]),
        (&json!(1), &json!(2), &json!(0)),
        "{out}"
    );
    assert!(pending(&c.dynamodb).await.is_empty());
    assert_eq!(day_mentions(&c.dynamodb).await, "4");
    stack.stop().await;
}
