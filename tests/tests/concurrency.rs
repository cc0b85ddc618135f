//! A new account's 10 concurrent Lambda executions, on the local stack: with every
//! place taken for a while, a Firehose batch's transform is throttled and retried
//! (not parked in processing-failed), and the pipeline's throttled tasks wait and
//! succeed (not `PartitionFailed`).

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tickerpulse::pipeline::history;
use tickerpulse_e2e::{
    clients, list_keys, put_records, run_execution, start_stack, succeeded_output,
};

const PIPELINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:tickerpulse-pipeline";

fn tweet(id: u32, hour: u32) -> Vec<u8> {
    let at = format!("2020-04-15T{hour:02}:1{}:00.000Z", id % 10);
    tickerpulse_e2e::x_record(id, &format!("$TSLA great quarter {id}"), &at, 100 + id)
}

/// Takes every place for `hold`, then gives them back.
fn occupy(stack: &tickerpulse_local::LocalStack, hold: Duration) -> tokio::task::JoinHandle<()> {
    let held: Vec<_> = (0..10)
        .map(|_| stack.concurrency.try_acquire().expect("a free place"))
        .collect();
    tokio::spawn(async move {
        tokio::time::sleep(hold).await;
        drop(held);
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_concurrency_account_waits_out_its_throttles() {
    let stack = start_stack("concurrency")
        .await
        .expect("starting the local stack");
    let c = clients(&stack).await.unwrap();
    stack.concurrency.set_limit(10);

    // Firehose: the transform is throttled while the places are taken, and retried.
    let release = occupy(&stack, Duration::from_millis(1500));
    let records: Vec<Vec<u8>> = [(1, 1), (2, 1), (3, 2), (4, 3), (5, 3), (6, 3)]
        .iter()
        .map(|&(i, h)| tweet(i, h))
        .collect();
    let out = put_records(&c.firehose, &records).await.unwrap();
    assert_eq!(out.failed_put_count(), 0);
    release.await.unwrap();
    let throttled = stack.concurrency.throttled.load(Ordering::SeqCst);
    assert!(throttled > 0, "the transform was never throttled");
    let bucket = tickerpulse_e2e::RAW_BUCKET.as_str();
    assert!(list_keys(&c.s3, bucket, "raw-errors/")
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        list_keys(&c.s3, bucket, "raw/tweets/").await.unwrap().len(),
        3
    );

    // The pipeline: its tasks are throttled for 3 s, wait, and every partition lands.
    let release = occupy(&stack, Duration::from_secs(3));
    let run = run_execution(&c.sfn, PIPELINE, "throttled", &json!({}))
        .await
        .unwrap();
    release.await.unwrap();
    let out = succeeded_output(&run);
    assert_eq!(out["partitions_changed"], 3, "{out}");
    let events = history(&c.sfn, run.execution_arn()).await.unwrap();
    let throttles = events
        .iter()
        .filter_map(|e| e.task_failed_event_details())
        .filter(|d| d.error() == Some("Lambda.TooManyRequestsException"))
        .count();
    assert!(throttles > 0, "no task was throttled: {out}");
    assert!(stack.concurrency.throttled.load(Ordering::SeqCst) > throttled);
    let mentions = c
        .dynamodb
        .get_item()
        .table_name("tickerpulse-overall-summary")
        .key("DetailLevel", AttributeValue::S("2020-04-15".into()))
        .send()
        .await
        .unwrap()
        .item
        .and_then(|i| i.get("Mentions").and_then(|m| m.as_n().ok()).cloned());
    assert_eq!(mentions.as_deref(), Some("6"));
    stack.stop().await;
}
