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
    let tsv = tickerpulse_dataroot::require(tickerpulse_dataroot::VADER_REFERENCE);
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
    let medians = interleaved(&sentences, &[Mode::Vader, Mode::Finance], rounds);
    let best = medians[0];
    for (mode, median) in [Mode::Vader, Mode::Finance].iter().zip(&medians) {
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
    tweets(root, &python);
}

/// Median seconds a pass over `texts` of each mode, the modes' passes
/// interleaved so that a noisy moment hits them alike.
fn interleaved(texts: &[&str], modes: &[Mode], rounds: usize) -> Vec<f64> {
    let mut times = vec![Vec::new(); modes.len()];
    for _ in 0..rounds {
        for (mode, times) in modes.iter().zip(&mut times) {
            let analyzer = Analyzer::new(*mode);
            let t = Instant::now();
            for s in texts {
                black_box(analyzer.sentiment(black_box(s)));
            }
            times.push(t.elapsed().as_secs_f64());
        }
    }
    times
        .iter_mut()
        .map(|t| {
            t.sort_by(f64::total_cmp);
            t[t.len() / 2]
        })
        .collect()
}

/// The three modes on real stock tweets (every text in `data/`'s tweet sets),
/// beside the same model in Python: the repository's feature code and
/// scikit-learn's `predict_proba` over all tweets at once (its fastest use),
/// given the finance-mode scores (which Python does not have) for free.
fn tweets(root: &Path, python: &Path) {
    let read = |path: &str, separator: u8, name: &str| -> Vec<String> {
        let rows = tickerpulse_core::csv::parse(tickerpulse_dataroot::require(path), separator)
            .expect("csv");
        let at = rows[0].iter().position(|c| c == name).expect("column");
        rows[1..]
            .iter()
            .filter_map(|r| r.get(at).cloned())
            .collect()
    };
    use tickerpulse_dataroot as data;
    let mut owned = read(data::TABORDA, b';', "text");
    owned.extend(read(data::SURGE_AI, b',', "Tweet Text"));
    owned.extend(read(data::TWITTER_FINANCIAL_NEWS, b',', "text"));
    let texts: Vec<&str> = owned.iter().map(String::as_str).collect();
    let chars: usize = texts.iter().map(|s| s.chars().count()).sum();
    println!(
        "\ncorpus: {} stock tweets (taborda-2020, surge-ai, Twitter Financial News; {:.0} characters on average)",
        texts.len(),
        chars as f64 / texts.len() as f64
    );
    let modes = [Mode::Vader, Mode::Finance, Mode::Model];
    let rounds = 15;
    let medians = interleaved(&texts, &modes, rounds);
    for (mode, median) in modes.iter().zip(&medians) {
        println!(
            "rust  {:<7}: {:>10.0} tweets/s (median of {rounds} interleaved passes, {:.1} ms a pass)",
            mode.as_str(),
            texts.len() as f64 / median,
            median * 1e3
        );
    }

    let finance = Analyzer::new(Mode::Finance);
    let mut input = Vec::new();
    for text in &texts {
        let s = finance.polarity_scores(text);
        serde_json::to_writer(
            &mut input,
            &serde_json::json!({"text": text, "fin": [s.compound, s.pos, s.neu, s.neg]}),
        )
        .expect("json");
        input.push(b'\n');
    }
    let script = r#"
import json, sys, time
sys.path.insert(0, sys.argv[1])
import train
model = train.read_model(train.WEIGHTS)
items = [json.loads(l) for l in sys.stdin]
texts, fins = [i["text"] for i in items], [i["fin"] for i in items]
times = []
for _ in range(3):
    t = time.perf_counter()
    model.predict_proba(train.matrix(texts, fins))
    times.append(time.perf_counter() - t)
times.sort()
print(json.dumps({"median": times[1]}))
"#;
    let mut child = Command::new(python)
        .args(["-c", script])
        .arg(root.join("../../training/sentiment"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("python");
    writer.join().expect("writer").expect("write");
    assert!(out.status.success(), "the python model failed");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("python output");
    let py = v["median"].as_f64().expect("median");
    println!(
        "python model  : {:>10.0} tweets/s (features in Python, scikit-learn predict_proba on the batch; median of 3)",
        texts.len() as f64 / py
    );
    println!(
        "ratio (rust model / python model): {:.1}x on one core",
        py / medians[2]
    );
}
