//! plan: the first state of the pipeline. Decides which raw hour partitions a run
//! processes.

use serde::{Deserialize, Serialize};
use tickerpulse_aws::lake::{Lake, S3Lake};
use tickerpulse_aws::{sdk, HandlerError};
use tickerpulse_core::config::{self, Env};
use tickerpulse_core::HourPartition;

/// The largest explicit range a run may reprocess (one year of hours).
pub const MAX_RANGE_HOURS: i64 = 24 * 366;

/// The state machine's input. Both ends or neither.
#[derive(Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PlanRequest {
    /// RFC 3339; with `to`, reprocess this range instead of what changed.
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
}

/// What the Map state iterates over.
#[derive(Debug, Deserialize, Serialize, PartialEq)]
pub struct Plan {
    pub partitions: Vec<String>,
    pub partition_count: usize,
    /// For a scheduled run: each pending partition's version in the ledger of
    /// changes, which `aggregate` clears once the partition is done.
    #[serde(default)]
    pub versions: std::collections::BTreeMap<String, u64>,
    /// The Distributed Map's child executions at a time (`MAP_MAX_CONCURRENCY`).
    #[serde(default = "default_concurrency")]
    pub max_concurrency: u32,
    /// Child executions that may fail before the Map fails (`MAP_TOLERATED_FAILURE_PERCENTAGE`);
    /// a partition's own failures are caught inside its child and never count here.
    #[serde(default)]
    pub tolerated_failure_percentage: u32,
}

fn default_concurrency() -> u32 {
    40
}

/// The Map's settings, from the template parameters through the environment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MapSettings {
    pub max_concurrency: u32,
    pub tolerated_failure_percentage: u32,
}

impl Default for MapSettings {
    fn default() -> Self {
        Self {
            max_concurrency: default_concurrency(),
            tolerated_failure_percentage: 0,
        }
    }
}

impl MapSettings {
    pub fn from_env(env: &dyn Env) -> Result<Self, HandlerError> {
        let number = |name: &'static str, default: u32, max: u32| -> Result<u32, HandlerError> {
            let raw = config::optional(env, name, &default.to_string());
            raw.parse::<u32>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| {
                    HandlerError::Config(config::ConfigError::Invalid {
                        name,
                        value: raw,
                        reason: format!("want a whole number from 0 to {max}"),
                    })
                })
        };
        Ok(Self {
            max_concurrency: number("MAP_MAX_CONCURRENCY", default_concurrency(), 10_000)?,
            tolerated_failure_percentage: number("MAP_TOLERATED_FAILURE_PERCENTAGE", 0, 100)?,
        })
    }
}

/// At most this many partitions per run; the rest of what changed waits for
/// the next run. The execution's state carries the list, the versions and one
/// result per partition into `Aggregate` (about 200 bytes per partition), and
/// Step Functions fails a state over 256 KB (`States.DataLimitExceeded`: 2,000
/// did, in a scale run over 2,880 hours).
pub const MAX_PARTITIONS_PER_RUN: usize = 1_000;

pub struct Function<L: Lake = S3Lake> {
    pub lake: L,
    /// The ledger of changed raw partitions (S3 events); None in unit tests.
    pub changed: Option<tickerpulse_aws::state::ChangedPartitions>,
    pub map: MapSettings,
}

impl Function<S3Lake> {
    pub async fn from_env(env: &dyn Env) -> Result<Self, HandlerError> {
        let raw_bucket = config::required(env, config::RAW_BUCKET)?;
        let conf = sdk::load(env).await;
        Ok(Self {
            lake: S3Lake {
                client: sdk::s3_client(&conf),
                raw_bucket,
            },
            changed: Some(tickerpulse_aws::state::ChangedPartitions {
                client: sdk::dynamodb_client(&conf),
                table: config::required(env, config::STATE_TABLE)?,
            }),
            map: MapSettings::from_env(env)?,
        })
    }
}

impl<L: Lake> Function<L> {
    pub async fn handle(&self, request: PlanRequest) -> Result<Plan, HandlerError> {
        match (&request.from, &request.to) {
            (Some(from), Some(to)) => {
                let hours = HourPartition::range(from, to, MAX_RANGE_HOURS)
                    .map_err(|e| HandlerError::InvalidInput(e.to_string()))?;
                let mut partitions = Vec::new();
                for hour in hours {
                    if self.lake.raw_partition_exists(&hour).await? {
                        partitions.push(hour.path());
                    }
                }
                if partitions.len() > MAX_PARTITIONS_PER_RUN {
                    return Err(HandlerError::InvalidInput(format!(
                        "{from} to {to} holds {} hour partitions; a run takes at most {MAX_PARTITIONS_PER_RUN} (Step Functions' 256 KB state): split the range",
                        partitions.len()
                    )));
                }
                tracing::info!(
                    from,
                    to,
                    partitions = partitions.len(),
                    "planned explicit range"
                );
                Ok(Plan {
                    partition_count: partitions.len(),
                    partitions,
                    versions: Default::default(),
                    max_concurrency: self.map.max_concurrency,
                    tolerated_failure_percentage: self.map.tolerated_failure_percentage,
                })
            }
            (None, None) => {
                let Some(changed) = &self.changed else {
                    return Err(HandlerError::Config(config::ConfigError::Missing(
                        config::STATE_TABLE,
                    )));
                };
                let mut pending = changed.pending().await?;
                pending.truncate(MAX_PARTITIONS_PER_RUN);
                let partitions: Vec<String> = pending.iter().map(|(p, _)| p.clone()).collect();
                tracing::info!(partitions = partitions.len(), "planned what changed");
                Ok(Plan {
                    partition_count: partitions.len(),
                    partitions,
                    versions: pending.into_iter().collect(),
                    max_concurrency: self.map.max_concurrency,
                    tolerated_failure_percentage: self.map.tolerated_failure_percentage,
                })
            }
            _ => Err(HandlerError::InvalidInput(
                "give both `from` and `to`, or neither".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    struct MemLake(HashSet<HourPartition>);
    impl Lake for MemLake {
        async fn raw_partition_exists(&self, p: &HourPartition) -> Result<bool, HandlerError> {
            Ok(self.0.contains(p))
        }
    }

    #[tokio::test]
    async fn explicit_range_lists_only_hours_with_data() {
        let lake = MemLake(HashSet::from([
            HourPartition::new(2020, 4, 15, 1).unwrap(),
            HourPartition::new(2020, 4, 15, 9).unwrap(),
        ]));
        let f = Function {
            lake,
            changed: None,
            map: MapSettings::default(),
        };
        let plan = f
            .handle(PlanRequest {
                from: Some("2020-04-15T00:00:00Z".into()),
                to: Some("2020-04-15T05:00:00Z".into()),
            })
            .await
            .unwrap();
        assert_eq!(plan.partitions, ["year=2020/month=04/day=15/hour=01"]);
        assert_eq!(plan.partition_count, 1);
    }

    /// The state `Aggregate` receives for a full run stays under Step
    /// Functions' 256 KB: the plan's lists and one Map result per partition.
    #[test]
    fn a_full_run_fits_in_the_state_size_limit() {
        let partitions: Vec<String> = (0..MAX_PARTITIONS_PER_RUN)
            .map(|i| {
                HourPartition::new(2026, 12, 1 + (i / 24 % 28) as u8, (i % 24) as u8)
                    .unwrap()
                    .path()
            })
            .collect();
        let plan = Plan {
            partition_count: partitions.len(),
            versions: partitions.iter().map(|p| (p.clone(), 123_456)).collect(),
            partitions: partitions.clone(),
            max_concurrency: 1_000,
            tolerated_failure_percentage: 100,
        };
        let mut state = serde_json::to_value(&plan).unwrap();
        state["processed"] = partitions
            .iter()
            .map(|p| serde_json::json!({"partition": p, "rows_in": 123_456}))
            .collect();
        let size = state.to_string().len();
        assert!(size < 256 * 1024, "{size} bytes");
    }

    #[tokio::test]
    async fn half_a_range_is_invalid_input() {
        let f = Function {
            lake: MemLake(HashSet::new()),
            changed: None,
            map: MapSettings::default(),
        };
        let err = f
            .handle(PlanRequest {
                from: Some("2020-04-15T00:00:00Z".into()),
                to: None,
            })
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), "TickerPulse.InvalidInput");
    }
}
