//! A period's leaderboard: tickers with enough mentions, ranked by mentions or by
//! a sentiment ratio.

use crate::Counts;

/// What a leaderboard is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Mentions,
    Positive,
    Negative,
    Neutral,
}

impl Sort {
    pub const NAMES: [&'static str; 4] = ["mentions", "positive", "negative", "neutral"];

    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "mentions" => Sort::Mentions,
            "positive" => Sort::Positive,
            "negative" => Sort::Negative,
            "neutral" => Sort::Neutral,
            _ => return None,
        })
    }

    fn ratio(self, c: &Counts) -> f64 {
        match self {
            Sort::Mentions => 0.0,
            Sort::Positive => c.positive_ratio(),
            Sort::Negative => c.negative_ratio(),
            Sort::Neutral => c.neutral_ratio(),
        }
    }
}

/// Keeps the rows with at least `min_mentions` and ranks them: by the sort's
/// ratio (highest first), then by mentions, then by ticker, so the order is total.
pub fn rank<T>(
    rows: &mut Vec<T>,
    sort: Sort,
    min_mentions: u64,
    key: impl Fn(&T) -> (&Counts, &str),
) {
    rows.retain(|r| key(r).0.mentions >= min_mentions);
    rows.sort_by(|a, b| {
        let ((ca, ta), (cb, tb)) = (key(a), key(b));
        sort.ratio(cb)
            .total_cmp(&sort.ratio(ca))
            .then(cb.mentions.cmp(&ca.mentions))
            .then_with(|| ta.cmp(tb))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(mentions: u64, positive: u64) -> Counts {
        Counts {
            mentions,
            positive,
            neutral: mentions - positive,
            ..Default::default()
        }
    }

    #[test]
    fn ranks_by_ratio_then_mentions_then_ticker() {
        let mut rows = vec![
            ("C", counts(10, 5)),
            ("A", counts(4, 2)),
            ("B", counts(4, 2)),
            ("D", counts(1, 1)),
            ("E", counts(20, 2)),
        ];
        rank(&mut rows, Sort::Positive, 2, |r| (&r.1, r.0));
        let order: Vec<&str> = rows.iter().map(|r| r.0).collect();
        assert_eq!(order, ["C", "A", "B", "E"], "D has too few mentions");
        rank(&mut rows, Sort::Mentions, 1, |r| (&r.1, r.0));
        let order: Vec<&str> = rows.iter().map(|r| r.0).collect();
        assert_eq!(order, ["E", "C", "A", "B"]);
        assert_eq!(Sort::parse("negative"), Some(Sort::Negative));
        assert_eq!(Sort::parse("best"), None);
    }
}
