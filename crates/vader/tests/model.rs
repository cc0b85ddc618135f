//! The `model` mode against the model scikit-learn holds: thousands of texts
//! (every labelled and unlabelled text in `data/`, and generated ones aimed at
//! each normalization) get the same class probabilities here as from
//! `training/sentiment/train.py score`, which computes the features in Python
//! and the probabilities with scikit-learn's `predict_proba` over the shipped
//! weights. Plus loading, determinism, sums and a few golden texts.

mod common;

use common::{python, root, Rng};
use std::io::Write;
use std::process::{Command, Stdio};
use tickerpulse_vader::{model, Analyzer, Label, Mode};

fn column(path: &str, separator: u8, name: &str) -> Vec<String> {
    let text = tickerpulse_dataroot::require(path);
    let rows = tickerpulse_core::csv::parse(text, separator).unwrap();
    let at = rows[0].iter().position(|c| c == name).unwrap();
    rows[1..]
        .iter()
        .filter_map(|r| r.get(at).cloned())
        .collect()
}

/// Texts aimed at each normalization: URLs, mentions, cashtags, signed
/// percentages and numbers, punctuation-only tokens, runs of letters, case,
/// emoji glued to words, every ASCII whitespace and some that is not.
fn generated(n: usize) -> Vec<String> {
    const WORDS: &[&str] = &[
        "$TSLA",
        "$aapl",
        "$1.5B",
        "$",
        "@elonmusk",
        "@",
        "https://t.co/x1",
        "HTTP://A.B",
        "Https://t.co/Q",
        "www.sec.gov",
        "WWW.SEC.GOV",
        "$Tsla",
        "10K",
        "1.5M",
        "2X",
        "SoOoO",
        "+5%",
        "-3.2%",
        "(10%)",
        "5%.",
        "--7%",
        "+-",
        "%",
        "1,000",
        "10:30",
        "4/15",
        "2x",
        "10k",
        "250p",
        "q1",
        "!!!",
        "??",
        "?!",
        "...",
        "-",
        "SOOOOO",
        "goooood",
        "moon🚀🚀🚀",
        "🚀",
        "📉",
        "bullish",
        "Bearish",
        "calls",
        "puts",
        "buy",
        "sell",
        "not",
        "great",
        "terrible",
        "earnings",
        "beat",
        "miss",
        "upgrade",
        "downgrade",
        "crash",
        "rally",
        "short",
        "long",
        "ÉTÉ",
        "naïve",
        "<3",
        ":)",
        ":(",
        "\"quoted\"",
        "(paren)",
        "[x]",
        "a",
        "I",
        "the",
        "to",
    ];
    const SPACES: &[&str] = &[
        " ", " ", " ", "  ", "\t", "\n", "\r\n", "\u{b}", "\u{c}", "\u{a0}", "\u{2003}",
    ];
    let mut rng = Rng(0x00de_1e7e_5eed_0042);
    (0..n)
        .map(|_| {
            let len = 1 + (rng.next() % 14) as usize;
            let mut s = String::new();
            for i in 0..len {
                if i > 0 {
                    s.push_str(rng.pick(SPACES));
                }
                s.push_str(rng.pick(WORDS));
            }
            s
        })
        .collect()
}

fn texts() -> Vec<String> {
    use tickerpulse_dataroot as data;
    let mut texts = column(data::TABORDA, b';', "text");
    texts.extend(column(data::SURGE_AI, b',', "Tweet Text"));
    texts.extend(column(data::SURGE_AI_CRYPTO, b',', "Comment Text"));
    let news = column(data::TWITTER_FINANCIAL_NEWS, b',', "text");
    texts.extend(news.into_iter().step_by(5));
    texts.extend(generated(2000));
    texts.push(String::new());
    texts
}

#[test]
fn probabilities_match_scikit_learn_on_thousands_of_texts() {
    let texts = texts();
    assert!(texts.len() > 9000, "{}", texts.len());
    let analyzer = Analyzer::new(Mode::Model);
    let ours: Vec<_> = texts.iter().map(|t| analyzer.sentiment(t)).collect();

    let mut input = Vec::new();
    for (text, s) in texts.iter().zip(&ours) {
        let fin = [s.scores.compound, s.scores.pos, s.scores.neu, s.scores.neg];
        serde_json::to_writer(&mut input, &serde_json::json!({"text": text, "fin": fin})).unwrap();
        input.push(b'\n');
    }
    let mut child = Command::new(python())
        .arg(root().join("training/sentiment/train.py"))
        .arg("score")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("running python");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(output.status.success(), "python failed");
    let want: Vec<[f64; 3]> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(want.len(), texts.len());

    let (mut worst, mut mismatches, mut labels) = (0.0f64, Vec::new(), [0usize; 3]);
    for ((text, s), want) in texts.iter().zip(&ours).zip(&want) {
        let p = s.probabilities.expect("model mode gives probabilities");
        let got = [p.negative, p.neutral, p.positive];
        let diff = got
            .iter()
            .zip(want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        worst = worst.max(diff);
        // numpy's argmax: the first likeliest in (negative, neutral, positive).
        let argmax = (0..3).fold(0, |best, k| if want[k] > want[best] { k } else { best });
        let label = [Label::Negative, Label::Neutral, Label::Positive][argmax];
        labels[argmax] += 1;
        if diff > 1e-9 || label != s.label {
            mismatches.push(format!(
                "want {want:?} got {got:?} ({:?}): {text:?}",
                s.label
            ));
        }
    }
    println!(
        "{} texts, largest difference {worst:e}, labels (neg, neu, pos) {labels:?}",
        texts.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} of {} differ:\n{}",
        mismatches.len(),
        texts.len(),
        mismatches[..mismatches.len().min(10)].join("\n")
    );
    assert!(
        labels.iter().all(|&n| n > 500),
        "every class is predicted: {labels:?}"
    );
}

#[test]
fn weights_load_and_scores_are_deterministic_and_sum_to_one() {
    model::check_weights().unwrap();
    let analyzer = Analyzer::new(Mode::Model);
    for text in texts().iter().step_by(7) {
        let a = analyzer.sentiment(text);
        let b = analyzer.sentiment(text);
        assert_eq!(a, b, "{text:?}");
        let p = a.probabilities.unwrap();
        let sum = p.negative + p.neutral + p.positive;
        assert!((sum - 1.0).abs() < 1e-12, "{sum} for {text:?}");
        assert!([p.negative, p.neutral, p.positive]
            .iter()
            .all(|v| (0.0..=1.0).contains(v)));
        // VADER's scores beside the probabilities are finance mode's.
        assert_eq!(a.scores, Analyzer::new(Mode::Finance).polarity_scores(text));
    }
    // The other modes have no probabilities and keep the compound's label.
    let s = Analyzer::new(Mode::Finance).sentiment("great quarter");
    assert_eq!((s.probabilities, s.label), (None, s.scores.label()));
}

#[test]
fn golden_texts() {
    let analyzer = Analyzer::new(Mode::Model);
    let cases = [
        (
            "$AAPL beats on earnings and raises guidance, shares jump 8%",
            Label::Positive,
        ),
        (
            "Loading up on $NVDA calls, this is going to the moon 🚀🚀",
            Label::Positive,
        ),
        (
            "$TSLA plunges after massive recall, downgraded to sell",
            Label::Negative,
        ),
        (
            "$BA misses estimates, cuts outlook; shares fall -6%",
            Label::Negative,
        ),
        (
            "$MSFT to report Q3 earnings on Thursday after the close",
            Label::Neutral,
        ),
        (
            "$XOM - Exxon Mobil annual meeting scheduled for May 27",
            Label::Neutral,
        ),
    ];
    let mut wrong = Vec::new();
    for (text, want) in cases {
        let s = analyzer.sentiment(text);
        if s.label != want {
            wrong.push(format!(
                "{text:?}: want {want:?}, got {:?} {:?}",
                s.label, s.probabilities
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
