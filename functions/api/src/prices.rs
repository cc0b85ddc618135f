//! `/tickers/{ticker}/prices`: the daily bars the lake holds for a ticker.
//! `/tickers/{ticker}/correlation`: how a day's sentiment and mentions went
//! with the next trading day's return, with the sample size and the caveats.

use crate::params::Params;
use crate::respond::Answer;
use serde_json::{json, Value};
use std::collections::HashMap;
use tickerpulse_aggregate::Level;
use tickerpulse_aws::prices::{Daily, PriceSource};
use tickerpulse_aws::reads::Tables;
use tickerpulse_core::prices::{pearson, with_next_returns, Bar};

/// What every correlation answer says, whatever the figures.
const CAVEATS: [&str; 4] = [
    "A correlation over a few dozen days is noise more often than not: with 30 pairs, |r| under 0.36 is within what chance gives at the 5% level.",
    "Days are UTC calendar days; a day's tweets include those after that day's close, so part of the 'next' return may already be known to them.",
    "Only days with tweets and a price on that day and the next trading day count; weekends and holidays pair with nothing.",
    "Correlation is not prediction: this is a description of the past sample, not a trading signal.",
];

fn in_range(day: &str, from: &Option<String>, to: &Option<String>) -> bool {
    from.as_deref().is_none_or(|f| day >= &f[..10]) && to.as_deref().is_none_or(|t| day <= &t[..10])
}

async fn bars(
    source: &dyn PriceSource,
    ticker: &str,
) -> Result<(Vec<Bar>, Option<String>), crate::respond::Failure> {
    Ok(match source.daily(ticker).await? {
        Daily::Bars(b) => (b, None),
        Daily::None => (
            Vec::new(),
            Some(format!(
                "no price data for {ticker} (prices/daily/{ticker}.csv)"
            )),
        ),
        Daily::Unreadable(why) => (
            Vec::new(),
            Some(format!("the price file cannot be read: {why}")),
        ),
    })
}

pub(crate) async fn prices(
    source: &dyn PriceSource,
    ticker: &str,
    values: &HashMap<String, String>,
) -> Answer {
    let p = Params::new(values, &["from", "to"])?;
    let (from, to) = p.inclusive_range()?;
    let (all, mut message) = bars(source, ticker).await?;
    let kept: Vec<Value> = all
        .iter()
        .filter(|b| in_range(&b.date, &from, &to))
        .map(|b| json!({"date": b.date, "open": b.open, "high": b.high, "low": b.low, "close": b.close, "volume": b.volume}))
        .collect();
    if kept.is_empty() && message.is_none() {
        message = Some(format!("no price data for {ticker} in this period"));
    }
    Ok(json!({"ticker": ticker, "available": !kept.is_empty(), "message": message, "bars": kept}))
}

pub(crate) async fn correlation(
    tables: &Tables,
    source: &dyn PriceSource,
    ticker: &str,
    values: &HashMap<String, String>,
) -> Answer {
    let p = Params::new(values, &["from", "to", "min_mentions"])?;
    let (from, to) = p.inclusive_range()?;
    let min_mentions = p.limit("min_mentions", 3, 1..=1_000_000)? as u64;
    let points = tables
        .trend(ticker, Level::Day, from.as_deref(), to.as_deref(), 5000)
        .await?;
    // Every bar: the day after `to` gives the last day's return.
    let (bars, message) = bars(source, ticker).await?;
    let price_days = bars
        .iter()
        .filter(|b| in_range(&b.date, &from, &to))
        .count();
    let day = |start: String| start[..10].to_string();
    let busy: Vec<_> = points
        .iter()
        .filter(|pt| pt.counts.mentions >= min_mentions)
        .collect();
    let series = |f: &dyn Fn(&tickerpulse_aggregate::Counts) -> f64| -> Vec<(String, f64)> {
        busy.iter()
            .map(|pt| (day(pt.bucket.timestamp()), f(&pt.counts)))
            .collect()
    };
    let figure = |days: Vec<(String, f64)>| {
        let c = pearson(&with_next_returns(&days, &bars));
        json!({"n": c.n, "r": c.r.map(|r| (r * 1000.0).round() / 1000.0)})
    };
    Ok(json!({
        "ticker": ticker,
        "min_mentions": min_mentions,
        "tweet_days": busy.len(),
        "price_days": price_days,
        "message": message,
        "mean_compound": figure(series(&|c| c.mean_compound())),
        "positive_ratio": figure(series(&|c| c.positive_ratio())),
        "mentions": figure(series(&|c| c.mentions as f64)),
        "caveats": CAVEATS,
    }))
}
