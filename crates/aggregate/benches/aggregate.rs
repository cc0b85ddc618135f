//! `make bench-aggregate`: aggregation of 1,000,000 stage 2 rows (generated
//! tweets through the real enrichment, compaction and cleaning; cached under
//! `target/bench-aggregate/`) into ticker summaries per 15 minutes, hour, day,
//! month and year (counts, sentiment, mean compound, unique authors), overall
//! summaries, top hashtags and word counts per hour and ticker; against DuckDB
//! doing the same GROUP BYs on the same Parquet file with one thread, in the
//! same run, both on one core.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Instant;
use tickerpulse_aggregate::{
    read_stage2, roll_up_overall, roll_up_tickers, Aggregator, Bucket, Level,
};

const ROUNDS: usize = 3;

fn stage2(path: &Path, n: u64) {
    let t = Instant::now();
    let config = tickerpulse_synth::Config {
        spam_share: 0.0,
        ..Default::default()
    };
    let mut stage1 = Vec::new();
    {
        let mut compactor = tickerpulse_lake::Compactor::new(&mut stage1).expect("writer");
        let mut jsonl = Vec::new();
        for line in tickerpulse_synth::EnrichedLines::new(config, n) {
            jsonl.extend_from_slice(line.as_bytes());
            jsonl.push(b'\n');
        }
        compactor.push_object("bench", &jsonl[..]).expect("compact");
        compactor.finish().expect("finish");
    }
    let file = std::fs::File::create(path).expect("create");
    let rules = tickerpulse_lake::SpamRules {
        max_cashtags: 100,
        duplicate_accounts: usize::MAX,
        ..Default::default()
    };
    let (mut cleaned, _, stats) = tickerpulse_lake::clean(
        bytes::Bytes::from(stage1),
        std::io::BufWriter::new(file),
        std::io::sink(),
        &rules,
        None,
    )
    .expect("clean");
    cleaned.flush().expect("flush");
    println!(
        "generated {} stage 2 rows in {:.1} s",
        stats.cleaned,
        t.elapsed().as_secs_f64()
    );
}

/// Everything the aggregate handler computes, in memory.
fn ours(data: &bytes::Bytes) -> (usize, usize) {
    let mut agg = Aggregator::default();
    for batch in read_stage2(data.clone(), &[]).expect("reader") {
        agg.push_batch(&batch.expect("batch")).expect("push");
    }
    let (mut tickers, mut overall) = agg.finish();
    let mut level_items = tickers
        .iter()
        .filter(|t| t.bucket.level == Level::Hour)
        .cloned()
        .collect::<Vec<_>>();
    let mut level_overall = overall
        .iter()
        .filter(|o| o.bucket.level == Level::Hour)
        .cloned()
        .collect::<Vec<_>>();
    for level in [Level::Day, Level::Month, Level::Year] {
        let mut groups: BTreeMap<Bucket, (Vec<_>, Vec<_>)> = BTreeMap::new();
        for t in level_items.drain(..) {
            groups.entry(t.bucket.at(level)).or_default().0.push(t);
        }
        for o in level_overall.drain(..) {
            groups.entry(o.bucket.at(level)).or_default().1.push(o);
        }
        for (parent, (t, o)) in groups {
            level_items.extend(roll_up_tickers(parent, &t));
            level_overall.extend(roll_up_overall(parent, &o));
        }
        tickers.extend(level_items.iter().cloned());
        overall.extend(level_overall.iter().cloned());
    }
    (tickers.len(), overall.len())
}

fn main() {
    let n: u64 = std::env::var("BENCH_AGGREGATE_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root.join("target/bench-aggregate");
    std::fs::create_dir_all(&dir).expect("dir");
    // Named by the generator's fingerprint: a changed generator makes a new file.
    let path = tickerpulse_synth::cached_input(&dir, &format!("stage2-{n}"), "parquet");
    if !path.exists() {
        stage2(&path, n);
    }
    let data = bytes::Bytes::from(std::fs::read(&path).expect("read"));
    println!(
        "input: {} ({:.1} MB of stage 2 Parquet)",
        path.display(),
        data.len() as f64 / 1e6
    );
    let script = r#"
import duckdb, sys, time
f = sys.argv[1]
con = duckdb.connect()
con.execute("SET threads=1")
con.execute("SET enable_progress_bar=false")
stop = "('about','after','all','also','and','are','but','can','for','from','get','has','have','just','more','not','now','one','our','out','over','that','the','their','them','then','there','they','this','today','stock','stocks','very','was','were','what','when','will','with','you','your')"
t = time.perf_counter()
con.execute(f"CREATE TEMP TABLE m AS SELECT created_at, author_id, unnest(watched_tickers) AS ticker, sentiment_label AS label, sentiment_compound AS compound FROM read_parquet('{f}')")
groups = 0
for bucket in ["time_bucket(INTERVAL 15 minutes, created_at)", "date_trunc('hour', created_at)", "date_trunc('day', created_at)", "date_trunc('month', created_at)", "date_trunc('year', created_at)"]:
    groups += len(con.execute(f"SELECT {bucket} AS b, ticker, count(*), count(*) FILTER (label = 'positive'), count(*) FILTER (label = 'negative'), count(*) FILTER (label = 'neutral'), avg(compound), count(DISTINCT author_id) FROM m GROUP BY ALL").fetchall())
    groups += len(con.execute(f"SELECT {bucket.replace('created_at', 'created_at')} AS b, count(*), count(*) FILTER (sentiment_label = 'positive'), avg(sentiment_compound), count(DISTINCT author_id) FROM read_parquet('{f}') GROUP BY ALL").fetchall())
groups += len(con.execute(f"SELECT date_trunc('hour', created_at) AS h, lower(tag) AS tag, count(*) FROM (SELECT created_at, unnest(hashtags) AS tag FROM read_parquet('{f}')) GROUP BY ALL").fetchall())
con.execute(f"CREATE TEMP TABLE w AS SELECT date_trunc('hour', created_at) AS h, watched_tickers, unnest(regexp_split_to_array(lower(text_clean), '[^a-z'']+')) AS word FROM read_parquet('{f}')")
groups += len(con.execute(f"SELECT h, word, count(*) FROM w WHERE length(word) >= 3 AND word NOT IN {stop} GROUP BY ALL").fetchall())
groups += len(con.execute(f"SELECT h, ticker, word, count(*) FROM (SELECT h, unnest(watched_tickers) AS ticker, word FROM w WHERE length(word) >= 3 AND word NOT IN {stop}) GROUP BY ALL").fetchall())
print(time.perf_counter() - t, groups)
"#;
    let python = root.join(".venv/bin/python");
    let (mut rust, mut duck) = (Vec::new(), Vec::new());
    let mut items = (0, 0);
    for _ in 0..ROUNDS {
        let t = Instant::now();
        items = ours(&data);
        rust.push(t.elapsed().as_secs_f64());
        let out = Command::new(&python)
            .args(["-c", script])
            .arg(&path)
            .output()
            .unwrap_or_else(|e| panic!("{}: {e} (run `make setup`)", python.display()));
        assert!(
            out.status.success(),
            "duckdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        duck.push(
            text.split_whitespace()
                .next()
                .and_then(|v| v.parse::<f64>().ok())
                .expect("seconds"),
        );
    }
    rust.sort_by(f64::total_cmp);
    duck.sort_by(f64::total_cmp);
    let (r, d) = (rust[ROUNDS / 2], duck[ROUNDS / 2]);
    let rows = parquet::file::reader::FileReader::metadata(
        &parquet::file::serialized_reader::SerializedFileReader::new(data.clone())
            .expect("parquet"),
    )
    .file_metadata()
    .num_rows() as f64;
    println!(
        "{rows} stage 2 rows (of {n} generated tweets: clean drops authors with no followers)"
    );
    println!("tickerpulse aggregate: {r:.2} s ({:.0} rows/s; runs {:?}), {} ticker items and {} overall items at five levels", rows / r, rust.iter().map(|v| format!("{v:.2}")).collect::<Vec<_>>(), items.0, items.1);
    println!(
        "duckdb (1 thread):     {d:.2} s ({:.0} rows/s; runs {:?})",
        rows / d,
        duck.iter().map(|v| format!("{v:.2}")).collect::<Vec<_>>()
    );
    println!("ratio: {:.2}x duckdb's single-thread speed", d / r);
}
