//! The lake end to end on the local stack: raw objects in S3 (a duplicate, a
//! late object, a record with every optional field missing, a broken line and
//! a broken gzip object) through the real compact and clean handlers into
//! stage 1 and stage 2, rerun idempotently, and read back by pyarrow, DuckDB
//! and Spark.

use arrow_array::cast::AsArray;
use arrow_array::Array;
use arrow_array::RecordBatch;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::process::Command;
use tickerpulse_e2e::{clients, gzip_lines, list_keys, root, scratch_dir, start_stack};
use tickerpulse_fn_clean::{CleanResult, PartitionTask as CleanTask};
use tickerpulse_fn_compact::{CompactResult, PartitionTask};

static RAW: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| tickerpulse_e2e::bucket("RawBucket"));
static STAGE: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| tickerpulse_e2e::bucket("StageBucket"));
const PARTITION: &str = "year=2020/month=04/day=15/hour=01";

fn tweet(id: &str, minute: u32, text: &str, tickers: &[&str], watched: &[&str]) -> Value {
    let created = format!("2020-04-15T01:{minute:02}:00.000Z");
    tickerpulse_e2e::enriched(id, &created, text, tickers, watched, (0.6249, "positive"))
}

/// Tweet 1002 as the model sentiment mode writes it (with class probabilities).
fn scored_by_the_model() -> Value {
    let mut t = tweet(
        "1002",
        7,
        "$AAPL missed estimates, terrible quarter",
        &["AAPL"],
        &["AAPL"],
    );
    t["sentiment"]["probabilities"] =
        json!({"positive": 0.125, "neutral": 0.25, "negative": 0.625});
    t
}

/// Only the fields the schema requires.
fn minimal(id: &str) -> Value {
    json!({
        "schema_version": 1,
        "tweet_id": id,
        "created_at": "2020-04-15T01:30:00Z",
        "text": "$TSLA",
        "tickers": ["TSLA"], "watched_tickers": ["TSLA"],
        "hashtags": [], "mentions": [], "urls": [],
        "is_retweet": false, "is_reply": false, "is_quote": false,
        "sentiment": {"compound": 0.0, "pos": 0.0, "neu": 1.0, "neg": 0.0,
                      "label": "neutral", "mode": "vader", "scorer": "tickerpulse-vader 3.3.2"}
    })
}

async fn put(s3: &aws_sdk_s3::Client, name: &str, body: Vec<u8>) {
    s3.put_object()
        .bucket(RAW.as_str())
        .key(format!("raw/tweets/{PARTITION}/{name}"))
        .body(body.into())
        .send()
        .await
        .unwrap();
}

async fn bytes(s3: &aws_sdk_s3::Client, key: &str) -> Vec<u8> {
    tickerpulse_aws::lake::get_bytes(s3, &STAGE, key)
        .await
        .unwrap()
        .to_vec()
}

fn batches(data: Vec<u8>) -> Vec<RecordBatch> {
    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(data))
        .unwrap()
        .build()
        .unwrap()
        .map(|b| b.unwrap())
        .collect()
}

fn strings(batches: &[RecordBatch], column: &str) -> Vec<String> {
    batches
        .iter()
        .flat_map(|b| {
            let c = b.column_by_name(column).unwrap().as_string::<i32>().clone();
            (0..c.len()).map(move |i| c.value(i).to_string())
        })
        .collect()
}

/// What another engine read from each file.
fn read_with(engine: &str, files: &[std::path::PathBuf]) -> BTreeMap<String, Value> {
    let python = root().join(".venv/bin/python");
    let out = Command::new(&python)
        .arg(root().join("tests/read_parquet.py"))
        .arg(engine)
        .args(files)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e} (run `make setup`)", python.display()));
    assert!(
        out.status.success(),
        "{engine}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_to_stage1_to_stage2_exact_idempotent_and_readable_by_every_engine() {
    let stack = start_stack("lake").await.expect("starting the local stack");
    let c = clients(&stack).await.unwrap();
    let env = stack.env().unwrap();
    let compact = tickerpulse_fn_compact::Function::from_env(&tickerpulse_e2e::as_function(
        &stack, "compact", &env,
    ))
    .await
    .unwrap();
    let clean = tickerpulse_fn_clean::Function::from_env(&tickerpulse_e2e::as_function(
        &stack, "clean", &env,
    ))
    .await
    .unwrap();
    let task = || PartitionTask {
        partition: PARTITION.into(),
    };
    let clean_task = || CleanTask {
        partition: PARTITION.into(),
        rejected: 0,
    };

    let first = tweet(
        "1001",
        5,
        "$TSLA looks great &amp; strong https://t.co/abc @elonmusk",
        &["TSLA"],
        &["TSLA"],
    );
    let line = |v: &Value| v.to_string();
    put(
        &c.s3,
        "tickerpulse-tweets-1-2020-04-15-01-10-00-a.gz",
        gzip_lines(&[
            line(&first),
            line(&scored_by_the_model()),
            line(&tweet(
                "1003",
                9,
                "GIVEAWAY! Retweet & follow to win $AAPL",
                &["AAPL"],
                &["AAPL"],
            )),
        ]),
    )
    .await;
    let mut dup = first.clone();
    dup["arrival_ms"] = json!(1_586_912_999_000i64);
    put(
        &c.s3,
        "tickerpulse-tweets-1-2020-04-15-01-20-00-b.gz",
        gzip_lines(&[
            line(&dup),
            line(&minimal("1004")),
            "{not json".into(),
            line(&tweet("1005", 11, "$ZZZZ to the moon", &["ZZZZ"], &[])),
        ]),
    )
    .await;
    put(
        &c.s3,
        "tickerpulse-tweets-1-2020-04-15-01-25-00-broken.gz",
        b"\x1f\x8b\x08 not gzip".to_vec(),
    )
    .await;

    let r1: CompactResult = compact.handle(task()).await.unwrap();
    assert_eq!(r1.stats.objects, 3);
    assert_eq!(r1.stats.rows, 5, "{r1:?}");
    assert_eq!(r1.stats.duplicates, 1);
    assert_eq!(
        r1.stats.rejected, 2,
        "the broken line and the broken object: {r1:?}"
    );
    assert!(r1
        .stats
        .rejects
        .iter()
        .any(|r| r.source.ends_with("-b.gz") && r.line == 3));
    assert!(r1
        .stats
        .rejects
        .iter()
        .any(|r| r.source.ends_with("-broken.gz")));
    // Named beside the data, not only in the log.
    let report_key = format!("raw-errors/rejected-lines/{PARTITION}/rejects.jsonl");
    let report = tickerpulse_e2e::get_object(&c.s3, &tickerpulse_e2e::RAW_BUCKET, &report_key)
        .await
        .unwrap();
    let named: Vec<serde_json::Value> = String::from_utf8(report)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(named.len(), 2, "{named:?}");
    assert!(named
        .iter()
        .any(|r| r["line"] == 3 && r["reason"].as_str().is_some_and(|s| !s.is_empty())));
    let stage1_key = format!("stage1/tweets/{PARTITION}/part-00000.zstd.parquet");
    assert_eq!(
        r1.output.as_deref(),
        Some(format!("s3://{}/{stage1_key}", STAGE.as_str()).as_str())
    );
    let v1 = bytes(&c.s3, &stage1_key).await;
    let b = batches(v1.clone());
    assert_eq!(
        strings(&b, "tweet_id"),
        ["1001", "1002", "1003", "1004", "1005"]
    );

    // A rerun writes the same bytes to the same key: nothing added.
    let again: CompactResult = compact.handle(task()).await.unwrap();
    assert_eq!(again, r1);
    assert_eq!(bytes(&c.s3, &stage1_key).await, v1);
    assert_eq!(
        list_keys(&c.s3, &STAGE, "stage1/").await.unwrap(),
        std::slice::from_ref(&stage1_key)
    );

    // A late object for the same hour (with another duplicate) is picked up.
    put(
        &c.s3,
        "tickerpulse-tweets-1-2020-04-15-03-00-00-late.gz",
        gzip_lines(&[
            line(&tweet(
                "1006",
                59,
                "$MSFT steady quarter",
                &["MSFT"],
                &["MSFT"],
            )),
            line(&scored_by_the_model()),
        ]),
    )
    .await;
    let r2: CompactResult = compact.handle(task()).await.unwrap();
    assert_eq!((r2.stats.rows, r2.stats.duplicates), (6, 2));
    let stage1 = batches(bytes(&c.s3, &stage1_key).await);
    assert_eq!(
        strings(&stage1, "tweet_id"),
        ["1001", "1002", "1003", "1004", "1005", "1006"]
    );
    // The minimal record reads back with nulls where it had nothing.
    for column in [
        "author_id",
        "author_followers",
        "author_created_at",
        "lang",
        "like_count",
        "arrival_time",
    ] {
        let col = stage1[0].column_by_name(column).unwrap();
        assert!(col.is_null(3), "{column} of the minimal record");
        assert!(!col.is_null(0), "{column} of a full record");
    }

    // Stage 2: 1003 is spam, 1005 names no watched ticker.
    let cleaned: CleanResult = clean.handle(clean_task()).await.unwrap();
    assert_eq!(
        (
            cleaned.stats.rows_in,
            cleaned.stats.cleaned,
            cleaned.stats.spam,
            cleaned.stats.unwatched
        ),
        (6, 4, 1, 1)
    );
    let cleaned_key = format!("stage2/cleaned_tweets/{PARTITION}/part-00000.zstd.parquet");
    let spam_key = format!("stage2/spam_tweets/{PARTITION}/part-00000.zstd.parquet");
    let kept = batches(bytes(&c.s3, &cleaned_key).await);
    assert_eq!(strings(&kept, "tweet_id"), ["1001", "1002", "1004", "1006"]);
    assert_eq!(
        strings(&kept, "text_clean")[0],
        "$TSLA looks great & strong"
    );
    let spam = batches(bytes(&c.s3, &spam_key).await);
    assert_eq!(strings(&spam, "tweet_id"), ["1003"]);
    assert_eq!(strings(&spam, "spam_reason"), ["promotion"]);
    let (c1, s1) = (
        bytes(&c.s3, &cleaned_key).await,
        bytes(&c.s3, &spam_key).await,
    );
    let again: CleanResult = clean.handle(clean_task()).await.unwrap();
    assert_eq!(again, cleaned);
    assert_eq!(
        (
            bytes(&c.s3, &cleaned_key).await,
            bytes(&c.s3, &spam_key).await
        ),
        (c1.clone(), s1.clone())
    );

    // pyarrow, DuckDB and Spark read the same rows from every file.
    let dir = scratch_dir("lake-files");
    let mut files = Vec::new();
    for (name, data) in [
        ("stage1.parquet", bytes(&c.s3, &stage1_key).await),
        ("cleaned.parquet", c1),
        ("spam.parquet", s1),
    ] {
        let p = dir.join(name);
        std::fs::write(&p, data).unwrap();
        files.push(p);
    }
    let want = [
        vec!["1001", "1002", "1003", "1004", "1005", "1006"],
        vec!["1001", "1002", "1004", "1006"],
        vec!["1003"],
    ];
    for engine in ["pyarrow", "duckdb", "spark"] {
        let seen = read_with(engine, &files);
        for (file, ids) in files.iter().zip(&want) {
            let got = &seen[&file.display().to_string()];
            assert_eq!(
                got["tweet_ids"],
                json!(ids),
                "{engine} on {}",
                file.display()
            );
            assert_eq!(got["rows"], json!(ids.len()), "{engine}");
            // The model mode's probability where the record had one, null elsewhere.
            let want: Vec<Value> = ids
                .iter()
                .map(|id| {
                    if *id == "1002" {
                        json!(0.125)
                    } else {
                        Value::Null
                    }
                })
                .collect();
            assert_eq!(
                got["p_positive"],
                json!(want),
                "{engine} on {}",
                file.display()
            );
        }
        let stage1 = &seen[&files[0].display().to_string()];
        let types = &stage1["columns"];
        let (created, tickers) = (
            types["created_at"].as_str().unwrap(),
            types["tickers"].as_str().unwrap(),
        );
        match engine {
            "pyarrow" => {
                assert_eq!(created, "timestamp[us, tz=UTC]");
                assert_eq!(tickers, "list<element: string>");
            }
            "duckdb" => {
                assert_eq!(created, "TIMESTAMP WITH TIME ZONE");
                assert_eq!(tickers, "VARCHAR[]");
            }
            _ => {
                assert_eq!(created, "timestamp");
                assert_eq!(tickers, "array<string>");
            }
        }
    }
    stack.stop().await;
}
