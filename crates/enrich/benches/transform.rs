//! `make bench-transform`: the transform on a full Firehose batch (3 MB, the
//! largest buffer Firehose hands a processor; its response is about 5 MB, near
//! Lambda's 6 MB limit) of
//! realistic tweets (the taborda-2020 texts as X API v2 tweet objects with
//! entities, metrics and an author), on one core, against a Python transform
//! doing the same work (base64, json, vaderSentiment) in the same run.
//! Both parse the event JSON and write the response JSON.
//!
//! The two take turns (a Python batch after every three Rust batches, seven
//! times by default, `BENCH_TRANSFORM_PAIRS`), so that both see the host at
//! the same speed: the ratio printed is the median of the seven turns' ratios.

use base64::Engine;
use std::hint::black_box;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;
use tickerpulse_core::watchlist::{cashtags_in_text, Watchlist};
use tickerpulse_enrich::enrich::Enricher;
use tickerpulse_enrich::{read_records, Transformer};
use tickerpulse_vader::{Analyzer, Mode};

// The transform Lambda's allocator (functions/transform/src/main.rs), so the
// benchmark measures what runs there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Firehose's largest processor buffer (BufferSizeInMBs is 0.2 to 3).
const EVENT_LIMIT: usize = 3 * 1024 * 1024;

fn tweet(i: usize, text: &str, created: &str) -> serde_json::Value {
    let created_at = format!("{}T{}.000Z", &created[..10], &created[11..19]);
    let cashtags: Vec<serde_json::Value> = cashtags_in_text(text)
        .into_iter()
        .map(|t| serde_json::json!({"start": 0, "end": t.len() + 1, "tag": t}))
        .collect();
    serde_json::json!({
        "id": format!("{}", 1_250_000_000_000_000_000u64 + i as u64),
        "text": text,
        "created_at": created_at,
        "author_id": format!("{}", 10_000 + i % 997),
        "lang": "en",
        "entities": {"cashtags": cashtags},
        "public_metrics": {"retweet_count": i % 7, "reply_count": i % 3, "like_count": i % 50, "quote_count": 0},
        "author": {"id": format!("{}", 10_000 + i % 997), "username": format!("trader{}", i % 997), "verified": false,
                   "public_metrics": {"followers_count": 100 + i % 5000}}
    })
}

/// When the records reached Firehose: after every tweet of the set (April to
/// July 2020), as in life (the transform refuses a time more than a day past arrival).
const ARRIVAL_MS: u64 = 1_596_240_000_000; // 2020-08-01T00:00:00Z

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let csv = tickerpulse_dataroot::require(tickerpulse_dataroot::TABORDA);
    let rows = tickerpulse_core::csv::parse(csv, b';').expect("csv");
    let rows: Vec<&Vec<String>> = rows
        .iter()
        .skip(1)
        .filter(|r| r.len() >= 3 && r[1].len() >= 19)
        .collect();

    // Fill one event up to Lambda's 6 MB request limit.
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut records = Vec::new();
    let mut size = 200;
    for i in 0.. {
        let r = rows[i % rows.len()];
        let mut data = serde_json::to_vec(&tweet(i, &r[2], &r[1])).expect("json");
        data.push(b'\n');
        let encoded = b64.encode(&data);
        let record = serde_json::json!({"recordId": format!("{i:020}"), "approximateArrivalTimestamp": ARRIVAL_MS, "data": encoded});
        let len = record.to_string().len() + 1;
        if size + len > EVENT_LIMIT {
            break;
        }
        size += len;
        records.push(record);
    }
    let event = serde_json::json!({"invocationId": "bench", "deliveryStreamArn": "arn:aws:firehose:us-east-1:123456789012:deliverystream/tickerpulse-tweets", "region": "us-east-1", "records": records});
    let event_bytes = serde_json::to_vec(&event).expect("json");
    let n = records.len();
    println!(
        "batch: {n} records, {:.2} MB of event JSON (Firehose's largest processor buffer is 3 MB)",
        event_bytes.len() as f64 / 1048576.0
    );

    let transformer = |mode| Transformer {
        enricher: Enricher::new(Analyzer::new(mode), Watchlist::bundled(), vec!["en".into()]),
    };
    let (function, model) = (transformer(Mode::Finance), transformer(Mode::Model));
    // One batch: the payload as the Lambda runtime hands it over (see
    // functions/transform), and the response as the runtime writes it out.
    let run_with = |function: &Transformer| {
        let t = Instant::now();
        let (response, counts) = function
            .transform_json(black_box(&event_bytes))
            .expect("response");
        let out = serde_json::to_vec(&response).expect("response");
        let elapsed = t.elapsed().as_secs_f64();
        assert_eq!(counts.ok, n, "{counts:?}");
        (elapsed, black_box(out).len())
    };
    let run_once = || run_with(&function);
    // BENCH_TRANSFORM_ROUNDS and BENCH_TRANSFORM_RUST_ONLY are for profiling
    // (valgrind, perf) and A/B runs: Rust batches only, no breakdown or Python.
    if std::env::var_os("BENCH_TRANSFORM_RUST_ONLY").is_some() {
        let rounds: usize = std::env::var("BENCH_TRANSFORM_ROUNDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(15);
        // BENCH_TRANSFORM_MODE=model measures model mode instead.
        let chosen = match std::env::var("BENCH_TRANSFORM_MODE").as_deref() {
            Ok("model") => &model,
            _ => &function,
        };
        let mut times: Vec<f64> = (0..rounds.max(1)).map(|_| run_with(chosen).0).collect();
        times.sort_by(f64::total_cmp);
        println!(
            "rust   transform: {:>9.0} records/s ({:?} mode)",
            n as f64 / times[times.len() / 2],
            chosen.enricher.analyzer.mode()
        );
        return;
    }
    let (_, response_len) = run_once();
    // Where the time goes: parsing the event, and VADER alone on the same texts.
    let t = Instant::now();
    let records = read_records(black_box(&event_bytes)).expect("event");
    let parse = t.elapsed().as_secs_f64();
    let texts: Vec<String> = records
        .iter()
        .map(|r| {
            let bytes = b64.decode(r.data.as_bytes()).expect("b64");
            let v: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
            v["text"].as_str().unwrap_or_default().to_string()
        })
        .collect();
    let analyzer = Analyzer::new(Mode::Finance);
    let t = Instant::now();
    for _ in 0..5 {
        for s in &texts {
            black_box(analyzer.polarity_scores(black_box(s)));
        }
    }
    let vader = t.elapsed().as_secs_f64() / 5.0;
    println!("breakdown: event JSON parse {:.1} ms, VADER (finance) {:.1} ms ({:.2} us a tweet of {:.0} chars on average)",
        parse * 1e3, vader * 1e3, vader / n as f64 * 1e6, texts.iter().map(|t| t.chars().count()).sum::<usize>() as f64 / n as f64);
    println!(
        "  response: {:.2} MB (Lambda's limit: 6 MB)",
        response_len as f64 / 1048576.0
    );
    let script = r#"
import base64, json, sys, time
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
an = SentimentIntensityAnalyzer()
raw = open(sys.argv[1], "rb").read()
def transform(raw):
    ev = json.loads(raw)
    out = []
    for r in ev["records"]:
        t = json.loads(base64.b64decode(r["data"]))
        s = an.polarity_scores(t["text"])
        c = t["created_at"]
        a = t.get("author") or {}
        ents = t.get("entities") or {}
        tags = list(dict.fromkeys(x["tag"].upper() for x in ents.get("cashtags", [])))
        label = "positive" if s["compound"] >= 0.05 else ("negative" if s["compound"] <= -0.05 else "neutral")
        enriched = {"tweet_id": t["id"], "created_at": c, "author_id": t.get("author_id"), "author_username": a.get("username"),
                    "text": t["text"], "lang": t.get("lang"), "tickers": tags, "hashtags": [], "mentions": [], "urls": [],
                    "retweet_count": t["public_metrics"]["retweet_count"], "sentiment": dict(s, label=label, mode="vader")}
        data = base64.b64encode((json.dumps(enriched) + "\n").encode()).decode()
        out.append({"recordId": r["recordId"], "result": "Ok", "data": data,
                    "metadata": {"partitionKeys": {"year": c[0:4], "month": c[5:7], "day": c[8:10], "hour": c[11:13]}}})
    return json.dumps({"records": out})
# One batch for every line read: the benchmark decides when.
for _ in sys.stdin:
    t = time.perf_counter(); transform(raw); print(time.perf_counter() - t, flush=True)
"#;
    let event_path = std::env::temp_dir().join(format!(
        "tickerpulse-bench-event-{}.json",
        std::process::id()
    ));
    std::fs::write(&event_path, &event_bytes).expect("writing the event");
    let python = root.join("../../.venv/bin/python");
    let mut child = Command::new(&python)
        .args(["-c", script])
        .arg(&event_path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {}: {e} (run `make setup`)", python.display()));
    let mut to_python = child.stdin.take().expect("stdin");
    let mut from_python = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let pairs: usize = std::env::var("BENCH_TRANSFORM_PAIRS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let (mut rust_times, mut python_times, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let mut model_times = Vec::new();
    for _ in 0..pairs.max(1) {
        let mut turn: Vec<f64> = (0..3).map(|_| run_once().0).collect();
        turn.sort_by(f64::total_cmp);
        rust_times.extend_from_slice(&turn);
        model_times.extend((0..3).map(|_| run_with(&model).0));
        writeln!(to_python, "go").expect("asking python for a batch");
        let mut line = String::new();
        std::io::BufRead::read_line(&mut from_python, &mut line).expect("python's answer");
        let py: f64 = line
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("python said {line:?}: {e}"));
        python_times.push(py);
        ratios.push(py / turn[1]);
    }
    drop(to_python);
    let _ = child.wait();
    let _ = std::fs::remove_file(&event_path);
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (rust, py) = (median(&mut rust_times), median(&mut python_times));
    let model_median = median(&mut model_times);
    println!(
        "taking turns ({} turns of 3 Rust batches in finance mode, 3 in model mode and 1 Python batch):",
        ratios.len()
    );
    println!(
        "  rust   transform: {:>9.0} records/s ({:.1} ms a batch, median of {}; finance mode)",
        n as f64 / rust,
        rust * 1e3,
        rust_times.len()
    );
    println!(
        "  rust   transform: {:>9.0} records/s ({:.1} ms a batch, median of {}; model mode)",
        n as f64 / model_median,
        model_median * 1e3,
        model_times.len()
    );
    println!(
        "  python transform: {:>9.0} records/s ({:.1} ms a batch, median of {})",
        n as f64 / py,
        py * 1e3,
        python_times.len()
    );
    let ratio = median(&mut ratios);
    println!(
        "ratio (rust / python): {ratio:.1}x (median of the turns' ratios; they ranged {:.1}x to {:.1}x)",
        ratios[0],
        ratios[ratios.len() - 1]
    );
    println!(
        "ratio (rust model mode / python, medians): {:.1}x; model mode costs {:.0}% more than finance mode",
        py / model_median,
        (model_median / rust - 1.0) * 100.0
    );
}
