//! `make bench-sentiment`: the same sentences scored by this crate and by Python
//! vaderSentiment 3.3.2 in one run, on one core; prints sentences per second of
//! each, their ratio, and the construction time of each analyzer.

use std::hint::black_box;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;
use tickerpulse_vader::{Analyzer, Mode};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tsv = std::fs::read_to_string(root.join("../../data/vader-reference/reference-3.3.2.tsv"))
        .expect("reading the reference corpus");
    let sentences: Vec<&str> = tsv
        .lines()
        .skip(1)
        .filter_map(|l| l.splitn(8, '\t').nth(7))
        .collect();
    let chars: usize = sentences.iter().map(|s| s.chars().count()).sum();
    println!(
        "corpus: {} sentences of the VADER paper ({:.0} characters on average)",
        sentences.len(),
        chars as f64 / sentences.len() as f64
    );

    // Construction: building an analyzer, and the first score (nothing is lazy).
    let t = Instant::now();
    let analyzer = black_box(Analyzer::new(Mode::Vader));
    let first = analyzer.polarity_scores(black_box("The book was good."));
    let construct = t.elapsed();
    black_box(first);

    let rounds = 20;
    let mut best = f64::MAX;
    for mode in [Mode::Vader, Mode::Finance] {
        let analyzer = Analyzer::new(mode);
        let mut times = Vec::new();
        for _ in 0..rounds {
            let t = Instant::now();
            for s in &sentences {
                black_box(analyzer.polarity_scores(black_box(s)));
            }
            times.push(t.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        if mode == Mode::Vader {
            best = median;
        }
        println!(
            "rust  {:<7}: {:>10.0} sentences/s (median of {rounds} passes, {:.1} ms a pass)",
            mode.as_str(),
            sentences.len() as f64 / median,
            median * 1e3
        );
    }

    let python = root.join("../../.venv/bin/python");
    let script = r#"
import json, sys, time
t = time.perf_counter()
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
a = SentimentIntensityAnalyzer()
construct = time.perf_counter() - t
texts = json.load(sys.stdin)
times = []
for _ in range(3):
    t = time.perf_counter()
    for s in texts:
        a.polarity_scores(s)
    times.append(time.perf_counter() - t)
times.sort()
print(json.dumps({"construct": construct, "median": times[1]}))
"#;
    let mut child = Command::new(&python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {}: {e} (run `make setup`)", python.display()));
    let input = serde_json::to_vec(&sentences).expect("json");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("python");
    writer.join().expect("writer").expect("write");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("python output");
    let py_median = v["median"].as_f64().expect("median");
    let py_construct = v["construct"].as_f64().expect("construct");
    println!(
        "python vader  : {:>10.0} sentences/s (median of 3 passes, {:.1} ms a pass)",
        sentences.len() as f64 / py_median,
        py_median * 1e3
    );
    println!(
        "ratio (rust vader / python): {:.1}x on one core",
        py_median / best
    );
    println!(
        "construction: rust {:.3} ms (static tables; includes the first score), python {:.1} ms (import and lexicon parsing)",
        construct.as_secs_f64() * 1e3,
        py_construct * 1e3
    );
}
