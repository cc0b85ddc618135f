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
