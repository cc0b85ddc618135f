//! Stage 2 batches from plain rows, for property tests here and against the
//! local stack.

use crate::Label;
use arrow_array::builder::{
    Float64Builder, ListBuilder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use std::sync::Arc;

/// 2021-12-31T20:00:00Z: eight hours from here cross a day, a month and a year.
pub const START: i64 = 1_640_980_800_000_000;
pub const TICKERS: &[&str] = &["AAPL", "TSLA", "MSFT", "AMZN"];

#[derive(Debug, Clone)]
pub struct Row {
    pub micros: i64,
    pub author: Option<u8>,
    pub tickers: Vec<&'static str>,
    pub label: Label,
    pub compound_e4: i64,
    pub text: &'static str,
}

/// The stage 2 columns aggregation reads, for these rows.
pub fn stage2_batch(rows: &[Row]) -> RecordBatch {
    let mut created = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    let mut author = StringBuilder::new();
    let mut tickers = ListBuilder::new(StringBuilder::new());
    let mut hashtags = ListBuilder::new(StringBuilder::new());
    let mut text = StringBuilder::new();
    let mut compound = Float64Builder::new();
    let mut label = StringBuilder::new();
    for r in rows {
        created.append_value(r.micros);
        author.append_option(r.author.map(|a| format!("author{a}")));
        for t in &r.tickers {
            tickers.values().append_value(t);
        }
        tickers.append(true);
        hashtags.values().append_value("Stocks");
        hashtags.append(true);
        text.append_value(r.text);
        compound.append_value(r.compound_e4 as f64 / 10_000.0);
        label.append_value(match r.label {
            Label::Positive => "positive",
            Label::Negative => "negative",
            Label::Neutral => "neutral",
        });
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(created.finish()),
        Arc::new(author.finish()),
        Arc::new(tickers.finish()),
        Arc::new(hashtags.finish()),
        Arc::new(text.finish()),
        Arc::new(compound.finish()),
        Arc::new(label.finish()),
    ];
    let list = DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
    let schema = Schema::new(vec![
        Field::new(
            "created_at",
            DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("author_id", DataType::Utf8, true),
        Field::new("watched_tickers", list.clone(), false),
        Field::new("hashtags", list, false),
        Field::new("text_clean", DataType::Utf8, false),
        Field::new("sentiment_compound", DataType::Float64, false),
        Field::new("sentiment_label", DataType::Utf8, false),
    ]);
    RecordBatch::try_new(Arc::new(schema), columns).unwrap_or_else(|e| panic!("fixture batch: {e}"))
}

/// The hour a row belongs to.
pub fn hour_of(r: &Row) -> crate::Bucket {
    crate::Bucket::quarter_of(r.micros).at(crate::Level::Hour)
}

/// Quarter and hour summaries of the rows of `hours` among `seen`: what one
/// run computes for those hours from their complete stage 2 data.
pub fn summarize(
    seen: &[Row],
    hours: &std::collections::BTreeSet<crate::Bucket>,
) -> (Vec<crate::TickerSummary>, Vec<crate::OverallSummary>) {
    let of_hours: Vec<Row> = seen
        .iter()
        .filter(|r| hours.contains(&hour_of(r)))
        .cloned()
        .collect();
    let mut agg = crate::Aggregator::default();
    agg.push_batch(&stage2_batch(&of_hours))
        .unwrap_or_else(|e| panic!("fixture rows aggregate: {e}"));
    agg.finish()
}

/// The rows in another order, the same for the same seed (xorshift Fisher-Yates).
pub fn shuffled(rows: &[Row], seed: u64) -> Vec<Row> {
    let mut out = rows.to_vec();
    let mut state = seed | 1;
    for i in (1..out.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.swap(i, (state % (i as u64 + 1)) as usize);
    }
    out
}

/// Random tweets over eight hours from `START` (crossing a day, a month and a
/// year), 1 to `max_rows` of them, with texts drawn from `texts`.
#[cfg(any(test, feature = "testing"))]
pub fn rows(
    max_rows: usize,
    texts: Vec<&'static str>,
) -> impl proptest::strategy::Strategy<Value = Vec<Row>> {
    use proptest::prelude::*;
    let row = (
        0i64..8 * 3_600,
        proptest::option::of(0u8..20),
        proptest::sample::subsequence(TICKERS, 1..3),
        0u8..3,
        -9_999i64..10_000,
        proptest::sample::select(texts),
    )
        .prop_map(|(s, author, tickers, l, c, text)| Row {
            micros: START + s * 1_000_000,
            author,
            tickers,
            label: [Label::Positive, Label::Negative, Label::Neutral][l as usize],
            compound_e4: c,
            text,
        });
    proptest::collection::vec(row, 1..max_rows)
}

/// `batch` with the model mode's probability columns, one entry a row
/// (`None`: a row of the lexicon modes, null in all three).
pub fn with_probabilities(batch: &RecordBatch, rows: &[Option<[f64; 3]>]) -> RecordBatch {
    let mut fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    let mut columns = batch.columns().to_vec();
    for (k, name) in [
        "sentiment_p_positive",
        "sentiment_p_neutral",
        "sentiment_p_negative",
    ]
    .iter()
    .enumerate()
    {
        let mut b = Float64Builder::new();
        for r in rows {
            b.append_option(r.map(|p| p[k]));
        }
        fields.push(Field::new(*name, DataType::Float64, true));
        columns.push(Arc::new(b.finish()));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .unwrap_or_else(|e| panic!("fixture batch: {e}"))
}
