//! A decoder for one line of the raw zone, written for the enriched record
//! only: it reads the JSON straight into a [`TweetRecord`] (strings borrowed
//! unless escaped), about twice as fast as serde_json's generic path, which is
//! most of compaction's cost. It accepts a subset of what serde_json accepts;
//! whatever it does not read (malformed JSON, a missing field, a wrong type)
//! goes to serde_json, which reads it or says why not, so both paths always
//! agree (a test checks it on generated and hand-written lines).

use crate::codec::{SentimentRecord, TweetRecord};
use tickerpulse_core::tweet::Probabilities;
use tickerpulse_json::json_keys;
use tickerpulse_json::Cursor;

json_keys!(SentimentKey {
    "compound" => Compound,
    "pos" => Pos,
    "neu" => Neu,
    "neg" => Neg,
    "label" => Label,
    "mode" => Mode,
    "scorer" => Scorer,
    "probabilities" => Probabilities,
});

json_keys!(ClassKey {
    "positive" => Positive,
    "neutral" => Neutral,
    "negative" => Negative,
});

/// The model mode's class probabilities (all three, or the line goes to serde).
fn probabilities(c: &mut Cursor<'_>) -> Option<Probabilities> {
    let (mut positive, mut neutral, mut negative) = (None, None, None);
    c.object(|c, key| {
        match key {
            ClassKey::Positive => positive = Some(c.f64()?),
            ClassKey::Neutral => neutral = Some(c.f64()?),
            ClassKey::Negative => negative = Some(c.f64()?),
        }
        Some(())
    })?;
    Some(Probabilities {
        positive: positive?,
        neutral: neutral?,
        negative: negative?,
    })
}

json_keys!(RecordKey {
    "schema_version" => SchemaVersion,
    "tweet_id" => TweetId,
    "created_at" => CreatedAt,
    "author_id" => AuthorId,
    "author_username" => AuthorUsername,
    "author_verified" => AuthorVerified,
    "author_followers" => AuthorFollowers,
    "author_created_at" => AuthorCreatedAt,
    "text" => Text,
    "lang" => Lang,
    "tickers" => Tickers,
    "watched_tickers" => WatchedTickers,
    "hashtags" => Hashtags,
    "mentions" => Mentions,
    "urls" => Urls,
    "retweet_count" => RetweetCount,
    "reply_count" => ReplyCount,
    "like_count" => LikeCount,
    "quote_count" => QuoteCount,
    "is_retweet" => IsRetweet,
    "is_reply" => IsReply,
    "is_quote" => IsQuote,
    "sentiment" => Sentiment,
    "arrival_ms" => ArrivalMs,
    "source" => Source,
});

fn sentiment<'a>(c: &mut Cursor<'a>) -> Option<SentimentRecord<'a>> {
    let (mut compound, mut pos, mut neu, mut neg) = (None, None, None, None);
    let (mut label, mut mode, mut scorer, mut probs) = (None, None, None, None);
    c.object(|c, key| {
        match key {
            SentimentKey::Compound => compound = Some(c.f64()?),
            SentimentKey::Pos => pos = Some(c.f64()?),
            SentimentKey::Neu => neu = Some(c.f64()?),
            SentimentKey::Neg => neg = Some(c.f64()?),
            SentimentKey::Label => label = Some(c.string()?),
            SentimentKey::Mode => mode = Some(c.string()?),
            SentimentKey::Scorer => scorer = Some(c.string()?),
            SentimentKey::Probabilities => probs = Some(probabilities(c)?),
        }
        Some(())
    })?;
    Some(SentimentRecord {
        compound: compound?,
        pos: pos?,
        neu: neu?,
        neg: neg?,
        label: label?,
        mode: mode?,
        scorer: scorer?,
        probabilities: probs,
    })
}

/// Reads one enriched tweet, or `None` when the line needs serde_json.
pub fn decode(line: &str) -> Option<TweetRecord<'_>> {
    let mut c = Cursor::new(line);
    let mut schema_version = None;
    let (mut tweet_id, mut created_at, mut text) = (None, None, None);
    let (mut author_id, mut author_username, mut author_created_at, mut lang) =
        (None, None, None, None);
    let (mut author_verified, mut author_followers, mut arrival_ms) = (None, None, None);
    let (mut tickers, mut watched, mut hashtags, mut mentions, mut urls) =
        (None, None, None, None, None);
    let (mut retweets, mut replies, mut likes, mut quotes) = (None, None, None, None);
    let (mut is_retweet, mut is_reply, mut is_quote, mut sent) = (None, None, None, None);
    let mut source = None;
    c.object(|c, key| {
        match key {
            RecordKey::SchemaVersion => schema_version = Some(u32::try_from(c.u64()?).ok()?),
            RecordKey::Source => source = c.opt_string()?,
            RecordKey::TweetId => tweet_id = Some(c.string()?),
            RecordKey::CreatedAt => created_at = Some(c.string()?),
            RecordKey::AuthorId => author_id = c.opt_string()?,
            RecordKey::AuthorUsername => author_username = c.opt_string()?,
            RecordKey::AuthorVerified => author_verified = c.opt_bool()?,
            RecordKey::AuthorFollowers => author_followers = c.opt_u64()?,
            RecordKey::AuthorCreatedAt => author_created_at = c.opt_string()?,
            RecordKey::Text => text = Some(c.string()?),
            RecordKey::Lang => lang = c.opt_string()?,
            RecordKey::Tickers => tickers = Some(c.strings()?),
            RecordKey::WatchedTickers => watched = Some(c.strings()?),
            RecordKey::Hashtags => hashtags = Some(c.strings()?),
            RecordKey::Mentions => mentions = Some(c.strings()?),
            RecordKey::Urls => urls = Some(c.strings()?),
            RecordKey::RetweetCount => retweets = c.opt_u64()?,
            RecordKey::ReplyCount => replies = c.opt_u64()?,
            RecordKey::LikeCount => likes = c.opt_u64()?,
            RecordKey::QuoteCount => quotes = c.opt_u64()?,
            RecordKey::IsRetweet => is_retweet = Some(c.bool()?),
            RecordKey::IsReply => is_reply = Some(c.bool()?),
            RecordKey::IsQuote => is_quote = Some(c.bool()?),
            RecordKey::Sentiment => sent = Some(sentiment(c)?),
            RecordKey::ArrivalMs => {
                arrival_ms = if c.null()? {
                    None
                } else {
                    Some(c.number_text()?.parse::<i64>().ok()?)
                }
            }
        }
        Some(())
    })?;
    if !c.at_end() {
        return None;
    }
    Some(TweetRecord {
        schema_version: schema_version?,
        tweet_id: tweet_id?,
        created_at: created_at?,
        author_id,
        author_username,
        author_verified,
        author_followers,
        author_created_at,
        text: text?,
        lang,
        tickers: tickers?,
        watched_tickers: watched?,
        hashtags: hashtags?,
        mentions: mentions?,
        urls: urls?,
        retweet_count: retweets,
        reply_count: replies,
        like_count: likes,
        quote_count: quotes,
        is_retweet: is_retweet?,
        is_reply: is_reply?,
        is_quote: is_quote?,
        sentiment: sent?,
        arrival_ms,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agree(line: &str) {
        let slow = serde_json::from_str::<TweetRecord<'_>>(line).ok();
        let fast = decode(line);
        if let Some(fast) = &fast {
            let slow = slow
                .as_ref()
                .unwrap_or_else(|| panic!("fast path read what serde rejects: {line}"));
            assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "{line}");
        }
    }

    #[test]
    fn agrees_with_serde_on_generated_and_tricky_lines() {
        let lines: Vec<String> =
            tickerpulse_synth::EnrichedLines::new(tickerpulse_synth::Config::default(), 3_000)
                .collect();
        let mut decoded = 0;
        for line in &lines {
            agree(line);
            decoded += usize::from(decode(line).is_some());
        }
        assert_eq!(
            decoded,
            lines.len(),
            "every generated line takes the fast path"
        );
        let base = serde_json::from_str::<serde_json::Value>(&lines[0]).expect("json");
        let mut variants = vec![
            r#"{"text": "a \"quoted\" \\ line\nwith \u00e9 and \ud83d\ude80 and \/"}"#.to_string(),
            r#"{"text": "\ud83d alone"}"#.into(),
            r#"{"text": "bad \x escape"}"#.into(),
            r#"{"author_followers": -1}"#.into(),
            r#"{"author_followers": 01}"#.into(),
            r#"{"author_followers": 1.5}"#.into(),
            r#"{"author_followers": null, "lang": null, "arrival_ms": -5}"#.into(),
            r#"{"sentiment": {"compound": 1e-3, "pos": 0, "neu": 1.0, "neg": -0.0, "label": "x", "mode": "m", "scorer": "s", "extra": [1, {"a": null}]}}"#.into(),
            r#"{"sentiment": {"compound": .5}}"#.into(),
            r#"{"tickers": ["A", 1]}"#.into(),
            r#"{"tickers": null}"#.into(),
            r#"{"unknown": {"deep": [[[]]], "s": "x\"y"}, "tweet_id": "7"}"#.into(),
            r#"{"is_quote": "true"}"#.into(),
            r#"{"schema_version": 4294967296}"#.into(),
        ];
        variants.push(String::new());
        // Keys written differently from the transform: escaped, spaced, a
        // look-alike longer key. Each is read as serde reads it.
        for (from, to) in [
            ("\"text\":", "\"te\\u0078t\":"),
            ("\"text\":", "\"text\" :"),
            ("\"lang\":", " \"lang\":"),
            ("\"lang\":", "\"lang_x\":0,\"lang\":"),
            ("\"compound\":", "\"c\\u006fmpound\":"),
        ] {
            let line = lines[0].replacen(from, to, 1);
            assert_ne!(line, lines[0]);
            agree(&line);
            assert!(decode(&line).is_some(), "{line}");
        }
        // The model mode's probabilities: read when whole, else as serde does.
        for (probs, fast) in [
            (r#"{"positive":0.5,"neutral":0.25,"negative":0.25}"#, true),
            (r#"{"negative":1e-9,"positive":0.9,"neutral":0.1}"#, true),
            (r#"null"#, false),
            (r#"{"positive":0.5,"neutral":0.5}"#, false),
            (
                r#"{"positive":0.5,"neutral":0.5,"negative":0,"negative":0}"#,
                false,
            ),
            (r#"{"positive":"0.5","neutral":0.5,"negative":0}"#, false),
        ] {
            let line = lines[0].replacen(
                "\"},\"arrival_ms\"",
                &format!("\",\"probabilities\":{probs}}},\"arrival_ms\""),
                1,
            );
            assert_ne!(line, lines[0]);
            agree(&line);
            assert_eq!(decode(&line).is_some(), fast, "{line}");
            if fast {
                assert!(decode(&line).unwrap().sentiment.probabilities.is_some());
            }
        }
        // A key given twice, predicted or not: serde refuses it, so must we.
        for (from, to) in [
            ("\"lang\":", "\"lang\":null,\"lang\":"),
            ("\"lang\":", "\"text\":\"again\",\"lang\":"),
            ("\"neg\":", "\"compound\":0.5,\"neg\":"),
        ] {
            let line = lines[0].replacen(from, to, 1);
            assert_ne!(line, lines[0]);
            agree(&line);
            assert!(decode(&line).is_none(), "{line}");
        }
        let mut checked = 0;
        for v in &variants {
            let patch: serde_json::Value = match serde_json::from_str(v) {
                Ok(p) => p,
                Err(_) => {
                    // Not JSON on its own: splice the raw text in as the line.
                    agree(v);
                    let spliced = lines[0].replacen('{', &format!("{{\"x\": {v:?},"), 1);
                    agree(&spliced);
                    let raw = lines[0].replacen(
                        "\"text\":",
                        &format!(
                            "\"text\": {},\"t\":",
                            v.trim_start_matches("{\"text\": ").trim_end_matches('}')
                        ),
                        1,
                    );
                    agree(&raw);
                    continue;
                }
            };
            let mut value = base.clone();
            if let (Some(obj), Some(p)) = (value.as_object_mut(), patch.as_object()) {
                for (k, x) in p {
                    obj.insert(k.clone(), x.clone());
                }
            }
            let line = value.to_string();
            agree(&line);
            // The same with the number or escape written by hand, as serde would not.
            agree(&lines[0].replacen('{', &format!("{},", v.trim_end_matches('}')), 1));
            checked += 1;
        }
        assert_eq!(checked, 10, "the variants that are JSON on their own");
        // Truncations and trailing garbage never take the fast path wrongly.
        for cut in (0..lines[1].len()).step_by(7) {
            if lines[1].is_char_boundary(cut) {
                agree(&lines[1][..cut]);
            }
        }
        agree(&format!("{} x", lines[1]));
        agree(&format!("{}\n", lines[1]));
    }
}
