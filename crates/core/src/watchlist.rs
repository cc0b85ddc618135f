//! The watch list: which tickers TickerPulse follows. A CSV with a symbol column
//! and a name column (the bundled S&P 500 list by default).

use std::borrow::Cow;
use std::collections::HashMap;

/// The S&P 500 constituents, bundled at build time (ODC-PDDL, see data/README.md).
pub const BUNDLED_SP500: &str = include_str!("../data/sp500.csv");

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WatchlistError {
    #[error("watch list CSV: {0}")]
    Csv(#[from] crate::csv::CsvError),
    #[error("watch list CSV has no symbol column (want a header with Symbol or symbol)")]
    NoSymbolColumn,
    #[error("watch list is empty")]
    Empty,
    #[error("watch list line {line}: {symbol:?} is not a ticker symbol")]
    BadSymbol { line: usize, symbol: String },
}

/// Dated symbol changes and delistings (see data/README.md).
pub const BUNDLED_ALIASES: &str = include_str!("../data/symbol-aliases.csv");

/// Tickers by normalized symbol (`BRK.B`), with their names, and the dated
/// aliases that send an old symbol to today's ticker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watchlist {
    names: HashMap<String, String, crate::hash::FxBuild>,
    /// Old symbol -> (last day it meant `ticker`, days since 1970, exclusive; ticker).
    aliases: HashMap<String, Vec<(i64, String)>, crate::hash::FxBuild>,
}

/// `YYYY-MM-DD` as days since 1970-01-01.
fn day_number(date: &str) -> Option<i64> {
    let mut parts = date.trim().splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, d) = (parts.next()??, parts.next()??, parts.next()??);
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then(|| crate::civil::days_from_civil(y, m, d))
}

/// Upper-cases a symbol and writes class shares with a dot (`brk-b`, `BRK/B` -> `BRK.B`).
/// Returns `None` for what cannot be a symbol.
pub fn normalize_symbol(raw: &str) -> Option<String> {
    normalized_symbol(raw).map(Cow::into_owned)
}

/// [`normalize_symbol`], borrowing from `raw` when the symbol is already
/// normalized (`AAPL`, `$BRK.B`): the transform reads one or more a tweet.
pub fn normalized_symbol(raw: &str) -> Option<Cow<'_, str>> {
    let s = raw.trim().trim_start_matches('$');
    if s.is_empty() || s.len() > 12 {
        return None;
    }
    let plain = s
        .bytes()
        .all(|c| matches!(c, b'A'..=b'Z' | b'0'..=b'9' | b'.'));
    if plain {
        let valid = s.starts_with(|c: char| c.is_ascii_alphabetic())
            && !s.ends_with('.')
            && !s.contains("..");
        return valid.then_some(Cow::Borrowed(s));
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            'a'..='z' => out.push(c.to_ascii_uppercase()),
            'A'..='Z' | '0'..='9' => out.push(c),
            '.' | '-' | '/' | '_' => out.push('.'),
            _ => return None,
        }
    }
    let valid = out.starts_with(|c: char| c.is_ascii_alphabetic())
        && !out.ends_with('.')
        && !out.contains("..");
    valid.then_some(Cow::Owned(out))
}

impl Watchlist {
    /// The bundled S&P 500 list.
    pub fn bundled() -> Self {
        Self::from_csv(BUNDLED_SP500).unwrap_or_else(|_| Self {
            names: HashMap::default(),
            aliases: HashMap::default(),
        })
    }

    /// Adds dated aliases from a CSV `symbol,ticker,until[,note]`: `symbol` in a
    /// post made before `until` (a date) counts under `ticker`.
    pub fn with_aliases(mut self, text: &str) -> Result<Self, WatchlistError> {
        let rows = crate::csv::parse(text.trim_start_matches('\u{feff}'), b',')?;
        for (i, row) in rows.iter().enumerate().skip(1) {
            let bad = |s: &str| WatchlistError::BadSymbol {
                line: i + 1,
                symbol: s.to_string(),
            };
            let (Some(symbol), Some(ticker), Some(until)) = (row.first(), row.get(1), row.get(2))
            else {
                continue;
            };
            let symbol = normalize_symbol(symbol).ok_or_else(|| bad(symbol))?;
            let ticker = normalize_symbol(ticker).ok_or_else(|| bad(ticker))?;
            let until = day_number(until).ok_or_else(|| bad(until))?;
            self.aliases
                .entry(symbol)
                .or_default()
                .push((until, ticker));
        }
        Ok(self)
    }

    /// The ticker a symbol counted under on a day (days since 1970), if it is
    /// watched: an alias of that day, or the symbol itself if it is on the list.
    pub fn watched_on<'a>(&'a self, symbol: &'a str, day: i64) -> Option<&'a str> {
        let aliased = self.aliases.get(symbol).and_then(|list| {
            list.iter()
                .filter(|(until, _)| day < *until)
                .min_by_key(|(until, _)| *until)
                .map(|(_, t)| t.as_str())
        });
        match aliased {
            // An alias to itself keeps a delisted ticker's history.
            Some(t) if t == symbol || self.contains(t) => Some(t),
            _ => self.names.get_key_value(symbol).map(|(k, _)| k.as_str()),
        }
    }

    /// On the list, or a delisted ticker whose history is kept.
    pub fn known(&self, symbol: &str) -> bool {
        self.contains(symbol)
            || self
                .aliases
                .get(symbol)
                .is_some_and(|l| l.iter().any(|(_, t)| t == symbol))
    }

    /// Parses a CSV whose header names a `symbol` column and, optionally, a
    /// `name` or `security` column.
    pub fn from_csv(text: &str) -> Result<Self, WatchlistError> {
        let rows = crate::csv::parse(text.trim_start_matches('\u{feff}'), b',')?;
        let header = rows.first().ok_or(WatchlistError::Empty)?;
        let col = |names: &[&str]| {
            header
                .iter()
                .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
        };
        let sym = col(&["symbol", "ticker"]).ok_or(WatchlistError::NoSymbolColumn)?;
        let name = col(&["name", "security", "company"]);
        let mut names = HashMap::default();
        for (i, row) in rows.iter().enumerate().skip(1) {
            let Some(raw) = row.get(sym) else { continue };
            if raw.trim().is_empty() {
                continue;
            }
            let symbol = normalize_symbol(raw).ok_or_else(|| WatchlistError::BadSymbol {
                line: i + 1,
                symbol: raw.clone(),
            })?;
            let n = name.and_then(|c| row.get(c)).cloned().unwrap_or_default();
            names.insert(symbol, n);
        }
        if names.is_empty() {
            return Err(WatchlistError::Empty);
        }
        Self {
            names,
            aliases: HashMap::default(),
        }
        .with_aliases(BUNDLED_ALIASES)
    }

    pub fn contains(&self, symbol: &str) -> bool {
        self.names.contains_key(symbol)
    }

    pub fn name(&self, symbol: &str) -> Option<&str> {
        self.names.get(symbol).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The symbols, sorted.
    pub fn symbols(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.names.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }
}

/// Cashtags in a text: `$` then 1 to 6 letters, optionally `.` and 1 or 2 letters
/// (`$BRK.B`), not preceded by a letter or digit and not followed by one. Upper-cased,
/// in order of first appearance, without duplicates.
pub fn cashtags_in_text(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for_each_cashtag(text, |symbol| {
        if !out.iter().any(|s| *s == symbol) {
            out.push(symbol.into_owned());
        }
    });
    out
}

/// Each cashtag of a text by the rules of [`cashtags_in_text`], repeats
/// included, borrowed from `text` when it is written upper-case.
pub fn for_each_cashtag<'a>(text: &'a str, mut each: impl FnMut(Cow<'a, str>)) {
    let bytes = text.as_bytes();
    let mut i = 0;
    // `str::find` with an ASCII char jumps to the next `$` with memchr.
    while let Some(at) = text.get(i..).and_then(|rest| rest.find('$')) {
        i += at;
        if i > 0 && bytes[i - 1].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i + 1;
        let mut end = start;
        while end < bytes.len() && bytes[end].is_ascii_alphabetic() && end - start < 7 {
            end += 1;
        }
        let letters = end - start;
        if letters == 0 || letters > 6 {
            i = end.max(i + 1);
            continue;
        }
        // Class shares: `.B`
        if end + 1 < bytes.len() && bytes[end] == b'.' && bytes[end + 1].is_ascii_alphabetic() {
            let mut class_end = end + 1;
            while class_end < bytes.len() && bytes[class_end].is_ascii_alphabetic() {
                class_end += 1;
            }
            if class_end - end - 1 <= 2
                && !bytes
                    .get(class_end)
                    .is_some_and(|b| b.is_ascii_alphanumeric())
            {
                end = class_end;
            }
        }
        // `$ES_F` is a futures contract, not `$ES` (twitter-text reads `_` as part of a cashtag).
        if bytes
            .get(end)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        {
            i = end;
            continue;
        }
        let symbol = &text[start..end];
        if symbol.bytes().any(|c| c.is_ascii_lowercase()) {
            each(Cow::Owned(symbol.to_ascii_uppercase()));
        } else {
            each(Cow::Borrowed(symbol));
        }
        i = end;
    }
}

#[cfg(test)]
mod alias_tests {
    use super::*;

    fn day(s: &str) -> i64 {
        day_number(s).unwrap()
    }

    #[test]
    fn dated_aliases_send_old_symbols_to_the_ticker_of_their_day() {
        let w = Watchlist::bundled();
        assert_eq!(w.watched_on("FB", day("2020-04-15")), Some("META"));
        assert_eq!(w.watched_on("FB", day("2022-06-08")), Some("META"));
        assert_eq!(w.watched_on("FB", day("2022-06-09")), None);
        assert_eq!(w.watched_on("META", day("2020-04-15")), Some("META"));
        assert_eq!(w.watched_on("TWTR", day("2021-01-01")), Some("TWTR"));
        assert_eq!(w.watched_on("TWTR", day("2022-11-08")), None);
        assert_eq!(w.watched_on("ANTM", day("2021-01-01")), Some("ELV"));
        assert_eq!(w.watched_on("AAPL", day("2021-01-01")), Some("AAPL"));
        assert_eq!(w.watched_on("DOGE", day("2021-01-01")), None);
        assert!(w.known("TWTR") && !w.contains("TWTR") && !w.known("FB"));
    }

    #[test]
    fn every_alias_leads_to_a_listed_ticker_or_keeps_a_delisted_one() {
        let w = Watchlist::bundled();
        for (symbol, list) in &w.aliases {
            for (_, ticker) in list {
                assert!(
                    w.contains(ticker) || ticker == symbol,
                    "{symbol} -> {ticker} is on no list"
                );
            }
        }
        assert!(w.aliases.len() >= 9);
        assert!(Watchlist::bundled()
            .with_aliases("symbol,ticker,until\nFB,META,2022-13-01\n")
            .is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_list_has_the_sp500_with_class_shares() {
        let w = Watchlist::bundled();
        assert_eq!(w.len(), 503);
        assert!(w.contains("AAPL") && w.contains("BRK.B") && w.contains("BF.B"));
        assert_eq!(w.name("MMM"), Some("3M"));
        assert!(!w.contains("DOGE"));
    }

    #[test]
    fn csv_lists_and_bad_ones() {
        let w = Watchlist::from_csv("symbol,name\ntsla,Tesla\nbrk-b,Berkshire\n").unwrap();
        assert!(w.contains("TSLA") && w.contains("BRK.B"));
        assert_eq!(
            Watchlist::from_csv("x,y\n1,2\n"),
            Err(WatchlistError::NoSymbolColumn)
        );
        assert_eq!(Watchlist::from_csv("symbol\n"), Err(WatchlistError::Empty));
        assert!(matches!(
            Watchlist::from_csv("symbol\nA B\n"),
            Err(WatchlistError::BadSymbol { .. })
        ));
    }

    #[test]
    fn cashtags_are_found_like_people_write_them() {
        assert_eq!(
            cashtags_in_text("$tsla and $AAPL, $TSLA again"),
            ["TSLA", "AAPL"]
        );
        assert_eq!(cashtags_in_text("Buy $BRK.B. now"), ["BRK.B"]);
        assert_eq!(
            cashtags_in_text("$100 and US$5 and $TOOLONGX and x$AB"),
            Vec::<String>::new()
        );
        assert_eq!(cashtags_in_text("($SPY)…$QQQ"), ["SPY", "QQQ"]);
        assert_eq!(cashtags_in_text("$"), Vec::<String>::new());
        assert_eq!(cashtags_in_text("é$ABé"), ["AB"]);
        let mut found = Vec::new();
        for_each_cashtag("$AAPL $aapl $BRK.B", |s| found.push(s));
        assert!(matches!(found[0], Cow::Borrowed("AAPL")));
        assert!(matches!(&found[1], Cow::Owned(s) if s == "AAPL"));
        assert!(matches!(found[2], Cow::Borrowed("BRK.B")));
    }

    #[test]
    fn symbols_normalized_and_borrowed_when_they_already_are() {
        for (raw, want, borrowed) in [
            ("AAPL", Some("AAPL"), true),
            (" $BRK.B ", Some("BRK.B"), true),
            ("brk-b", Some("BRK.B"), false),
            ("BRK/B", Some("BRK.B"), false),
            ("BF_B", Some("BF.B"), false),
            ("Tsla", Some("TSLA"), false),
            ("3M", None, true),
            ("ABC.", None, true),
            ("A..B", None, true),
            ("A-.B", None, false),
            ("", None, true),
            ("$", None, true),
            ("ABCDEFGHIJKLM", None, true),
            ("A B", None, false),
            ("ÄPL", None, false),
        ] {
            let got = normalized_symbol(raw);
            assert_eq!(got.as_deref(), want, "{raw:?}");
            assert_eq!(normalize_symbol(raw).as_deref(), want, "{raw:?}");
            if let Some(got) = got {
                assert_eq!(matches!(got, Cow::Borrowed(_)), borrowed, "{raw:?}");
            }
        }
    }
}
