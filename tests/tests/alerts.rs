//! Alerts end to end on the local stack: rules made through the API (behind the
//! Cognito authorizer and the key), tweets through Firehose and the pipeline,
//! the Pulse state ranking what trends and delivering each crossing once to
//! moto's SNS topic and EventBridge bus, read back from SQS queues subscribed
//! to them as a user would subscribe theirs. Retried and repeated runs deliver
//! nothing twice; a firing recorded but not delivered is delivered again.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use tickerpulse_e2e::{
    call, clients, put_records, run_execution, serve_guarded, start_stack, succeeded_output,
};

const PIPELINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:tickerpulse-pipeline";
const KEY: &str = "alerts-test-key";

/// One tweet as the X API gives it, as a Firehose record.
fn tweet(id: u64, text: &str, created_at: &str) -> Vec<u8> {
    tickerpulse_e2e::x_record(id, text, created_at, id % 97)
}

/// A text of its own for each id (copies from many accounts are spam, which
/// the clean stage sets aside).
fn text(ticker: &str, id: u64) -> String {
    const A: [&str; 8] = [
        "solid", "strong", "quiet", "busy", "fresh", "wild", "calm", "bold",
    ];
    const B: [&str; 8] = [
        "session", "morning", "volume", "tape", "move", "chart", "open", "close",
    ];
    const C: [&str; 4] = ["today", "again", "here", "now"];
    let i = id as usize;
    format!(
        "${ticker} {} {} {}",
        A[i % 8],
        B[(i / 8) % 8],
        C[(i / 64) % 4]
    )
}

/// Four hours of 2020-04-15: MSFT three tweets an hour, steady; AAPL one an
/// hour, then twelve in the fourth.
fn traffic() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut id = 9_000;
    for hour in 1..=4 {
        for i in 0..3 {
            id += 1;
            let at = format!("2020-04-15T{hour:02}:{:02}:00.000Z", 10 + i);
            out.push(tweet(id, &text("MSFT", id), &at));
        }
        let aapl = if hour == 4 { 12 } else { 1 };
        for i in 0..aapl {
            id += 1;
            let at = format!("2020-04-15T{hour:02}:{:02}:30.000Z", 5 + i);
            out.push(tweet(id, &text("AAPL", id), &at));
        }
    }
    out
}

struct Queue {
    url: String,
    arn: String,
}

async fn queue(sqs: &aws_sdk_sqs::Client, name: &str) -> Queue {
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let arn =
        attrs.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn].clone();
    Queue { url, arn }
}

/// Every message a queue has received so far (bodies), leaving none behind.
async fn drain(sqs: &aws_sdk_sqs::Client, q: &Queue) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        let got = sqs
            .receive_message()
            .queue_url(&q.url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        if got.messages().is_empty() {
            return out;
        }
        for m in got.messages() {
            out.push(m.body().unwrap_or_default().to_string());
            sqs.delete_message()
                .queue_url(&q.url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

/// The firing documents SNS delivered (raw delivery: the `default` body).
fn alert_ids(bodies: &[String]) -> Vec<String> {
    bodies
        .iter()
        .map(|b| {
            let v: Value = serde_json::from_str(b).unwrap_or_else(|e| panic!("{e}: {b}"));
            // EventBridge wraps the document in an event; SNS sends it as is.
            let doc = if v["detail"].is_object() {
                assert_eq!(v["source"], "tickerpulse", "{v}");
                assert_eq!(v["detail-type"], "TickerPulse alert fired", "{v}");
                v["detail"].clone()
            } else {
                v
            };
            doc["alert_id"]
                .as_str()
                .unwrap_or_else(|| panic!("{doc}"))
                .to_string()
        })
        .collect()
}

async fn pulse(env: &BTreeMap<String, String>) -> tickerpulse_fn_pulse::PulseResult {
    let f = tickerpulse_fn_pulse::Function::from_env(env).await.unwrap();
    f.handle(tickerpulse_fn_pulse::PulseRequest::default())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_fires_once_per_crossing_to_sns_and_eventbridge() {
    let stack = start_stack("alerts")
        .await
        .expect("starting the local stack");
    let env = stack.env().unwrap();
    let conf = tickerpulse_aws::sdk::load(&env).await;
    let (sqs, sns, events) = (
        aws_sdk_sqs::Client::new(&conf),
        aws_sdk_sns::Client::new(&conf),
        aws_sdk_eventbridge::Client::new(&conf),
    );
    // A user's subscriptions: the topic to a queue (raw, filtered on the
    // owner attribute as the template's note says), the bus to another.
    let editor = stack
        .add_user("ann", "Editor-password-1", &["editors"])
        .await
        .unwrap();
    let (addr, stop, serving) = serve_guarded(&stack, KEY).await.unwrap();
    let base = addr.to_string();
    let ann = Some(editor.id_token.as_str());
    let (_, me) = call(&base, "GET", "/me", ann, Some(KEY), None).await;
    let sub = me["sub"]
        .as_str()
        .unwrap_or_else(|| panic!("{me}"))
        .to_string();

    let from_sns = queue(&sqs, "ann-alerts").await;
    sns.subscribe()
        .topic_arn(&env["ALERT_TOPIC_ARN"])
        .protocol("sqs")
        .endpoint(&from_sns.arn)
        .attributes("RawMessageDelivery", "true")
        .attributes("FilterPolicy", json!({ "owner": [sub] }).to_string())
        .send()
        .await
        .unwrap();
    let from_bus = queue(&sqs, "all-alerts").await;
    events
        .put_rule()
        .name("tickerpulse-alerts")
        .event_pattern(json!({"source": ["tickerpulse"]}).to_string())
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule("tickerpulse-alerts")
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(&from_bus.arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    // The rules, through the API. A bad one is refused with the JSON error body.
    let post = |body: Value| {
        let base = base.clone();
        async move {
            call(
                &base,
                "POST",
                "/alerts",
                ann,
                Some(KEY),
                Some(&body.to_string()),
            )
            .await
        }
    };
    let (s, spike) = post(json!({"ticker": "*", "metric": "z_score", "op": "above",
        "threshold": 5, "window": "1h", "cooldown_hours": 6}))
    .await;
    assert_eq!(s, 201, "{spike}");
    assert_eq!(
        (spike["window"].as_str(), spike["min_mentions"].as_u64()),
        (Some("1h"), Some(5))
    );
    // Held for hours, so it never crosses in what is sent below.
    let (s, held) = post(
        json!({"ticker": "MSFT", "metric": "mentions", "op": "above",
        "threshold": 2, "window": "1h"}),
    )
    .await;
    assert_eq!(s, 201, "{held}");
    for bad in [
        json!({"ticker": "*", "metric": "z_score", "op": "above", "threshold": 5, "window": "2h"}),
        json!({"ticker": "*", "metric": "z_score", "op": "above", "threshold": 5, "cooldown_hours": 721}),
        json!({"ticker": "MSFT", "metric": "mentions", "op": "above", "threshold": 1, "min_mentions": 0}),
    ] {
        let (s, body) = post(bad.clone()).await;
        assert_eq!(
            (s, body["error"].as_str()),
            (400, Some("bad_body")),
            "{bad} -> {body}"
        );
    }

    // Run 1: the spike crosses; one delivery to each.
    let c = clients(&stack).await.unwrap();
    let out = put_records(&c.firehose, &traffic()).await.unwrap();
    assert_eq!(out.failed_put_count(), 0);
    let run = run_execution(&c.sfn, PIPELINE, "alerts-1", &json!({}))
        .await
        .unwrap();
    let out = succeeded_output(&run);
    assert_eq!(out["pulse"]["anchor"], "2020-04-15T04:00:00Z", "{out}");
    assert_eq!(out["pulse"]["delivered"], 1, "{out}");
    let sent = alert_ids(&drain(&sqs, &from_sns).await);
    let routed = alert_ids(&drain(&sqs, &from_bus).await);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent, routed);
    let alert_id = sent[0].clone();
    assert!(
        alert_id.ends_with("#AAPL") && alert_id.starts_with("2020-04-15T04:00:00Z#"),
        "{alert_id}"
    );

    // The Pulse task retried (or run again by hand): nothing new.
    let again = pulse(&env).await;
    assert_eq!(
        (again.crossings, again.delivered, again.already_delivered),
        (1, 0, 1),
        "{again:?}"
    );
    // A later run with more of the same hour: the same crossing, not delivered again.
    let more = vec![tweet(
        9_500,
        "$AAPL still going",
        "2020-04-15T04:50:00.000Z",
    )];
    put_records(&c.firehose, &more).await.unwrap();
    let run = run_execution(&c.sfn, PIPELINE, "alerts-2", &json!({}))
        .await
        .unwrap();
    let out = succeeded_output(&run);
    assert_eq!(
        (
            out["pulse"]["crossings"].as_u64(),
            out["pulse"]["delivered"].as_u64()
        ),
        (Some(1), Some(0)),
        "{out}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(drain(&sqs, &from_sns).await.is_empty());
    assert!(drain(&sqs, &from_bus).await.is_empty());

    // A firing recorded but never marked delivered (the function died between
    // the two): the next attempt delivers it, with the same alert id.
    let table = &env["ALERT_HISTORY_TABLE"];
    c.dynamodb
        .update_item()
        .table_name(table)
        .key(
            "Owner",
            aws_sdk_dynamodb::types::AttributeValue::S(sub.clone()),
        )
        .key(
            "AlertId",
            aws_sdk_dynamodb::types::AttributeValue::S(alert_id.clone()),
        )
        .update_expression("SET Delivered = :f")
        .expression_attribute_values(":f", aws_sdk_dynamodb::types::AttributeValue::Bool(false))
        .send()
        .await
        .unwrap();
    let retried = pulse(&env).await;
    assert_eq!(
        (retried.redelivered, retried.delivered),
        (1, 0),
        "{retried:?}"
    );
    assert_eq!(
        alert_ids(&drain(&sqs, &from_sns).await),
        vec![alert_id.clone()]
    );
    assert_eq!(
        alert_ids(&drain(&sqs, &from_bus).await),
        vec![alert_id.clone()]
    );

    // The API: the history, and the 1-hour ranking with the spike first.
    let (s, history) = call(&base, "GET", "/alert-history", ann, Some(KEY), None).await;
    assert_eq!(s, 200, "{history}");
    let alerts = history["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{history}");
    assert_eq!(
        (
            alerts[0]["alert_id"].as_str(),
            alerts[0]["delivered"].as_bool(),
            alerts[0]["mentions"].as_u64()
        ),
        (Some(alert_id.as_str()), Some(true), Some(12)),
        "{history}"
    );
    let (s, hour) = call(&base, "GET", "/trending?window=1h", ann, Some(KEY), None).await;
    assert_eq!(s, 200, "{hour}");
    assert_eq!(hour["anchor"], "2020-04-15T04:00:00Z", "{hour}");
    assert_eq!(hour["tickers"][0]["ticker"], "AAPL", "{hour}");
    assert_eq!(hour["tickers"][0]["mentions"], 13, "{hour}");
    assert!(
        hour["tickers"][0]["z_score"].as_f64().unwrap() > 5.0,
        "{hour}"
    );
    let (s, bad) = call(&base, "GET", "/trending?window=2h", ann, Some(KEY), None).await;
    assert_eq!(
        (s, bad["error"].as_str()),
        (400, Some("bad_parameter")),
        "{bad}"
    );
    let _ = stop.send(());
    let _ = serving.await;
    stack.stop().await;
}
