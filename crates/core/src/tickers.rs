//! Tickers in plain words: on Reddit and Bluesky people write `TSLA` or
//! `Tesla` rather than `$TSLA`. [`TickerFinder`] finds the watch list's
//! tickers in such text, guarded against the symbols that are also words
//! (`ON`, `ARE`, `ALL`, `IT`, `A`, `CAT`, `NOW`...) by a per-symbol rule:
//!
//! - `caps`: the symbol written in capitals counts (`TSLA`), unless the whole
//!   post is shouted in capitals, where it needs a finance word near it;
//! - `context`: the symbol in capitals counts only with a finance word
//!   (shares, calls, earnings, ...) within [`CONTEXT_WORDS`] words of it;
//! - `cashtag`: only `$SYM` counts (single letters, common words).
//!
//! A cashtag always counts. Company names (`Tesla`, `Goldman Sachs`) count
//! as written, capitalized; a name whose symbol is not `caps` needs a finance
//! word too. The rules are `data/ticker-rules.csv`; symbols not in it are
//! `caps`. Measured on a labelled sample in `docs/sources.md`.

use crate::watchlist::{for_each_cashtag, normalize_symbol, Watchlist, WatchlistError};
use std::collections::HashMap;

/// The bundled rules (see the module documentation).
pub const BUNDLED_RULES: &str = include_str!("../data/ticker-rules.csv");

/// How far (in words, either side) a finance word makes a mention count.
pub const CONTEXT_WORDS: usize = 6;

/// Words that say a post is about a security. Lower case.
const FINANCE_WORDS: &[&str] = &[
    "analyst",
    "analysts",
    "bearish",
    "bought",
    "bullish",
    "buy",
    "buying",
    "calls",
    "dividend",
    "dividends",
    "downgrade",
    "downgraded",
    "earnings",
    "eps",
    "guidance",
    "ipo",
    "nasdaq",
    "nyse",
    "options",
    "position",
    "price",
    "puts",
    "rally",
    "revenue",
    "sell",
    "selling",
    "share",
    "shareholders",
    "shares",
    "short",
    "shorts",
    "sold",
    "squeeze",
    "stake",
    "stock",
    "stocks",
    "ticker",
    "upgrade",
    "upgraded",
    "valuation",
];

/// A symbol's rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Caps,
    Context,
    Cashtag,
}

impl Rule {
    fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "caps" | "" => Some(Rule::Caps),
            "context" => Some(Rule::Context),
            "cashtag" => Some(Rule::Cashtag),
            _ => None,
        }
    }
}

/// A company name: its words, the symbol it names, and whether it needs a
/// finance word beside it.
#[derive(Debug, Clone)]
struct Name {
    words: Vec<String>,
    symbol: String,
    needs_context: bool,
}

/// Finds the watch list's tickers in plain text (see the module documentation).
#[derive(Debug, Clone)]
pub struct TickerFinder {
    watchlist: Watchlist,
    rules: HashMap<String, Rule>,
    /// Names by their first word.
    names: HashMap<String, Vec<Name>>,
}

/// A word of a text: where it starts, and the character before it.
#[derive(Debug, Clone, Copy)]
struct Word<'a> {
    text: &'a str,
    before: Option<char>,
}

fn words<'a>(text: &'a str) -> Vec<Word<'a>> {
    let mut out = Vec::new();
    let mut start = None;
    let mut before = None;
    let mut prev = None;
    let is_word = |c: char| c.is_alphanumeric() || c == '.' || c == '&' || c == '\'' || c == '’';
    let push = |s: usize, e: usize, b: Option<char>, out: &mut Vec<Word<'a>>| {
        // Trailing dots and apostrophes are punctuation, and `'s` a possessive.
        let mut w = &text[s..e];
        for suffix in ["'s", "’s"] {
            if let Some(stem) = w.strip_suffix(suffix) {
                w = stem;
            }
        }
        let w = w.trim_end_matches(['.', '\'', '’']);
        if !w.is_empty() {
            out.push(Word { text: w, before: b });
        }
    };
    for (i, c) in text.char_indices() {
        if is_word(c) {
            if start.is_none() {
                start = Some(i);
                before = prev;
            }
        } else if let Some(s) = start.take() {
            push(s, i, before, &mut out);
        }
        prev = Some(c);
    }
    if let Some(s) = start {
        push(s, text.len(), before, &mut out);
    }
    out
}

/// Whether most of a text's letters are capitals (a shouted post).
fn shouted(text: &str) -> bool {
    let (mut upper, mut letters) = (0usize, 0usize);
    for c in text.chars().filter(|c| c.is_alphabetic()) {
        letters += 1;
        upper += usize::from(c.is_uppercase());
    }
    letters >= 12 && upper * 10 > letters * 6
}

fn is_finance_word(w: &str) -> bool {
    w.len() <= 12 && FINANCE_WORDS.contains(&w.to_ascii_lowercase().as_str())
}

/// `AAPL`, `BRK.B`: capitals, one optional class after a dot.
fn symbol_shape(w: &str) -> bool {
    let (head, class) = match w.split_once('.') {
        Some((h, c)) => (h, Some(c)),
        None => (w, None),
    };
    (1..=5).contains(&head.len())
        && head.bytes().all(|b| b.is_ascii_uppercase())
        && class
            .is_none_or(|c| (1..=2).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_uppercase()))
}

impl TickerFinder {
    /// The watch list with the bundled rules.
    pub fn bundled(watchlist: Watchlist) -> Self {
        Self::new(watchlist, BUNDLED_RULES).expect("the bundled ticker rules parse")
    }

    /// The watch list with rules from a CSV `symbol,rule,names[,why]`
    /// (`names` separated by `|`). Rules for symbols not on the list are kept
    /// out: they could never match.
    pub fn new(watchlist: Watchlist, rules_csv: &str) -> Result<Self, WatchlistError> {
        let rows = crate::csv::parse(rules_csv.trim_start_matches('\u{feff}'), b',')?;
        let mut rules = HashMap::new();
        let mut names: HashMap<String, Vec<Name>> = HashMap::new();
        for (i, row) in rows.iter().enumerate().skip(1) {
            let bad = |s: &str| WatchlistError::BadSymbol {
                line: i + 1,
                symbol: s.to_string(),
            };
            let Some(raw) = row.first().filter(|s| !s.trim().is_empty()) else {
                continue;
            };
            let symbol = normalize_symbol(raw).ok_or_else(|| bad(raw))?;
            let rule = Rule::parse(row.get(1).map_or("", String::as_str))
                .ok_or_else(|| bad(row.get(1).map_or("", String::as_str)))?;
            if !watchlist.contains(&symbol) {
                continue;
            }
            for name in row.get(2).into_iter().flat_map(|n| n.split('|')) {
                let words: Vec<String> = words(name).iter().map(|w| w.text.to_string()).collect();
                if let Some(first) = words.first() {
                    names.entry(first.clone()).or_default().push(Name {
                        words: words.clone(),
                        symbol: symbol.clone(),
                        needs_context: rule != Rule::Caps,
                    });
                }
            }
            rules.insert(symbol, rule);
        }
        // Longer names first, so `Goldman Sachs` wins over `Goldman`.
        for list in names.values_mut() {
            list.sort_by_key(|n| std::cmp::Reverse(n.words.len()));
        }
        Ok(Self {
            watchlist,
            rules,
            names,
        })
    }

    pub fn rule(&self, symbol: &str) -> Rule {
        self.rules.get(symbol).copied().unwrap_or(Rule::Caps)
    }

    /// The watched tickers a text mentions, upper-case, in order of first
    /// appearance, without repeats: its cashtags, and the symbols and names
    /// the rules accept.
    pub fn find(&self, text: &str) -> Vec<String> {
        let mut found: Vec<String> = Vec::new();
        let mut add = |s: &str| {
            if self.watchlist.contains(s) && !found.iter().any(|f| f == s) {
                found.push(s.to_string());
            }
        };
        let mut cashtags = Vec::new();
        for_each_cashtag(text, |s| cashtags.push(s.into_owned()));
        let ws = words(text);
        let loud = shouted(text);
        let near_finance = |i: usize| {
            let lo = i.saturating_sub(CONTEXT_WORDS);
            let hi = (i + CONTEXT_WORDS + 1).min(ws.len());
            (lo..hi).any(|j| j != i && is_finance_word(ws[j].text))
        };
        let mut i = 0;
        while i < ws.len() {
            let w = ws[i];
            // Handles, hashtags, paths and URLs are not mentions in words.
            if matches!(w.before, Some('@' | '#' | '/' | '\\' | '=' | '_' | '-')) {
                i += 1;
                continue;
            }
            if w.before == Some('$') {
                // A cashtag: counted in text order below.
                if let Some(c) = normalize_symbol(w.text) {
                    if cashtags.contains(&c) {
                        add(&c);
                    }
                }
                i += 1;
                continue;
            }
            if let Some(list) = self.names.get(w.text) {
                let hit = list.iter().find(|n| {
                    n.words.len() <= ws.len() - i
                        && n.words.iter().zip(&ws[i..]).all(|(a, b)| a == b.text)
                });
                if let Some(n) = hit {
                    if !n.needs_context || near_finance(i) {
                        add(&n.symbol);
                    }
                    i += n.words.len();
                    continue;
                }
            }
            if symbol_shape(w.text) && self.watchlist.contains(w.text) {
                let ok = match self.rule(w.text) {
                    Rule::Cashtag => false,
                    Rule::Context => near_finance(i),
                    Rule::Caps => !loud || near_finance(i),
                };
                if ok {
                    add(w.text);
                }
            }
            i += 1;
        }
        // Cashtags the word scan did not reach (`$BRK.B` split oddly, ...).
        for c in &cashtags {
            add(c);
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finder() -> TickerFinder {
        TickerFinder::bundled(Watchlist::bundled())
    }

    #[test]
    fn symbols_in_capitals_and_names_count() {
        let f = finder();
        assert_eq!(f.find("TSLA to the moon, and Apple too"), ["TSLA", "AAPL"]);
        assert_eq!(
            f.find("Goldman Sachs upgraded Nvidia's outlook"),
            ["GS", "NVDA"]
        );
        assert_eq!(f.find("long BRK.B, short $aapl"), ["BRK.B", "AAPL"]);
    }

    #[test]
    fn words_that_are_symbols_need_a_cashtag_or_a_finance_word() {
        let f = finder();
        assert!(f.find("IT IS WHAT IT IS, ALL ON RED NOW").is_empty());
        assert!(f.find("A cat sat on it. Are we there now?").is_empty());
        assert!(f.find("GM everyone, great day").is_empty());
        assert_eq!(f.find("GM shares fell after earnings"), ["GM"]);
        assert_eq!(f.find("bought $ON and $NOW today"), ["ON", "NOW"]);
        assert!(f.find("the CAT was on the mat").is_empty());
        assert_eq!(f.find("CAT calls printing"), ["CAT"]);
        // Lower case is never a symbol.
        assert!(f.find("tsla aapl").is_empty());
    }

    #[test]
    fn shouted_posts_need_a_finance_word() {
        let f = finder();
        assert!(f.find("WHY IS EVERYONE SO MAD AT AMD TODAY LOL").is_empty());
        assert_eq!(f.find("AMD SHARES ARE RIPPING TODAY"), ["AMD"]);
    }

    #[test]
    fn handles_hashtags_and_urls_are_not_mentions() {
        let f = finder();
        assert!(f.find("@TSLA #AAPL https://x.com/NVDA").is_empty());
    }

    #[test]
    fn a_bad_rule_is_an_error() {
        let e = TickerFinder::new(Watchlist::bundled(), "symbol,rule\nAAPL,maybe\n");
        assert!(e.is_err());
        // Symbols off the list are skipped.
        let f = TickerFinder::new(Watchlist::bundled(), "symbol,rule\nZZZZ,cashtag\n").unwrap();
        assert_eq!(f.rule("ZZZZ"), Rule::Caps);
    }
}
