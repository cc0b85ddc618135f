//! plan over an in-memory lake: explicit ranges list only hours with data, a
//! full run's state fits Step Functions' limit, half a range is refused.

use tickerpulse_aws::lake::Lake;
use tickerpulse_aws::HandlerError;
use tickerpulse_core::HourPartition;
use tickerpulse_fn_plan::{Function, MapSettings, Plan, PlanRequest, MAX_PARTITIONS_PER_RUN};

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
