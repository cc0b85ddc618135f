//! What a pipeline run hands `aggregate`, and the bookkeeping around it: the run
//! id, the partitions that failed compact or clean (left for the next run), the
//! partitions to aggregate. Pure: the function does the I/O.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use tickerpulse_core::HourPartition;

/// The state machine passes the plan on, and its execution name as the run id.
#[derive(Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AggregateRequest {
    #[serde(default)]
    pub partitions: Vec<String>,
    #[serde(default)]
    pub run_id: Option<String>,
    /// The plan's versions of pending partitions (scheduled runs): cleared
    /// from the ledger of changes once aggregated, unless they moved meanwhile.
    #[serde(default)]
    pub versions: BTreeMap<String, u64>,
    /// The Map state's results, one per partition: a partition that failed
    /// compact or clean comes as `{"partition", "failed": true, "error"}` and
    /// is left for the next run. The cause stays in the child execution's
    /// history and the function's log: a thousand causes of up to 32 KB each
    /// would pass Step Functions' 256 KB state.
    #[serde(default)]
    pub processed: Vec<serde_json::Value>,
    /// Set by the state machine when the run failed before or in aggregate:
    /// only the failed run is recorded (`{"Error", "Cause"}` as Step Functions gives it).
    #[serde(default)]
    pub failure: Option<RunFailure>,
}

#[derive(Debug, Deserialize, Serialize, PartialEq)]
pub struct RunFailure {
    #[serde(rename = "Error", default)]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

impl RunFailure {
    /// What the run record says: the error and the start of its cause (the
    /// failing function's JSON error).
    pub fn message(&self) -> String {
        let cause: String = self.cause.chars().take(1_000).collect();
        format!("{}: {cause}", self.error)
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RunError {
    #[error("run_id {0:?}: want at most 80 letters, digits, '-', '_' or '.'")]
    BadRunId(String),
    #[error(transparent)]
    BadPartition(#[from] tickerpulse_core::PartitionError),
}

impl AggregateRequest {
    /// The run id: the execution name, or one made from `now_nanos`.
    pub fn run_id(&self, now_nanos: i128) -> Result<String, RunError> {
        let id = self
            .run_id
            .clone()
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| format!("run-{now_nanos}"));
        let ok = id.len() <= 80
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if ok {
            Ok(id)
        } else {
            Err(RunError::BadRunId(id))
        }
    }

    /// Raw lines compact rejected in this run's partitions (the Map's results).
    pub fn rows_rejected(&self) -> u64 {
        self.processed
            .iter()
            .filter_map(|r| r["rejected"].as_u64())
            .sum()
    }

    /// The partitions that failed in this run, with what the Map state said.
    pub fn failed(&self) -> BTreeMap<String, String> {
        let mut failed = BTreeMap::new();
        for r in &self.processed {
            if r["failed"] != serde_json::Value::Bool(true) {
                continue;
            }
            if let Some(p) = r["partition"].as_str() {
                failed.entry(p.to_string()).or_insert_with(|| {
                    match (r["error"].as_str(), r["cause"].as_str()) {
                        (Some(e), Some(c)) => format!("{e}: {c}"),
                        (Some(e), None) => e.to_string(),
                        _ => r["error"].to_string(),
                    }
                });
            }
        }
        failed
    }

    /// The partitions to aggregate: the plan's, less the failed ones, sorted,
    /// each once.
    pub fn partitions(&self, failed: &BTreeSet<String>) -> Result<Vec<HourPartition>, RunError> {
        let mut partitions = self
            .partitions
            .iter()
            .filter(|p| !failed.contains(*p))
            .map(|p| HourPartition::from_key(p))
            .collect::<Result<Vec<_>, _>>()?;
        partitions.sort();
        partitions.dedup();
        Ok(partitions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn run_ids_partitions_and_failures() {
        let r: AggregateRequest = serde_json::from_value(json!({
            "partitions": ["year=2020/month=07/day=09/hour=05", "year=2020/month=07/day=09/hour=04",
                           "year=2020/month=07/day=09/hour=05", "year=2020/month=07/day=09/hour=06"],
            "processed": [{"partition": "year=2020/month=07/day=09/hour=06", "failed": true,
                           "error": "TickerPulse.Retryable", "cause": "slow"},
                          {"partition": "year=2020/month=07/day=09/hour=04"}],
        }))
        .unwrap();
        assert_eq!(r.run_id(7).unwrap(), "run-7");
        let failed = r.failed();
        assert_eq!(failed.len(), 1);
        assert!(failed["year=2020/month=07/day=09/hour=06"].contains("slow"));
        let names: BTreeSet<String> = failed.into_keys().collect();
        let parts: Vec<String> = r
            .partitions(&names)
            .unwrap()
            .iter()
            .map(|p| p.path())
            .collect();
        assert_eq!(
            parts,
            [
                "year=2020/month=07/day=09/hour=04",
                "year=2020/month=07/day=09/hour=05"
            ]
        );
        let bad = AggregateRequest {
            run_id: Some("a b".into()),
            ..Default::default()
        };
        assert!(matches!(bad.run_id(0), Err(RunError::BadRunId(_))));
        let long = AggregateRequest {
            run_id: Some("x".repeat(81)),
            ..Default::default()
        };
        assert!(long.run_id(0).is_err());
        let bad_partition = AggregateRequest {
            partitions: vec!["nope".into()],
            ..Default::default()
        };
        assert!(bad_partition.partitions(&BTreeSet::new()).is_err());
    }
}
