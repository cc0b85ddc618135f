//! Aggregation, pure (no AWS): stage 2 rows into ticker and overall summaries
//! per 15 minutes and hour, then days, months and years rolled up from the
//! level below. Counts are integers (the mean compound is kept as a sum of
//! ten-thousandths), so a level is exactly the sum of the level below in any
//! order and however the data was split into runs.

pub mod alerting;
pub mod fixtures;
pub mod leaderboard;
pub mod level;
pub mod output;
pub mod run;
pub mod serving;
pub mod sketch;
pub mod trending;
pub mod words;

pub use level::{Bucket, Level};
pub use sketch::{author_hash, AuthorSketch};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Top words kept per ticker item, and per overall item; top hashtags per
/// ticker item and per overall item.
pub const TICKER_WORDS: usize = 25;
pub const TICKER_HASHTAGS: usize = 10;
pub const OVERALL_WORDS: usize = 100;
pub const OVERALL_HASHTAGS: usize = 50;

#[derive(Debug, thiserror::Error)]
pub enum AggregateError {
    #[error("stage 2 file: {0}")]
    Schema(String),
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
}

use tickerpulse_core::hash::{FxBuild, FxMap};
pub use tickerpulse_core::source::Source;

/// Sentiment counts of one bucket. `mentions` counts (tweet, ticker) pairs in
/// ticker items and tweets in overall items.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub mentions: u64,
    pub positive: u64,
    pub negative: u64,
    pub neutral: u64,
    /// Sum of compound scores in ten-thousandths (compound has four decimals).
    pub compound_e4: i64,
    /// Mentions whose tweet has class probabilities (the model mode), and the
    /// sums of those probabilities in millionths (positive, neutral, negative):
    /// integers, so that sums merge exactly in any order.
    #[serde(default)]
    pub scored: u64,
    #[serde(default)]
    pub probability_e6: [i64; 3],
    /// The same counts for each source's mentions alone, in the order of
    /// `Source::ALL` (x, bluesky, reddit): they sum to the totals.
    #[serde(default)]
    pub by_source: [SourceCounts; 3],
}

/// The sentiment counts of one source's mentions in a bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceCounts {
    pub mentions: u64,
    pub positive: u64,
    pub negative: u64,
    pub neutral: u64,
    pub compound_e4: i64,
}

impl SourceCounts {
    fn merge(&mut self, o: &SourceCounts) {
        self.mentions += o.mentions;
        self.positive += o.positive;
        self.negative += o.negative;
        self.neutral += o.neutral;
        self.compound_e4 += o.compound_e4;
    }
}

/// The index of a source in [`Counts::by_source`].
pub fn source_index(s: Source) -> usize {
    match s {
        Source::X => 0,
        Source::Bluesky => 1,
        Source::Reddit => 2,
    }
}

/// A probability in millionths.
pub fn probability_e6(p: f64) -> i64 {
    (p * 1_000_000.0).round() as i64
}

impl Counts {
    fn add(
        &mut self,
        label: Label,
        compound_e4: i64,
        probabilities: Option<[i64; 3]>,
        source: Source,
    ) {
        self.mentions += 1;
        let by = &mut self.by_source[source_index(source)];
        by.mentions += 1;
        match label {
            Label::Positive => {
                self.positive += 1;
                by.positive += 1;
            }
            Label::Negative => {
                self.negative += 1;
                by.negative += 1;
            }
            Label::Neutral => {
                self.neutral += 1;
                by.neutral += 1;
            }
        }
        self.compound_e4 += compound_e4;
        by.compound_e4 += compound_e4;
        if let Some(p) = probabilities {
            self.scored += 1;
            for (sum, p) in self.probability_e6.iter_mut().zip(p) {
                *sum += p;
            }
        }
    }

    pub fn merge(&mut self, o: &Counts) {
        self.mentions += o.mentions;
        self.positive += o.positive;
        self.negative += o.negative;
        self.neutral += o.neutral;
        self.compound_e4 += o.compound_e4;
        self.scored += o.scored;
        for (sum, p) in self.probability_e6.iter_mut().zip(o.probability_e6) {
            *sum += p;
        }
        for (sum, o) in self.by_source.iter_mut().zip(&o.by_source) {
            sum.merge(o);
        }
    }

    /// The counts of one source's mentions alone. The class probabilities
    /// are not kept by source: none here.
    pub fn of_source(&self, source: Source) -> Counts {
        let by = self.by_source[source_index(source)];
        let mut c = Counts {
            mentions: by.mentions,
            positive: by.positive,
            negative: by.negative,
            neutral: by.neutral,
            compound_e4: by.compound_e4,
            ..Counts::default()
        };
        c.by_source[source_index(source)] = by;
        c
    }

    /// Mentions by source, in the order of `Source::ALL`.
    pub fn source_mentions(&self) -> [u64; 3] {
        self.by_source.map(|b| b.mentions)
    }

    /// The mean probability of each class (positive, neutral, negative) over
    /// the mentions that have them, four decimals; `None` when none has
    /// (the lexicon modes).
    pub fn mean_probabilities(&self) -> Option<[f64; 3]> {
        (self.scored > 0).then(|| {
            self.probability_e6
                .map(|sum| (sum as f64 / self.scored as f64 / 100.0).round() / 10_000.0)
        })
    }

    fn ratio(&self, n: u64) -> f64 {
        if self.mentions == 0 {
            0.0
        } else {
            (n as f64 / self.mentions as f64 * 10_000.0).round() / 10_000.0
        }
    }
    pub fn positive_ratio(&self) -> f64 {
        self.ratio(self.positive)
    }
    pub fn negative_ratio(&self) -> f64 {
        self.ratio(self.negative)
    }
    pub fn neutral_ratio(&self) -> f64 {
        self.ratio(self.neutral)
    }
    /// Mean compound, four decimals.
    pub fn mean_compound(&self) -> f64 {
        if self.mentions == 0 {
            0.0
        } else {
            (self.compound_e4 as f64 / self.mentions as f64).round() / 10_000.0
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    Positive,
    Negative,
    Neutral,
}

impl Label {
    pub fn parse(s: &str) -> Label {
        match s {
            "positive" => Label::Positive,
            "negative" => Label::Negative,
            _ => Label::Neutral,
        }
    }
}

/// One ticker in one bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct TickerSummary {
    pub bucket: Bucket,
    pub ticker: String,
    pub counts: Counts,
    /// Exact for hours and quarters, estimated from `authors` above.
    pub unique_authors: u64,
    pub authors: AuthorSketch,
    /// Most frequent words, count then word order (hours and above).
    pub words: Vec<(String, u64)>,
    /// Most frequent hashtags of the tweets that name the ticker (hours and above).
    pub hashtags: Vec<(String, u64)>,
}

/// All tickers in one bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct OverallSummary {
    pub bucket: Bucket,
    /// Tweets (each once, whatever number of tickers it names).
    pub counts: Counts,
    /// (tweet, ticker) pairs.
    pub ticker_mentions: u64,
    pub unique_authors: u64,
    pub authors: AuthorSketch,
    pub hashtags: Vec<(String, u64)>,
    pub words: Vec<(String, u64)>,
}

fn top(counts: impl IntoIterator<Item = (String, u64)>, n: usize) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = counts.into_iter().filter(|(_, c)| *c > 0).collect();
    v.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(n);
    v
}

#[derive(Default)]
struct Interner {
    ids: HashMap<Box<str>, u32, FxBuild>,
    names: Vec<Box<str>>,
}

impl Interner {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(s.into());
        self.ids.insert(s.into(), id);
        id
    }
    fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }
}

#[derive(Default)]
struct Acc {
    counts: Counts,
    authors: Vec<u64>,
}

/// Accumulates stage 2 rows (of any hours) into quarter and hour summaries.
#[derive(Default)]
pub struct Aggregator {
    tickers: Interner,
    terms: Interner,
    /// (quarter index, ticker) and (quarter index, u32::MAX for overall).
    quarters: FxMap<(i64, u32), Acc>,
    /// (hour index, ticker or u32::MAX, word) counts.
    words: FxMap<(i64, u32, u32), u64>,
    /// (hour index, ticker or u32::MAX for overall, hashtag) counts.
    hashtags: FxMap<(i64, u32, u32), u64>,
    pub rows: u64,
}

const OVERALL: u32 = u32::MAX;

fn column<'a>(
    batch: &'a RecordBatch,
    name: &str,
) -> Result<&'a arrow_array::ArrayRef, AggregateError> {
    batch
        .column_by_name(name)
        .ok_or_else(|| AggregateError::Schema(format!("no column {name:?}")))
}

/// The stage 2 columns aggregation reads.
pub const COLUMNS: &[&str] = &[
    "created_at",
    "author_id",
    "watched_tickers",
    "hashtags",
    "text_clean",
    "sentiment_compound",
    "sentiment_label",
    // Absent from files written before the model mode: read as none.
    "sentiment_p_positive",
    "sentiment_p_neutral",
    "sentiment_p_negative",
    // Absent from files written before sources: read as X.
    "source",
];

impl Aggregator {
    pub fn push_batch(&mut self, batch: &RecordBatch) -> Result<(), AggregateError> {
        let created = column(batch, "created_at")?.as_primitive::<TimestampMicrosecondType>();
        let author = column(batch, "author_id")?.as_string::<i32>();
        let tickers = column(batch, "watched_tickers")?.as_list::<i32>();
        let ticker_values = tickers.values().as_string::<i32>();
        let hashtags = column(batch, "hashtags")?.as_list::<i32>();
        let hashtag_values = hashtags.values().as_string::<i32>();
        let text = column(batch, "text_clean")?.as_string::<i32>();
        let compound = column(batch, "sentiment_compound")?.as_primitive::<Float64Type>();
        let label = column(batch, "sentiment_label")?.as_string::<i32>();
        let probability = |name| {
            batch
                .column_by_name(name)
                .map(|c| c.as_primitive::<Float64Type>())
        };
        let sources = batch.column_by_name("source").map(|c| c.as_string::<i32>());
        let probabilities = [
            probability("sentiment_p_positive"),
            probability("sentiment_p_neutral"),
            probability("sentiment_p_negative"),
        ];
        let mut row_tickers: Vec<u32> = Vec::with_capacity(8);
        let mut row_words: Vec<u32> = Vec::with_capacity(32);
        for i in 0..batch.num_rows() {
            self.rows += 1;
            let micros = created.value(i);
            let quarter = micros.div_euclid(level::MICROS_PER_QUARTER);
            let hour = micros.div_euclid(level::MICROS_PER_HOUR);
            let label = Label::parse(label.value(i));
            let compound_e4 = (compound.value(i) * 10_000.0).round() as i64;
            let probabilities = match probabilities {
                [Some(p), Some(n), Some(m)] if !p.is_null(i) && !n.is_null(i) && !m.is_null(i) => {
                    Some([p, n, m].map(|c| probability_e6(c.value(i))))
                }
                _ => None,
            };
            let source = sources
                .filter(|s| !s.is_null(i))
                .and_then(|s| Source::parse(s.value(i)))
                .unwrap_or(Source::X);
            let author = (!author.is_null(i)).then(|| author_hash(author.value(i)));
            row_tickers.clear();
            let offsets = tickers.value_offsets();
            for j in offsets[i] as usize..offsets[i + 1] as usize {
                let id = self.tickers.id(ticker_values.value(j));
                if !row_tickers.contains(&id) {
                    row_tickers.push(id);
                }
            }
            row_words.clear();
            let terms = &mut self.terms;
            words::for_each_word(text.value(i), |w| {
                let id = terms.id(w);
                row_words.push(id);
            });
            for &t in row_tickers.iter().chain(std::iter::once(&OVERALL)) {
                let acc = self.quarters.entry((quarter, t)).or_default();
                acc.counts.add(label, compound_e4, probabilities, source);
                if let Some(a) = author {
                    acc.authors.push(a);
                }
                for &w in &row_words {
                    *self.words.entry((hour, t, w)).or_default() += 1;
                }
            }
            let offsets = hashtags.value_offsets();
            for j in offsets[i] as usize..offsets[i + 1] as usize {
                let id = self.terms.id(&hashtag_values.value(j).to_lowercase());
                for &t in row_tickers.iter().chain(std::iter::once(&OVERALL)) {
                    *self.hashtags.entry((hour, t, id)).or_default() += 1;
                }
            }
        }
        Ok(())
    }

    /// Quarter and hour summaries of everything pushed, in key order.
    pub fn finish(self) -> (Vec<TickerSummary>, Vec<OverallSummary>) {
        let mut by_hour: BTreeMap<(i64, u32), Vec<(i64, Acc)>> = BTreeMap::new();
        for ((quarter, t), acc) in self.quarters {
            by_hour
                .entry((quarter.div_euclid(4), t))
                .or_default()
                .push((quarter, acc));
        }
        let mut words: FxMap<(i64, u32), Vec<(String, u64)>> = FxMap::default();
        for ((hour, t, w), n) in self.words {
            words
                .entry((hour, t))
                .or_default()
                .push((self.terms.name(w).to_string(), n));
        }
        let mut hashtags: FxMap<(i64, u32), Vec<(String, u64)>> = FxMap::default();
        for ((hour, t, h), n) in self.hashtags {
            hashtags
                .entry((hour, t))
                .or_default()
                .push((self.terms.name(h).to_string(), n));
        }
        let mut tickers_out = Vec::new();
        let mut overall_out = Vec::new();
        let mut ticker_mentions: FxMap<i64, u64> = FxMap::default();
        let mut quarter_mentions: FxMap<i64, u64> = FxMap::default();
        for ((hour, t), mut quarters) in by_hour {
            quarters.sort_by_key(|(q, _)| *q);
            let hour_bucket = Bucket::quarter_of(hour * level::MICROS_PER_HOUR).at(Level::Hour);
            let mut hour_counts = Counts::default();
            let mut hour_authors: Vec<u64> = Vec::new();
            for (q, acc) in &mut quarters {
                let bucket = Bucket::quarter_of(*q * level::MICROS_PER_QUARTER);
                acc.authors.sort_unstable();
                acc.authors.dedup();
                let mut sketch = AuthorSketch::default();
                for &a in &acc.authors {
                    sketch.insert_hash(a);
                }
                hour_counts.merge(&acc.counts);
                hour_authors.extend_from_slice(&acc.authors);
                if t == OVERALL {
                    overall_out.push(OverallSummary {
                        bucket,
                        counts: acc.counts,
                        ticker_mentions: 0,
                        unique_authors: acc.authors.len() as u64,
                        authors: sketch,
                        hashtags: Vec::new(),
                        words: Vec::new(),
                    });
                } else {
                    *quarter_mentions.entry(*q).or_default() += acc.counts.mentions;
                    tickers_out.push(TickerSummary {
                        bucket,
                        ticker: self.tickers.name(t).to_string(),
                        counts: acc.counts,
                        unique_authors: acc.authors.len() as u64,
                        authors: sketch,
                        words: Vec::new(),
                        hashtags: Vec::new(),
                    });
                }
            }
            hour_authors.sort_unstable();
            hour_authors.dedup();
            let mut sketch = AuthorSketch::default();
            for &a in &hour_authors {
                sketch.insert_hash(a);
            }
            let hour_words = words.remove(&(hour, t)).unwrap_or_default();
            let hour_hashtags = hashtags.remove(&(hour, t)).unwrap_or_default();
            if t == OVERALL {
                overall_out.push(OverallSummary {
                    bucket: hour_bucket,
                    counts: hour_counts,
                    ticker_mentions: 0,
                    unique_authors: hour_authors.len() as u64,
                    authors: sketch,
                    hashtags: top(hour_hashtags, OVERALL_HASHTAGS),
                    words: top(hour_words, OVERALL_WORDS),
                });
            } else {
                *ticker_mentions.entry(hour).or_default() += hour_counts.mentions;
                tickers_out.push(TickerSummary {
                    bucket: hour_bucket,
                    ticker: self.tickers.name(t).to_string(),
                    counts: hour_counts,
                    unique_authors: hour_authors.len() as u64,
                    authors: sketch,
                    words: top(hour_words, TICKER_WORDS),
                    hashtags: top(hour_hashtags, TICKER_HASHTAGS),
                });
            }
        }
        for o in &mut overall_out {
            let start = o.bucket.start_micros();
            let index = match o.bucket.level {
                Level::Hour => ticker_mentions.get(&start.div_euclid(level::MICROS_PER_HOUR)),
                _ => quarter_mentions.get(&start.div_euclid(level::MICROS_PER_QUARTER)),
            };
            o.ticker_mentions = index.copied().unwrap_or(0);
        }
        tickers_out.sort_by(|a, b| (a.bucket, &a.ticker).cmp(&(b.bucket, &b.ticker)));
        overall_out.sort_by_key(|o| o.bucket);
        (tickers_out, overall_out)
    }
}

fn merge_top(lists: &[&[(String, u64)]], n: usize) -> Vec<(String, u64)> {
    let mut sum: BTreeMap<&str, u64> = BTreeMap::new();
    for list in lists {
        for (w, c) in *list {
            *sum.entry(w).or_default() += c;
        }
    }
    top(sum.into_iter().map(|(w, c)| (w.to_string(), c)), n)
}

/// The items of `parent` from its children's items (any order): counts are
/// sums, unique authors the merged sketch's estimate, words the top of the
/// summed lists (each child kept its top words only, so the parent's are
/// approximate beyond them).
pub fn roll_up_tickers(parent: Bucket, children: &[TickerSummary]) -> Vec<TickerSummary> {
    let mut by_ticker: BTreeMap<&str, Vec<&TickerSummary>> = BTreeMap::new();
    for c in children {
        if c.bucket.parent() == Some(parent) {
            by_ticker.entry(&c.ticker).or_default().push(c);
        }
    }
    by_ticker
        .into_iter()
        .map(|(ticker, items)| {
            let mut counts = Counts::default();
            let mut authors = AuthorSketch::default();
            for i in &items {
                counts.merge(&i.counts);
                authors.merge(&i.authors);
            }
            let lists: Vec<&[(String, u64)]> = items.iter().map(|i| i.words.as_slice()).collect();
            let tags: Vec<&[(String, u64)]> = items.iter().map(|i| i.hashtags.as_slice()).collect();
            TickerSummary {
                bucket: parent,
                ticker: ticker.to_string(),
                counts,
                unique_authors: authors.estimate(),
                authors,
                words: merge_top(&lists, TICKER_WORDS),
                hashtags: merge_top(&tags, TICKER_HASHTAGS),
            }
        })
        .collect()
}

/// The overall item of `parent` from its children's (None without children).
pub fn roll_up_overall(parent: Bucket, children: &[OverallSummary]) -> Option<OverallSummary> {
    let items: Vec<&OverallSummary> = children
        .iter()
        .filter(|c| c.bucket.parent() == Some(parent))
        .collect();
    if items.is_empty() {
        return None;
    }
    let mut counts = Counts::default();
    let mut authors = AuthorSketch::default();
    let mut ticker_mentions = 0;
    for i in &items {
        counts.merge(&i.counts);
        authors.merge(&i.authors);
        ticker_mentions += i.ticker_mentions;
    }
    let hashtags: Vec<&[(String, u64)]> = items.iter().map(|i| i.hashtags.as_slice()).collect();
    let words: Vec<&[(String, u64)]> = items.iter().map(|i| i.words.as_slice()).collect();
    Some(OverallSummary {
        bucket: parent,
        counts,
        ticker_mentions,
        unique_authors: authors.estimate(),
        authors,
        hashtags: merge_top(&hashtags, OVERALL_HASHTAGS),
        words: merge_top(&words, OVERALL_WORDS),
    })
}

/// Reads a stage 2 cleaned file's columns for aggregation, and `extra` ones,
/// in batches; the others are not decoded.
pub fn read_stage2(
    bytes: bytes::Bytes,
    extra: &[&str],
) -> Result<parquet::arrow::arrow_reader::ParquetRecordBatchReader, AggregateError> {
    let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes)?;
    let schema = builder.parquet_schema();
    let leaves: Vec<usize> = schema
        .columns()
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            let top = c.path().parts()[0].as_str();
            COLUMNS.contains(&top) || extra.contains(&top)
        })
        .map(|(i, _)| i)
        .collect();
    let mask = parquet::arrow::ProjectionMask::leaves(schema, leaves);
    Ok(builder
        .with_projection(mask)
        .with_batch_size(8_192)
        .build()?)
}

#[cfg(test)]
mod tests;
