//! Synthetic daily price bars for the demo and the tests: a seeded random walk
//! per symbol, in AlphaVantage's `TIME_SERIES_DAILY_ADJUSTED` CSV layout (what
//! the lake's `prices/daily/` takes, `tickerpulse_core::prices::parse_daily`).
//!
//! They are made up, and the demo says so when it loads them. The repository
//! holds no real prices: no price history at hand may be committed. Real bars
//! go into the same place with `aws s3 cp` (docs/pulse.md).

use crate::Rng;
use time::{Date, Duration, Weekday};

/// The CSV header: AlphaVantage's columns.
pub const HEADER: &str =
    "timestamp,open,high,low,close,adjusted_close,volume,dividend_amount,split_coefficient";

/// One symbol's bars on the weekdays from `first` to `last`, oldest first (no
/// exchange holidays). The same symbol gives the same bars on every machine.
/// A walk of daily log-returns with 2% volatility from a start between 20 and
/// 400; open, high and low around the close; volume skewed.
pub fn daily_csv(symbol: &str, first: Date, last: Date) -> String {
    let mut rng = Rng::new(seed(symbol));
    let mut close = 20.0 + 380.0 * rng.unit();
    let mut out = String::from(HEADER);
    out.push('\n');
    let mut day = first;
    while day <= last {
        if !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) {
            let open = close * (1.0 + 0.01 * normal(&mut rng));
            close *= (0.02 * normal(&mut rng)).exp();
            let high = open.max(close) * (1.0 + 0.01 * rng.unit());
            let low = open.min(close) * (1.0 - 0.01 * rng.unit());
            let volume = (1e6 * (1.0 + 20.0 * rng.unit() * rng.unit())) as u64;
            out.push_str(&format!(
                "{day},{open:.2},{high:.2},{low:.2},{close:.2},{close:.2},{volume},0.0,1.0\n"
            ));
        }
        day += Duration::days(1);
    }
    out
}

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut Rng) -> f64 {
    let u = rng.unit().max(f64::MIN_POSITIVE);
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * rng.unit()).cos()
}

/// FNV-1a of the symbol: its walk's seed.
fn seed(symbol: &str) -> u64 {
    symbol.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn weekdays_only_same_bars_for_a_symbol_and_readable_by_the_lake_parser() {
        let csv = daily_csv("AAPL", date!(2020 - 04 - 01), date!(2020 - 04 - 30));
        assert_eq!(
            csv,
            daily_csv("AAPL", date!(2020 - 04 - 01), date!(2020 - 04 - 30))
        );
        assert_ne!(
            csv,
            daily_csv("MSFT", date!(2020 - 04 - 01), date!(2020 - 04 - 30))
        );
        let bars = tickerpulse_core::prices::parse_daily(&csv).expect("the lake reads it");
        assert_eq!(bars.len(), 22, "April 2020 has 22 weekdays");
        assert_eq!(bars[0].date, "2020-04-01");
        assert!(!bars.iter().any(|b| b.date == "2020-04-04"), "a Saturday");
        for b in &bars {
            assert!(
                b.low <= b.open.min(b.close) && b.high >= b.open.max(b.close),
                "{b:?}"
            );
            assert!(b.low > 0.0 && b.volume > 0);
        }
    }
}
