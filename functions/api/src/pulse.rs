//! `/trending`: the rankings the pulse function keeps per rolling window.
//! `/alert-history`: the alerts that fired for the caller's rules.

use crate::access::Caller;
use crate::params::Params;
use crate::respond::{counts_json, merge, Answer};
use serde_json::{json, Value};
use std::collections::HashMap;
use tickerpulse_aws::pulse::{AlertHistory, Trending};
use tickerpulse_core::watchlist::Watchlist;
use tickerpulse_core::window::Window;

pub(crate) async fn trending(
    store: &Trending,
    watchlist: &Watchlist,
    values: &HashMap<String, String>,
) -> Answer {
    let p = Params::new(values, &["window", "limit", "min_mentions"])?;
    let window = Window::parse(p.choice("window", &["24h", "1h", "7d"])?).unwrap_or(Window::Day);
    let limit = p.limit("limit", 10, 1..=100)?;
    let min_mentions = p.limit("min_mentions", 1, 1..=1_000_000_000)? as u64;
    let ranking = store.get(window).await?;
    let (anchor, computed_at, floor, ranked, trends) = match ranking {
        Some(r) => (
            json!(r.anchor),
            json!(r.computed_at),
            r.min_mentions,
            r.ranked,
            r.trends,
        ),
        None => (Value::Null, Value::Null, 0, 0, Vec::new()),
    };
    let kept: Vec<_> = trends
        .into_iter()
        .filter(|t| t.mentions >= min_mentions)
        .collect();
    // Every ranked ticker at the ranking's own floor; past it, those of the kept
    // top N that pass (the ranking keeps TRENDING_TOP_N, 200 by default).
    let total = if min_mentions <= floor {
        ranked as usize
    } else {
        kept.len()
    };
    let tickers: Vec<Value> = kept
        .into_iter()
        .take(limit)
        .map(|t| {
            merge(
                json!({
                    "rank": t.rank,
                    "previous_rank": t.previous_rank,
                    "rank_change": t.rank_change,
                    "ticker": t.ticker,
                    "name": watchlist.name(&t.ticker),
                    "z_score": t.score,
                    "previous_mentions": t.previous_mentions,
                    "baseline_mean": t.baseline_mean,
                    "baseline_spread": t.baseline_spread,
                }),
                counts_json(&t.counts),
            )
        })
        .collect();
    Ok(json!({
        "window": window.name(),
        "anchor": anchor,
        "computed_at": computed_at,
        "min_mentions": floor.max(min_mentions),
        "tickers_ranked": total,
        "tickers": tickers,
    }))
}

pub(crate) async fn history(
    store: &AlertHistory,
    caller: &Caller,
    values: &HashMap<String, String>,
) -> Answer {
    let p = Params::new(values, &["limit"])?;
    let limit = p.limit("limit", 50, 1..=200)?;
    let fired: Vec<Value> = store
        .list(&caller.sub, None, Some(limit))
        .await?
        .iter()
        .map(|f| {
            let mut v = f.to_json();
            v["delivered"] = json!(f.delivered);
            v
        })
        .collect();
    Ok(json!({ "alerts": fired }))
}
