//! The Parquet codec of the lake: the typed schema of stage 1 and 2, enriched
//! tweets into Arrow columns, and the writer settings every zone uses.

use crate::LakeError;
use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, ListBuilder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::schema::types::ColumnPath;
use std::borrow::Cow;
use std::io::Write;
use std::sync::Arc;

/// Rows per row group (dictionaries and statistics work within one).
pub const ROW_GROUP_ROWS: usize = 131_072;

fn utc() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// List items are named `element`, as the Parquet spec recommends and as the
/// files read back, so batches read from one stage can be written to the next.
pub fn list_item() -> Arc<Field> {
    Arc::new(Field::new("element", DataType::Utf8, true))
}

fn list_of_strings() -> DataType {
    DataType::List(list_item())
}

/// A builder for a list-of-strings column of the lake's schema.
pub fn list_builder() -> ListBuilder<StringBuilder> {
    ListBuilder::new(StringBuilder::new()).with_field(list_item())
}

/// The columns of stage 1; stage 2 adds `text_clean`, and its spam table `spam_reason`.
/// The README and the Glue tables in `template.yaml` list the same columns.
pub fn tweet_fields() -> Vec<Field> {
    vec![
        Field::new("tweet_id", DataType::Utf8, false),
        Field::new("created_at", utc(), false),
        Field::new("author_id", DataType::Utf8, true),
        Field::new("author_username", DataType::Utf8, true),
        Field::new("author_verified", DataType::Boolean, true),
        Field::new("author_followers", DataType::Int64, true),
        Field::new("author_created_at", utc(), true),
        Field::new("text", DataType::Utf8, false),
        Field::new("lang", DataType::Utf8, true),
        Field::new("tickers", list_of_strings(), false),
        Field::new("watched_tickers", list_of_strings(), false),
        Field::new("hashtags", list_of_strings(), false),
        Field::new("mentions", list_of_strings(), false),
        Field::new("urls", list_of_strings(), false),
        Field::new("retweet_count", DataType::Int64, true),
        Field::new("reply_count", DataType::Int64, true),
        Field::new("like_count", DataType::Int64, true),
        Field::new("quote_count", DataType::Int64, true),
        Field::new("is_retweet", DataType::Boolean, false),
        Field::new("is_reply", DataType::Boolean, false),
        Field::new("is_quote", DataType::Boolean, false),
        Field::new("sentiment_compound", DataType::Float64, false),
        Field::new("sentiment_pos", DataType::Float64, false),
        Field::new("sentiment_neu", DataType::Float64, false),
        Field::new("sentiment_neg", DataType::Float64, false),
        Field::new("sentiment_label", DataType::Utf8, false),
        Field::new("sentiment_mode", DataType::Utf8, false),
        Field::new("scorer", DataType::Utf8, false),
        Field::new("arrival_time", utc(), true),
        // The model mode's class probabilities (null in the lexicon modes, and
        // in files written before them: `conform` reads those).
        Field::new("sentiment_p_positive", DataType::Float64, true),
        Field::new("sentiment_p_neutral", DataType::Float64, true),
        Field::new("sentiment_p_negative", DataType::Float64, true),
        // Where the post came from: `x`, `bluesky` or `reddit` (files written
        // before there were sources read as `x`: `conform` fills them).
        Field::new("source", DataType::Utf8, false),
    ]
}

/// A batch of an older file with the columns of `schema`: the columns it has,
/// by name, and nulls for the nullable ones added since (the class
/// probabilities), and `x` for the source. A column it lacks that is not
/// nullable is an error.
pub fn conform(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, LakeError> {
    if batch.schema().fields() == schema.fields() {
        return Ok(batch.clone());
    }
    let columns = schema
        .fields()
        .iter()
        .map(|f| match batch.column_by_name(f.name()) {
            Some(c) => Ok(c.clone()),
            None if f.name() == "source" => Ok(Arc::new(arrow_array::StringArray::from(vec![
                tickerpulse_core::source::Source::X.as_str();
                batch.num_rows()
            ])) as ArrayRef),
            None if f.is_nullable() => {
                Ok(arrow_array::new_null_array(f.data_type(), batch.num_rows()))
            }
            None => Err(LakeError::Invalid(format!(
                "the file has no column {:?}",
                f.name()
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

pub fn stage1_schema() -> SchemaRef {
    Arc::new(Schema::new(tweet_fields()))
}

pub fn cleaned_schema() -> SchemaRef {
    let mut fields = tweet_fields();
    fields.push(Field::new("text_clean", DataType::Utf8, false));
    Arc::new(Schema::new(fields))
}

pub fn spam_schema() -> SchemaRef {
    let mut fields = tweet_fields();
    fields.push(Field::new("text_clean", DataType::Utf8, false));
    fields.push(Field::new("spam_reason", DataType::Utf8, false));
    Arc::new(Schema::new(fields))
}

/// How every Parquet file of the lake is written, and why:
/// - zstd, dictionaries only on the columns that repeat (tickers, labels,
///   language); free text and ids go plain, so no time is spent building a
///   dictionary that would be thrown away. Authors go plain too: they repeat
///   little within a file, and interning them cost about 6% of compaction's
///   time for 1.5% of the file's size (`make bench-lake`, 1,000,000 tweets);
///   zstd still finds the repeats;
/// - statistics per column chunk, and no page indexes: Java readers (Spark,
///   Athena, Glue) were reported to return 0 rows for parquet-rs files with
///   page indexes (arrow-rs issue #10316);
/// - list elements named `element`, as the Parquet spec recommends
///   (`coerce_types`), which Spark and Hive expect.
pub fn writer_properties() -> WriterProperties {
    let plain = [
        "tweet_id",
        "text",
        "text_clean",
        "urls.list.element",
        "author_id",
        "author_username",
    ];
    let mut builder = WriterProperties::builder()
        .set_writer_version(WriterVersion::PARQUET_1_0)
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).unwrap_or_default()))
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_offset_index_disabled(true)
        .set_coerce_types(true)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_created_by("tickerpulse (parquet-rs)".into());
    for column in plain {
        builder = builder.set_column_dictionary_enabled(ColumnPath::from(column), false);
    }
    // Nobody filters on the range of a free text: no min/max to compute there.
    for column in [
        "text",
        "text_clean",
        "urls.list.element",
        "mentions.list.element",
    ] {
        builder = builder
            .set_column_statistics_enabled(ColumnPath::from(column), EnabledStatistics::None);
    }
    // Tweets arrive about in time order: deltas of the creation time are small.
    builder
        .set_column_dictionary_enabled(ColumnPath::from("created_at"), false)
        .set_column_encoding(
            ColumnPath::from("created_at"),
            Encoding::DELTA_BINARY_PACKED,
        )
        .build()
}

/// A Parquet writer over any `Write`, with the lake's properties.
pub fn writer<W: Write + Send>(sink: W, schema: SchemaRef) -> Result<ArrowWriter<W>, LakeError> {
    Ok(ArrowWriter::try_new(
        sink,
        schema,
        Some(writer_properties()),
    )?)
}

/// Microseconds since the epoch of an RFC 3339 timestamp. The X API's form,
/// `2020-04-15T01:03:46.000Z`, takes a fast path; other offsets go through `time`.
pub fn timestamp_micros(ts: &str) -> Option<i64> {
    let b = ts.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<i64> {
        let mut v = 0i64;
        for &c in b.get(r)? {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(c - b'0');
        }
        Some(v)
    };
    let fast = || -> Option<i64> {
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
            return None;
        }
        if b[13] != b':' || b[16] != b':' || !matches!(*b.last()?, b'Z' | b'z') {
            return None;
        }
        let (y, m, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
        let (hh, mm, ss) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
        let mut micros = 0i64;
        let frac = &b[19..b.len() - 1];
        if !frac.is_empty() {
            if frac[0] != b'.' || frac.len() < 2 || frac.len() > 10 {
                return None;
            }
            let n = frac.len() - 1;
            micros = digits(20..20 + n)?;
            for _ in n..6 {
                micros *= 10;
            }
            for _ in 6..n {
                micros /= 10;
            }
        }
        if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
            return None;
        }
        let days = tickerpulse_core::civil::days_from_civil(y, m, d);
        Some(((days * 86_400 + hh * 3_600 + mm * 60 + ss) * 1_000_000) + micros)
    };
    fast().or_else(|| {
        let t = tickerpulse_core::partition::parse_rfc3339(ts).ok()?;
        i64::try_from(t.unix_timestamp_nanos() / 1_000).ok()
    })
}

/// An enriched tweet as it lies in a raw JSON line, borrowed where the JSON
/// has no escapes: the transform's own record type, so the two cannot drift.
pub type TweetRecord<'a> = tickerpulse_core::tweet::EnrichedTweet<'a>;

/// The sentiment of a [`TweetRecord`].
pub type SentimentRecord<'a> = tickerpulse_core::tweet::Sentiment<'a>;

fn count(v: Option<u64>) -> Option<i64> {
    v.map(|n| i64::try_from(n).unwrap_or(i64::MAX))
}

/// The column builders of one batch of tweets.
pub struct TweetColumns {
    tweet_id: StringBuilder,
    created_at: TimestampMicrosecondBuilder,
    author_id: StringBuilder,
    author_username: StringBuilder,
    author_verified: BooleanBuilder,
    author_followers: Int64Builder,
    author_created_at: TimestampMicrosecondBuilder,
    text: StringBuilder,
    lang: StringBuilder,
    tickers: ListBuilder<StringBuilder>,
    watched_tickers: ListBuilder<StringBuilder>,
    hashtags: ListBuilder<StringBuilder>,
    mentions: ListBuilder<StringBuilder>,
    urls: ListBuilder<StringBuilder>,
    retweet_count: Int64Builder,
    reply_count: Int64Builder,
    like_count: Int64Builder,
    quote_count: Int64Builder,
    is_retweet: BooleanBuilder,
    is_reply: BooleanBuilder,
    is_quote: BooleanBuilder,
    compound: Float64Builder,
    pos: Float64Builder,
    neu: Float64Builder,
    neg: Float64Builder,
    label: StringBuilder,
    mode: StringBuilder,
    scorer: StringBuilder,
    arrival_time: TimestampMicrosecondBuilder,
    p_positive: Float64Builder,
    p_neutral: Float64Builder,
    p_negative: Float64Builder,
    source: StringBuilder,
    rows: usize,
}

impl Default for TweetColumns {
    fn default() -> Self {
        Self::new()
    }
}

fn strings(b: &mut ListBuilder<StringBuilder>, values: &[Cow<'_, str>]) {
    for v in values {
        b.values().append_value(v);
    }
    b.append(true);
}

impl TweetColumns {
    pub fn new() -> Self {
        let ts = || TimestampMicrosecondBuilder::new().with_timezone("UTC");
        Self {
            tweet_id: StringBuilder::new(),
            created_at: ts(),
            author_id: StringBuilder::new(),
            author_username: StringBuilder::new(),
            author_verified: BooleanBuilder::new(),
            author_followers: Int64Builder::new(),
            author_created_at: ts(),
            text: StringBuilder::new(),
            lang: StringBuilder::new(),
            tickers: list_builder(),
            watched_tickers: list_builder(),
            hashtags: list_builder(),
            mentions: list_builder(),
            urls: list_builder(),
            retweet_count: Int64Builder::new(),
            reply_count: Int64Builder::new(),
            like_count: Int64Builder::new(),
            quote_count: Int64Builder::new(),
            is_retweet: BooleanBuilder::new(),
            is_reply: BooleanBuilder::new(),
            is_quote: BooleanBuilder::new(),
            compound: Float64Builder::new(),
            pos: Float64Builder::new(),
            neu: Float64Builder::new(),
            neg: Float64Builder::new(),
            label: StringBuilder::new(),
            mode: StringBuilder::new(),
            scorer: StringBuilder::new(),
            arrival_time: ts(),
            p_positive: Float64Builder::new(),
            p_neutral: Float64Builder::new(),
            p_negative: Float64Builder::new(),
            source: StringBuilder::new(),
            rows: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Appends one tweet whose `created_at` is already known as microseconds.
    pub fn push(&mut self, t: &TweetRecord<'_>, created_micros: i64) {
        self.tweet_id.append_value(&t.tweet_id);
        self.created_at.append_value(created_micros);
        self.author_id.append_option(t.author_id.as_deref());
        self.author_username
            .append_option(t.author_username.as_deref());
        self.author_verified.append_option(t.author_verified);
        self.author_followers
            .append_option(count(t.author_followers));
        self.author_created_at
            .append_option(t.author_created_at.as_deref().and_then(timestamp_micros));
        self.text.append_value(&t.text);
        self.lang.append_option(t.lang.as_deref());
        strings(&mut self.tickers, &t.tickers);
        strings(&mut self.watched_tickers, &t.watched_tickers);
        strings(&mut self.hashtags, &t.hashtags);
        strings(&mut self.mentions, &t.mentions);
        strings(&mut self.urls, &t.urls);
        self.retweet_count.append_option(count(t.retweet_count));
        self.reply_count.append_option(count(t.reply_count));
        self.like_count.append_option(count(t.like_count));
        self.quote_count.append_option(count(t.quote_count));
        self.is_retweet.append_value(t.is_retweet);
        self.is_reply.append_value(t.is_reply);
        self.is_quote.append_value(t.is_quote);
        self.compound.append_value(t.sentiment.compound);
        self.pos.append_value(t.sentiment.pos);
        self.neu.append_value(t.sentiment.neu);
        self.neg.append_value(t.sentiment.neg);
        self.label.append_value(&t.sentiment.label);
        self.mode.append_value(&t.sentiment.mode);
        self.scorer.append_value(&t.sentiment.scorer);
        self.arrival_time
            .append_option(t.arrival_ms.and_then(|ms| ms.checked_mul(1_000)));
        let p = t.sentiment.probabilities;
        self.p_positive.append_option(p.map(|p| p.positive));
        self.p_neutral.append_option(p.map(|p| p.neutral));
        self.p_negative.append_option(p.map(|p| p.negative));
        self.source.append_value(t.source().as_str());
        self.rows += 1;
    }

    /// The batch so far (the builders start over).
    pub fn finish(&mut self) -> Result<RecordBatch, LakeError> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.tweet_id.finish()),
            Arc::new(self.created_at.finish()),
            Arc::new(self.author_id.finish()),
            Arc::new(self.author_username.finish()),
            Arc::new(self.author_verified.finish()),
            Arc::new(self.author_followers.finish()),
            Arc::new(self.author_created_at.finish()),
            Arc::new(self.text.finish()),
            Arc::new(self.lang.finish()),
            Arc::new(self.tickers.finish()),
            Arc::new(self.watched_tickers.finish()),
            Arc::new(self.hashtags.finish()),
            Arc::new(self.mentions.finish()),
            Arc::new(self.urls.finish()),
            Arc::new(self.retweet_count.finish()),
            Arc::new(self.reply_count.finish()),
            Arc::new(self.like_count.finish()),
            Arc::new(self.quote_count.finish()),
            Arc::new(self.is_retweet.finish()),
            Arc::new(self.is_reply.finish()),
            Arc::new(self.is_quote.finish()),
            Arc::new(self.compound.finish()),
            Arc::new(self.pos.finish()),
            Arc::new(self.neu.finish()),
            Arc::new(self.neg.finish()),
            Arc::new(self.label.finish()),
            Arc::new(self.mode.finish()),
            Arc::new(self.scorer.finish()),
            Arc::new(self.arrival_time.finish()),
            Arc::new(self.p_positive.finish()),
            Arc::new(self.p_neutral.finish()),
            Arc::new(self.p_negative.finish()),
            Arc::new(self.source.finish()),
        ];
        self.rows = 0;
        Ok(RecordBatch::try_new(stage1_schema(), columns)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_fast_and_slow_paths_agree() {
        for (ts, want) in [
            ("1970-01-01T00:00:00Z", Some(0)),
            ("2020-04-15T01:03:46.000Z", Some(1_586_912_626_000_000)),
            ("2020-04-15T01:03:46.123456Z", Some(1_586_912_626_123_456)),
            ("2020-04-15T03:03:46.5+02:00", Some(1_586_912_626_500_000)),
            ("2024-02-29T23:59:59Z", Some(1_709_251_199_000_000)),
            ("2020-13-15T01:03:46Z", None),
            ("yesterday", None),
            ("", None),
        ] {
            assert_eq!(timestamp_micros(ts), want, "{ts}");
        }
    }

    #[test]
    fn files_written_before_sources_read_as_x() {
        let mut cols = TweetColumns::new();
        let line = r#"{"schema_version":1,"tweet_id":"1","created_at":"2020-04-15T01:03:46.000Z","author_id":null,"author_username":null,"author_verified":null,"author_followers":null,"author_created_at":null,"text":"t","lang":null,"tickers":[],"watched_tickers":[],"hashtags":[],"mentions":[],"urls":[],"retweet_count":null,"reply_count":null,"like_count":null,"quote_count":null,"is_retweet":false,"is_reply":false,"is_quote":false,"sentiment":{"compound":0.0,"pos":0.0,"neu":1.0,"neg":0.0,"label":"neutral","mode":"vader","scorer":"s"},"arrival_ms":null}"#;
        let mut t: TweetRecord<'_> = serde_json::from_str(line).unwrap();
        cols.push(&t, 0);
        t.source = Some("reddit".into());
        cols.push(&t, 0);
        let batch = cols.finish().unwrap();
        let sources = |b: &RecordBatch| {
            let c = b.column_by_name("source").unwrap();
            let c = c
                .as_any()
                .downcast_ref::<arrow_array::StringArray>()
                .unwrap();
            c.iter().map(|s| s.unwrap().to_string()).collect::<Vec<_>>()
        };
        assert_eq!(sources(&batch), ["x", "reddit"]);
        // A file of before: every column but `source`.
        let old_schema = Arc::new(Schema::new(
            tweet_fields()
                .into_iter()
                .filter(|f| f.name() != "source")
                .collect::<Vec<_>>(),
        ));
        let old = RecordBatch::try_new(
            old_schema.clone(),
            old_schema
                .fields()
                .iter()
                .map(|f| batch.column_by_name(f.name()).unwrap().clone())
                .collect(),
        )
        .unwrap();
        assert_eq!(
            sources(&conform(&old, &stage1_schema()).unwrap()),
            ["x", "x"]
        );
    }
}
