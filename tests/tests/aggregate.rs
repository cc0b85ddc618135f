//! Aggregation end to end on the local stack: raw tweets through the real
//! compact, clean and aggregate handlers into the DynamoDB serving tables,
//! with exact values at every level, a rerun that writes nothing, a late tweet
//! that changes only its hour and the levels above, and a throttled table
//! (throttling errors and unprocessed items injected into `BatchWriteItem`)
//! that slows the run without losing a write.

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use std::collections::HashMap;
use tickerpulse_e2e::{
    clients, compact_and_clean, enriched, list_keys, put_raw, run_record, start_stack,
};
use tickerpulse_fn_aggregate::{AggregateRequest, AggregateResult};
use tickerpulse_local::proxy::DynamoFault;

static ANALYTICS: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| tickerpulse_e2e::bucket("AnalyticsBucket"));
const TICKERS: &str = "tickerpulse-ticker-summary";
const OVERALL: &str = "tickerpulse-overall-summary";
const RECENT: &str = "tickerpulse-recent-tweets";
const H1: &str = "year=2020/month=04/day=15/hour=01";
const H2: &str = "year=2020/month=04/day=15/hour=02";

fn line(id: &str, at: &str, text: &str, watched: &[&str], sentiment: (f64, &str)) -> String {
    enriched(id, at, text, watched, watched, sentiment).to_string()
}

type Item = HashMap<String, AttributeValue>;

async fn ticker(db: &aws_sdk_dynamodb::Client, level: &str, symbol: &str) -> Option<Item> {
    db.get_item()
        .table_name(TICKERS)
        .key("DetailLevel", AttributeValue::S(level.into()))
        .key("Ticker", AttributeValue::S(symbol.into()))
        .send()
        .await
        .unwrap()
        .item
}

async fn overall(db: &aws_sdk_dynamodb::Client, level: &str) -> Item {
    db.get_item()
        .table_name(OVERALL)
        .key("DetailLevel", AttributeValue::S(level.into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap_or_else(|| panic!("no overall item {level}"))
}

fn num(item: &Item, key: &str) -> f64 {
    item.get(key)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{key} missing in {item:?}"))
}

/// (mentions, positive, negative, neutral) of a ticker item.
async fn counts(db: &aws_sdk_dynamodb::Client, level: &str, symbol: &str) -> (f64, f64, f64, f64) {
    let i = ticker(db, level, symbol)
        .await
        .unwrap_or_else(|| panic!("no {symbol} item at {level}"));
    (
        num(&i, "Mentions"),
        num(&i, "Positive"),
        num(&i, "Negative"),
        num(&i, "Neutral"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serving_tables_exact_incremental_idempotent_and_throttle_proof() {
    let stack = start_stack("aggregate")
        .await
        .expect("starting the local stack");
    let c = clients(&stack).await.unwrap();
    let env = stack.env().unwrap();
    let db = &c.dynamodb;

    put_raw(
        &c.s3,
        H1,
        "a.gz",
        &[
            line(
                "2001",
                "2020-04-15T01:05:00.000Z",
                "$TSLA strong deliveries",
                &["TSLA"],
                (0.5106, "positive"),
            ),
            line(
                "2002",
                "2020-04-15T01:20:00.000Z",
                "$TSLA $AAPL weak guidance",
                &["TSLA", "AAPL"],
                (-0.4404, "negative"),
            ),
            line(
                "2003",
                "2020-04-15T01:50:00.000Z",
                "$AAPL flat open",
                &["AAPL"],
                (0.0, "neutral"),
            ),
            line(
                "2004",
                "2020-04-15T01:51:00.000Z",
                "GIVEAWAY retweet & follow $AAPL",
                &["AAPL"],
                (0.3, "positive"),
            ),
        ],
    )
    .await;
    put_raw(
        &c.s3,
        H2,
        "a.gz",
        &[
            line(
                "2005",
                "2020-04-15T02:05:00.000Z",
                "$TSLA breaking out",
                &["TSLA"],
                (0.3182, "positive"),
            ),
            line(
                "2006",
                "2020-04-15T02:10:00.000Z",
                "$MSFT downgraded",
                &["MSFT"],
                (-0.2732, "negative"),
            ),
        ],
    )
    .await;
    for p in [H1, H2] {
        compact_and_clean(&stack, p).await;
    }
    let aggregate = tickerpulse_fn_aggregate::Function::from_env(&tickerpulse_e2e::as_function(
        &stack,
        "aggregate",
        &env,
    ))
    .await
    .unwrap();
    let request = |run: &str, partitions: &[&str]| AggregateRequest {
        partitions: partitions.iter().map(|p| p.to_string()).collect(),
        run_id: Some(run.into()),
        versions: Default::default(),
        processed: Vec::new(),
        failure: None,
    };
    let r1: AggregateResult = aggregate.handle(request("r1", &[H1, H2])).await.unwrap();
    assert_eq!((r1.partitions_changed, r1.rows_in), (2, 5), "{r1:?}");
    assert_eq!(r1.recent_tweets_written, 5);

    // Exact values at every level (the spam tweet 2004 is not counted).
    assert_eq!(
        counts(db, "2020-04-15-01:00", "TSLA").await,
        (1.0, 1.0, 0.0, 0.0)
    );
    assert_eq!(
        counts(db, "2020-04-15-01:15", "TSLA").await,
        (1.0, 0.0, 1.0, 0.0)
    );
    assert_eq!(
        counts(db, "2020-04-15-01", "TSLA").await,
        (2.0, 1.0, 1.0, 0.0)
    );
    assert_eq!(
        counts(db, "2020-04-15-01", "AAPL").await,
        (2.0, 0.0, 1.0, 1.0)
    );
    assert_eq!(
        counts(db, "2020-04-15-02", "TSLA").await,
        (1.0, 1.0, 0.0, 0.0)
    );
    for level in ["2020-04-15", "2020-04", "2020"] {
        assert_eq!(
            counts(db, level, "TSLA").await,
            (3.0, 2.0, 1.0, 0.0),
            "{level}"
        );
        assert_eq!(
            counts(db, level, "AAPL").await,
            (2.0, 0.0, 1.0, 1.0),
            "{level}"
        );
        assert_eq!(
            counts(db, level, "MSFT").await,
            (1.0, 0.0, 1.0, 0.0),
            "{level}"
        );
    }
    let tsla_hour = ticker(db, "2020-04-15-01", "TSLA").await.unwrap();
    assert_eq!(num(&tsla_hour, "MeanCompound"), 0.0351); // (0.5106 - 0.4404) / 2
    assert_eq!(num(&tsla_hour, "PositiveRatio"), 0.5);
    assert_eq!(num(&tsla_hour, "UniqueAuthors"), 2.0);
    assert_eq!(tsla_hour["TickerDetail"].as_s().unwrap(), "TSLA_HOURLY");
    let day = overall(db, "2020-04-15").await;
    assert_eq!(
        (num(&day, "Mentions"), num(&day, "TickerMentions")),
        (5.0, 6.0)
    );
    assert_eq!(num(&day, "UniqueAuthors"), 5.0);
    assert_eq!(
        num(
            &day["Hashtags"]
                .as_m()
                .unwrap()
                .clone()
                .into_iter()
                .collect::<Item>(),
            "stocks"
        ),
        5.0
    );

    // The per-ticker time series, through the GSI.
    let series = db
        .query()
        .table_name(TICKERS)
        .index_name("TickerDetail-Timestamp")
        .key_condition_expression("TickerDetail = :t")
        .expression_attribute_values(":t", AttributeValue::S("TSLA_HOURLY".into()))
        .send()
        .await
        .unwrap();
    let stamps: Vec<&str> = series
        .items()
        .iter()
        .map(|i| i["Timestamp"].as_s().unwrap().as_str())
        .collect();
    assert_eq!(stamps, ["2020-04-15T01:00:00Z", "2020-04-15T02:00:00Z"]);

    // Recent tweets: each in one shard of the all-tickers feed and in the feed
    // of each of its tickers.
    let feed = |f: String| {
        let db = db.clone();
        async move {
            let page = db
                .query()
                .table_name(RECENT)
                .key_condition_expression("Feed = :f")
                .expression_attribute_values(":f", AttributeValue::S(f))
                .send()
                .await
                .unwrap();
            let mut ids: Vec<String> = page
                .items()
                .iter()
                .map(|i| i["TweetId"].as_s().unwrap().clone())
                .collect();
            ids.sort();
            ids
        }
    };
    let mut recent = Vec::new();
    for shard in 0..tickerpulse_aws::serving::RECENT_SHARDS {
        recent.extend(feed(format!("all#{shard}")).await);
    }
    recent.sort();
    assert_eq!(recent, ["2001", "2002", "2003", "2005", "2006"]);
    assert_eq!(feed("ticker#TSLA".into()).await, ["2001", "2002", "2005"]);
    // Readers merge the shards, newest first, or read one ticker's feed.
    use tickerpulse_aws::serving::RecentRange;
    let read = |limit, ticker, before| {
        let range = RecentRange {
            before,
            ..RecentRange::default()
        };
        tickerpulse_aws::serving::recent_tweets(db, RECENT, limit, ticker, range)
    };
    let within = |limit, ticker, from, to, before| {
        let range = RecentRange {
            from: Some(from),
            to: Some(to),
            before,
        };
        tickerpulse_aws::serving::recent_tweets(db, RECENT, limit, ticker, range)
    };
    let ids = |page: tickerpulse_aws::serving::RecentPage| -> Vec<String> {
        page.tweets.into_iter().map(|r| r.tweet_id).collect()
    };
    let first = read(3, None, None).await.unwrap();
    assert_eq!(
        first.next.as_deref(),
        Some("2020-04-15T01:50:00Z#2003"),
        "a full page says where the next starts"
    );
    assert_eq!(ids(first), ["2006", "2005", "2003"]);
    let tsla = read(10, Some("TSLA"), None).await.unwrap();
    assert_eq!(tsla.next, None, "the last page has no next");
    assert_eq!(ids(tsla), ["2005", "2002", "2001"]);
    let page2 = read(2, None, Some("2020-04-15T02:05:00Z#2005"))
        .await
        .unwrap();
    assert_eq!(ids(page2), ["2003", "2002"]);

    // A window of creation times, `from` included and `to` not: a period of
    // the trend chart.
    let (h1, h2) = ("2020-04-15T01:00:00Z", "2020-04-15T02:00:00Z");
    let hour = within(10, None, h1, h2, None).await.unwrap();
    assert_eq!(ids(hour), ["2003", "2002", "2001"]);
    let edges = within(
        10,
        None,
        "2020-04-15T01:20:00Z",
        "2020-04-15T02:05:00Z",
        None,
    );
    assert_eq!(ids(edges.await.unwrap()), ["2003", "2002"]);
    let tsla = within(10, Some("TSLA"), h1, h2, None).await.unwrap();
    assert_eq!(ids(tsla), ["2002", "2001"]);
    // Paged within the window: the token is the upper bound, never repeated.
    let day = ("2020-04-15T00:00:00Z", "2020-04-16T00:00:00Z");
    let p1 = within(2, None, day.0, day.1, None).await.unwrap();
    let token = p1.next.clone().expect("more");
    assert_eq!(ids(p1), ["2006", "2005"]);
    let p2 = within(2, None, day.0, day.1, Some(&token)).await.unwrap();
    let token = p2.next.clone().expect("more");
    assert_eq!(ids(p2), ["2003", "2002"]);
    let p3 = within(2, None, day.0, day.1, Some(&token)).await.unwrap();
    assert_eq!((ids(p3.clone()), p3.next), (vec!["2001".to_string()], None));
    // An empty window reads nothing.
    assert!(within(5, None, h2, h1, None)
        .await
        .unwrap()
        .tweets
        .is_empty());

    // The run is recorded, and its summaries are in the analytics zone.
    let run = run_record(db, "r1")
        .await
        .unwrap()
        .expect("run r1 recorded");
    assert_eq!(run["Status"].as_s().unwrap(), "succeeded");
    assert_eq!(num(&run, "RowsIn"), 5.0);
    let analytics = list_keys(&c.s3, &ANALYTICS, "analytics/").await.unwrap();
    assert_eq!(
        analytics,
        [
            "analytics/overall_summary/run_id=r1/part-00000.zstd.parquet",
            "analytics/ticker_summary/run_id=r1/part-00000.zstd.parquet",
        ]
    );

    let data = tickerpulse_aws::lake::get_bytes(&c.s3, &ANALYTICS, &analytics[1])
        .await
        .unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(data)
        .unwrap()
        .build()
        .unwrap();
    let rows: Vec<arrow_array::RecordBatch> = reader.map(|b| b.unwrap()).collect();
    assert_eq!(
        rows[0].schema(),
        tickerpulse_aggregate::output::ticker_summary_schema()
    );
    // Quarters, hours, day, month, year: 3 + 3 + 1 + 1 + 1... for TSLA, AAPL, MSFT.
    let tsla = rows
        .iter()
        .map(|b| {
            use arrow_array::cast::AsArray;
            let t = b.column_by_name("ticker").unwrap().as_string::<i32>();
            t.iter().filter(|v| *v == Some("TSLA")).count()
        })
        .sum::<usize>();
    assert_eq!(
        tsla,
        3 + 2 + 1 + 1 + 1,
        "TSLA: 3 quarters, 2 hours, day, month, year"
    );

    // A rerun: nothing changed, nothing written.
    let r2 = aggregate.handle(request("r2", &[H1, H2])).await.unwrap();
    assert_eq!(
        (
            r2.partitions_changed,
            r2.partitions_unchanged,
            r2.items_written
        ),
        (0, 2, 0),
        "{r2:?}"
    );

    // A late tweet for hour 1, aggregated while the table throttles.
    put_raw(
        &c.s3,
        H1,
        "late.gz",
        &[line(
            "2007",
            "2020-04-15T01:40:00.000Z",
            "$TSLA recall news",
            &["TSLA"],
            (-0.1027, "negative"),
        )],
    )
    .await;
    compact_and_clean(&stack, H1).await;
    let before_h2 = ticker(db, "2020-04-15-02", "TSLA").await;
    stack.dynamodb_faults.inject([
        DynamoFault::Throttle,
        DynamoFault::Throttle,
        DynamoFault::Throttle,
        DynamoFault::Throttle,
        DynamoFault::Unprocessed { keep: 3 },
        DynamoFault::Unprocessed { keep: 0 },
        DynamoFault::Throttle,
        DynamoFault::Unprocessed { keep: 1 },
    ]);
    let r3 = aggregate.handle(request("r3", &[H1, H2])).await.unwrap();
    assert_eq!(
        stack
            .dynamodb_faults
            .served
            .load(std::sync::atomic::Ordering::Relaxed),
        8
    );
    assert!(r3.dynamodb.retries >= 3, "{r3:?}");
    assert_eq!((r3.partitions_changed, r3.partitions_unchanged), (1, 1));
    // The quarter, hour, day, month and year of TSLA, and the same five overall items.
    assert_eq!((r3.items_written, r3.items_deleted), (10, 0), "{r3:?}");
    assert_eq!(
        counts(db, "2020-04-15-01:30", "TSLA").await,
        (1.0, 0.0, 1.0, 0.0)
    );
    assert_eq!(
        counts(db, "2020-04-15-01", "TSLA").await,
        (3.0, 1.0, 2.0, 0.0)
    );
    for level in ["2020-04-15", "2020-04", "2020"] {
        assert_eq!(
            counts(db, level, "TSLA").await,
            (4.0, 2.0, 2.0, 0.0),
            "{level}"
        );
        assert_eq!(
            counts(db, level, "AAPL").await,
            (2.0, 0.0, 1.0, 1.0),
            "{level}"
        );
    }
    assert_eq!(
        ticker(db, "2020-04-15-02", "TSLA").await,
        before_h2,
        "hour 2 untouched"
    );
    assert_eq!(num(&overall(db, "2020").await, "Mentions"), 6.0);
    let out: Value = serde_json::to_value(&r3).unwrap();
    assert_eq!(out["run_id"], "r3");

    // One run at a time, without reserved concurrency: while another run holds
    // the lease, a run is refused as busy (the state machine retries it) and
    // changes nothing; a lease left past its hold is taken over.
    let lease = tickerpulse_aws::lease::Lease {
        client: db.clone(),
        table: tickerpulse_core::config::Env::var(&env, "STATE_TABLE").unwrap(),
        name: "aggregate",
    };
    assert_eq!(
        lease.holder().await.unwrap(),
        None,
        "r3 gave the lease back"
    );
    let now_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    assert!(lease.acquire("other-run", now_ms, 60_000).await.unwrap());
    assert!(!lease.acquire("r4", now_ms, 60_000).await.unwrap());
    let late = "2020-04-15T01:59:00.000Z";
    put_raw(
        &c.s3,
        H1,
        "c.gz",
        &[line(
            "2008",
            late,
            "$TSLA late",
            &["TSLA"],
            (0.5, "positive"),
        )],
    )
    .await;
    compact_and_clean(&stack, H1).await;
    let busy = aggregate.handle(request("r4", &[H1])).await.unwrap_err();
    assert_eq!(busy.error_type(), "TickerPulse.Busy", "{busy}");
    assert!(busy.to_string().contains("other-run"), "{busy}");
    assert_eq!(counts(db, "2020", "TSLA").await.0, 4.0, "nothing written");
    assert!(run_record(db, "r4").await.unwrap().is_none());
    // The other run died: its hold ended a second ago.
    assert!(lease
        .acquire("other-run", now_ms - 61_000, 60_000)
        .await
        .unwrap());
    let r4 = aggregate.handle(request("r4", &[H1])).await.unwrap();
    assert_eq!(r4.partitions_changed, 1, "{r4:?}");
    assert_eq!(counts(db, "2020", "TSLA").await.0, 5.0);
    assert_eq!(lease.holder().await.unwrap(), None);
    // Giving back a lease one does not hold changes nothing.
    assert!(!lease.release("other-run").await.unwrap());
    stack.stop().await;
}
