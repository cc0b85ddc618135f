//! Alert evaluation: which rules cross their threshold at an anchor hour.
//!
//! A rule fires on a *crossing*: its figure meets the threshold over the
//! window ending at the anchor and did not over the window ending one hour
//! earlier. The firing's id is its anchor, rule and ticker, so a run that is
//! retried or repeated at the same anchor computes the same firing, and the
//! history table's conditional write lets it through once. A firing within
//! the rule's cooldown of an earlier one (same rule, same ticker) is held back.
//!
//! The newest hour is usually still filling. A rule that watches for *few*
//! mentions (or a low z-score) would see every young hour as quiet, so it is
//! evaluated at the last complete hour instead.

use crate::level::{Bucket, Level};
use crate::trending::{Figures, Hourly};
use std::collections::HashMap;
use tickerpulse_core::alerts::{Metric, Op, Rule};
use tickerpulse_core::window::Window;

const MICROS_PER_HOUR: i64 = 3_600_000_000;

/// The hour bucket of an hour since the epoch.
pub fn hour_bucket(hour: i64) -> Bucket {
    Bucket::quarter_of(hour * MICROS_PER_HOUR).at(Level::Hour)
}

/// The hour since the epoch of a bucket's start.
pub fn hour_of(bucket: &Bucket) -> i64 {
    bucket.start_micros().div_euclid(MICROS_PER_HOUR)
}

/// The hour since the epoch of an hour's anchor as [`Bucket::timestamp`]
/// writes it (`2026-12-05T03:00:00Z`, what rankings and firings store);
/// `None` for anything else.
pub fn hour_of_anchor(anchor: &str) -> Option<i64> {
    let key = anchor.strip_suffix(":00:00Z")?.replacen('T', "-", 1);
    Bucket::parse(&key)
        .filter(|b| b.level == Level::Hour)
        .map(|b| hour_of(&b))
}

/// One rule crossing its threshold for one ticker.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    pub owner: String,
    pub rule_id: String,
    pub ticker: String,
    pub metric: Metric,
    pub op: Op,
    pub threshold: f64,
    pub window: Window,
    /// The hour (since the epoch) the window ends at.
    pub anchor: i64,
    /// The figure over the window, and over the window an hour earlier
    /// (`None` where it had too few mentions to count).
    pub value: f64,
    pub previous: Option<f64>,
    pub mentions: u64,
}

impl Firing {
    /// The anchor hour, RFC 3339.
    pub fn anchor_time(&self) -> String {
        hour_bucket(self.anchor).timestamp()
    }

    /// Unique per anchor, rule and ticker; sorts by time within an owner.
    pub fn id(&self) -> String {
        format!("{}#{}#{}", self.anchor_time(), self.rule_id, self.ticker)
    }
}

/// A rule's figure from a ticker's figures over the rule's window; `None` when
/// the window has fewer than the rule's `min_mentions` (except for the
/// mentions themselves).
pub fn figure(rule: &Rule, f: &Figures) -> Option<f64> {
    let c = &f.counts;
    if rule.metric != Metric::Mentions && c.mentions < rule.min_mentions {
        return None;
    }
    Some(match rule.metric {
        Metric::Mentions => c.mentions as f64,
        Metric::PositiveRatio => c.positive_ratio(),
        Metric::NegativeRatio => c.negative_ratio(),
        Metric::MeanCompound => c.mean_compound(),
        Metric::ZScore => f.score,
    })
}

/// The hour a rule is evaluated at when `newest` is the newest hour with data.
pub fn evaluation_hour(rule: &Rule, newest: i64) -> i64 {
    let watches_quiet =
        rule.op == Op::Below && matches!(rule.metric, Metric::Mentions | Metric::ZScore);
    if watches_quiet {
        newest - 1
    } else {
        newest
    }
}

/// The crossings of every rule at `newest` (the newest hour with data), in
/// rule order, tickers in symbol order.
pub fn crossings(rules: &[Rule], hourly: &Hourly, newest: i64) -> Vec<Firing> {
    let mut seen: Vec<&str> = hourly.tickers().collect();
    seen.sort_unstable();
    let mut out = Vec::new();
    for rule in rules {
        let anchor = evaluation_hour(rule, newest);
        let tickers: Vec<&str> = if rule.any_ticker() {
            seen.clone()
        } else {
            vec![rule.ticker.as_str()]
        };
        for ticker in tickers {
            let now = hourly.figures(ticker, rule.window, anchor);
            let Some(value) = figure(rule, &now) else {
                continue;
            };
            let previous = figure(rule, &hourly.figures(ticker, rule.window, anchor - 1));
            if rule.fires(value) && !previous.is_some_and(|p| rule.fires(p)) {
                out.push(Firing {
                    owner: rule.owner.clone(),
                    rule_id: rule.id.clone(),
                    ticker: ticker.to_string(),
                    metric: rule.metric,
                    op: rule.op,
                    threshold: rule.threshold,
                    window: rule.window,
                    anchor,
                    value: (value * 1e6).round() / 1e6,
                    previous: previous.map(|p| (p * 1e6).round() / 1e6),
                    mentions: now.counts.mentions,
                });
            }
        }
    }
    out
}

/// The firings not held back by their rule's cooldown. `last_fired` gives,
/// per (rule id, ticker), the latest anchor that fired *before* each firing's
/// own anchor (the history of earlier runs).
pub fn cooled(
    firings: Vec<Firing>,
    rules: &[Rule],
    last_fired: &HashMap<(String, String), i64>,
) -> Vec<Firing> {
    let cooldown: HashMap<&str, i64> = rules
        .iter()
        .map(|r| (r.id.as_str(), i64::from(r.cooldown_hours)))
        .collect();
    firings
        .into_iter()
        .filter(|f| {
            let hours = cooldown.get(f.rule_id.as_str()).copied().unwrap_or(0);
            match last_fired.get(&(f.rule_id.clone(), f.ticker.clone())) {
                Some(&last) if last < f.anchor => f.anchor - last >= hours,
                _ => true,
            }
        })
        .collect()
}

/// The crossings at every hour of `hours`, oldest first: a run that follows
/// another by more than an hour evaluates the hours between, so a crossing
/// that came and went between runs still fires. Each is held back by its
/// rule's cooldown against `last_fired` (earlier runs) and against the
/// firings before it in `hours`.
pub fn crossings_over(
    rules: &[Rule],
    hourly: &Hourly,
    hours: std::ops::RangeInclusive<i64>,
    last_fired: &HashMap<(String, String), i64>,
) -> Vec<Firing> {
    cooled_over(
        hours.map(|h| crossings(rules, hourly, h)).collect(),
        rules,
        last_fired,
    )
}

/// [`crossings_over`] on crossings already computed, one list per hour,
/// oldest first (Pulse reads each owner's history for them first).
pub fn cooled_over(
    per_hour: Vec<Vec<Firing>>,
    rules: &[Rule],
    last_fired: &HashMap<(String, String), i64>,
) -> Vec<Firing> {
    let mut last = last_fired.clone();
    let mut out = Vec::new();
    for firings in per_hour {
        for f in cooled(firings, rules, &last) {
            last.insert((f.rule_id.clone(), f.ticker.clone()), f.anchor);
            out.push(f);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Counts;

    const NEWEST: i64 = 450_000;

    #[test]
    fn anchors_read_back_as_their_hour() {
        let f = hour_bucket(NEWEST);
        assert_eq!(hour_of_anchor(&f.timestamp()), Some(NEWEST));
        assert_eq!(hour_of_anchor("2026-12-05T03:15:00Z"), None);
        assert_eq!(hour_of_anchor("2026-12-05T24:00:00Z"), None);
        assert_eq!(hour_of_anchor("not a time"), None);
    }

    fn rule(ticker: &str, metric: Metric, op: Op, threshold: f64, window: Window) -> Rule {
        Rule {
            owner: "u1".into(),
            id: format!("r-{}-{}", metric.name(), ticker),
            ticker: ticker.into(),
            metric,
            op,
            threshold,
            window,
            cooldown_hours: 24,
            min_mentions: 5,
            created_at: "2026-12-05T00:00:00Z".into(),
        }
    }

    fn counts(mentions: u64, positive: u64) -> Counts {
        Counts {
            mentions,
            positive,
            neutral: mentions - positive,
            ..Counts::default()
        }
    }

    /// Two weeks of 4 mentions an hour for AAA and BBB; `extra` adds to a
    /// ticker's hour.
    fn hours(extra: impl Fn(&str, i64) -> u64) -> Hourly {
        let mut h = Hourly::default();
        for hour in NEWEST - 400..=NEWEST {
            for t in ["AAA", "BBB"] {
                let m = 4 + extra(t, hour);
                h.add(hour, t, &counts(m, 1));
            }
        }
        h
    }

    #[test]
    fn a_spike_crosses_once_and_only_where_it_is() {
        let spiked = hours(|t, h| if t == "BBB" && h == NEWEST { 30 } else { 0 });
        let rules = [rule("*", Metric::ZScore, Op::Above, 4.0, Window::Hour)];
        let fired = crossings(&rules, &spiked, NEWEST);
        assert_eq!(fired.len(), 1, "{fired:?}");
        assert_eq!((fired[0].ticker.as_str(), fired[0].anchor), ("BBB", NEWEST));
        // The hour before had 4 mentions, under the rule's minimum of 5: no figure.
        assert!(fired[0].value > 4.0 && fired[0].previous.is_none());
        // The hour after the spike the rule still holds for nobody: no crossing.
        let after = hours(|t, h| if t == "BBB" && h == NEWEST - 1 { 30 } else { 0 });
        assert!(crossings(&rules, &after, NEWEST).is_empty());
        // Steady traffic crosses nothing.
        assert!(crossings(&rules, &hours(|_, _| 0), NEWEST).is_empty());
    }

    #[test]
    fn the_hours_between_two_runs_are_evaluated_with_their_cooldown() {
        // Spikes two and three hours before the newest hour (BBB), between
        // runs: evaluated at the newest hour only, nothing crosses.
        let spiked = hours(|t, h| {
            if t == "BBB" && (h == NEWEST - 2 || h == NEWEST - 4) {
                30
            } else {
                0
            }
        });
        let mut rules = [rule("*", Metric::ZScore, Op::Above, 4.0, Window::Hour)];
        assert!(crossings(&rules, &spiked, NEWEST).is_empty());
        let none = HashMap::new();
        let fired = crossings_over(&rules, &spiked, NEWEST - 5..=NEWEST, &none);
        let at: Vec<i64> = fired.iter().map(|f| NEWEST - f.anchor).collect();
        assert_eq!(
            at,
            [4],
            "the second spike is inside the first's 24 h cooldown"
        );
        rules[0].cooldown_hours = 1;
        let fired = crossings_over(&rules, &spiked, NEWEST - 5..=NEWEST, &none);
        let at: Vec<i64> = fired.iter().map(|f| NEWEST - f.anchor).collect();
        assert_eq!(at, [4, 2]);
        // An earlier run's firing holds the first back.
        let earlier = HashMap::from([((rules[0].id.clone(), "BBB".to_string()), NEWEST - 5)]);
        rules[0].cooldown_hours = 2;
        let fired = crossings_over(&rules, &spiked, NEWEST - 5..=NEWEST, &earlier);
        let at: Vec<i64> = fired.iter().map(|f| NEWEST - f.anchor).collect();
        assert_eq!(at, [2]);
    }

    #[test]
    fn a_figure_that_stays_past_its_threshold_does_not_cross_again() {
        // AAA's positive share goes up to 100% for the last three hours.
        let mut h2 = Hourly::default();
        for hour in NEWEST - 400..=NEWEST {
            let all_positive = hour > NEWEST - 3;
            let c = if all_positive {
                counts(10, 10)
            } else {
                counts(10, 2)
            };
            h2.add(hour, "AAA", &c);
        }
        let r = [rule(
            "AAA",
            Metric::PositiveRatio,
            Op::Above,
            0.8,
            Window::Hour,
        )];
        assert!(crossings(&r, &h2, NEWEST).is_empty(), "held for 3 hours");
        assert_eq!(
            crossings(&r, &h2, NEWEST - 2).len(),
            1,
            "crossed 2 hours ago"
        );
    }

    #[test]
    fn too_few_mentions_count_for_nothing_but_the_mentions_rule() {
        let mut h = Hourly::default();
        h.add(NEWEST, "NEW", &counts(2, 2));
        let ratio = [rule(
            "NEW",
            Metric::PositiveRatio,
            Op::Above,
            0.5,
            Window::Hour,
        )];
        assert!(crossings(&ratio, &h, NEWEST).is_empty());
        let mentions = [rule("NEW", Metric::Mentions, Op::Above, 1.0, Window::Hour)];
        assert_eq!(crossings(&mentions, &h, NEWEST).len(), 1);
    }

    #[test]
    fn quiet_rules_are_evaluated_at_the_last_complete_hour() {
        // The newest hour has one mention so far; the hour before had the usual 4.
        let mut h = hours(|_, _| 0);
        h.add(NEWEST + 1, "AAA", &counts(1, 0));
        let r = [rule("AAA", Metric::Mentions, Op::Below, 3.0, Window::Hour)];
        assert!(crossings(&r, &h, NEWEST + 1).is_empty());
        // Quiet for a whole complete hour: it fires, anchored there.
        let mut quiet = Hourly::default();
        for hour in NEWEST - 10..NEWEST {
            quiet.add(hour, "AAA", &counts(4, 1));
        }
        quiet.add(NEWEST + 1, "AAA", &counts(1, 0));
        let fired = crossings(&r, &quiet, NEWEST + 1);
        assert_eq!(fired.len(), 1);
        assert_eq!((fired[0].anchor, fired[0].value), (NEWEST, 0.0));
    }

    #[test]
    fn the_cooldown_holds_back_a_second_crossing() {
        let rules = [rule("*", Metric::ZScore, Op::Above, 4.0, Window::Hour)];
        let spiked = hours(|t, h| if t == "BBB" && h == NEWEST { 30 } else { 0 });
        let fired = crossings(&rules, &spiked, NEWEST);
        let key = (rules[0].id.clone(), "BBB".to_string());
        let recent = HashMap::from([(key.clone(), NEWEST - 5)]);
        assert!(cooled(fired.clone(), &rules, &recent).is_empty());
        let long_ago = HashMap::from([(key.clone(), NEWEST - 24)]);
        assert_eq!(cooled(fired.clone(), &rules, &long_ago).len(), 1);
        // The same anchor is the same firing: not a cooldown matter.
        let same = HashMap::from([(key, NEWEST)]);
        assert_eq!(cooled(fired, &rules, &same).len(), 1);
    }

    #[test]
    fn ids_are_per_anchor_rule_and_ticker() {
        let spiked = hours(|t, h| if t == "BBB" && h == NEWEST { 30 } else { 0 });
        let rules = [rule("*", Metric::ZScore, Op::Above, 4.0, Window::Hour)];
        let f = &crossings(&rules, &spiked, NEWEST)[0];
        assert_eq!(hour_of(&hour_bucket(NEWEST)), NEWEST);
        assert_eq!(f.id(), format!("{}#r-z_score-*#BBB", f.anchor_time()));
        assert!(f.anchor_time().ends_with(":00:00Z"), "{}", f.anchor_time());
    }
}
