//! Alert rules: what a user asks to be told about ("TSLA's mean compound
//! below -0.3 over 24 hours", "any ticker's mentions 4 spreads above its
//! baseline within the hour"). A rule is checked here once, whoever stores or
//! evaluates it.

use crate::window::Window;
use serde::{Deserialize, Serialize};

/// A rule's ticker that stands for every ticker.
pub const ANY_TICKER: &str = "*";
/// The cooldown of a rule that names none: one firing per rule and ticker a day.
pub const DEFAULT_COOLDOWN_HOURS: u32 = 24;
/// The longest cooldown: 30 days.
pub const MAX_COOLDOWN_HOURS: u32 = 720;
/// Mentions a window needs before its ratios, mean or z-score count (a single
/// post is 100% positive); rules on `mentions` itself ignore it.
pub const DEFAULT_MIN_MENTIONS: u64 = 5;

/// The most rules one user may keep.
pub const MAX_RULES_PER_USER: usize = 50;

/// What a rule watches: one figure of a ticker's summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    MeanCompound,
    Mentions,
    PositiveRatio,
    NegativeRatio,
    /// Trending's z-score: the window's mentions against the ticker's hourly
    /// baseline of the week before.
    ZScore,
}

impl Metric {
    pub const ALL: [Metric; 5] = [
        Metric::MeanCompound,
        Metric::Mentions,
        Metric::PositiveRatio,
        Metric::NegativeRatio,
        Metric::ZScore,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::MeanCompound => "mean_compound",
            Metric::Mentions => "mentions",
            Metric::PositiveRatio => "positive_ratio",
            Metric::NegativeRatio => "negative_ratio",
            Metric::ZScore => "z_score",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == s)
    }

    /// The values the figure can take.
    fn range(self) -> (f64, f64) {
        match self {
            Metric::MeanCompound => (-1.0, 1.0),
            Metric::Mentions => (0.0, 1e12),
            Metric::PositiveRatio | Metric::NegativeRatio => (0.0, 1.0),
            Metric::ZScore => (-1e6, 1e6),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Above,
    Below,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Above => "above",
            Op::Below => "below",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "above" => Some(Op::Above),
            "below" => Some(Op::Below),
            _ => None,
        }
    }
}

/// A rule as a user writes it (`POST /alerts`): unknown fields refused.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRule {
    /// A symbol, or `*` for any ticker.
    pub ticker: String,
    pub metric: Metric,
    pub op: Op,
    pub threshold: f64,
    /// The rolling window the figure is taken over (default 24 h).
    #[serde(default = "default_window")]
    pub window: Window,
    /// Hours after a firing before the same rule fires again for the same
    /// ticker (default 24, at most 720).
    #[serde(default = "default_cooldown")]
    pub cooldown_hours: u32,
    /// Mentions the window needs before a ratio, mean or z-score counts
    /// (default 5, at least 1).
    #[serde(default = "default_min_mentions")]
    pub min_mentions: u64,
}

fn default_window() -> Window {
    Window::Day
}
fn default_cooldown() -> u32 {
    DEFAULT_COOLDOWN_HOURS
}
fn default_min_mentions() -> u64 {
    DEFAULT_MIN_MENTIONS
}

/// A stored rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub owner: String,
    pub id: String,
    pub ticker: String,
    pub metric: Metric,
    pub op: Op,
    pub threshold: f64,
    pub window: Window,
    pub cooldown_hours: u32,
    pub min_mentions: u64,
    /// RFC 3339, UTC.
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuleError {
    #[error("threshold {value} is outside {metric}'s range {low}..={high}")]
    OutOfRange {
        metric: &'static str,
        value: String,
        low: f64,
        high: f64,
    },
    #[error("threshold must be a finite number")]
    NotFinite,
    #[error("cooldown_hours {0} is over {MAX_COOLDOWN_HOURS}")]
    Cooldown(u32),
    #[error("min_mentions must be 1 to 1000000000, not {0}")]
    MinMentions(u64),
}

impl NewRule {
    /// Checks the threshold against the metric's range (the ticker is the
    /// caller's to check against its watch list).
    pub fn check(&self) -> Result<(), RuleError> {
        if !self.threshold.is_finite() {
            return Err(RuleError::NotFinite);
        }
        let (low, high) = self.metric.range();
        if self.threshold < low || self.threshold > high {
            return Err(RuleError::OutOfRange {
                metric: self.metric.name(),
                value: self.threshold.to_string(),
                low,
                high,
            });
        }
        if self.cooldown_hours > MAX_COOLDOWN_HOURS {
            return Err(RuleError::Cooldown(self.cooldown_hours));
        }
        if !(1..=1_000_000_000).contains(&self.min_mentions) {
            return Err(RuleError::MinMentions(self.min_mentions));
        }
        Ok(())
    }
}

impl NewRule {
    /// The threshold as stored: rounded to a millionth (DynamoDB numbers stop
    /// at 1e-130, and a finer threshold means nothing for these figures), and
    /// never -0.
    pub fn stored_threshold(&self) -> f64 {
        (self.threshold * 1e6).round() / 1e6 + 0.0
    }
}

impl Rule {
    pub fn any_ticker(&self) -> bool {
        self.ticker == ANY_TICKER
    }

    /// Whether a figure meets the rule (strictly above or below its threshold).
    pub fn fires(&self, value: f64) -> bool {
        match self.op {
            Op::Above => value > self.threshold,
            Op::Below => value < self.threshold,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(metric: &str, threshold: f64) -> Result<NewRule, String> {
        let r: NewRule = serde_json::from_value(serde_json::json!({
            "ticker": "TSLA", "metric": metric, "op": "below", "threshold": threshold,
        }))
        .map_err(|e| e.to_string())?;
        r.check().map_err(|e| e.to_string())?;
        Ok(r)
    }

    #[test]
    fn thresholds_are_held_to_their_metric() {
        assert!(new("mean_compound", -0.3).is_ok());
        assert!(new("mean_compound", -1.5).is_err());
        assert!(new("positive_ratio", 1.01).is_err());
        assert!(new("mentions", 500.0).is_ok());
        assert!(new("mentions", -1.0).is_err());
        assert!(new("volume", 1.0).unwrap_err().contains("unknown variant"));
        assert!(new("z_score", 4.0).is_ok());
    }

    #[test]
    fn window_cooldown_and_minimum_default_and_are_checked() {
        let r: NewRule =
            serde_json::from_str(r#"{"ticker":"*","metric":"z_score","op":"above","threshold":4}"#)
                .unwrap();
        assert_eq!(
            (r.window, r.cooldown_hours, r.min_mentions),
            (Window::Day, 24, 5)
        );
        let parse = |extra: &str| {
            let text = format!(
                r#"{{"ticker":"TSLA","metric":"mentions","op":"above","threshold":1,{extra}}}"#
            );
            serde_json::from_str::<NewRule>(&text)
                .map_err(|e| e.to_string())
                .and_then(|r| r.check().map_err(|e| e.to_string()))
        };
        assert!(parse(r#""window":"1h","cooldown_hours":0,"min_mentions":1"#).is_ok());
        assert!(parse(r#""window":"2h""#)
            .unwrap_err()
            .contains("unknown variant"));
        assert!(parse(r#""cooldown_hours":721"#)
            .unwrap_err()
            .contains("720"));
        assert!(parse(r#""cooldown_hours":-1"#).is_err());
        assert!(parse(r#""min_mentions":0"#)
            .unwrap_err()
            .contains("min_mentions"));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let e = serde_json::from_str::<NewRule>(
            r#"{"ticker":"TSLA","metric":"mentions","op":"above","threshold":1,"owner":"x"}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown field `owner`"), "{e}");
    }

    #[test]
    fn a_rule_fires_strictly_past_its_threshold() {
        let r = Rule {
            owner: "u".into(),
            id: "1".into(),
            ticker: "TSLA".into(),
            metric: Metric::MeanCompound,
            op: Op::Below,
            threshold: -0.3,
            window: Window::Day,
            cooldown_hours: 24,
            min_mentions: 5,
            created_at: "2026-12-05T00:00:00Z".into(),
        };
        assert!(r.fires(-0.31));
        assert!(!r.fires(-0.3));
        assert!(!r.fires(0.2));
    }

    #[test]
    fn thresholds_are_stored_to_a_millionth() {
        let r = new("positive_ratio", 2.868549570860184e-245).unwrap();
        assert_eq!(r.stored_threshold().to_string(), "0");
        let r = new("mean_compound", -0.30000000000000004).unwrap();
        assert_eq!(r.stored_threshold(), -0.3);
        let r = new("mean_compound", -1e-9).unwrap();
        assert_eq!(r.stored_threshold().to_string(), "0");
        let r = new("mentions", 1e12).unwrap();
        assert_eq!(r.stored_threshold().to_string(), "1000000000000");
    }

    #[test]
    fn names_round_trip() {
        for m in [
            "mean_compound",
            "mentions",
            "positive_ratio",
            "negative_ratio",
            "z_score",
        ] {
            assert_eq!(Metric::from_name(m).map(Metric::name), Some(m));
        }
        for o in ["above", "below"] {
            assert_eq!(Op::from_name(o).map(Op::name), Some(o));
        }
    }
}
