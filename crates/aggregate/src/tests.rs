use super::fixtures::{self, hour_of, stage2_batch as batch, Row, START};
use super::serving::{apply, block_on, MemoryStore};
use super::*;
use proptest::prelude::*;
use std::collections::BTreeSet;

fn rows() -> impl Strategy<Value = Vec<Row>> {
    fixtures::rows(
        60,
        vec![
            "great earnings beat",
            "terrible quarter",
            "holding shares",
            "",
        ],
    )
}

fn run(store: &MemoryStore, seen: &[Row], hours: &BTreeSet<Bucket>) -> serving::ApplyStats {
    let (t, o) = fixtures::summarize(seen, hours);
    block_on(apply(store, hours, t, o)).expect("apply").stats
}

fn snapshot(
    store: &MemoryStore,
) -> (
    BTreeMap<(Bucket, String), TickerSummary>,
    BTreeMap<Bucket, OverallSummary>,
) {
    (
        store.tickers.lock().unwrap().clone(),
        store.overall.lock().unwrap().clone(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_level_is_the_sum_of_the_level_below_and_of_the_rows(rows in rows()) {
        let store = MemoryStore::default();
        let hours: BTreeSet<Bucket> = rows.iter().map(hour_of).collect();
        run(&store, &rows, &hours);
        let (tickers, overall) = snapshot(&store);
        for ((bucket, ticker), item) in &tickers {
            // Straight from the rows.
            let direct: Vec<&Row> = rows.iter()
                .filter(|r| Bucket::quarter_of(r.micros).at(bucket.level) == *bucket && r.tickers.contains(&ticker.as_str()))
                .collect();
            prop_assert_eq!(item.counts.mentions, direct.len() as u64);
            prop_assert_eq!(item.counts.compound_e4, direct.iter().map(|r| r.compound_e4).sum::<i64>());
            prop_assert_eq!(item.counts.positive, direct.iter().filter(|r| r.label == Label::Positive).count() as u64);
            if bucket.level >= Level::Hour {
                let authors: BTreeSet<u8> = direct.iter().filter_map(|r| r.author).collect();
                prop_assert_eq!(item.unique_authors, authors.len() as u64);
            }
            // The sum of the level below.
            if bucket.level != Level::Quarter {
                let mut sum = Counts::default();
                for ((b, t), child) in &tickers {
                    if t == ticker && b.parent() == Some(*bucket) {
                        sum.merge(&child.counts);
                    }
                }
                prop_assert_eq!(sum, item.counts, "{} {}", bucket.key(), ticker);
            }
        }
        for (bucket, item) in &overall {
            let direct = rows.iter().filter(|r| Bucket::quarter_of(r.micros).at(bucket.level) == *bucket).count();
            prop_assert_eq!(item.counts.mentions, direct as u64);
            if bucket.level != Level::Quarter {
                let mut sum = Counts::default();
                for (b, child) in &overall {
                    if b.parent() == Some(*bucket) {
                        sum.merge(&child.counts);
                    }
                }
                prop_assert_eq!(sum, item.counts);
            }
        }
        // A second run of the same hours writes nothing.
        let again = run(&store, &rows, &hours);
        prop_assert_eq!((again.items_written, again.items_deleted), (0, 0));
    }

    #[test]
    fn many_runs_in_any_order_give_the_one_run_result(rows in rows(), order in any::<u64>(), splits in 1usize..6) {
        let one = MemoryStore::default();
        let hours: BTreeSet<Bucket> = rows.iter().map(hour_of).collect();
        run(&one, &rows, &hours);

        // The same rows arriving in another order, in several runs; each run
        // recomputes the hours it touched from everything seen so far.
        let shuffled = fixtures::shuffled(&rows, order);
        let many = MemoryStore::default();
        let chunk = shuffled.len().div_ceil(splits);
        let mut seen = Vec::new();
        for part in shuffled.chunks(chunk.max(1)) {
            seen.extend_from_slice(part);
            let touched: BTreeSet<Bucket> = part.iter().map(hour_of).collect();
            run(&many, &seen, &touched);
        }
        prop_assert_eq!(snapshot(&one), snapshot(&many));
    }

    #[test]
    fn a_late_tweet_changes_its_hour_and_the_levels_above_and_nothing_else(rows in rows(), late in 0i64..8 * 3_600) {
        let store = MemoryStore::default();
        let hours: BTreeSet<Bucket> = rows.iter().map(hour_of).collect();
        run(&store, &rows, &hours);
        let before = snapshot(&store);
        let late = Row { micros: START + late * 1_000_000, author: Some(99), tickers: vec!["TSLA"], label: Label::Negative, compound_e4: -5_000, text: "late" };
        let mut all = rows.clone();
        all.push(late.clone());
        let hour = hour_of(&late);
        run(&store, &all, &BTreeSet::from([hour]));
        let after = snapshot(&store);
        let q = Bucket::quarter_of(late.micros);
        let allowed: BTreeSet<Bucket> = Level::ALL.iter().map(|l| q.at(*l)).collect();
        let keys: BTreeSet<&(Bucket, String)> = before.0.keys().chain(after.0.keys()).collect();
        for key in keys {
            if before.0.get(key) != after.0.get(key) {
                prop_assert!(allowed.contains(&key.0), "{} changed", key.0.key());
                prop_assert_eq!(&key.1, "TSLA");
            }
        }
        for b in allowed.iter() {
            let old = before.0.get(&(*b, "TSLA".to_string())).map_or(0, |i| i.counts.mentions);
            prop_assert_eq!(after.0[&(*b, "TSLA".to_string())].counts.mentions, old + 1);
            prop_assert_ne!(before.1.get(b), after.1.get(b));
        }
        for (b, item) in &after.1 {
            if !allowed.contains(b) {
                prop_assert_eq!(before.1.get(b), Some(item));
            }
        }
    }
}

#[test]
fn words_hashtags_and_authors_of_a_small_hour() {
    let rows = vec![
        Row {
            micros: START,
            author: Some(1),
            tickers: vec!["AAPL"],
            label: Label::Positive,
            compound_e4: 5_000,
            text: "great earnings beat",
        },
        Row {
            micros: START + 60_000_000,
            author: Some(1),
            tickers: vec!["AAPL", "TSLA"],
            label: Label::Negative,
            compound_e4: -3_000,
            text: "terrible earnings",
        },
        Row {
            micros: START + 1_000 * 1_000_000,
            author: None,
            tickers: vec!["TSLA"],
            label: Label::Neutral,
            compound_e4: 0,
            text: "",
        },
    ];
    let mut agg = Aggregator::default();
    agg.push_batch(&batch(&rows)).unwrap();
    let (tickers, overall) = agg.finish();
    let hour = Bucket::quarter_of(START).at(Level::Hour);
    let aapl = tickers
        .iter()
        .find(|t| t.bucket == hour && t.ticker == "AAPL")
        .unwrap();
    let mut want = Counts {
        mentions: 2,
        positive: 1,
        negative: 1,
        neutral: 0,
        compound_e4: 2_000,
        ..Default::default()
    };
    // Files without a source column are X's.
    want.by_source[0] = crate::SourceCounts {
        mentions: 2,
        positive: 1,
        negative: 1,
        neutral: 0,
        compound_e4: 2_000,
    };
    assert_eq!(aapl.counts, want);
    assert_eq!(
        (aapl.counts.mean_compound(), aapl.counts.positive_ratio()),
        (0.1, 0.5)
    );
    assert_eq!(aapl.unique_authors, 1);
    assert_eq!(
        aapl.words,
        [
            ("earnings".to_string(), 2),
            ("beat".into(), 1),
            ("great".into(), 1),
            ("terrible".into(), 1)
        ]
    );
    let all = overall.iter().find(|o| o.bucket == hour).unwrap();
    assert_eq!(
        (all.counts.mentions, all.ticker_mentions, all.unique_authors),
        (3, 4, 1)
    );
    assert_eq!(all.hashtags, [("stocks".to_string(), 3)]);
    // A ticker's hashtags are those of the tweets that name it: two each here.
    assert_eq!(aapl.hashtags, [("stocks".to_string(), 2)]);
    let tsla = tickers
        .iter()
        .find(|t| t.bucket == hour && t.ticker == "TSLA")
        .unwrap();
    assert_eq!(tsla.hashtags, [("stocks".to_string(), 2)]);
    // And the day's item sums its hours'.
    let day = hour.parent().unwrap();
    let rolled = crate::roll_up_tickers(day, &tickers);
    let aapl_day = rolled.iter().find(|t| t.ticker == "AAPL").unwrap();
    assert_eq!(aapl_day.hashtags, [("stocks".to_string(), 2)]);
    let quarters: Vec<String> = overall
        .iter()
        .filter(|o| o.bucket.level == Level::Quarter)
        .map(|o| o.bucket.key())
        .collect();
    assert_eq!(quarters, ["2021-12-31-20:00", "2021-12-31-20:15"]);
}

#[test]
fn class_probabilities_are_averaged_over_the_mentions_that_have_them() {
    let row = |minute: i64, tickers: Vec<&'static str>| Row {
        micros: START + minute * 60_000_000,
        author: Some(1),
        tickers,
        label: Label::Positive,
        compound_e4: 1_000,
        text: "x",
    };
    let rows = vec![
        row(0, vec!["AAPL"]),
        row(1, vec!["AAPL", "TSLA"]),
        row(2, vec!["AAPL"]),
    ];
    let probabilities = [
        Some([0.7, 0.2, 0.1]),
        Some([0.1, 0.3, 0.6]),
        None, // a lexicon-mode row: counted, not in the means
    ];
    let with = crate::fixtures::with_probabilities(&batch(&rows), &probabilities);
    let mut agg = Aggregator::default();
    agg.push_batch(&with).unwrap();
    let (tickers, overall) = agg.finish();
    let hour = Bucket::quarter_of(START).at(Level::Hour);
    let counts = |t: &str| {
        tickers
            .iter()
            .find(|s| s.bucket == hour && s.ticker == t)
            .unwrap()
            .counts
    };
    let aapl = counts("AAPL");
    assert_eq!((aapl.mentions, aapl.scored), (3, 2));
    assert_eq!(aapl.mean_probabilities(), Some([0.4, 0.25, 0.35]));
    assert_eq!(counts("TSLA").mean_probabilities(), Some([0.1, 0.3, 0.6]));
    let all = overall.iter().find(|o| o.bucket == hour).unwrap().counts;
    assert_eq!(all.mean_probabilities(), Some([0.4, 0.25, 0.35]));

    // A stage 2 file written before the model mode has no such columns.
    let mut agg = Aggregator::default();
    agg.push_batch(&batch(&rows)).unwrap();
    let (tickers, _) = agg.finish();
    let aapl = tickers
        .iter()
        .find(|s| s.bucket == hour && s.ticker == "AAPL")
        .unwrap();
    assert_eq!(
        (aapl.counts.scored, aapl.counts.mean_probabilities()),
        (0, None)
    );
    // Sums merge exactly in any order (integers).
    let (mut a, mut b) = (Counts::default(), Counts::default());
    a.merge(&counts("AAPL"));
    a.merge(&counts("TSLA"));
    b.merge(&counts("TSLA"));
    b.merge(&counts("AAPL"));
    assert_eq!(a, b);
}
