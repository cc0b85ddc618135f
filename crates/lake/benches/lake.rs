//! `make bench-lake`: compaction of 1,000,000 realistic enriched tweets (the
//! deterministic generator of `tickerpulse-synth`, run through the real
//! enrichment) from JSON lines to zstd Parquet, against DuckDB doing the same
//! conversion with one thread (`COPY ... TO ... (FORMAT parquet, COMPRESSION
//! zstd)`), interleaved in the same run. Each conversion runs in its own
//! process so that its peak memory (VmHWM) is its own.

use std::io::{BufReader, BufWriter, Write};
use std::path::Path;
use std::process::Command;
use std::time::Instant;
use tickerpulse_lake::Compactor;

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The child: compacts `input` into `output` and prints seconds, rows, peak MB.
fn child(input: &Path, output: &Path) {
    let t = Instant::now();
    let file = std::fs::File::open(input).expect("input");
    let sink = BufWriter::new(std::fs::File::create(output).expect("output"));
    let mut compactor = Compactor::new(sink).expect("writer");
    compactor.expect_bytes(std::fs::metadata(input).map_or(0, |m| m.len()));
    compactor
        .push_object("bench", BufReader::with_capacity(1 << 20, file))
        .expect("compact");
    let (mut sink, stats) = compactor.finish().expect("finish");
    sink.flush().expect("flush");
    let secs = t.elapsed().as_secs_f64();
    println!("{secs} {} {}", stats.rows, peak_rss_mb());
}

fn size_mb(p: &Path) -> f64 {
    std::fs::metadata(p).map_or(0.0, |m| m.len() as f64 / 1e6)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, input, output] = &args[..] {
        if flag == "--child" {
            child(Path::new(input), Path::new(output));
            return;
        }
    }
    let n: u64 = std::env::var("BENCH_LAKE_TWEETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root.join("target/bench-lake");
    std::fs::create_dir_all(&dir).expect("bench dir");
    // Named by the generator's fingerprint: a changed generator makes a new file.
    let input = tickerpulse_synth::cached_input(&dir, &format!("enriched-{n}"), "jsonl");
    if !input.exists() {
        let t = Instant::now();
        let tmp = dir.join("generating.jsonl");
        let mut out = BufWriter::new(std::fs::File::create(&tmp).expect("create"));
        for line in tickerpulse_synth::EnrichedLines::new(tickerpulse_synth::Config::default(), n) {
            out.write_all(line.as_bytes()).expect("write");
            out.write_all(b"\n").expect("write");
        }
        out.flush().expect("flush");
        std::fs::rename(&tmp, &input).expect("rename");
        println!(
            "generated {n} enriched tweets in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    println!(
        "input: {n} enriched tweets, {:.1} MB of JSON lines ({})",
        size_mb(&input),
        input.display()
    );
    let ours = dir.join("tickerpulse.parquet");
    let theirs = dir.join("duckdb.parquet");
    let python = root.join(".venv/bin/python");
    let script = r#"
import duckdb, sys, time
def hwm():
    for l in open("/proc/self/status"):
        if l.startswith("VmHWM:"):
            return int(l.split()[1]) / 1024
con = duckdb.connect()
con.execute("SET threads=1")
con.execute("SET enable_progress_bar=false")
base = hwm()
t = time.perf_counter()
con.execute(f"COPY (SELECT * FROM read_json('{sys.argv[1]}', format='newline_delimited')) TO '{sys.argv[2]}' (FORMAT parquet, COMPRESSION zstd)")
secs = time.perf_counter() - t
rows = con.execute(f"SELECT count(*) FROM '{sys.argv[2]}'").fetchone()[0]
print(secs, rows, hwm(), base)
"#;
    let me = std::env::current_exe().expect("current exe");
    let mut rust = Vec::new();
    let mut duck = Vec::new();
    let parse = |out: std::process::Output, what: &str| -> Vec<f64> {
        assert!(
            out.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(|v| v.parse().expect("number"))
            .collect()
    };
    // Rounds alternate the two tools, so a slow spell of the host falls on both.
    let rounds: usize = std::env::var("BENCH_LAKE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(1);
    for _ in 0..rounds {
        let out = Command::new(&me)
            .arg("--child")
            .arg(&input)
            .arg(&ours)
            .output()
            .expect("child");
        rust.push(parse(out, "tickerpulse"));
        let out = Command::new(&python)
            .args(["-c", script])
            .arg(&input)
            .arg(&theirs)
            .output()
            .unwrap_or_else(|e| panic!("{}: {e} (run `make setup`)", python.display()));
        duck.push(parse(out, "duckdb"));
    }
    // Each round's own ratio: the two runs of a round are seconds apart.
    let mut round_ratios: Vec<f64> = rust.iter().zip(&duck).map(|(r, d)| d[0] / r[0]).collect();
    round_ratios.sort_by(f64::total_cmp);
    let median = |v: &mut Vec<Vec<f64>>| -> Vec<f64> {
        v.sort_by(|a, b| a[0].total_cmp(&b[0]));
        v[v.len() / 2].clone()
    };
    let (r, d) = (median(&mut rust), median(&mut duck));
    let rust_times: Vec<String> = rust.iter().map(|v| format!("{:.2}", v[0])).collect();
    let duck_times: Vec<String> = duck.iter().map(|v| format!("{:.2}", v[0])).collect();
    println!(
        "tickerpulse compact: {:.2} s ({:.0} tweets/s; runs {}), {:.1} MB, peak memory {:.0} MB, {} rows",
        r[0], r[1] / r[0], rust_times.join(" "), size_mb(&ours), r[2], r[1]
    );
    println!(
        "duckdb (1 thread):   {:.2} s ({:.0} tweets/s; runs {}), {:.1} MB, peak memory {:.0} MB ({:.0} MB before the COPY), {} rows",
        d[0], d[1] / d[0], duck_times.join(" "), size_mb(&theirs), d[2], d[3], d[1]
    );
    let ratios: Vec<String> = round_ratios.iter().map(|x| format!("{x:.2}")).collect();
    println!(
        "ratio: {:.2}x duckdb's throughput (per round {}), output {:.2}x duckdb's size",
        d[0] / r[0],
        ratios.join(" "),
        size_mb(&ours) / size_mb(&theirs)
    );
}
