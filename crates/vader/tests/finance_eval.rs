//! Finance mode against plain VADER on labelled stock tweets:
//! - taborda-2020.csv, the 1,300 rows labelled positive/neutral/negative
//!   (3-class macro-F1, labels by the compound thresholds +-0.05);
//! - surge-ai-sentiment.csv, 500 tweets labelled Positive/Negative
//!   (2-class macro-F1, compound >= 0 is positive).
//!
//! Plain VADER must give the published baseline; finance mode must add 0.10 on
//! surge-ai (it does) and on taborda (open: see the assertion below).

use tickerpulse_vader::{Analyzer, Label, Mode};

fn macro_f1(pairs: &[(usize, usize)], classes: usize) -> f64 {
    let mut sum = 0.0;
    for c in 0..classes {
        let tp = pairs.iter().filter(|(t, p)| *t == c && *p == c).count() as f64;
        let fp = pairs.iter().filter(|(t, p)| *t != c && *p == c).count() as f64;
        let fn_ = pairs.iter().filter(|(t, p)| *t == c && *p != c).count() as f64;
        let precision = if tp + fp > 0.0 { tp / (tp + fp) } else { 0.0 };
        let recall = if tp + fn_ > 0.0 { tp / (tp + fn_) } else { 0.0 };
        sum += if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
    }
    sum / classes as f64
}

fn data(name: &str) -> &'static str {
    tickerpulse_dataroot::require(name)
}

fn taborda(mode: Mode) -> f64 {
    let rows = tickerpulse_core::csv::parse(data(tickerpulse_dataroot::TABORDA), b';').unwrap();
    let analyzer = Analyzer::new(mode);
    let class = |s: &str| match s {
        "positive" => Some(0),
        "neutral" => Some(1),
        "negative" => Some(2),
        _ => None,
    };
    let pairs: Vec<(usize, usize)> = rows
        .iter()
        .skip(1)
        .filter_map(|r| {
            let truth = class(r.get(3)?.trim())?;
            let predicted = match analyzer.polarity_scores(&r[2]).label() {
                Label::Positive => 0,
                Label::Neutral => 1,
                Label::Negative => 2,
            };
            Some((truth, predicted))
        })
        .collect();
    assert_eq!(pairs.len(), 1300);
    macro_f1(&pairs, 3)
}

fn surge(mode: Mode) -> f64 {
    let rows = tickerpulse_core::csv::parse(data(tickerpulse_dataroot::SURGE_AI), b',').unwrap();
    let analyzer = Analyzer::new(mode);
    let pairs: Vec<(usize, usize)> = rows
        .iter()
        .skip(1)
        .filter(|r| r.len() >= 3)
        .map(|r| {
            let truth = usize::from(r[2].trim() != "Positive");
            let predicted = usize::from(analyzer.polarity_scores(&r[1]).compound < 0.0);
            (truth, predicted)
        })
        .collect();
    assert_eq!(pairs.len(), 500);
    macro_f1(&pairs, 2)
}

#[test]
fn finance_mode_gains_macro_f1_on_both_sets() {
    let (tv, tf) = (taborda(Mode::Vader), taborda(Mode::Finance));
    let (sv, sf) = (surge(Mode::Vader), surge(Mode::Finance));
    println!("| data set | classes | vader | finance | gain |");
    println!("|---|---|---|---|---|");
    println!(
        "| taborda-2020 (1,300 labelled) | 3 | {tv:.3} | {tf:.3} | {:+.3} |",
        tf - tv
    );
    println!(
        "| surge-ai (500) | 2 | {sv:.3} | {sf:.3} | {:+.3} |",
        sf - sv
    );
    assert!(
        (tv - 0.658).abs() < 0.0005,
        "plain VADER on taborda: {tv:.4}"
    );
    assert!((sv - 0.684).abs() < 0.0005, "plain VADER on surge: {sv:.4}");
    // Issue #3 asks for +0.10 here too; the lexicon, built on domain knowledge
    // and not fitted to these tweets, reaches about +0.03 on this noisy 3-class
    // set. The target stays open; this guards against regressions.
    assert!(
        tf >= tv + 0.02,
        "finance mode on taborda: {tf:.3} against {tv:.3}"
    );
    assert!(
        sf >= sv + 0.10,
        "finance mode on surge: {sf:.3} against {sv:.3}"
    );
}
