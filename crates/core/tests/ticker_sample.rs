//! The ticker finder on its labelled sample (data/tickers-sample): precision
//! and recall over (post, ticker) pairs, printed, with precision held at 0.95
//! or better. `TICKER_SAMPLE_DIFF=1` prints each disagreement.
//!
//! The repository keeps only the labels (`labels.csv`: id, dataset, tickers);
//! each post's text is rebuilt from the data root as `build.py` made it.

use std::collections::HashMap;
use tickerpulse_core::tickers::TickerFinder;
use tickerpulse_core::watchlist::Watchlist;

const LABELS: &str = include_str!("../../../data/tickers-sample/labels.csv");

/// Drops the `$` of each cashtag as build.py's `CASHTAG` does:
/// `(?<![A-Za-z0-9])\$([A-Za-z]{1,6}(?:\.[A-Za-z]{1,2})?)(?![A-Za-z0-9_])`.
fn without_cashtag_dollars(text: &str) -> String {
    let b = text.as_bytes();
    let letters = |from: usize, max: usize| {
        b[from..]
            .iter()
            .take(max + 1)
            .take_while(|c| c.is_ascii_alphabetic())
            .count()
    };
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        if c == '$' && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) {
            // The regex backtracks: try the longest symbol first, then shorter.
            let n = letters(i + 1, 6).min(6);
            let tail_ok = |end: usize| {
                b.get(end)
                    .is_none_or(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
            };
            let matched = (1..=n).rev().any(|len| {
                let end = i + 1 + len;
                let class = b.get(end) == Some(&b'.') && {
                    let m = letters(end + 1, 2).min(2);
                    (1..=m).rev().any(|k| tail_ok(end + 1 + k))
                };
                class || tail_ok(end)
            });
            if matched {
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// The sample's texts by id, from the data root.
fn texts() -> HashMap<String, String> {
    use tickerpulse_dataroot as data;
    let squeeze = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = HashMap::new();
    let taborda = tickerpulse_core::csv::parse(data::require(data::TABORDA), b';').unwrap();
    for row in taborda.iter().skip(1) {
        let text = without_cashtag_dollars(&squeeze(&row[2]));
        out.insert(format!("taborda-{}", row[0]), text);
    }
    let tfn = data::require(data::TWITTER_FINANCIAL_NEWS);
    for (i, row) in tickerpulse_core::csv::parse(tfn, b',')
        .unwrap()
        .iter()
        .skip(1)
        .enumerate()
    {
        out.insert(format!("tfn-{i}"), squeeze(&row[0]));
    }
    out
}

#[test]
fn cashtag_dollars_are_dropped_as_the_builder_drops_them() {
    let cases = [
        ("$TSLA up", "TSLA up"),
        ("buy $BRK.B now", "buy BRK.B now"),
        ("$5 and $ES_F", "$5 and $ES_F"),
        ("a$AAPL $TOOLONGX $ab.cde", "a$AAPL $TOOLONGX ab.cde"),
        ("($AMD)", "(AMD)"),
        ("$abc.d9", "abc.d9"),
    ];
    for (input, want) in cases {
        assert_eq!(without_cashtag_dollars(input), want, "{input}");
    }
}

#[derive(Default, Debug)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Counts {
    fn precision(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fp).max(1) as f64
    }
    fn recall(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fn_).max(1) as f64
    }
}

#[test]
fn the_finder_is_precise_on_the_labelled_sample() {
    let finder = TickerFinder::bundled(Watchlist::bundled());
    let rows = tickerpulse_core::csv::parse(LABELS, b',').unwrap();
    let texts = texts();
    let diff = std::env::var_os("TICKER_SAMPLE_DIFF").is_some();
    let mut by_dataset: std::collections::BTreeMap<String, Counts> = Default::default();
    let mut all = Counts::default();
    let mut posts = 0;
    for row in rows.iter().skip(1) {
        let (id, dataset, gold) = (&row[0], &row[1], &row[2]);
        let text = texts
            .get(id.as_str())
            .unwrap_or_else(|| panic!("{id} is not in the data root's sets"));
        posts += 1;
        let gold: Vec<&str> = gold.split('|').filter(|s| !s.is_empty()).collect();
        let found = finder.find(text);
        let c = by_dataset.entry(dataset.clone()).or_default();
        for f in &found {
            if gold.contains(&f.as_str()) {
                c.tp += 1;
                all.tp += 1;
            } else {
                c.fp += 1;
                all.fp += 1;
            }
        }
        let missed: Vec<&&str> = gold
            .iter()
            .filter(|g| !found.iter().any(|f| f == **g))
            .collect();
        c.fn_ += missed.len();
        all.fn_ += missed.len();
        if diff && (missed.len() + found.iter().filter(|f| !gold.contains(&f.as_str())).count() > 0)
        {
            println!("{id}\tgold={gold:?}\tfound={found:?}\t{text}");
        }
    }
    for (dataset, c) in &by_dataset {
        println!(
            "{dataset}: precision {:.3} recall {:.3} ({} found right, {} wrong, {} missed)",
            c.precision(),
            c.recall(),
            c.tp,
            c.fp,
            c.fn_
        );
    }
    println!(
        "all {posts} posts: precision {:.3} recall {:.3} ({} found right, {} wrong, {} missed)",
        all.precision(),
        all.recall(),
        all.tp,
        all.fp,
        all.fn_
    );
    assert!(posts >= 500, "the sample has {posts} posts");
    assert!(all.precision() >= 0.95, "precision {:.3}", all.precision());
    assert!(all.tp >= 100, "too few mentions to measure: {}", all.tp);
}
