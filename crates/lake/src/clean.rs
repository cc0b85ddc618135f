//! Cleaning, stage 1 to stage 2: normalized text, only tweets that name a
//! watched ticker, and spam split out with the rules that flagged it.

use crate::codec::{self, cleaned_schema, spam_schema};
use crate::LakeError;
use arrow_array::builder::StringBuilder;
use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch};
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::sync::Arc;
use tickerpulse_core::watchlist::Watchlist;
use unicode_normalization::UnicodeNormalization;

/// Rows read from stage 1 at a time.
const BATCH_ROWS: usize = 8_192;

/// The spam rules' knobs.
#[derive(Debug, Clone, PartialEq)]
pub struct SpamRules {
    /// More cashtags than this in one tweet is stuffing.
    pub max_cashtags: usize,
    /// The same text from at least this many accounts in the partition is a campaign.
    pub duplicate_accounts: usize,
    /// Texts shorter than this (after normalization for comparison) are too
    /// generic to call a copy ("$TSLA 🚀").
    pub duplicate_min_chars: usize,
    /// Accounts younger than this when they post are brand new.
    pub new_account_days: i64,
}

impl Default for SpamRules {
    fn default() -> Self {
        Self {
            max_cashtags: 9,
            duplicate_accounts: 3,
            duplicate_min_chars: 24,
            new_account_days: 7,
        }
    }
}

/// Phrases of giveaways, paid groups and promotions (matched on lower-cased,
/// normalized text).
const PROMOTION: &[&str] = &[
    // Giveaways and engagement bait.
    "giveaway",
    "give away",
    "enter to win",
    "chance to win",
    "to win $",
    "win a free",
    "retweet & follow",
    "retweet and follow",
    "follow & retweet",
    "follow and retweet",
    "rt & follow",
    "rt and follow",
    "like & retweet",
    "retweets and i",
    "follow me",
    "follow us",
    "thanks for liking",
    // Paid groups, signal and alert services.
    "free signals",
    "forex signals",
    "free alert",
    "alert service",
    "alerts service",
    "trade alerts",
    "trade with us",
    "join us",
    "join our",
    "join my",
    "join the chat",
    "join free",
    "join now",
    "join https",
    "our discord",
    "our telegram",
    "telegram group",
    "whatsapp",
    "vip group",
    "vip follower",
    "premium members",
    "our members",
    "our traders",
    "limited spots",
    "get instant",
    // Calls to action and referral links.
    "dm me",
    "dm for",
    "link in bio",
    "link in my bio",
    "click the link",
    "click here",
    "using this link",
    "use my link",
    "info link",
    "find out more",
    "for more information",
    "subscribe",
    "sign up",
    "signup",
    "referral code",
    "promo code",
    "use code",
    "% off",
    "free trial",
    "free stock",
    "free share",
    "free seminar",
    "free webinar",
    "airdrop",
    "guaranteed",
    "100% free",
    "get paid",
    "youtube channel",
    "new video on youtube",
    "via @youtube",
    // Penny-stock promotion.
    "otc:",
    "otc pink",
    "otcqb",
    "#pennystocks",
];

/// What a cleaning did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CleanStats {
    pub rows_in: u64,
    pub cleaned: u64,
    pub spam: u64,
    /// Tweets that name no watched ticker (not kept anywhere in stage 2).
    pub unwatched: u64,
    /// Spam rows per rule (a row can match several).
    pub spam_by_rule: BTreeMap<String, u64>,
}

/// Decodes the HTML entities the X API leaves in texts (`&amp;` and friends,
/// numeric ones too).
fn decode_entities(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('&') {
        return text.into();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest[1..].find(';').map(|e| e + 1).filter(|&e| e <= 10);
        let decoded = end.and_then(|e| {
            let name = &rest[1..e];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => {
                    let n = name.strip_prefix('#')?;
                    let code = match n.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => n.parse().ok()?,
                    };
                    char::from_u32(code)
                }
            }?;
            Some((c, e + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out.into()
}

fn is_url_start(word: &str) -> bool {
    let w = word.to_ascii_lowercase();
    w.starts_with("http://") || w.starts_with("https://") || w.starts_with("www.")
}

fn is_mention(word: &str) -> bool {
    word.len() > 1
        && word.starts_with('@')
        && word[1..]
            .trim_end_matches(|c: char| !c.is_alphanumeric() && c != '_')
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The text as analysts read it: HTML entities decoded, Unicode in NFKC form
/// (so 𝗕𝗨𝗬 reads BUY), no zero-width or control characters, no links, no
/// user mentions, no leading "RT", whitespace collapsed.
pub fn normalize_text(text: &str) -> String {
    let decoded = decode_entities(text);
    let folded: String = decoded
        .nfkc()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .filter(|c| {
            !c.is_control() && !matches!(c, '\u{200B}'..='\u{200F}' | '\u{2060}' | '\u{FEFF}')
        })
        .collect();
    let mut out = String::with_capacity(folded.len());
    let mut first = true;
    for word in folded.split(' ').filter(|w| !w.is_empty()) {
        if is_url_start(word) || is_mention(word) || (first && word == "RT") {
            continue;
        }
        if first && word == ":" {
            continue;
        }
        first = false;
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// The text as compared for copies: lower case, letters and spaces only
/// (cashtags, numbers, links and punctuation vary between copies of a campaign).
pub fn comparison_key(clean: &str) -> String {
    let mut key = String::with_capacity(clean.len());
    for word in clean.split(' ') {
        if word.starts_with('$') || word.starts_with('#') {
            continue;
        }
        let letters: String = word
            .chars()
            .filter(|c| c.is_alphabetic())
            .flat_map(char::to_lowercase)
            .collect();
        if !letters.is_empty() {
            if !key.is_empty() {
                key.push(' ');
            }
            key.push_str(&letters);
        }
    }
    key
}

/// Words of a normalized text that are neither cashtags, hashtags nor numbers.
fn content_words(clean: &str) -> usize {
    clean
        .split(' ')
        .filter(|w| !w.starts_with('$') && !w.starts_with('#'))
        .filter(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 2)
        .count()
}

/// One tweet as the rules see it.
pub struct SpamInput<'a> {
    pub text: &'a str,
    pub clean: &'a str,
    pub cashtags: usize,
    pub urls: usize,
    pub created_micros: i64,
    pub author_created_micros: Option<i64>,
    pub author_followers: Option<i64>,
    /// How many accounts (or, without authors, how many tweets) in the
    /// partition posted the same comparison text.
    pub copies: usize,
}

/// The rules a tweet breaks, in a fixed order (empty: not spam).
pub fn spam_rules(t: &SpamInput<'_>, rules: &SpamRules) -> Vec<&'static str> {
    let mut hits = Vec::new();
    let lower = t.clean.to_lowercase();
    if PROMOTION.iter().any(|p| lower.contains(p)) {
        hits.push("promotion");
    }
    if t.cashtags > rules.max_cashtags {
        hits.push("cashtag_stuffing");
    }
    if t.copies >= rules.duplicate_accounts {
        hits.push("copy_campaign");
    }
    let has_link = t.urls > 0 || t.text.contains("http://") || t.text.contains("https://");
    if has_link && content_words(t.clean) < 2 {
        hits.push("link_only");
    }
    if let Some(born) = t.author_created_micros {
        if t.created_micros - born < rules.new_account_days * 86_400_000_000 {
            hits.push("new_account");
        }
    }
    if t.author_followers == Some(0) {
        hits.push("empty_account");
    }
    hits
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef, LakeError> {
    batch
        .column_by_name(name)
        .ok_or_else(|| LakeError::Invalid(format!("stage 1 file has no column {name:?}")))
}

/// The comparison keys and authors of a partition, to find copies (first pass).
fn count_copies(stage1: &Bytes, rules: &SpamRules) -> Result<HashMap<String, usize>, LakeError> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(stage1.clone())?;
    let schema = builder.parquet_schema();
    let indices: Vec<usize> = ["text", "author_id"]
        .iter()
        .filter_map(|name| schema.columns().iter().position(|c| c.name() == *name))
        .collect();
    let mask = ProjectionMask::leaves(schema, indices);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build()?;
    let mut authors: HashMap<String, HashSet<String>> = HashMap::new();
    let mut anonymous: HashMap<String, usize> = HashMap::new();
    for batch in reader {
        let batch = batch?;
        let text = column(&batch, "text")?.as_string::<i32>();
        let author = column(&batch, "author_id")?.as_string::<i32>();
        for i in 0..batch.num_rows() {
            let key = comparison_key(&normalize_text(text.value(i)));
            if key.len() < rules.duplicate_min_chars {
                continue;
            }
            if author.is_null(i) {
                *anonymous.entry(key).or_default() += 1;
            } else {
                authors
                    .entry(key)
                    .or_default()
                    .insert(author.value(i).to_string());
            }
        }
    }
    let mut copies: HashMap<String, usize> = anonymous;
    for (key, set) in authors {
        *copies.entry(key).or_default() += set.len();
    }
    copies.retain(|_, n| *n >= 2);
    Ok(copies)
}

/// The batch with `watched_tickers` recomputed from `tickers` and a watch list,
/// as the transform computes it: each symbol under the ticker it meant on the
/// post's day (the list's dated aliases: a 2021 `$FB` is META's, `$TWTR` before
/// its delisting is TWTR's), each ticker once.
fn rewatch(batch: &RecordBatch, index: usize, list: &Watchlist) -> Result<RecordBatch, LakeError> {
    let tickers = column(batch, "tickers")?.as_list::<i32>();
    let created = column(batch, "created_at")?.as_primitive::<TimestampMicrosecondType>();
    let mut watched = codec::list_builder();
    for i in 0..batch.num_rows() {
        let row = tickers.value(i);
        let row = row.as_string::<i32>();
        let day = created.value(i).div_euclid(86_400_000_000);
        let mut row_watched: Vec<&str> = Vec::new();
        for t in row.iter().flatten() {
            if let Some(w) = list.watched_on(t, day) {
                if !row_watched.contains(&w) {
                    row_watched.push(w);
                }
            }
        }
        for w in &row_watched {
            watched.values().append_value(w);
        }
        watched.append(true);
    }
    let mut columns = batch.columns().to_vec();
    columns[index] = Arc::new(watched.finish());
    Ok(RecordBatch::try_new(batch.schema(), columns)?)
}

/// Cleans one partition's stage 1 file into the cleaned and spam tables.
/// `watchlist`: the current watch list, when `watched_tickers` should follow it
/// rather than the list the transform had when the tweet arrived.
pub fn clean<W1: Write + Send, W2: Write + Send>(
    stage1: Bytes,
    cleaned_sink: W1,
    spam_sink: W2,
    rules: &SpamRules,
    watchlist: Option<&Watchlist>,
) -> Result<(W1, W2, CleanStats), LakeError> {
    let copies = count_copies(&stage1, rules)?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(stage1)?
        .with_batch_size(BATCH_ROWS)
        .build()?;
    let mut cleaned = codec::writer(cleaned_sink, cleaned_schema())?;
    let mut spam = codec::writer(spam_sink, spam_schema())?;
    let mut stats = CleanStats::default();
    let stage1 = codec::stage1_schema();
    for batch in reader {
        // A file written before the class probabilities reads with them null.
        let batch = codec::conform(&batch?, &stage1)?;
        let n = batch.num_rows();
        stats.rows_in += n as u64;
        let watched_index = batch.schema().index_of("watched_tickers").map_err(|_| {
            LakeError::Invalid("stage 1 file has no column \"watched_tickers\"".into())
        })?;
        let batch = match watchlist {
            Some(list) => rewatch(&batch, watched_index, list)?,
            None => batch,
        };
        let text = column(&batch, "text")?.as_string::<i32>();
        let tickers = column(&batch, "tickers")?.as_list::<i32>();
        let watched = batch.column(watched_index).as_list::<i32>();
        let urls = column(&batch, "urls")?.as_list::<i32>();
        let created = column(&batch, "created_at")?.as_primitive::<TimestampMicrosecondType>();
        let born = column(&batch, "author_created_at")?.as_primitive::<TimestampMicrosecondType>();
        let followers = column(&batch, "author_followers")?.as_primitive::<Int64Type>();
        let mut clean_text = StringBuilder::with_capacity(n, n * 100);
        let mut reasons = StringBuilder::new();
        let mut keep = Vec::with_capacity(n);
        let mut is_spam = Vec::with_capacity(n);
        for i in 0..n {
            let clean = normalize_text(text.value(i));
            clean_text.append_value(&clean);
            if watched.value_length(i) == 0 {
                stats.unwatched += 1;
                keep.push(false);
                is_spam.push(false);
                continue;
            }
            let key = comparison_key(&clean);
            let input = SpamInput {
                text: text.value(i),
                clean: &clean,
                cashtags: tickers.value_length(i) as usize,
                urls: urls.value_length(i) as usize,
                created_micros: created.value(i),
                author_created_micros: (!born.is_null(i)).then(|| born.value(i)),
                author_followers: (!followers.is_null(i)).then(|| followers.value(i)),
                copies: copies.get(&key).copied().unwrap_or(1),
            };
            let hits = spam_rules(&input, rules);
            if hits.is_empty() {
                keep.push(true);
                is_spam.push(false);
            } else {
                for h in &hits {
                    *stats.spam_by_rule.entry((*h).to_string()).or_default() += 1;
                }
                reasons.append_value(hits.join(","));
                keep.push(false);
                is_spam.push(true);
            }
        }
        let mut columns = batch.columns().to_vec();
        columns.push(Arc::new(clean_text.finish()));
        let with_clean = RecordBatch::try_new(cleaned_schema(), columns)?;
        let kept =
            arrow_select::filter::filter_record_batch(&with_clean, &BooleanArray::from(keep))?;
        stats.cleaned += kept.num_rows() as u64;
        if kept.num_rows() > 0 {
            cleaned.write(&kept)?;
        }
        let flagged =
            arrow_select::filter::filter_record_batch(&with_clean, &BooleanArray::from(is_spam))?;
        if flagged.num_rows() > 0 {
            stats.spam += flagged.num_rows() as u64;
            let mut columns = flagged.columns().to_vec();
            columns.push(Arc::new(reasons.finish()));
            spam.write(&RecordBatch::try_new(spam_schema(), columns)?)?;
        }
    }
    Ok((cleaned.into_inner()?, spam.into_inner()?, stats))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_what_analysts_do_not_want_to_read() {
        assert_eq!(
            normalize_text("RT @trader_1: $TSLA &amp; $F look   great\u{200B} https://t.co/x &lt;3 &#128640; &#x1F680;"),
            "$TSLA & $F look great <3 🚀 🚀"
        );
        assert_eq!(normalize_text("𝗕𝗨𝗬 $AAPL\nnow\t@someone."), "BUY $AAPL now");
        assert_eq!(
            normalize_text("AT&T &bogus; & more &#xZZ;"),
            "AT&T &bogus; & more &#xZZ;"
        );
        assert_eq!(normalize_text(""), "");
    }

    #[test]
    fn each_rule_fires_on_its_own_and_not_on_a_plain_tweet() {
        let rules = SpamRules::default();
        let base = SpamInput {
            text: "$AAPL beat on revenue, strong quarter",
            clean: "$AAPL beat on revenue, strong quarter",
            cashtags: 1,
            urls: 0,
            created_micros: 1_600_000_000_000_000,
            author_created_micros: Some(1_300_000_000_000_000),
            author_followers: Some(120),
            copies: 1,
        };
        assert!(spam_rules(&base, &rules).is_empty());
        let check = |t: SpamInput<'_>, want: &[&str]| assert_eq!(spam_rules(&t, &rules), want);
        check(
            SpamInput {
                clean: "GIVEAWAY! Retweet & follow $AAPL",
                ..base
            },
            &["promotion"],
        );
        check(
            SpamInput {
                cashtags: 10,
                ..base
            },
            &["cashtag_stuffing"],
        );
        check(SpamInput { copies: 3, ..base }, &["copy_campaign"]);
        check(
            SpamInput {
                text: "$AAPL https://t.co/x",
                clean: "$AAPL",
                urls: 1,
                ..base
            },
            &["link_only"],
        );
        check(
            SpamInput {
                author_created_micros: Some(1_600_000_000_000_000 - 86_400_000_000),
                ..base
            },
            &["new_account"],
        );
        check(
            SpamInput {
                author_followers: Some(0),
                ..base
            },
            &["empty_account"],
        );
        check(
            SpamInput {
                author_created_micros: None,
                author_followers: None,
                ..base
            },
            &[],
        );
    }

    #[test]
    fn copies_compare_without_cashtags_numbers_and_links() {
        let a = comparison_key(&normalize_text(
            "$TSLA next 10x play tonight!! https://t.co/a",
        ));
        let b = comparison_key(&normalize_text("$GME Next 10x PLAY tonight https://t.co/b"));
        assert_eq!(a, b);
        assert_eq!(a, "next x play tonight");
    }
}
