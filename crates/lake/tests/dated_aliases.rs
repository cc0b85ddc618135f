//! `clean` recomputes `watched_tickers` against today's watch list as the
//! transform computed it: each symbol under the ticker it meant on the post's
//! day. A 2021 `$FB` post stays META's and a 2021 `$TWTR` post stays TWTR's
//! (both delisted or renamed since: crates/core/data/symbol-aliases.csv); it
//! used to drop both as unwatched, since neither symbol is on today's list.

use arrow_array::cast::AsArray;
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use tickerpulse_core::watchlist::{Watchlist, BUNDLED_ALIASES};
use tickerpulse_lake::clean::{clean, SpamRules};
use tickerpulse_lake::compact::Compactor;
use tickerpulse_synth::{Config, EnrichedLines};

/// A generated enriched record, moved to `created_at` and given `tickers`, with
/// `watched_tickers` as the transform computed them.
fn line(
    template: &serde_json::Value,
    id: u64,
    created_at: &str,
    tickers: &[&str],
    watched: &[&str],
) -> String {
    let mut v = template.clone();
    v["tweet_id"] = serde_json::json!(id.to_string());
    v["id"] = serde_json::json!(id.to_string());
    v["created_at"] = serde_json::json!(created_at);
    v["text"] = serde_json::json!(format!(
        "{} looking strong today, post {id}",
        tickers
            .iter()
            .map(|t| format!("${t}"))
            .collect::<Vec<_>>()
            .join(" ")
    ));
    v["tickers"] = serde_json::json!(tickers);
    v["watched_tickers"] = serde_json::json!(watched);
    v.to_string()
}

#[test]
fn dated_aliases_survive_cleaning_against_todays_list() {
    let first = EnrichedLines::new(Config::default(), 1)
        .next()
        .expect("a generated line");
    let template: serde_json::Value = serde_json::from_str(&first).unwrap();
    let hour = "2021-06-01T12";
    let rows = [
        (1, &["FB"][..], &["META"][..]),
        (2, &["TWTR"][..], &["TWTR"][..]),
        (3, &["FB", "META"][..], &["META"][..]),
        (4, &["AAPL"][..], &["AAPL"][..]),
    ];
    let mut lines = String::new();
    for (id, tickers, watched) in rows {
        lines.push_str(&line(
            &template,
            id,
            &format!("{hour}:0{id}:00.000Z"),
            tickers,
            watched,
        ));
        lines.push('\n');
    }
    let mut compactor = Compactor::new(Vec::new()).unwrap();
    compactor.push_object(hour, lines.as_bytes()).unwrap();
    let (parquet, stats) = compactor.finish().unwrap();
    assert_eq!(stats.rejected, 0, "{:?}", stats.rejects);
    let today = Watchlist::bundled().with_aliases(BUNDLED_ALIASES).unwrap();
    let (cleaned, _, stats) = clean(
        Bytes::from(parquet),
        Vec::new(),
        Vec::new(),
        &SpamRules::default(),
        Some(&today),
    )
    .unwrap();
    assert_eq!((stats.unwatched, stats.cleaned), (0, 4), "{stats:?}");
    let mut watched = std::collections::BTreeMap::new();
    for batch in ParquetRecordBatchReaderBuilder::try_new(Bytes::from(cleaned))
        .unwrap()
        .build()
        .unwrap()
    {
        let batch = batch.unwrap();
        let ids = batch.column_by_name("tweet_id").unwrap().as_string::<i32>();
        let lists = batch
            .column_by_name("watched_tickers")
            .unwrap()
            .as_list::<i32>();
        for i in 0..batch.num_rows() {
            let list = lists.value(i);
            let tickers: Vec<String> = list
                .as_string::<i32>()
                .iter()
                .flatten()
                .map(String::from)
                .collect();
            watched.insert(ids.value(i).to_string(), tickers);
        }
    }
    assert_eq!(watched["1"], ["META"]);
    assert_eq!(watched["2"], ["TWTR"]);
    assert_eq!(watched["3"], ["META"], "each ticker once");
    assert_eq!(watched["4"], ["AAPL"]);
}
