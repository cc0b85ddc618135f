//! Alerts end to end on the local stack: rules made through the API (behind the
//! Cognito authorizer and the key), tweets through Firehose and the pipeline,
//! the Pulse state ranking what trends and delivering each crossing once to
//! moto's SNS topic and EventBridge bus, read back from SQS queues subscribed
//! to them as a user would subscribe theirs. Retried and repeated runs deliver
//! nothing twice; overlapping runs deliver once; a run that died or failed
//! part-way is finished by the next, which sends only to the targets it did
//! not (a death between a send and its flag being the one duplicate left).

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

/// How many copies of firing `id` each queue (SNS's, the bus's) received since
/// the last look; a firing of another id fails the test.
async fn received(sqs: &aws_sdk_sqs::Client, queues: [&Queue; 2], id: &str) -> (usize, usize) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut counts = [0; 2];
    for (q, n) in queues.into_iter().zip(counts.iter_mut()) {
        let ids = alert_ids(&drain(sqs, q).await);
        assert!(ids.iter().all(|i| i == id), "{ids:?}");
        *n = ids.len();
    }
    (counts[0], counts[1])
}

async fn pulse(env: &BTreeMap<String, String>) -> tickerpulse_fn_pulse::PulseResult {
    let f = tickerpulse_fn_pulse::Function::from_env(env).await.unwrap();
    f.handle(tickerpulse_fn_pulse::PulseRequest::default())
        .await
        .unwrap()
}

/// One firing's history item, set by hand as a dead, failed or overlapping
/// run would have left it.
struct History {
    client: aws_sdk_dynamodb::Client,
    table: String,
    owner: String,
    id: String,
}

impl History {
    async fn set(&self, flags: &[(&str, bool)], lease: Option<(&str, i64)>) {
        use aws_sdk_dynamodb::types::AttributeValue as V;
        let mut sets = Vec::new();
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("Owner", V::S(self.owner.clone()))
            .key("AlertId", V::S(self.id.clone()));
        for (i, (flag, on)) in flags.iter().enumerate() {
            sets.push(format!("{flag} = :f{i}"));
            update = update.expression_attribute_values(format!(":f{i}"), V::Bool(*on));
        }
        if let Some((owner, until)) = lease {
            sets.push("LeaseOwner = :o, LeaseUntil = :u".into());
            update = update
                .expression_attribute_values(":o", V::S(owner.into()))
                .expression_attribute_values(":u", V::N(until.to_string()));
        }
        update
            .update_expression(format!("SET {}", sets.join(", ")))
            .send()
            .await
            .unwrap();
    }

    async fn delete(&self) {
        use aws_sdk_dynamodb::types::AttributeValue as V;
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("Owner", V::S(self.owner.clone()))
            .key("AlertId", V::S(self.id.clone()))
            .send()
            .await
            .unwrap();
    }
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

    // Deaths, failures and overlaps: each target gets the firing once, but for
    // a death between a target's send and its flag.
    let history = History {
        client: c.dynamodb.clone(),
        table: env["ALERT_HISTORY_TABLE"].clone(),
        owner: sub.clone(),
        id: alert_id.clone(),
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    // Another run holds the claim and may be delivering it now (two Pulse runs
    // overlapping): this one leaves it alone, whatever is still unsent.
    history
        .set(
            &[
                ("Delivered", false),
                ("SentSns", false),
                ("SentEvents", false),
            ],
            Some(("other-run", now + 600)),
        )
        .await;
    let overlapped = pulse(&env).await;
    assert_eq!(
        (
            overlapped.held,
            overlapped.delivered,
            overlapped.redelivered
        ),
        (1, 0, 0),
        "{overlapped:?}"
    );
    assert_eq!(
        received(&sqs, [&from_sns, &from_bus], &alert_id).await,
        (0, 0)
    );
    // The holder died after SNS took the firing and it was flagged: once its
    // lease is over, the next run sends to EventBridge only.
    history
        .set(&[("SentSns", true)], Some(("other-run", now - 1)))
        .await;
    let resumed = pulse(&env).await;
    assert_eq!(
        (resumed.redelivered, resumed.already_sent, resumed.held),
        (1, 1, 0),
        "{resumed:?}"
    );
    assert_eq!(
        received(&sqs, [&from_sns, &from_bus], &alert_id).await,
        (0, 1)
    );
    // The one window left: a death after a send and before its flag. Both are
    // sent again, with the same alert_id for subscribers to drop the second.
    history
        .set(
            &[
                ("Delivered", false),
                ("SentSns", false),
                ("SentEvents", false),
            ],
            Some(("other-run", now - 1)),
        )
        .await;
    let again = pulse(&env).await;
    assert_eq!((again.redelivered, again.already_sent), (1, 0), "{again:?}");
    assert_eq!(
        received(&sqs, [&from_sns, &from_bus], &alert_id).await,
        (1, 1)
    );

    // EventBridge refuses after SNS took it (here: a bus the role may not put
    // to): the run fails, the retry sends to EventBridge only.
    history.delete().await;
    let mut elsewhere = env.clone();
    elsewhere.insert("ALERT_EVENT_BUS".into(), "elsewhere".into());
    let as_pulse = tickerpulse_e2e::as_function(&stack, "pulse", &elsewhere);
    let f = tickerpulse_fn_pulse::Function::from_env(&as_pulse)
        .await
        .unwrap();
    let failed = f.handle(Default::default()).await;
    assert!(failed.is_err(), "{failed:?}");
    assert_eq!(
        received(&sqs, [&from_sns, &from_bus], &alert_id).await,
        (1, 0)
    );
    let retried = pulse(&env).await;
    assert_eq!(
        (retried.redelivered, retried.already_sent, retried.held),
        (1, 1, 0),
        "the failed run released its claim: {retried:?}"
    );
    assert_eq!(
        received(&sqs, [&from_sns, &from_bus], &alert_id).await,
        (0, 1)
    );

    // Two runs at once over the same crossing: one delivers, the other finds
    // it held or delivered; each target gets it once.
    history.delete().await;
    let (a, b) = tokio::join!(pulse(&env), pulse(&env));
    assert_eq!(a.delivered + b.delivered, 1, "{a:?} {b:?}");
    assert_eq!(
        a.held + b.held + a.already_delivered + b.already_delivered,
        1,
        "{a:?} {b:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        received(&sqs, [&from_sns, &from_bus], &alert_id).await,
        (1, 1)
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
        // Recorded again by the runs above, after run 2's thirteenth tweet.
        (Some(alert_id.as_str()), Some(true), Some(13)),
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
    // Windows end at the newest complete hour, not the one filling at the
    // run's clock; a run after a gap evaluates the hours since the last anchor.
    let at = |t: &str| {
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
            .unwrap()
            .unix_timestamp()
    };
    let mut early = tickerpulse_fn_pulse::Function::from_env(&env)
        .await
        .unwrap();
    early.clock = Some(at("2020-04-15T04:30:00Z"));
    let filling = early.handle(Default::default()).await.unwrap();
    assert_eq!(
        filling.anchor.as_deref(),
        Some("2020-04-15T03:00:00Z"),
        "{filling:?}"
    );
    early.clock = Some(at("2020-04-15T02:59:59Z"));
    let earlier = early.handle(Default::default()).await.unwrap();
    assert_eq!(
        earlier.anchor.as_deref(),
        Some("2020-04-15T01:00:00Z"),
        "{earlier:?}"
    );
    let caught_up = pulse(&env).await;
    assert_eq!(
        (
            caught_up.anchor.as_deref(),
            caught_up.hours_evaluated,
            caught_up.already_delivered
        ),
        (Some("2020-04-15T04:00:00Z"), 3, 1),
        "{caught_up:?}"
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
