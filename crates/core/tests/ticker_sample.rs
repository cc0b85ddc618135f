//! The ticker finder on its labelled sample (data/tickers-sample): precision
//! and recall over (post, ticker) pairs, printed, with precision held at 0.95
//! or better. `TICKER_SAMPLE_DIFF=1` prints each disagreement.

use tickerpulse_core::tickers::TickerFinder;
use tickerpulse_core::watchlist::Watchlist;

const SAMPLE: &str = include_str!("../../../data/tickers-sample/sample.csv");

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
    let rows = tickerpulse_core::csv::parse(SAMPLE, b',').unwrap();
    let diff = std::env::var_os("TICKER_SAMPLE_DIFF").is_some();
    let mut by_dataset: std::collections::BTreeMap<String, Counts> = Default::default();
    let mut all = Counts::default();
    let mut posts = 0;
    for row in rows.iter().skip(1) {
        let (id, dataset, gold, text) = (&row[0], &row[1], &row[2], &row[3]);
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
