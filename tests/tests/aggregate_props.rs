//! The aggregation properties against DynamoDB on the local stack: random
//! tweets arriving in several runs, in any order, through the real DynamoDB
//! store (batch writes, queries, item encoding) leave exactly the tables one
//! run computes in memory, and a repeated run writes nothing. Each case uses
//! its own years, so cases share one stack without touching each other.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::collections::BTreeSet;
use tickerpulse_aggregate::fixtures::{hour_of, rows, shuffled, summarize, Row};
use tickerpulse_aggregate::serving::{apply, block_on, MemoryStore, SummaryStore};
use tickerpulse_aggregate::Bucket;
use tickerpulse_aws::serving::DynamoSummaries;
use tickerpulse_e2e::{clients, start_stack};

#[test]
fn runs_in_any_order_against_dynamodb_equal_one_run_in_memory() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let stack = rt
        .block_on(start_stack("aggregate-props"))
        .expect("starting the local stack");
    let c = rt.block_on(clients(&stack)).expect("clients");
    let mut runner = TestRunner::new(Config {
        cases: 8,
        ..Config::default()
    });
    let case = std::sync::atomic::AtomicI64::new(0);
    let result = runner.run(
        &(
            rows(40, vec!["strong earnings beat"]),
            any::<u64>(),
            1usize..4,
        ),
        |(rows, order, splits)| {
            // Two years apart per case: its keys are its own.
            let shift =
                case.fetch_add(1, std::sync::atomic::Ordering::Relaxed) * 731 * 86_400_000_000;
            let rows: Vec<Row> = rows
                .into_iter()
                .map(|mut r| {
                    r.micros += shift;
                    r
                })
                .collect();
            let hours: BTreeSet<Bucket> = rows.iter().map(hour_of).collect();
            let memory = MemoryStore::default();
            let (t, o) = summarize(&rows, &hours);
            block_on(apply(&memory, &hours, t, o)).expect("memory apply");

            let store = DynamoSummaries {
                client: c.dynamodb.clone(),
                ticker_table: "tickerpulse-ticker-summary".into(),
                overall_table: "tickerpulse-overall-summary".into(),
                run_id: "props".into(),
                stats: Default::default(),
            };
            let shuffled = shuffled(&rows, order);
            let chunk = shuffled.len().div_ceil(splits).max(1);
            let mut seen = Vec::new();
            for part in shuffled.chunks(chunk) {
                seen.extend_from_slice(part);
                let touched: BTreeSet<Bucket> = part.iter().map(hour_of).collect();
                let (t, o) = summarize(&seen, &touched);
                rt.block_on(apply(&store, &touched, t, o))
                    .expect("dynamodb apply");
            }
            let (t, o) = summarize(&rows, &hours);
            let again = rt.block_on(apply(&store, &hours, t, o)).expect("rerun");
            prop_assert_eq!(
                (again.stats.items_written, again.stats.items_deleted),
                (0, 0)
            );

            let want_t = memory.tickers.lock().unwrap().clone();
            let want_o = memory.overall.lock().unwrap().clone();
            let buckets: BTreeSet<Bucket> = want_t
                .keys()
                .map(|(b, _)| *b)
                .chain(want_o.keys().copied())
                .collect();
            for b in buckets {
                let mut got = rt.block_on(store.ticker_items(b)).expect("query");
                got.sort_by(|x, y| x.ticker.cmp(&y.ticker));
                let want: Vec<_> = want_t
                    .range((b, String::new())..)
                    .take_while(|((k, _), _)| *k == b)
                    .map(|(_, v)| v.clone())
                    .collect();
                prop_assert_eq!(got, want, "tickers at {}", b.key());
                let got = rt.block_on(store.overall_item(b)).expect("get");
                prop_assert_eq!(got.as_ref(), want_o.get(&b), "overall at {}", b.key());
            }
            Ok(())
        },
    );
    rt.block_on(stack.stop());
    result.expect("property holds");
}
