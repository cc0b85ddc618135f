//! Daily prices, as operators drop them in the lake (`prices/daily/<SYMBOL>.csv`)
//! in the layout of the common exports, and what the dashboard does with them:
//! the close beside the ticker's trend, and the correlation of a day's
//! sentiment and mentions with the next trading day's return.
//!
//! Layouts read (by header, any column order, case and spacing ignored):
//! - AlphaVantage `TIME_SERIES_DAILY_ADJUSTED` / `TIME_SERIES_DAILY` CSV:
//!   `timestamp,open,high,low,close[,adjusted_close],volume[,dividend_amount,split_coefficient]`;
//! - Yahoo Finance's download and Stooq's: `Date,Open,High,Low,Close[,Adj Close],Volume`.
//!
//! No price is ever made up: a day without a bar has none, and a return needs
//! the bars of both days.

use crate::csv;

/// One trading day.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: u64,
    /// Shares after a split that took effect this day, per share before (1 if none).
    pub split: f64,
}

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum PriceError {
    #[error(transparent)]
    Csv(#[from] csv::CsvError),
    #[error("no {0} column (want a date/timestamp, open, high, low, close and volume header)")]
    MissingColumn(&'static str),
    #[error("line {line}: {what}")]
    Bad { line: usize, what: String },
}

fn normalized(name: &str) -> String {
    name.trim()
        .trim_start_matches('\u{feff}')
        .to_ascii_lowercase()
        .replace([' ', '_'], "")
}

/// The bars of one CSV file, oldest first (files list them either way).
pub fn parse_daily(text: &str) -> Result<Vec<Bar>, PriceError> {
    let records = csv::parse(text, b',')?;
    let Some((header, rows)) = records.split_first() else {
        return Ok(Vec::new());
    };
    let names: Vec<String> = header.iter().map(|h| normalized(h)).collect();
    let find = |options: &[&str], what: &'static str| {
        names
            .iter()
            .position(|n| options.contains(&n.as_str()))
            .ok_or(PriceError::MissingColumn(what))
    };
    let date = find(&["timestamp", "date"], "date")?;
    let open = find(&["open"], "open")?;
    let high = find(&["high"], "high")?;
    let low = find(&["low"], "low")?;
    let close = find(&["close"], "close")?;
    let volume = find(&["volume"], "volume")?;
    let split = find(&["splitcoefficient"], "split").ok();
    let mut out = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let line = i + 2;
        if row.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let field = |at: usize| row.get(at).map(|f| f.trim()).unwrap_or("");
        let number = |at: usize, what: &str| -> Result<f64, PriceError> {
            field(at)
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| PriceError::Bad {
                    line,
                    what: format!("{what} {:?} is not a price", field(at)),
                })
        };
        let day = field(date);
        let valid_date = day.len() == 10
            && day.bytes().enumerate().all(|(k, b)| {
                if k == 4 || k == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        if !valid_date {
            return Err(PriceError::Bad {
                line,
                what: format!("date {day:?} is not YYYY-MM-DD"),
            });
        }
        let bar = Bar {
            date: day.to_string(),
            open: number(open, "open")?,
            high: number(high, "high")?,
            low: number(low, "low")?,
            close: number(close, "close")?,
            volume: number(volume, "volume")? as u64,
            split: match split {
                Some(at) => number(at, "split coefficient")?,
                None => 1.0,
            },
        };
        if bar.close <= 0.0 {
            return Err(PriceError::Bad {
                line,
                what: "a close of 0".into(),
            });
        }
        out.push(bar);
    }
    out.sort_by(|a, b| a.date.cmp(&b.date));
    out.dedup_by(|a, b| a.date == b.date);
    Ok(out)
}

/// The return from each bar's close to the next bar's close, split-adjusted:
/// `(date, return)` for every bar that has a next one.
pub fn next_returns(bars: &[Bar]) -> Vec<(String, f64)> {
    bars.windows(2)
        .map(|w| {
            let (today, next) = (&w[0], &w[1]);
            let split = if next.split > 0.0 { next.split } else { 1.0 };
            (today.date.clone(), next.close * split / today.close - 1.0)
        })
        .collect()
}

/// A Pearson correlation and how many pairs it rests on.
#[derive(Debug, Clone, PartialEq)]
pub struct Correlation {
    pub n: usize,
    /// `None` under 3 pairs or when either side does not vary.
    pub r: Option<f64>,
}

pub fn pearson(pairs: &[(f64, f64)]) -> Correlation {
    let n = pairs.len();
    if n < 3 {
        return Correlation { n, r: None };
    }
    let nf = n as f64;
    let (sx, sy) = pairs
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (sx / nf, sy / nf);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in pairs {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
    }
    let r = (sxx > 0.0 && syy > 0.0).then(|| (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0));
    Correlation { n, r }
}

/// Pairs each day's figure (`YYYY-MM-DD`, value) with the return from that
/// day's close to the next trading day's: days without a bar (weekends,
/// holidays, or no price data) pair with nothing.
pub fn with_next_returns(days: &[(String, f64)], bars: &[Bar]) -> Vec<(f64, f64)> {
    let returns: std::collections::HashMap<String, f64> = next_returns(bars).into_iter().collect();
    days.iter()
        .filter_map(|(d, v)| returns.get(d).map(|r| (*v, *r)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALPHA: &str =
        "timestamp,open,high,low,close,adjusted_close,volume,dividend_amount,split_coefficient\n\
        2020-08-31,127.58,131.0,126.0,129.04,128.5,225702700,0.0,4.0\n\
        2020-08-28,504.05,505.77,498.31,499.23,124.2,46907479,0.0,1.0\n\
        2020-08-27,508.57,509.94,495.33,500.04,124.4,38888096,0.0,1.0\n";

    #[test]
    fn alphavantage_bars_read_oldest_first_with_the_split() {
        let bars = parse_daily(ALPHA).unwrap();
        assert_eq!(
            bars.iter().map(|b| b.date.as_str()).collect::<Vec<_>>(),
            ["2020-08-27", "2020-08-28", "2020-08-31"]
        );
        assert_eq!(bars[2].split, 4.0);
        let r = next_returns(&bars);
        assert_eq!(r.len(), 2);
        assert!((r[0].1 - (499.23 / 500.04 - 1.0)).abs() < 1e-12);
        // A 4-for-1 split is no 74% fall.
        assert!((r[1].1 - (129.04 * 4.0 / 499.23 - 1.0)).abs() < 1e-12);
        assert!(r[1].1 > 0.0);
    }

    #[test]
    fn yahoo_layout_reads_too() {
        let yahoo = "Date,Open,High,Low,Close,Adj Close,Volume\n2020-04-09,268.7,270.07,264.7,267.99,264.0,40529100\n";
        let bars = parse_daily(yahoo).unwrap();
        assert_eq!(
            (bars[0].close, bars[0].volume, bars[0].split),
            (267.99, 40529100, 1.0)
        );
    }

    #[test]
    fn bad_files_say_where() {
        assert_eq!(
            parse_daily("day,price\n2020-01-01,3\n").unwrap_err(),
            PriceError::MissingColumn("date")
        );
        let e = parse_daily("date,open,high,low,close,volume\n2020-01-02,1,1,1,x,5\n").unwrap_err();
        assert_eq!(e.to_string(), "line 2: close \"x\" is not a price");
        let e = parse_daily("date,open,high,low,close,volume\n01/02/2020,1,1,1,1,5\n").unwrap_err();
        assert!(e.to_string().contains("YYYY-MM-DD"), "{e}");
        assert!(parse_daily("date,open,high,low,close,volume\n2020-01-02,1,1,1,0,5\n").is_err());
        assert_eq!(parse_daily("").unwrap(), Vec::new());
    }

    #[test]
    fn pearson_is_exact_on_lines_and_silent_on_too_little() {
        let up: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 2.0 * i as f64 + 1.0)).collect();
        assert!((pearson(&up).r.unwrap() - 1.0).abs() < 1e-12);
        let down: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, -(i as f64))).collect();
        assert!((pearson(&down).r.unwrap() + 1.0).abs() < 1e-12);
        assert_eq!(pearson(&up[..2]).r, None);
        let flat: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 3.0)).collect();
        assert_eq!(pearson(&flat), Correlation { n: 10, r: None });
    }

    #[test]
    fn days_pair_with_their_next_trading_days_return() {
        let bars = parse_daily(ALPHA).unwrap();
        let days = vec![
            ("2020-08-27".to_string(), 0.5),
            ("2020-08-29".to_string(), 0.9), // a Saturday: no bar
            ("2020-08-31".to_string(), 0.1), // no next bar
        ];
        let pairs = with_next_returns(&days, &bars);
        assert_eq!(pairs.len(), 1);
        assert_eq!(pairs[0].0, 0.5);
    }
}
