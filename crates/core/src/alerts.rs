//! Alert rules: what a user asks to be told about ("TSLA's mean compound
//! below -0.3"). A rule is checked here once, whoever stores or evaluates it.

use serde::{Deserialize, Serialize};

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
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::MeanCompound => "mean_compound",
            Metric::Mentions => "mentions",
            Metric::PositiveRatio => "positive_ratio",
            Metric::NegativeRatio => "negative_ratio",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        [
            Metric::MeanCompound,
            Metric::Mentions,
            Metric::PositiveRatio,
            Metric::NegativeRatio,
        ]
        .into_iter()
        .find(|m| m.name() == s)
    }

    /// The values the figure can take.
    fn range(self) -> (f64, f64) {
        match self {
            Metric::MeanCompound => (-1.0, 1.0),
            Metric::Mentions => (0.0, 1e12),
            Metric::PositiveRatio | Metric::NegativeRatio => (0.0, 1.0),
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
    pub ticker: String,
    pub metric: Metric,
    pub op: Op,
    pub threshold: f64,
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
        ] {
            assert_eq!(Metric::from_name(m).map(Metric::name), Some(m));
        }
        for o in ["above", "below"] {
            assert_eq!(Op::from_name(o).map(Op::name), Some(o));
        }
    }
}
