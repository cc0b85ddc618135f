//! Query parameters: parsed and checked before any read, so a bad request is a
//! `400` with a JSON body that names the parameter, never a `500`.

use base64::Engine;
use std::collections::HashMap;
use tickerpulse_aggregate::{Bucket, Level};
use tickerpulse_core::source::Source;
use tickerpulse_core::watchlist::Watchlist;

/// A request the API refuses: the status, a stable code and a sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn bad(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: 400,
            code,
            message: message.into(),
        }
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: 404,
            code: "not_found",
            message: message.into(),
        }
    }
}

/// The query string of one request, with the names the endpoint accepts.
pub struct Params<'a> {
    values: &'a HashMap<String, String>,
}

impl<'a> Params<'a> {
    /// Refuses parameters the endpoint does not know (a typo would otherwise be
    /// silently ignored and the answer would look right).
    pub fn new(values: &'a HashMap<String, String>, known: &[&str]) -> Result<Self, ApiError> {
        let mut unknown: Vec<&str> = values
            .keys()
            .map(String::as_str)
            .filter(|k| !known.contains(k))
            .collect();
        unknown.sort_unstable();
        if let Some(first) = unknown.first() {
            return Err(ApiError::bad(
                "unknown_parameter",
                format!(
                    "unknown query parameter {first:?}; this endpoint takes: {}",
                    known.join(", ")
                ),
            ));
        }
        Ok(Self { values })
    }

    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.values.get(name).map(String::as_str)
    }

    /// A detail level: `year`, `month`, `day`, `hour` or `15min`.
    pub fn level(&self, name: &str, default: Level) -> Result<Level, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => Level::parse(v).ok_or_else(|| {
                ApiError::bad(
                    "bad_parameter",
                    format!("{name}={v:?}: want one of year, month, day, hour, 15min"),
                )
            }),
        }
    }

    /// A period of the given level (`2020`, `2020-04`, `2020-04-15`,
    /// `2020-04-15-13`, `2020-04-15-13:45`), if given.
    pub fn period(&self, level: Level) -> Result<Option<Bucket>, ApiError> {
        let Some(v) = self.get("period") else {
            return Ok(None);
        };
        match Bucket::parse(v) {
            Some(b) if b.level == level => Ok(Some(b)),
            _ => Err(ApiError::bad(
                "bad_parameter",
                format!(
                    "period={v:?} is not a {} period (like {})",
                    level.name(),
                    example(level)
                ),
            )),
        }
    }

    /// An integer in `range`, or the default.
    pub fn limit(
        &self,
        name: &str,
        default: usize,
        range: std::ops::RangeInclusive<usize>,
    ) -> Result<usize, ApiError> {
        let Some(v) = self.get(name) else {
            return Ok(default);
        };
        match v.parse::<usize>() {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(ApiError::bad(
                "bad_parameter",
                format!(
                    "{name}={v:?}: want an integer from {} to {}",
                    range.start(),
                    range.end()
                ),
            )),
        }
    }

    /// `source`: one source's posts only (`x`, `bluesky`, `reddit`), or all
    /// of them (`all`, the default: `None`).
    pub fn source(&self) -> Result<Option<Source>, ApiError> {
        match self.choice("source", &["all", "x", "bluesky", "reddit"])? {
            "all" => Ok(None),
            s => Ok(Source::parse(s)),
        }
    }

    /// One of `choices`, or the first.
    pub fn choice(&self, name: &str, choices: &[&'static str]) -> Result<&'static str, ApiError> {
        match self.get(name) {
            None => Ok(choices[0]),
            Some(v) => choices.iter().find(|c| **c == v).copied().ok_or_else(|| {
                ApiError::bad(
                    "bad_parameter",
                    format!("{name}={v:?}: want one of {}", choices.join(", ")),
                )
            }),
        }
    }

    /// A time (`2020-04-15T13:00:00Z`, any RFC 3339 offset, or a date
    /// `2020-04-15`), as the sort key of the time-series index (UTC, seconds).
    pub fn time(&self, name: &str) -> Result<Option<String>, ApiError> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        parse_time(v).map(Some).ok_or_else(|| {
            ApiError::bad(
                "bad_parameter",
                format!("{name}={v:?}: want an RFC 3339 time or a date (2020-04-15T13:00:00Z, 2020-04-15)"),
            )
        })
    }

    /// `from` and `to`, both included, when given; `from` after `to` is a 400.
    pub fn inclusive_range(&self) -> Result<(Option<String>, Option<String>), ApiError> {
        let (from, to) = (self.time("from")?, self.time("to")?);
        if let (Some(a), Some(b)) = (&from, &to) {
            if a > b {
                return Err(ApiError::bad(
                    "bad_parameter",
                    format!("from={a} is after to={b}"),
                ));
            }
        }
        Ok((from, to))
    }

    /// A ticker of the watch list, if given.
    pub fn ticker(&self, watchlist: &Watchlist) -> Result<Option<String>, ApiError> {
        match self.get("ticker") {
            None => Ok(None),
            Some(v) => watched_ticker(v, watchlist).map(Some),
        }
    }
}

/// A ticker symbol as a path segment or parameter: `TSLA`, `$tsla`, `BRK.B`.
pub fn watched_ticker(raw: &str, watchlist: &Watchlist) -> Result<String, ApiError> {
    let symbol = tickerpulse_core::watchlist::normalize_symbol(raw).ok_or_else(|| {
        ApiError::bad(
            "bad_parameter",
            format!("{raw:?} is not a ticker symbol (like TSLA or BRK.B)"),
        )
    })?;
    // The list, and delisted tickers whose history is kept (TWTR).
    if !watchlist.known(&symbol) {
        return Err(ApiError::bad(
            "unknown_ticker",
            format!("{symbol} is not on the watch list"),
        ));
    }
    Ok(symbol)
}

pub fn example(level: Level) -> &'static str {
    match level {
        Level::Year => "2020",
        Level::Month => "2020-04",
        Level::Day => "2020-04-15",
        Level::Hour => "2020-04-15-13",
        Level::Quarter => "2020-04-15-13:45",
    }
}

pub fn parse_time(v: &str) -> Option<String> {
    use time::format_description::well_known::Rfc3339;
    let t = match time::OffsetDateTime::parse(v, &Rfc3339) {
        Ok(t) => t,
        Err(_) => {
            let date =
                time::Date::parse(v, time::macros::format_description!("[year]-[month]-[day]"))
                    .ok()?;
            date.midnight().assume_utc()
        }
    };
    let t = t.to_offset(time::UtcOffset::UTC);
    if !(1970..=9999).contains(&t.year()) {
        return None;
    }
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

/// Page tokens are opaque to clients: the sort key to continue before, tagged
/// with what it pages through, base64url, then a dot and the first 128 bits of
/// its HMAC-SHA256 under the stack's key. Only a token the API gave passes: a
/// well-formed token made by hand is refused (it was accepted).
#[derive(Clone)]
pub struct PageTokens {
    key: Vec<u8>,
}

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Bytes of the tag a token carries.
const TAG_BYTES: usize = 16;

impl PageTokens {
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    fn mac(&self, body: &str) -> HmacSha256 {
        use hmac::{KeyInit, Mac};
        // An HMAC takes a key of any length.
        let mut m = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        m.update(body.as_bytes());
        m
    }

    pub fn issue(&self, kind: &str, sort_key: &str) -> String {
        use hmac::Mac;
        let body = format!("{kind}:{sort_key}");
        let tag = self.mac(&body).finalize().into_bytes();
        let b64 = &base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!("{}.{}", b64.encode(&body), b64.encode(&tag[..TAG_BYTES]))
    }

    /// Reads a page token of `kind`; `shape` checks the sort key inside.
    pub fn read(
        &self,
        token: &str,
        kind: &str,
        shape: impl Fn(&str) -> bool,
    ) -> Result<String, ApiError> {
        use hmac::Mac;
        let bad = || {
            ApiError::bad(
                "bad_page_token",
                "page is not a token this endpoint returned (pass next_page as it came)",
            )
        };
        let b64 = &base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let (body, tag) = token.split_once('.').ok_or_else(bad)?;
        let body = String::from_utf8(b64.decode(body).map_err(|_| bad())?).map_err(|_| bad())?;
        let tag = b64.decode(tag).map_err(|_| bad())?;
        if tag.len() != TAG_BYTES {
            return Err(bad());
        }
        // Compared in constant time.
        self.mac(&body)
            .verify_truncated_left(&tag)
            .map_err(|_| bad())?;
        read_body(&body, kind, shape).ok_or_else(bad)
    }
}

/// The sort key of a token's verified body, if it is of `kind` and its shape.
fn read_body(text: &str, kind: &str, shape: impl Fn(&str) -> bool) -> Option<String> {
    let key = text.strip_prefix(kind)?.strip_prefix(':')?;
    (!key.is_empty() && key.len() <= 200 && shape(key)).then(|| key.to_string())
}

/// `2020-04-15T01:50:00Z#1250...`: the recent-tweets sort key.
pub fn is_tweet_sort_key(key: &str) -> bool {
    match key.split_once('#') {
        Some((at, id)) => {
            parse_time(at).is_some()
                && !id.is_empty()
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        }
        None => false,
    }
}

/// `<started_at>#<run id>`: the run records' sort key.
pub fn is_run_sort_key(key: &str) -> bool {
    match key.split_once('#') {
        Some((at, id)) => parse_time(at).is_some() && !id.is_empty() && !id.contains('#'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn levels_periods_and_limits() {
        let v = params(&[
            ("level", "hour"),
            ("period", "2020-04-15-13"),
            ("limit", "0"),
        ]);
        let p = Params::new(&v, &["level", "period", "limit"]).unwrap();
        assert_eq!(p.level("level", Level::Day), Ok(Level::Hour));
        assert_eq!(
            p.period(Level::Hour).unwrap().map(|b| b.key()),
            Some("2020-04-15-13".into())
        );
        assert_eq!(p.period(Level::Day).unwrap_err().code, "bad_parameter");
        assert_eq!(p.limit("limit", 5, 1..=100).unwrap_err().status, 400);
        let v = params(&[("level", "weekly")]);
        let p = Params::new(&v, &["level"]).unwrap();
        assert!(p.level("level", Level::Day).is_err());
        let v = params(&[("levle", "day")]);
        assert_eq!(
            Params::new(&v, &["level"]).err().map(|e| e.code),
            Some("unknown_parameter")
        );
    }

    #[test]
    fn times() {
        assert_eq!(
            parse_time("2020-04-15").as_deref(),
            Some("2020-04-15T00:00:00Z")
        );
        assert_eq!(
            parse_time("2020-04-15T15:30:00+02:00").as_deref(),
            Some("2020-04-15T13:30:00Z")
        );
        assert_eq!(parse_time("2020-13-01"), None);
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn page_tokens_round_trip_and_refuse_forgeries() {
        let tokens = PageTokens::new(b"the stack's key");
        let t = tokens.issue("tweets", "2020-04-15T01:50:00Z#2003");
        assert_eq!(
            tokens.read(&t, "tweets", is_tweet_sort_key).as_deref(),
            Ok("2020-04-15T01:50:00Z#2003")
        );
        assert!(tokens.read(&t, "runs", is_run_sort_key).is_err());
        assert!(tokens.read("!!!", "tweets", is_tweet_sort_key).is_err());
        // Signed but not of the shape: refused.
        let odd = tokens.issue("tweets", "anything");
        assert_eq!(
            tokens
                .read(&odd, "tweets", is_tweet_sort_key)
                .unwrap_err()
                .code,
            "bad_page_token"
        );
        // Well formed, made by hand (unsigned, or signed with another key, or
        // with the body changed under a real tag): refused.
        let b64 = &base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let unsigned = b64.encode("tweets:2099-01-01T00:00:00Z#1");
        assert!(tokens.read(&unsigned, "tweets", is_tweet_sort_key).is_err());
        let other = PageTokens::new(b"another key").issue("tweets", "2099-01-01T00:00:00Z#1");
        assert!(tokens.read(&other, "tweets", is_tweet_sort_key).is_err());
        let (_, tag) = t.split_once('.').unwrap();
        let swapped = format!("{}.{tag}", b64.encode("tweets:2099-01-01T00:00:00Z#1"));
        assert!(tokens.read(&swapped, "tweets", is_tweet_sort_key).is_err());
    }

    #[test]
    fn tickers() {
        let w = Watchlist::bundled();
        assert_eq!(watched_ticker("$tsla", &w).as_deref(), Ok("TSLA"));
        assert_eq!(
            watched_ticker("ZZZZ", &w).unwrap_err().code,
            "unknown_ticker"
        );
        assert_eq!(
            watched_ticker("not a ticker", &w).unwrap_err().code,
            "bad_parameter"
        );
    }
}
