//! The enriched tweet: one JSON line per tweet in the raw zone, as `transform`
//! writes it and `compact` reads it. The README documents this schema.

use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// Bumped when the enriched record changes shape.
/// 2 added `source` (absent in X's records, and in every record of version 1).
pub const SCHEMA_VERSION: u32 = 2;

/// Strings are `Cow`s so that `transform` writes a record that borrows from the
/// tweet it came from (no copy of the text, ids or names) and a reader can borrow
/// from the line it parses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnrichedTweet<'a> {
    pub schema_version: u32,
    #[serde(borrow)]
    pub tweet_id: Cow<'a, str>,
    /// As the X API gives it, e.g. `2020-04-15T01:03:46.000Z` (UTC).
    #[serde(borrow)]
    pub created_at: Cow<'a, str>,
    #[serde(borrow)]
    pub author_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub author_username: Option<Cow<'a, str>>,
    pub author_verified: Option<bool>,
    pub author_followers: Option<u64>,
    #[serde(borrow)]
    pub author_created_at: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub text: Cow<'a, str>,
    #[serde(borrow)]
    pub lang: Option<Cow<'a, str>>,
    /// Cashtags, upper-cased, deduplicated, in order of appearance.
    #[serde(borrow)]
    pub tickers: Vec<Cow<'a, str>>,
    /// The subset of `tickers` on the watch list.
    #[serde(borrow)]
    pub watched_tickers: Vec<Cow<'a, str>>,
    /// Hashtags without `#`, lower-cased, deduplicated.
    #[serde(borrow)]
    pub hashtags: Vec<Cow<'a, str>>,
    /// Mentioned usernames without `@`, lower-cased, deduplicated.
    #[serde(borrow)]
    pub mentions: Vec<Cow<'a, str>>,
    /// Expanded URLs where the API gives them.
    #[serde(borrow)]
    pub urls: Vec<Cow<'a, str>>,
    pub retweet_count: Option<u64>,
    pub reply_count: Option<u64>,
    pub like_count: Option<u64>,
    pub quote_count: Option<u64>,
    pub is_retweet: bool,
    pub is_reply: bool,
    pub is_quote: bool,
    #[serde(borrow)]
    pub sentiment: Sentiment<'a>,
    /// When Firehose received the record (ms since the epoch), if known.
    pub arrival_ms: Option<i64>,
    /// `bluesky` or `reddit`; absent for X (see `crate::source`).
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Cow<'a, str>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sentiment<'a> {
    pub compound: f64,
    pub pos: f64,
    pub neu: f64,
    pub neg: f64,
    /// `positive`, `neutral` or `negative`.
    #[serde(borrow)]
    pub label: Cow<'a, str>,
    /// `vader` or `finance`.
    #[serde(borrow)]
    pub mode: Cow<'a, str>,
    /// The scorer that produced these figures.
    #[serde(borrow)]
    pub scorer: Cow<'a, str>,
    /// The class probabilities of the `model` mode, whose likeliest class is
    /// the label; absent in the lexicon modes (and in records written before
    /// the model existed, which read the same: the field is optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probabilities: Option<Probabilities>,
}

/// The probability of each class, summing to 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Probabilities {
    pub positive: f64,
    pub neutral: f64,
    pub negative: f64,
}

impl EnrichedTweet<'_> {
    /// Writes the record as one JSON object, the same bytes as
    /// `serde_json::to_writer` (a test holds them equal), several times faster:
    /// the transform writes one for every tweet.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"schema_version\":");
        push_u64(out, u64::from(self.schema_version));
        out.extend_from_slice(b",\"tweet_id\":");
        push_str(out, &self.tweet_id);
        out.extend_from_slice(b",\"created_at\":");
        push_str(out, &self.created_at);
        out.extend_from_slice(b",\"author_id\":");
        push_opt_str(out, self.author_id.as_deref());
        out.extend_from_slice(b",\"author_username\":");
        push_opt_str(out, self.author_username.as_deref());
        out.extend_from_slice(b",\"author_verified\":");
        match self.author_verified {
            Some(true) => out.extend_from_slice(b"true"),
            Some(false) => out.extend_from_slice(b"false"),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"author_followers\":");
        push_opt_u64(out, self.author_followers);
        out.extend_from_slice(b",\"author_created_at\":");
        push_opt_str(out, self.author_created_at.as_deref());
        out.extend_from_slice(b",\"text\":");
        push_str(out, &self.text);
        out.extend_from_slice(b",\"lang\":");
        push_opt_str(out, self.lang.as_deref());
        for (name, list) in [
            (&b",\"tickers\":"[..], &self.tickers),
            (b",\"watched_tickers\":", &self.watched_tickers),
            (b",\"hashtags\":", &self.hashtags),
            (b",\"mentions\":", &self.mentions),
            (b",\"urls\":", &self.urls),
        ] {
            out.extend_from_slice(name);
            out.push(b'[');
            for (i, s) in list.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                push_str(out, s);
            }
            out.push(b']');
        }
        out.extend_from_slice(b",\"retweet_count\":");
        push_opt_u64(out, self.retweet_count);
        out.extend_from_slice(b",\"reply_count\":");
        push_opt_u64(out, self.reply_count);
        out.extend_from_slice(b",\"like_count\":");
        push_opt_u64(out, self.like_count);
        out.extend_from_slice(b",\"quote_count\":");
        push_opt_u64(out, self.quote_count);
        for (name, flag) in [
            (&b",\"is_retweet\":"[..], self.is_retweet),
            (b",\"is_reply\":", self.is_reply),
            (b",\"is_quote\":", self.is_quote),
        ] {
            out.extend_from_slice(name);
            out.extend_from_slice(if flag { b"true" } else { b"false" });
        }
        let s = &self.sentiment;
        out.extend_from_slice(b",\"sentiment\":{\"compound\":");
        push_f64(out, s.compound);
        out.extend_from_slice(b",\"pos\":");
        push_f64(out, s.pos);
        out.extend_from_slice(b",\"neu\":");
        push_f64(out, s.neu);
        out.extend_from_slice(b",\"neg\":");
        push_f64(out, s.neg);
        out.extend_from_slice(b",\"label\":");
        push_str(out, &s.label);
        out.extend_from_slice(b",\"mode\":");
        push_str(out, &s.mode);
        out.extend_from_slice(b",\"scorer\":");
        push_str(out, &s.scorer);
        if let Some(p) = &s.probabilities {
            out.extend_from_slice(b",\"probabilities\":{\"positive\":");
            push_f64(out, p.positive);
            out.extend_from_slice(b",\"neutral\":");
            push_f64(out, p.neutral);
            out.extend_from_slice(b",\"negative\":");
            push_f64(out, p.negative);
            out.push(b'}');
        }
        out.extend_from_slice(b"},\"arrival_ms\":");
        match self.arrival_ms {
            Some(v) if v < 0 => {
                out.push(b'-');
                push_u64(out, v.unsigned_abs());
            }
            Some(v) => push_u64(out, v.unsigned_abs()),
            None => out.extend_from_slice(b"null"),
        }
        if let Some(source) = &self.source {
            out.extend_from_slice(b",\"source\":");
            push_str(out, source);
        }
        out.push(b'}');
    }

    /// The post's source, X when the record names none.
    pub fn source(&self) -> crate::source::Source {
        self.source
            .as_deref()
            .and_then(crate::source::Source::parse)
            .unwrap_or(crate::source::Source::X)
    }
}

fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

fn push_opt_u64(out: &mut Vec<u8>, v: Option<u64>) {
    match v {
        Some(v) => push_u64(out, v),
        None => out.extend_from_slice(b"null"),
    }
}

/// Floats as serde_json writes them (the shortest form that reads back, `null`
/// for NaN and infinities): only four to seven a record, so serde_json itself.
fn push_f64(out: &mut Vec<u8>, v: f64) {
    // Writing a number into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, &v);
}

fn push_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => push_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// A JSON string escaped as serde_json escapes it (`"`, `\` and control
/// characters; `\b \t \n \f \r` by name, the others as `\u00xx`), looking at
/// eight bytes at a time for a byte that needs it and jumping straight to the
/// first one found. The last bytes of the string (fewer than eight) are read
/// padded with spaces, which never need escaping.
fn push_str(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    out.reserve(b.len() + 2);
    out.push(b'"');
    let mut start = 0;
    let mut i = tickerpulse_json::first_escape(b, 0);
    while let Some(&byte) = b.get(i) {
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            0x0c => b"\\f",
            b'\r' => b"\\r",
            _ => b"",
        };
        out.extend_from_slice(&b[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(byte >> 4)]);
            out.push(HEX[usize::from(byte & 0xf)]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
        i = tickerpulse_json::first_escape(b, start);
    }
    out.extend_from_slice(&b[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tweet(
        text: String,
        strings: Vec<String>,
        n: Option<u64>,
        arrival: Option<i64>,
    ) -> EnrichedTweet<'static> {
        let opt = |i: usize| strings.get(i).cloned().map(Cow::Owned);
        let list = |from: usize| {
            strings
                .iter()
                .skip(from)
                .cloned()
                .map(Cow::Owned)
                .collect::<Vec<_>>()
        };
        EnrichedTweet {
            schema_version: SCHEMA_VERSION,
            tweet_id: Cow::Owned(strings.first().cloned().unwrap_or_default()),
            created_at: "2020-04-15T01:03:46.000Z".into(),
            author_id: opt(1),
            author_username: opt(2),
            author_verified: n.map(|n| n % 2 == 0),
            author_followers: n,
            author_created_at: opt(3),
            text: Cow::Owned(text),
            lang: opt(4),
            tickers: list(0),
            watched_tickers: list(1),
            hashtags: list(2),
            mentions: Vec::new(),
            urls: list(3),
            retweet_count: n,
            reply_count: n.map(|n| n / 3),
            like_count: Some(u64::MAX),
            quote_count: None,
            is_retweet: n.is_some(),
            is_reply: false,
            is_quote: true,
            sentiment: Sentiment {
                compound: n.map_or(f64::NAN, |n| n as f64 / -7.0),
                pos: 0.1,
                neu: 0.0,
                neg: 1.0,
                label: "neutral".into(),
                mode: "finance".into(),
                scorer: "vader-3.3.2".into(),
                probabilities: arrival.map(|a| Probabilities {
                    positive: a as f64 / 3.0,
                    neutral: 1e-300,
                    negative: 0.5,
                }),
            },
            arrival_ms: arrival,
            // Some records name a source, some (X's) do not.
            source: n.filter(|n| n % 2 == 1).map(|_| Cow::Owned(text_source())),
        }
    }

    fn text_source() -> String {
        "bluesky".into()
    }

    fn same_as_serde(t: &EnrichedTweet<'_>) {
        let mut ours = Vec::new();
        t.write_json(&mut ours);
        let theirs = serde_json::to_vec(t).expect("serde_json");
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs)
        );
    }

    #[test]
    fn every_ascii_byte_and_odd_values_are_written_as_serde_json_writes_them() {
        let all: String = (0u8..0x80).map(char::from).collect();
        for text in [
            all.clone(),
            all.chars().rev().collect(),
            String::new(),
            "\"\\\u{1f}\u{7f}é🚀\u{2028}".repeat(5),
            "plain text long enough to go eight bytes at a time".into(),
        ] {
            for start in 0..9 {
                let shifted: String = text.chars().skip(start).collect();
                same_as_serde(&tweet(
                    shifted.clone(),
                    vec![shifted.clone(), "a\"b".into()],
                    Some(7),
                    Some(-5),
                ));
                same_as_serde(&tweet(shifted, Vec::new(), None, None));
            }
        }
        same_as_serde(&tweet(
            "x".into(),
            vec!["1".into()],
            Some(0),
            Some(i64::MIN),
        ));
        same_as_serde(&tweet(
            "x".into(),
            vec!["1".into()],
            Some(u64::MAX),
            Some(i64::MAX),
        ));
    }

    #[test]
    fn escapes_at_every_place_of_short_strings_are_written_as_serde_json_writes_them() {
        // Every string of up to 6 characters over an alphabet of plain, escaped
        // and multi-byte characters: covers the padded tail read and the jump to
        // the first escape at every distance.
        let alphabet = ['a', '"', '\\', '\n', '\u{1}', 'é'];
        let mut strings = vec![String::new()];
        // The strings of the last length made, each extended by every character.
        let mut frontier = vec![String::new()];
        for _ in 0..6 {
            frontier = frontier
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            strings.extend(frontier.iter().cloned());
        }
        assert_eq!(strings.len(), (0..=6).map(|n| 6usize.pow(n)).sum::<usize>());
        for s in &strings {
            for padding in ["", "12345678"] {
                let s = format!("{padding}{s}");
                let mut ours = Vec::new();
                push_str(&mut ours, &s);
                assert_eq!(ours, serde_json::to_vec(&s).expect("serde_json"), "{s:?}");
            }
        }
    }

    proptest! {
        #[test]
        fn any_strings_are_written_as_serde_json_writes_them(
            text in any::<String>(),
            strings in proptest::collection::vec(any::<String>(), 0..6),
            n in any::<Option<u64>>(),
            arrival in any::<Option<i64>>(),
        ) {
            same_as_serde(&tweet(text, strings, n, arrival));
        }
    }
}
