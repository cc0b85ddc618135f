//! plan over an in-memory lake: explicit ranges list only hours with data, a
//! full run's state fits Step Functions' limit, half a range is refused.

use tickerpulse_aws::lake::Lake;
use tickerpulse_aws::HandlerError;
use tickerpulse_core::HourPartition;
use tickerpulse_fn_plan::{
    Function, MapSettings, Plan, PlanRequest, LISTINGS_IN_FLIGHT, MAX_PARTITIONS_PER_RUN,
};

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};

struct MemLake(HashSet<HourPartition>);
impl Lake for MemLake {
    async fn raw_hours_of_day(
        &self,
        p: &HourPartition,
    ) -> Result<Vec<HourPartition>, HandlerError> {
        Ok(self
            .0
            .iter()
            .filter(|h| (h.year, h.month, h.day) == (p.year, p.month, p.day))
            .copied()
            .collect())
    }
}

/// A plan over `lake`, with no ledger of changes (explicit ranges only).
fn planner<L: Lake>(lake: L) -> Function<L> {
    Function {
        lake,
        changed: None,
        map: MapSettings::default(),
    }
}

/// A lake that counts its listings and how many were in flight at once, each
/// taking a little while as S3's do.
#[derive(Default)]
struct CountingLake {
    /// Every hour has data (else three a day).
    dense: bool,
    listings: AtomicUsize,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
}
impl Lake for CountingLake {
    async fn raw_hours_of_day(
        &self,
        p: &HourPartition,
    ) -> Result<Vec<HourPartition>, HandlerError> {
        self.listings.fetch_add(1, Ordering::SeqCst);
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        let hours: Vec<u8> = if self.dense {
            (0..24).collect()
        } else {
            vec![0, 12, 23]
        };
        Ok(hours
            .into_iter()
            .map(|h| HourPartition::new(p.year, p.month, p.day, h).unwrap())
            .collect())
    }
}

/// The longest range allowed costs one listing per day, several at a time:
/// bounded in time (one call per hour, 8,784 in a row, passed the timeout).
#[tokio::test]
async fn the_longest_range_lists_each_day_once_and_in_parallel() {
    let f = planner(CountingLake::default());
    let plan = f
        .handle(PlanRequest {
            from: Some("2024-01-01T00:00:00Z".into()),
            to: Some("2024-12-31T23:00:00Z".into()),
        })
        .await;
    // Three hours of data a day: more than a run takes, refused with the way out.
    let err = plan.unwrap_err();
    assert_eq!(err.error_type(), "TickerPulse.InvalidInput");
    assert!(
        err.to_string().contains("more than 1000 hour partitions"),
        "{err}"
    );
    // The 1,001st partition is on day 334: the listings stop there (with
    // those already in flight).
    let listed = f.lake.listings.load(Ordering::SeqCst);
    assert!(
        (334..=334 + LISTINGS_IN_FLIGHT).contains(&listed),
        "{listed}"
    );
    let most = f.lake.most_in_flight.load(Ordering::SeqCst);
    assert!(most > 1 && most <= LISTINGS_IN_FLIGHT, "{most} in flight");

    // Every hour with data: refused after 42 days' listings, not a year's.
    let f = planner(CountingLake {
        dense: true,
        ..Default::default()
    });
    let err = f
        .handle(PlanRequest {
            from: Some("2024-01-01T00:00:00Z".into()),
            to: Some("2024-12-31T23:00:00Z".into()),
        })
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "TickerPulse.InvalidInput");
    let listed = f.lake.listings.load(Ordering::SeqCst);
    assert!((42..=42 + LISTINGS_IN_FLIGHT).contains(&listed), "{listed}");

    let f = planner(CountingLake::default());
    let plan = f
        .handle(PlanRequest {
            from: Some("2024-02-28T13:00:00Z".into()),
            to: Some("2024-03-01T11:00:00Z".into()),
        })
        .await
        .unwrap();
    // Noon of the 28th is before the range, noon of 1 March after it.
    assert_eq!(
        plan.partitions,
        [
            "year=2024/month=02/day=28/hour=23",
            "year=2024/month=02/day=29/hour=00",
            "year=2024/month=02/day=29/hour=12",
            "year=2024/month=02/day=29/hour=23",
            "year=2024/month=03/day=01/hour=00",
        ]
    );
    assert_eq!(f.lake.listings.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn explicit_range_lists_only_hours_with_data() {
    let lake = MemLake(HashSet::from([
        HourPartition::new(2020, 4, 15, 1).unwrap(),
        HourPartition::new(2020, 4, 15, 9).unwrap(),
    ]));
    let f = planner(lake);
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
    let f = planner(MemLake(HashSet::new()));
    let err = f
        .handle(PlanRequest {
            from: Some("2020-04-15T00:00:00Z".into()),
            to: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "TickerPulse.InvalidInput");
}
