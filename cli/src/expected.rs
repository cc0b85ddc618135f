//! What each source's reads must return from the demo's input, computed from
//! the queries' semantics over the input and never from what came back. The
//! demo's "every input tweet counted once" compares the lake and the API with
//! these sets, so a post lost between a search and the lake shows as lost
//! instead of growing "not matched".
//!
//! - X search (docs.x.com/x-api/posts/search/integrate/build-a-query): `$SYM`
//!   matches a post with that cashtag; `-is:retweet` leaves out retweets;
//!   `lang:xx` keeps posts X classified as that language. Full-archive search
//!   (the demo's) has no 7-day window; the fake's clock is after every post.
//! - Bluesky `searchPosts`: one query a watched ticker, matching its word
//!   case-blind (`$` and `#` aside), or only its cashtag for a symbol that is
//!   also a word (`"$IT"`), with `lang:`; posts from `since` on.
//! - Reddit: every post and comment of the watched subreddits' `new` and
//!   `comments` listings from `since` on (listings are not searched).

use serde_json::Value;
use std::collections::{BTreeSet, HashSet};
use tickerpulse_core::tickers::{Rule, TickerFinder};
use tickerpulse_core::watchlist::{cashtags_in_text, Watchlist};

/// The X query's semantics: the watched symbols, the language, retweets out.
pub struct XSearch {
    pub symbols: HashSet<String>,
    pub lang: Option<String>,
    pub exclude_retweets: bool,
}

impl XSearch {
    pub fn new(watchlist: &Watchlist, lang: &str, exclude_retweets: bool) -> Self {
        Self {
            symbols: watchlist.symbols().iter().map(|s| s.to_string()).collect(),
            lang: Some(lang.to_string()).filter(|l| l != "*"),
            exclude_retweets,
        }
    }

    /// The ids of the X posts a search of the whole watch list returns.
    pub fn ids(&self, tweets: &[Value]) -> BTreeSet<String> {
        tweets
            .iter()
            .filter(|t| self.matches(t))
            .filter_map(|t| t["id"].as_str().map(str::to_string))
            .collect()
    }

    fn matches(&self, t: &Value) -> bool {
        let text = t["text"].as_str().unwrap_or_default();
        if self
            .lang
            .as_deref()
            .is_some_and(|l| t["lang"].as_str() != Some(l))
        {
            return false;
        }
        let retweet = text.starts_with("RT @")
            || t["referenced_tweets"]
                .as_array()
                .is_some_and(|r| r.iter().any(|x| x["type"] == "retweeted"));
        if self.exclude_retweets && retweet {
            return false;
        }
        let entities = t["entities"]["cashtags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["tag"].as_str().map(str::to_ascii_uppercase));
        // A class share's tag (`$BRK.B`) is the cashtag `BRK` to the operator.
        let written = cashtags_in_text(text)
            .into_iter()
            .map(|s| s.split('.').next().unwrap_or(&s).to_string());
        entities
            .chain(written)
            .any(|tag| self.symbols.contains(&tag))
    }
}

/// The Bluesky queries' semantics.
pub struct BlueskySearch {
    /// Per watched symbol: its lower-case word, and whether only the cashtag counts.
    terms: Vec<(String, bool)>,
    lang: Option<String>,
}

impl BlueskySearch {
    pub fn new(watchlist: &Watchlist, lang: &str) -> Self {
        let finder = TickerFinder::bundled(watchlist.clone());
        Self {
            terms: watchlist
                .symbols()
                .iter()
                .map(|s| (s.to_lowercase(), finder.rule(s) != Rule::Caps))
                .collect(),
            lang: Some(lang.to_string()).filter(|l| l != "*"),
        }
    }

    /// The URIs of the post views some query returns, made from `since` on.
    pub fn ids(&self, views: &[Value], since: &str) -> BTreeSet<String> {
        views
            .iter()
            .filter(|v| self.matches(v) && at_or_after(&v["record"]["createdAt"], since))
            .filter_map(|v| v["uri"].as_str().map(str::to_string))
            .collect()
    }

    fn matches(&self, v: &Value) -> bool {
        let r = &v["record"];
        if let Some(l) = &self.lang {
            let langs = r["langs"].as_array().into_iter().flatten();
            if !langs
                .filter_map(Value::as_str)
                .any(|x| x.eq_ignore_ascii_case(l))
            {
                return false;
            }
        }
        let words: HashSet<String> = r["text"]
            .as_str()
            .unwrap_or_default()
            .split(|c: char| !(c.is_alphanumeric() || c == '.' || c == '_' || c == '$'))
            .map(|w| w.trim_end_matches('.').to_lowercase())
            .collect();
        self.terms.iter().any(|(term, cashtag_only)| {
            words.contains(&format!("${term}")) || (!cashtag_only && words.contains(term))
        })
    }
}

/// The names (`t3_…`, `t1_…`) of the listing children of `subreddits` made
/// from `since` on.
pub fn reddit_ids(children: &[Value], subreddits: &[&str], since: &str) -> BTreeSet<String> {
    let since = secs(since);
    children
        .iter()
        .filter(|c| {
            let d = &c["data"];
            let sub = d["subreddit"].as_str().unwrap_or_default();
            subreddits.iter().any(|s| s.eq_ignore_ascii_case(sub))
                && d["created_utc"]
                    .as_f64()
                    .is_some_and(|t| since.is_none_or(|s| t >= s))
        })
        .filter_map(|c| c["data"]["name"].as_str().map(str::to_string))
        .collect()
}

fn secs(ts: &str) -> Option<f64> {
    tickerpulse_core::partition::parse_rfc3339(ts)
        .ok()
        .map(|t| t.unix_timestamp_nanos() as f64 / 1e9)
}

fn at_or_after(at: &Value, since: &str) -> bool {
    match (at.as_str().and_then(secs), secs(since)) {
        (Some(a), Some(s)) => a >= s,
        (Some(_), None) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn x_semantics() {
        let w = Watchlist::bundled();
        let q = XSearch::new(&w, "en", true);
        let t = |id: &str, text: &str, lang: &str| json!({"id": id, "text": text, "lang": lang});
        let ids = q.ids(&[
            t("1", "$TSLA up", "en"),
            t("2", "RT @a: $TSLA up", "en"),
            t("3", "$TSLA hoch", "de"),
            t("4", "tesla up", "en"),
            json!({"id": "5", "text": "up", "lang": "en", "entities": {"cashtags": [{"tag": "aapl"}]}}),
            json!({"id": "6", "text": "$AAPL", "lang": "en", "referenced_tweets": [{"type": "retweeted", "id": "1"}]}),
        ]);
        assert_eq!(ids, BTreeSet::from(["1".to_string(), "5".to_string()]));
    }

    #[test]
    fn bluesky_and_reddit_semantics() {
        let w = Watchlist::bundled();
        let b = BlueskySearch::new(&w, "en");
        let v = |uri: &str, text: &str, at: &str, lang: &str| json!({"uri": uri, "record": {"text": text, "createdAt": at, "langs": [lang]}});
        let ids = b.ids(
            &[
                v("a", "tsla looks good", "2020-04-15T01:00:00Z", "en"),
                v("b", "it is fine", "2020-04-15T01:00:00Z", "en"),
                v("c", "$IT is fine", "2020-04-15T01:00:00Z", "en"),
                v("d", "TSLA", "2020-04-15T01:00:00Z", "de"),
                v("e", "TSLA", "2020-04-14T01:00:00Z", "en"),
            ],
            "2020-04-15T00:00:00Z",
        );
        assert_eq!(ids, BTreeSet::from(["a".to_string(), "c".to_string()]));
        let c = |name: &str, sub: &str, t: f64| json!({"kind": "t3", "data": {"name": name, "subreddit": sub, "created_utc": t}});
        let ids = reddit_ids(
            &[
                c("t3_a", "wallstreetbets", 1_586_912_400.0),
                c("t3_b", "pics", 1_586_912_400.0),
                c("t3_c", "stocks", 1_586_800_000.0),
            ],
            &["wallstreetbets", "stocks"],
            "2020-04-15T00:00:00Z",
        );
        assert_eq!(ids, BTreeSet::from(["t3_a".to_string()]));
    }
}
