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
        let number = |name: &'static str, default: u32, max: u32| {
            config::number(env, name, default, 0..=max)
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

/// Day listings in flight at once for an explicit range. A year is 367 days
/// at most: 23 rounds of one S3 LIST (tens of milliseconds each), where one
/// call per hour (8,784 in a row) passed the function's 60 s timeout.
pub const LISTINGS_IN_FLIGHT: usize = 16;

impl<L: Lake> Function<L> {
    /// The hours of `hours` that have raw data, in order: one listing per day,
    /// `LISTINGS_IN_FLIGHT` at a time.
    async fn existing(&self, hours: &[HourPartition]) -> Result<Vec<String>, HandlerError> {
        use futures_util::{StreamExt, TryStreamExt};
        let wanted: std::collections::BTreeSet<&HourPartition> = hours.iter().collect();
        let mut days: Vec<HourPartition> = Vec::new();
        for h in hours {
            if days
                .last()
                .is_none_or(|d| (d.year, d.month, d.day) != (h.year, h.month, h.day))
            {
                days.push(*h);
            }
        }
        let lake = &self.lake;
        let mut listings = futures_util::stream::iter(days)
            .map(|d| async move { lake.raw_hours_of_day(&d).await })
            .buffered(LISTINGS_IN_FLIGHT);
        let mut partitions: std::collections::BTreeSet<HourPartition> = Default::default();
        while let Some(day) = listings.try_next().await? {
            partitions.extend(day.into_iter().filter(|h| wanted.contains(h)));
            // Past the cap the range is refused: no need to list the rest.
            if partitions.len() > MAX_PARTITIONS_PER_RUN {
                break;
            }
        }
        Ok(partitions.iter().map(HourPartition::path).collect())
    }

    pub async fn handle(&self, request: PlanRequest) -> Result<Plan, HandlerError> {
        match (&request.from, &request.to) {
            (Some(from), Some(to)) => {
                let hours = HourPartition::range(from, to, MAX_RANGE_HOURS)
                    .map_err(|e| HandlerError::InvalidInput(e.to_string()))?;
                let partitions = self.existing(&hours).await?;
                if partitions.len() > MAX_PARTITIONS_PER_RUN {
                    return Err(HandlerError::InvalidInput(format!(
                        "{from} to {to} holds more than {MAX_PARTITIONS_PER_RUN} hour partitions, the most a run takes (Step Functions' 256 KB state): split the range",
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
