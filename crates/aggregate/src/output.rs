//! What aggregation writes besides the summary items: the recent tweets
//! (for the dashboard's feed) and the analytics zone (every run's recomputed
//! summaries as Parquet, for Athena).

use crate::{AggregateError, OverallSummary, TickerSummary};
use arrow_array::builder::{
    Float64Builder, Int64Builder, ListBuilder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use std::io::Write;
use std::sync::Arc;

/// One tweet for the recent-tweets table.
#[derive(Debug, Clone, PartialEq)]
pub struct RecentTweet {
    pub tweet_id: String,
    pub created_micros: i64,
    pub created_at: String,
    pub author_username: Option<String>,
    pub text: String,
    pub text_clean: String,
    pub tickers: Vec<String>,
    pub label: String,
    pub compound: f64,
}

fn col<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef, AggregateError> {
    batch
        .column_by_name(name)
        .ok_or_else(|| AggregateError::Schema(format!("no column {name:?}")))
}

fn rfc3339(micros: i64) -> String {
    let b = crate::Bucket::quarter_of(micros);
    let secs = micros.div_euclid(1_000_000).rem_euclid(3_600);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        b.year,
        b.month,
        b.day,
        b.hour,
        secs / 60,
        secs % 60
    )
}

/// The stage 2 columns `recent_tweets` reads.
pub const RECENT_COLUMNS: &[&str] = &[
    "tweet_id",
    "created_at",
    "author_username",
    "text",
    "text_clean",
    "watched_tickers",
    "sentiment_label",
    "sentiment_compound",
];

/// The tweets of a stage 2 batch, for the recent-tweets table.
pub fn recent_tweets(batch: &RecordBatch) -> Result<Vec<RecentTweet>, AggregateError> {
    let id = col(batch, "tweet_id")?.as_string::<i32>();
    let created = col(batch, "created_at")?.as_primitive::<TimestampMicrosecondType>();
    let user = col(batch, "author_username")?.as_string::<i32>();
    let text = col(batch, "text")?.as_string::<i32>();
    let clean = col(batch, "text_clean")?.as_string::<i32>();
    let tickers = col(batch, "watched_tickers")?.as_list::<i32>();
    let label = col(batch, "sentiment_label")?.as_string::<i32>();
    let compound = col(batch, "sentiment_compound")?.as_primitive::<Float64Type>();
    let mut out = Vec::new();
    for i in 0..batch.num_rows() {
        let micros = created.value(i);
        let list = tickers.value(i);
        out.push(RecentTweet {
            tweet_id: id.value(i).to_string(),
            created_micros: micros,
            created_at: rfc3339(micros),
            author_username: (!user.is_null(i)).then(|| user.value(i).to_string()),
            text: text.value(i).to_string(),
            text_clean: clean.value(i).to_string(),
            tickers: list
                .as_string::<i32>()
                .iter()
                .flatten()
                .map(String::from)
                .collect(),
            label: label.value(i).to_string(),
            compound: compound.value(i),
        });
    }
    Ok(out)
}

fn ts_field(name: &str) -> Field {
    Field::new(
        name,
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        false,
    )
}

/// The columns of `ticker_summary.parquet` in the analytics zone (the Glue table declares them).
pub fn ticker_summary_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("detail_level", DataType::Utf8, false),
        Field::new("level", DataType::Utf8, false),
        ts_field("bucket_start"),
        Field::new("ticker", DataType::Utf8, false),
        Field::new("mentions", DataType::Int64, false),
        Field::new("positive", DataType::Int64, false),
        Field::new("negative", DataType::Int64, false),
        Field::new("neutral", DataType::Int64, false),
        Field::new("positive_ratio", DataType::Float64, false),
        Field::new("negative_ratio", DataType::Float64, false),
        Field::new("neutral_ratio", DataType::Float64, false),
        Field::new("mean_compound", DataType::Float64, false),
        Field::new("unique_authors", DataType::Int64, false),
        mean_p("mean_p_positive"),
        mean_p("mean_p_neutral"),
        mean_p("mean_p_negative"),
    ]))
}

/// The mean class probability of the mentions the model mode scored (null
/// when none was: the lexicon modes).
fn mean_p(name: &str) -> Field {
    Field::new(name, DataType::Float64, true)
}

/// Builders of the three mean probabilities.
fn mean_p_builders() -> [Float64Builder; 3] {
    std::array::from_fn(|_| Float64Builder::new())
}

fn append_mean_p(builders: &mut [Float64Builder; 3], c: &crate::Counts) {
    let means = c.mean_probabilities();
    for (k, b) in builders.iter_mut().enumerate() {
        b.append_option(means.map(|m| m[k]));
    }
}

pub fn overall_summary_schema() -> Arc<Schema> {
    let list = DataType::List(Arc::new(Field::new("element", DataType::Utf8, true)));
    Arc::new(Schema::new(vec![
        Field::new("detail_level", DataType::Utf8, false),
        Field::new("level", DataType::Utf8, false),
        ts_field("bucket_start"),
        Field::new("tweets", DataType::Int64, false),
        Field::new("ticker_mentions", DataType::Int64, false),
        Field::new("positive", DataType::Int64, false),
        Field::new("negative", DataType::Int64, false),
        Field::new("neutral", DataType::Int64, false),
        Field::new("mean_compound", DataType::Float64, false),
        Field::new("unique_authors", DataType::Int64, false),
        Field::new("top_hashtags", list.clone(), false),
        Field::new("top_words", list, false),
        mean_p("mean_p_positive"),
        mean_p("mean_p_neutral"),
        mean_p("mean_p_negative"),
    ]))
}

/// Counts are written as signed 64-bit: Athena and Glue have no unsigned type
/// (a `bigint` column over Parquet `UINT_64` fails to read), and no count
/// comes near 2^63.
fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn props() -> parquet::file::properties::WriterProperties {
    parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::ZSTD(Default::default()))
        .set_statistics_enabled(parquet::file::properties::EnabledStatistics::Chunk)
        .set_offset_index_disabled(true)
        .set_coerce_types(true)
        .build()
}

pub fn write_ticker_summaries<W: Write + Send>(
    items: &[TickerSummary],
    sink: W,
) -> Result<W, AggregateError> {
    let (mut key, mut level, mut ts, mut ticker) = (
        StringBuilder::new(),
        StringBuilder::new(),
        TimestampMicrosecondBuilder::new().with_timezone("UTC"),
        StringBuilder::new(),
    );
    let mut u: Vec<Int64Builder> = (0..5).map(|_| Int64Builder::new()).collect();
    let mut f: Vec<Float64Builder> = (0..4).map(|_| Float64Builder::new()).collect();
    let mut p = mean_p_builders();
    for t in items {
        key.append_value(t.bucket.key());
        level.append_value(t.bucket.level.name());
        ts.append_value(t.bucket.start_micros());
        ticker.append_value(&t.ticker);
        let c = &t.counts;
        for (b, v) in u.iter_mut().zip([
            c.mentions,
            c.positive,
            c.negative,
            c.neutral,
            t.unique_authors,
        ]) {
            b.append_value(signed(v));
        }
        for (b, v) in f.iter_mut().zip([
            c.positive_ratio(),
            c.negative_ratio(),
            c.neutral_ratio(),
            c.mean_compound(),
        ]) {
            b.append_value(v);
        }
        append_mean_p(&mut p, c);
    }
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(key.finish()),
        Arc::new(level.finish()),
        Arc::new(ts.finish()),
        Arc::new(ticker.finish()),
    ];
    let authors = u.pop().map(|mut b| b.finish());
    columns.extend(u.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    columns.extend(f.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    columns.extend(authors.map(|a| Arc::new(a) as ArrayRef));
    columns.extend(p.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    let batch = RecordBatch::try_new(ticker_summary_schema(), columns)?;
    let mut w = parquet::arrow::ArrowWriter::try_new(sink, ticker_summary_schema(), Some(props()))?;
    w.write(&batch)?;
    Ok(w.into_inner()?)
}

pub fn write_overall_summaries<W: Write + Send>(
    items: &[OverallSummary],
    sink: W,
) -> Result<W, AggregateError> {
    let item = || Arc::new(Field::new("element", DataType::Utf8, true));
    let (mut key, mut level, mut ts) = (
        StringBuilder::new(),
        StringBuilder::new(),
        TimestampMicrosecondBuilder::new().with_timezone("UTC"),
    );
    let mut u: Vec<Int64Builder> = (0..5).map(|_| Int64Builder::new()).collect();
    let mut mean = Float64Builder::new();
    let mut authors = Int64Builder::new();
    let mut tags = ListBuilder::new(StringBuilder::new()).with_field(item());
    let mut words = ListBuilder::new(StringBuilder::new()).with_field(item());
    let mut p = mean_p_builders();
    for o in items {
        key.append_value(o.bucket.key());
        level.append_value(o.bucket.level.name());
        ts.append_value(o.bucket.start_micros());
        let c = &o.counts;
        for (b, v) in u.iter_mut().zip([
            c.mentions,
            o.ticker_mentions,
            c.positive,
            c.negative,
            c.neutral,
        ]) {
            b.append_value(signed(v));
        }
        mean.append_value(c.mean_compound());
        append_mean_p(&mut p, c);
        authors.append_value(signed(o.unique_authors));
        for (h, _) in &o.hashtags {
            tags.values().append_value(h);
        }
        tags.append(true);
        for (w, _) in &o.words {
            words.values().append_value(w);
        }
        words.append(true);
    }
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(key.finish()),
        Arc::new(level.finish()),
        Arc::new(ts.finish()),
    ];
    columns.extend(u.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    columns.push(Arc::new(mean.finish()));
    columns.push(Arc::new(authors.finish()));
    columns.push(Arc::new(tags.finish()));
    columns.push(Arc::new(words.finish()));
    columns.extend(p.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    let batch = RecordBatch::try_new(overall_summary_schema(), columns)?;
    let mut w =
        parquet::arrow::ArrowWriter::try_new(sink, overall_summary_schema(), Some(props()))?;
    w.write(&batch)?;
    Ok(w.into_inner()?)
}
