//! The incremental update of the serving tables, over any store: the changed
//! hours' items (and their quarters') are replaced by recomputed ones, then
//! the days, months and years above them are recomputed from the stored
//! level below. Only items whose values changed are written; items that no
//! longer exist (a ticker gone from a recomputed hour) are deleted. Values
//! are recomputed, never incremented, so a repeated run changes nothing.

use crate::{roll_up_overall, roll_up_tickers, Bucket, Level, OverallSummary, TickerSummary};
use futures_util::stream::{self, StreamExt};
use std::collections::{BTreeMap, BTreeSet};

/// What the serving tables hold, as aggregation sees them.
#[allow(async_fn_in_trait)]
pub trait SummaryStore {
    type Error;
    /// Every ticker item of one bucket.
    async fn ticker_items(&self, bucket: Bucket) -> Result<Vec<TickerSummary>, Self::Error>;
    async fn overall_item(&self, bucket: Bucket) -> Result<Option<OverallSummary>, Self::Error>;
    async fn write(&self, changes: &Changes) -> Result<(), Self::Error>;
}

/// Puts and deletes for one write.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Changes {
    pub ticker_puts: Vec<TickerSummary>,
    pub ticker_deletes: Vec<(Bucket, String)>,
    pub overall_puts: Vec<OverallSummary>,
    pub overall_deletes: Vec<Bucket>,
}

impl Changes {
    pub fn len(&self) -> usize {
        self.ticker_puts.len()
            + self.ticker_deletes.len()
            + self.overall_puts.len()
            + self.overall_deletes.len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What `apply` did, and every item it recomputed (for the analytics zone).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Applied {
    pub stats: ApplyStats,
    pub tickers: Vec<TickerSummary>,
    pub overall: Vec<OverallSummary>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ApplyStats {
    pub items_written: u64,
    pub items_deleted: u64,
    pub items_unchanged: u64,
    pub buckets: u64,
}

fn diff_tickers(
    bucket: Bucket,
    desired: Vec<TickerSummary>,
    existing: Vec<TickerSummary>,
    changes: &mut Changes,
    applied: &mut Applied,
) {
    applied.tickers.extend(desired.iter().cloned());
    let stats = &mut applied.stats;
    let mut existing: BTreeMap<String, TickerSummary> = existing
        .into_iter()
        .map(|i| (i.ticker.clone(), i))
        .collect();
    for item in desired {
        match existing.remove(&item.ticker) {
            Some(old) if old == item => stats.items_unchanged += 1,
            _ => {
                stats.items_written += 1;
                changes.ticker_puts.push(item);
            }
        }
    }
    for ticker in existing.into_keys() {
        stats.items_deleted += 1;
        changes.ticker_deletes.push((bucket, ticker));
    }
}

fn diff_overall(
    bucket: Bucket,
    desired: Option<OverallSummary>,
    existing: Option<OverallSummary>,
    changes: &mut Changes,
    applied: &mut Applied,
) {
    applied.overall.extend(desired.iter().cloned());
    let stats = &mut applied.stats;
    match (desired, existing) {
        (Some(d), Some(e)) if d == e => stats.items_unchanged += 1,
        (Some(d), _) => {
            stats.items_written += 1;
            changes.overall_puts.push(d);
        }
        (None, Some(_)) => {
            stats.items_deleted += 1;
            changes.overall_deletes.push(bucket);
        }
        (None, None) => {}
    }
}

/// Reads of stored buckets in flight at once (a bucket is a `Query` and a
/// `GetItem`): the reads of a run of many hours are latency, not work.
pub const READS_IN_FLIGHT: usize = 16;

type Stored = (Vec<TickerSummary>, Option<OverallSummary>);

async fn read_bucket<S: SummaryStore>(store: &S, bucket: Bucket) -> Result<Stored, S::Error> {
    let t = store.ticker_items(bucket).await?;
    let o = store.overall_item(bucket).await?;
    Ok((t, o))
}

/// Replaces the hours in `hours` with `tickers` and `overall` (their hour and
/// quarter items, computed from the hours' complete stage 2 data; an hour
/// without items is emptied), then recomputes every day, month and year above.
pub async fn apply<S: SummaryStore>(
    store: &S,
    hours: &BTreeSet<Bucket>,
    tickers: Vec<TickerSummary>,
    overall: Vec<OverallSummary>,
) -> Result<Applied, S::Error> {
    let mut applied = Applied::default();
    let mut fresh_t: BTreeMap<Bucket, Vec<TickerSummary>> = BTreeMap::new();
    for t in tickers {
        fresh_t.entry(t.bucket).or_default().push(t);
    }
    let mut fresh_o: BTreeMap<Bucket, OverallSummary> =
        overall.into_iter().map(|o| (o.bucket, o)).collect();

    // Hours and their quarters (their stored items read `READS_IN_FLIGHT` at a time).
    let mut changes = Changes::default();
    let buckets: Vec<Bucket> = hours
        .iter()
        .flat_map(|&hour| std::iter::once(hour).chain(hour.children()))
        .collect();
    // The futures are collected first: a stream over a borrowing closure is not
    // provably `Send` to the compiler (rust-lang/rust#102211).
    let reads: Vec<_> = buckets.iter().map(|&b| read_bucket(store, b)).collect();
    let mut stored = stream::iter(reads).buffered(READS_IN_FLIGHT);
    for &bucket in &buckets {
        let Some(read) = stored.next().await else {
            break;
        };
        let (existing_t, existing_o) = read?;
        applied.stats.buckets += 1;
        let desired = fresh_t.remove(&bucket).unwrap_or_default();
        diff_tickers(bucket, desired, existing_t, &mut changes, &mut applied);
        diff_overall(
            bucket,
            fresh_o.remove(&bucket),
            existing_o,
            &mut changes,
            &mut applied,
        );
    }
    drop(stored);
    store.write(&changes).await?;

    // Days from hours, months from days, years from months.
    let mut changed: BTreeSet<Bucket> = hours.clone();
    for level in [Level::Day, Level::Month, Level::Year] {
        let parents: BTreeSet<Bucket> = changed.iter().map(|b| b.at(level)).collect();
        let mut changes = Changes::default();
        for &parent in &parents {
            applied.stats.buckets += 1;
            let mut child_t = Vec::new();
            let mut child_o = Vec::new();
            let family: Vec<Bucket> = parent
                .children()
                .into_iter()
                .chain(std::iter::once(parent))
                .collect();
            let reads: Vec<_> = family.iter().map(|&b| read_bucket(store, b)).collect();
            let mut reads = stream::iter(reads).buffered(READS_IN_FLIGHT);
            while let Some(read) = reads.next().await {
                let (t, o) = read?;
                child_t.push(t);
                child_o.push(o);
            }
            // The last read is the parent's own items.
            let existing_t = child_t.pop().unwrap_or_default();
            let existing_o = child_o.pop().flatten();
            let child_t: Vec<TickerSummary> = child_t.into_iter().flatten().collect();
            let child_o: Vec<OverallSummary> = child_o.into_iter().flatten().collect();
            let desired = roll_up_tickers(parent, &child_t);
            diff_tickers(parent, desired, existing_t, &mut changes, &mut applied);
            diff_overall(
                parent,
                roll_up_overall(parent, &child_o),
                existing_o,
                &mut changes,
                &mut applied,
            );
        }
        store.write(&changes).await?;
        changed = parents;
    }
    Ok(applied)
}

/// A store in memory, for tests and the benchmark.
#[derive(Default)]
pub struct MemoryStore {
    pub tickers: std::sync::Mutex<BTreeMap<(Bucket, String), TickerSummary>>,
    pub overall: std::sync::Mutex<BTreeMap<Bucket, OverallSummary>>,
    pub writes: std::sync::atomic::AtomicU64,
}

impl SummaryStore for MemoryStore {
    type Error = std::convert::Infallible;

    async fn ticker_items(&self, bucket: Bucket) -> Result<Vec<TickerSummary>, Self::Error> {
        let map = self.tickers.lock().unwrap_or_else(|e| e.into_inner());
        Ok(map
            .range((bucket, String::new())..)
            .take_while(|((b, _), _)| *b == bucket)
            .map(|(_, v)| v.clone())
            .collect())
    }

    async fn overall_item(&self, bucket: Bucket) -> Result<Option<OverallSummary>, Self::Error> {
        let map = self.overall.lock().unwrap_or_else(|e| e.into_inner());
        Ok(map.get(&bucket).cloned())
    }

    async fn write(&self, changes: &Changes) -> Result<(), Self::Error> {
        let mut t = self.tickers.lock().unwrap_or_else(|e| e.into_inner());
        for item in &changes.ticker_puts {
            t.insert((item.bucket, item.ticker.clone()), item.clone());
        }
        for key in &changes.ticker_deletes {
            t.remove(key);
        }
        drop(t);
        let mut o = self.overall.lock().unwrap_or_else(|e| e.into_inner());
        for item in &changes.overall_puts {
            o.insert(item.bucket, item.clone());
        }
        for b in &changes.overall_deletes {
            o.remove(b);
        }
        self.writes
            .fetch_add(changes.len() as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}

/// Runs a future that never waits on I/O (the memory store) to completion.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}
