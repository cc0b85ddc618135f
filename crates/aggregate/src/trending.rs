//! Trending: which tickers' mentions move now, over a rolling window of hours
//! (1 h, 24 h or 7 d) ending at an anchor hour, against the window before and
//! against each ticker's own hourly baseline of the 7 days before the window.
//!
//! The score is a z-score: the window's mentions minus what the baseline's
//! hourly mean predicts for that many hours, over the baseline's hourly
//! spread scaled to the window (`sigma * sqrt(hours)`, hours taken as
//! independent). Hours without a mention count as zero. The spread has a
//! floor of one mention an hour, so that a ticker that was silent all week is
//! not infinitely "trending" on its first few posts; `min_mentions` keeps a
//! single post from being a trend at all. Ranks order the tickers that pass
//! by score, then mentions, then symbol; the rank change compares with the
//! same ranking one window earlier.

use crate::Counts;
use std::collections::{BTreeMap, HashMap};

/// Hours of the baseline before a window.
pub const BASELINE_HOURS: i64 = 168;
/// The floor of the baseline's hourly spread, in mentions.
pub const MIN_SPREAD: f64 = 1.0;

pub use tickerpulse_core::window::Window;

/// The hours one query must read for a window ending at `anchor`: the
/// window, the window before it, and the baseline of each.
pub fn span(window: Window, anchor: i64) -> std::ops::RangeInclusive<i64> {
    (anchor - 2 * window.hours() - BASELINE_HOURS + 1)..=anchor
}

/// One ticker's place in a window.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Trend {
    pub ticker: String,
    /// Rank by score among the tickers with `min_mentions` (1 is first).
    pub rank: usize,
    /// Its rank one window earlier, if it had one.
    pub previous_rank: Option<usize>,
    /// Places gained (positive) or lost since the window before.
    pub rank_change: Option<i64>,
    pub score: f64,
    /// Mentions in the window and in the window before.
    pub mentions: u64,
    pub previous_mentions: u64,
    /// The baseline's mean mentions an hour and its spread.
    pub baseline_mean: f64,
    pub baseline_spread: f64,
    /// The window's sentiment counts.
    pub counts: Counts,
}

/// One ticker's figures over one window.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub counts: Counts,
    /// The z-score against the baseline (unrounded).
    pub score: f64,
    pub baseline_mean: f64,
    pub baseline_spread: f64,
}

/// Hourly counts by ticker: `hour` is hours since the Unix epoch.
#[derive(Debug, Clone, Default)]
pub struct Hourly {
    by_ticker: HashMap<String, BTreeMap<i64, Counts>>,
}

impl Hourly {
    pub fn add(&mut self, hour: i64, ticker: &str, counts: &Counts) {
        self.by_ticker
            .entry(ticker.to_string())
            .or_default()
            .entry(hour)
            .or_default()
            .merge(counts);
    }

    fn sum(series: &BTreeMap<i64, Counts>, hours: std::ops::RangeInclusive<i64>) -> Counts {
        let mut total = Counts::default();
        for (_, c) in series.range(hours) {
            total.merge(c);
        }
        total
    }

    /// The hourly mean and spread (population standard deviation) of mentions
    /// over `hours`, silent hours counting as zero.
    fn baseline(
        series: &BTreeMap<i64, Counts>,
        hours: std::ops::RangeInclusive<i64>,
    ) -> (f64, f64) {
        let n = (hours.end() - hours.start() + 1) as f64;
        let (mut sum, mut squares) = (0.0, 0.0);
        for (_, c) in series.range(hours) {
            let m = c.mentions as f64;
            sum += m;
            squares += m * m;
        }
        let mean = sum / n;
        (mean, (squares / n - mean * mean).max(0.0).sqrt())
    }

    /// The tickers with any mention in the hours read.
    pub fn tickers(&self) -> impl Iterator<Item = &str> {
        self.by_ticker.keys().map(String::as_str)
    }

    /// One ticker's figures over the window ending at `anchor` (zero for a
    /// ticker never seen).
    pub fn figures(&self, ticker: &str, window: Window, anchor: i64) -> Figures {
        match self.by_ticker.get(ticker) {
            Some(series) => Self::figures_of(series, window, anchor),
            None => Figures {
                counts: Counts::default(),
                score: 0.0,
                baseline_mean: 0.0,
                baseline_spread: 0.0,
            },
        }
    }

    fn figures_of(series: &BTreeMap<i64, Counts>, window: Window, anchor: i64) -> Figures {
        let w = window.hours();
        let counts = Self::sum(series, (anchor - w + 1)..=anchor);
        Self::scored(series, window, anchor, counts)
    }

    /// The figures of the window's `counts`: its baseline and z-score.
    fn scored(
        series: &BTreeMap<i64, Counts>,
        window: Window,
        anchor: i64,
        counts: Counts,
    ) -> Figures {
        let w = window.hours();
        let (mean, spread) =
            Self::baseline(series, (anchor - w - BASELINE_HOURS + 1)..=(anchor - w));
        let expected = mean * w as f64;
        let score =
            (counts.mentions as f64 - expected) / (spread.max(MIN_SPREAD) * (w as f64).sqrt());
        Figures {
            counts,
            score,
            baseline_mean: mean,
            baseline_spread: spread,
        }
    }

    /// Scores of every ticker with `min_mentions` in the window ending at
    /// `anchor`, ranked.
    fn ranked(&self, anchor: i64, window: Window, min_mentions: u64) -> Vec<Trend> {
        let w = window.hours();
        let previous = (anchor - 2 * w + 1)..=(anchor - w);
        let mut out: Vec<Trend> = self
            .by_ticker
            .iter()
            .filter_map(|(ticker, series)| {
                // The baseline only for tickers that pass the minimum.
                let counts = Self::sum(series, (anchor - w + 1)..=anchor);
                if counts.mentions < min_mentions.max(1) {
                    return None;
                }
                let f = Self::scored(series, window, anchor, counts);
                Some(Trend {
                    ticker: ticker.clone(),
                    rank: 0,
                    previous_rank: None,
                    rank_change: None,
                    score: (f.score * 100.0).round() / 100.0,
                    mentions: f.counts.mentions,
                    previous_mentions: Self::sum(series, previous.clone()).mentions,
                    baseline_mean: (f.baseline_mean * 1000.0).round() / 1000.0,
                    baseline_spread: (f.baseline_spread * 1000.0).round() / 1000.0,
                    counts: f.counts,
                })
            })
            .collect();
        out.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(b.mentions.cmp(&a.mentions))
                .then(a.ticker.cmp(&b.ticker))
        });
        for (i, t) in out.iter_mut().enumerate() {
            t.rank = i + 1;
        }
        out
    }

    /// The trending tickers of the window ending at `anchor` (hours since the
    /// epoch), ranked, with their rank one window earlier.
    pub fn trending(&self, anchor: i64, window: Window, min_mentions: u64) -> Vec<Trend> {
        let before: HashMap<String, usize> = self
            .ranked(anchor - window.hours(), window, min_mentions)
            .into_iter()
            .map(|t| (t.ticker, t.rank))
            .collect();
        let mut now = self.ranked(anchor, window, min_mentions);
        for t in &mut now {
            t.previous_rank = before.get(&t.ticker).copied();
            t.rank_change = t.previous_rank.map(|p| p as i64 - t.rank as i64);
        }
        now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64*: deterministic, no dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn uniform(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
        /// A Poisson draw (Knuth's method; the rates here are small).
        fn poisson(&mut self, rate: f64) -> u64 {
            let limit = (-rate).exp();
            let (mut k, mut p) = (0, 1.0);
            loop {
                p *= self.uniform();
                if p < limit {
                    return k;
                }
                k += 1;
            }
        }
    }

    fn counts(mentions: u64) -> Counts {
        Counts {
            mentions,
            positive: mentions,
            compound_e4: 5_000 * mentions as i64,
            ..Default::default()
        }
    }

    const ANCHOR: i64 = 440_000;

    /// Fifteen days of hourly traffic for 40 tickers at their own steady rates
    /// (0.2 to 20 mentions an hour, Poisson), plus what `extra` adds.
    fn traffic(extra: impl Fn(&str, i64) -> u64) -> Hourly {
        let mut rng = Rng(0x7e4d_2020_0415_0001);
        let mut hourly = Hourly::default();
        for t in 0..40 {
            let ticker = format!("T{t:02}");
            let rate = 0.2 + (t as f64) * 0.5;
            for hour in (ANCHOR - 15 * 24 + 1)..=ANCHOR {
                let n = rng.poisson(rate) + extra(&ticker, hour);
                if n > 0 {
                    hourly.add(hour, &ticker, &counts(n));
                }
            }
        }
        hourly
    }

    fn above(trends: &[Trend], score: f64) -> Vec<&str> {
        trends
            .iter()
            .filter(|t| t.score >= score)
            .map(|t| t.ticker.as_str())
            .collect()
    }

    #[test]
    fn a_spike_in_the_last_hour_is_found_and_nothing_else() {
        let steady = traffic(|_, _| 0);
        for window in [Window::Hour, Window::Day, Window::Week] {
            let trends = steady.trending(ANCHOR, window, 5);
            assert!(
                above(&trends, 4.0).is_empty(),
                "steady traffic trends in {}: {:?}",
                window.name(),
                &trends[..3]
            );
        }
        // T10 (about 5 an hour) gets 40 more in the last hour.
        let spiked = traffic(|t, h| if t == "T10" && h == ANCHOR { 40 } else { 0 });
        let trends = spiked.trending(ANCHOR, Window::Hour, 5);
        assert_eq!(above(&trends, 4.0), ["T10"], "{:?}", &trends[..3]);
        assert_eq!(trends[0].ticker, "T10");
        assert!(trends[0].mentions >= 40 && trends[0].previous_mentions < 20);
        // Up from below, or from under the minimum the hour before.
        assert!(
            trends[0].rank_change.is_none_or(|c| c > 0),
            "{:?}",
            trends[0]
        );
        let low = spiked.trending(ANCHOR, Window::Hour, 1);
        assert!(low[0].previous_rank.is_some_and(|p| p > 1), "{:?}", low[0]);
        // The 7-day window hardly notices one hour.
        assert!(above(&spiked.trending(ANCHOR, Window::Week, 5), 4.0).is_empty());
    }

    #[test]
    fn a_day_long_rise_is_found_in_the_24_hour_window() {
        // T20 (about 10 an hour) gets 5 more an hour for the last day.
        let risen = traffic(|t, h| if t == "T20" && h > ANCHOR - 24 { 5 } else { 0 });
        let day = risen.trending(ANCHOR, Window::Day, 5);
        assert_eq!(above(&day, 4.0), ["T20"], "{:?}", &day[..3]);
        assert!(day[0].mentions > day[0].previous_mentions + 60);
    }

    #[test]
    fn one_post_is_no_trend_and_a_new_ticker_is_scored_with_the_floor() {
        let mut hourly = traffic(|_, _| 0);
        hourly.add(ANCHOR, "NEW", &counts(1));
        let trends = hourly.trending(ANCHOR, Window::Hour, 2);
        assert!(trends.iter().all(|t| t.ticker != "NEW"));
        hourly.add(ANCHOR, "NEW", &counts(5));
        let trends = hourly.trending(ANCHOR, Window::Hour, 2);
        let new = trends.iter().find(|t| t.ticker == "NEW").expect("ranked");
        // Silent all week: the spread's floor of one mention an hour.
        assert_eq!((new.mentions, new.score, new.previous_rank), (6, 6.0, None));
        assert_eq!(new.rank_change, None);
    }

    #[test]
    fn windows_parse_and_span_what_they_read() {
        for w in [Window::Hour, Window::Day, Window::Week] {
            assert_eq!(Window::parse(w.name()), Some(w));
        }
        assert_eq!(Window::parse("2h"), None);
        assert_eq!(span(Window::Day, 1000), (1000 - 48 - 168 + 1)..=1000);
    }
}
