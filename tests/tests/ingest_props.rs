//! ingest's scheduled poll against an X API that misbehaves as the real one
//! can: posts arriving while a query is paginated, posts deleted between
//! pages, a 429 (docs.x.com/x-api/fundamentals/rate-limits), a 5xx, the plan's
//! usage cap (docs.x.com/x-api/fundamentals/post-cap) and a refused
//! `next_token` in the middle of a pagination, Firehose refusing records for
//! the rest of a run, any page cap and page size. The fake X serves the
//! requests over HTTP as it does for the local stack (`tickerpulse_xapi::fake`).
//!
//! The property, over many seeded scenarios of many runs each: once the stream
//! goes quiet and the faults stop, every post the search matches (a watched
//! cashtag, not a retweet, in English), not deleted, and inside recent search's
//! 7 days has reached Firehose, and nothing else has. Firehose's copies are
//! at least once (a post in two queries is sent twice); the lake keeps one row
//! per id (`tests/tests/lake.rs`). proptest prints a failing seed and keeps it
//! in `ingest_props.proptest-regressions`; `TICKERPULSE_SOAK_CASES` raises the
//! count.
//!
//! The backfill loop has its own property below, on a local stack (its
//! checkpoints live in the state table): every matched, undeleted post of the
//! range reaches Firehose once the reruns have walked every window. Not
//! covered: a late index (the fake indexes a post when it is made).

use proptest::prelude::*;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tickerpulse_aws::firehose::RecordSink;
use tickerpulse_aws::state::{Cursor, CursorStore, Pending};
use tickerpulse_aws::HandlerError;
use tickerpulse_fn_ingest::{Function, Settings};
use tickerpulse_local::fakex::{FakeX, FakeXState, Fault};
use tickerpulse_xapi::client::snowflake_at;
use tickerpulse_xapi::XApi;

/// The scenario's draws from its seed (SplitMix64; proptest picks the seeds).
type Draw = tickerpulse_synth::Rng;

const TICKERS: [&str; 5] = ["AAA", "BBB", "CCC", "DDD", "EEE"];

fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// The stream: every post made so far, which the search matches, and the
/// misbehaviour to apply between pages.
struct Stream {
    draw: Draw,
    x: Arc<FakeXState>,
    now_ms: i64,
    seq: u64,
    /// Every post made: id, whether the query matches it, its time.
    made: Vec<(u64, bool, i64)>,
    deleted: BTreeSet<u64>,
    /// Misbehaving (faults, deletions, arrivals between pages) or quiet.
    wild: bool,
    /// Firehose refuses every record for the rest of this run.
    down: bool,
}

impl Stream {
    /// A burst of `n` posts made in the last `span_ms` (after every post before).
    fn burst(&mut self, n: u64, span_ms: i64) {
        let mut tweets = Vec::new();
        let mut times: Vec<i64> = (0..n)
            .map(|_| self.now_ms - self.draw.modulo(span_ms.max(1) as u64) as i64)
            .collect();
        times.sort_unstable();
        for at in times {
            self.seq += 1;
            // Ids grow with time (snowflakes), unique within the millisecond.
            let id = snowflake_at(at) + self.seq % 4_000_000;
            let a = TICKERS[self.draw.modulo(5) as usize];
            let b = TICKERS[self.draw.modulo(5) as usize];
            let lang = if self.draw.chance(100) { "de" } else { "en" };
            let retweet = self.draw.chance(100);
            let text = if retweet {
                format!("RT @someone: ${a} and ${b}")
            } else if self.draw.chance(100) {
                "no cashtag here".to_string()
            } else {
                format!("${a} and ${b} moving, post {}", self.seq)
            };
            let matched = lang == "en" && !retweet && text.contains('$');
            self.made.push((id, matched, at));
            tweets.push(serde_json::json!({
                "id": id.to_string(), "text": text, "created_at": rfc3339(at),
                "author_id": (self.seq % 50).to_string(), "lang": lang,
                "author": {"id": (self.seq % 50).to_string(), "username": format!("u{}", self.seq % 50)},
            }));
        }
        self.x.add(tweets);
    }

    /// What may happen between two pages of a run.
    fn between_pages(&mut self) {
        if !self.wild {
            return;
        }
        if self.draw.chance(150) && !self.made.is_empty() {
            let (id, ..) = self.made[self.draw.modulo(self.made.len() as u64) as usize];
            self.deleted.insert(id);
            self.x.delete(&[id]);
        }
        if self.draw.chance(200) {
            let n = 1 + self.draw.modulo(8);
            self.burst(n, 1);
        }
        if self.draw.chance(150) {
            let fault = match self.draw.modulo(4) {
                0 => Fault::RateLimit { reset_in_secs: 900 },
                1 => Fault::Status(503),
                2 => Fault::RefuseNextToken,
                _ => Fault::Status(500),
            };
            self.x.faults.lock().unwrap().push_back(fault);
        }
        if self.draw.chance(40) {
            // The month's cap reached in the middle of a pagination.
            self.x.monthly_cap.store(
                self.x.used_this_month().max(1),
                std::sync::atomic::Ordering::Relaxed,
            );
        }
        if self.draw.chance(30) {
            self.down = true;
        }
    }
}

/// Firehose: keeps the ids it took, and lets the stream misbehave between pages.
struct Sink {
    stream: Mutex<Stream>,
    got: Mutex<Vec<u64>>,
}

impl RecordSink for Sink {
    async fn put_batch(&self, records: &[Vec<u8>]) -> Result<Vec<Option<String>>, HandlerError> {
        let mut s = self.stream.lock().unwrap();
        if s.down {
            return Ok(vec![
                Some("ServiceUnavailableException".into());
                records.len()
            ]);
        }
        let mut got = self.got.lock().unwrap();
        for r in records {
            let v: serde_json::Value = serde_json::from_slice(r).unwrap();
            got.push(v["id"].as_str().unwrap().parse().unwrap());
        }
        s.between_pages();
        Ok(vec![None; records.len()])
    }
}

/// The state table's cursors, in memory, with the same rules.
#[derive(Default)]
struct Cursors(Mutex<HashMap<String, Cursor>>);

impl CursorStore for Cursors {
    async fn get(&self, key: &str) -> Result<Cursor, HandlerError> {
        Ok(self.0.lock().unwrap().get(key).cloned().unwrap_or_default())
    }
    async fn advance(&self, key: &str, id: u64, _query: &str) -> Result<bool, HandlerError> {
        let mut all = self.0.lock().unwrap();
        let c = all.entry(key.to_string()).or_default();
        c.pending = None;
        if c.since_id.is_some_and(|s| s >= id) {
            return Ok(false);
        }
        c.since_id = Some(id);
        Ok(true)
    }
    async fn hold(&self, key: &str, pending: &Pending) -> Result<(), HandlerError> {
        self.0
            .lock()
            .unwrap()
            .entry(key.to_string())
            .or_default()
            .pending = Some(pending.clone());
        Ok(())
    }
    async fn drop_pending(&self, key: &str) -> Result<(), HandlerError> {
        if let Some(c) = self.0.lock().unwrap().get_mut(key) {
            c.pending = None;
        }
        Ok(())
    }
}

/// ingest over the fake, with an in-memory Firehose (the stream misbehaving
/// between pages when `wild`) and cursors; no usage table.
fn ingest(
    fake: &FakeX,
    draw: Draw,
    now_ms: i64,
    wild: bool,
    queries: Vec<String>,
    (max_results, max_pages): (u32, usize),
) -> Function<Sink, Cursors> {
    let sink = Sink {
        stream: Mutex::new(Stream {
            draw,
            x: fake.state.clone(),
            now_ms,
            seq: 0,
            made: Vec::new(),
            deleted: BTreeSet::new(),
            wild,
            down: false,
        }),
        got: Mutex::new(Vec::new()),
    };
    Function {
        x: XApi::new(&fake.base_url(), "t".into()).expect("a client of the fake"),
        sink,
        cursors: Cursors::default(),
        usage: None,
        queries,
        settings: Settings {
            monthly_budget: 0,
            emit_metrics: false,
            max_results,
            max_pages,
            budget: Duration::from_secs(600),
            retry_base: Duration::from_millis(1),
            retries: 1,
        },
    }
}

async fn scenario(seed: u64) -> Result<(), String> {
    let fake = FakeX::start("t").await.map_err(|e| e.to_string())?;
    let mut draw = Draw::new(seed);
    // The fake lives at the real time: a 429's reset is then beyond the run's
    // budget, and the run stops at it instead of waiting.
    let start = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    fake.state.set_clock(start);
    let max_pages = 1 + draw.modulo(4) as usize;
    let max_results = 10 + draw.modulo(91) as u32;
    let query_len = 30 + draw.modulo(40) as usize;
    let queries = tickerpulse_xapi::build_queries(&TICKERS, query_len, true, Some("en"));
    let f = ingest(
        &fake,
        draw,
        start,
        true,
        queries.clone(),
        (max_results, max_pages),
    );
    let event =
        serde_json::json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
    let runs = 3 + f.sink.stream.lock().unwrap().draw.modulo(8);
    let mut log = Vec::new();
    for run in 0..runs + 400 {
        let quiet = run >= runs;
        {
            let mut s = f.sink.stream.lock().unwrap();
            s.down = false;
            if quiet {
                s.wild = false;
                s.x.faults.lock().unwrap().clear();
                s.x.monthly_cap
                    .store(0, std::sync::atomic::Ordering::Relaxed);
                s.now_ms += 60_000;
            } else {
                // Posts made since the last run (X stamps and indexes a post
                // when it is made: none appears older than what was listed).
                let span = 60_000 * (1 + s.draw.modulo(15) as i64);
                s.now_ms += span;
                let n = s.draw.modulo(60);
                s.burst(n, span);
                if s.draw.chance(300) {
                    // The month's cap before the run starts; lifted a few runs on.
                    s.x.monthly_cap.store(
                        s.x.used_this_month().max(1),
                        std::sync::atomic::Ordering::Relaxed,
                    );
                } else if s.draw.chance(400) {
                    s.x.monthly_cap
                        .store(0, std::sync::atomic::Ordering::Relaxed);
                }
            }
            s.x.set_clock(s.now_ms);
        }
        let report = f.handle(event.clone()).await;
        let settled = matches!(&report, Ok(r) if r.tweets == 0 && r.queries_unfinished == 0 && r.failed_records == 0);
        log.push(format!("run {run}: {report:?}"));
        if quiet && settled {
            break;
        }
        if run == runs + 399 {
            return Err(format!("never settled: {}", log.join("\n")));
        }
    }
    // Recent search keeps 7 days; every scenario is far shorter.
    let s = f.sink.stream.lock().unwrap();
    let got: BTreeSet<u64> = f.sink.got.lock().unwrap().iter().copied().collect();
    let matched: BTreeSet<u64> = s.made.iter().filter(|m| m.1).map(|m| m.0).collect();
    let lost: Vec<u64> = matched
        .iter()
        .filter(|id| !s.deleted.contains(id) && !got.contains(id))
        .copied()
        .collect();
    let stray: Vec<&u64> = got.iter().filter(|id| !matched.contains(id)).collect();
    if lost.is_empty() && stray.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} of {} matched posts never sent (first {:?}), {} sent that the search does not match; \
             {} queries, {max_pages} pages of {max_results}\n{}",
            lost.len(),
            matched.len(),
            &lost[..lost.len().min(5)],
            stray.len(),
            queries.len(),
            if std::env::var("POLL_DEBUG").is_ok() { log.join("\n") } else { String::new() }
        ))
    }
}

fn cases() -> u32 {
    tickerpulse_synth::soak_cases(200)
}

fn run(seed: u64) -> Result<(), String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(scenario(seed))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..ProptestConfig::default()
    })]
    #[test]
    fn every_matched_post_reaches_firehose_once_the_stream_goes_quiet(seed in any::<u64>()) {
        if let Err(lost) = run(seed) {
            prop_assert!(false, "seed {seed}: {lost}");
        }
    }
}

/// A 429 after the first page: the pagination is held at the page not yet
/// read, and the next run goes on from it, so X serves (and bills) no post twice.
/// It used to drop the token and read the query again from its cursor.
#[tokio::test(flavor = "current_thread")]
async fn a_rate_limit_mid_pagination_pays_for_no_page_twice() {
    let fake = FakeX::start("t").await.unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    fake.state.set_clock(now);
    fake.add((0..30).map(|i| {
        let at = now - 60_000 + i * 1000;
        serde_json::json!({"id": (snowflake_at(at) + 1).to_string(), "text": format!("$AAA {i}"),
            "created_at": rfc3339(at), "author_id": "1", "lang": "en"})
    }));
    for f in [Fault::Pass, Fault::RateLimit { reset_in_secs: 900 }] {
        fake.state.faults.lock().unwrap().push_back(f);
    }
    let f = ingest(
        &fake,
        Draw::new(1),
        now,
        false,
        vec!["$AAA -is:retweet lang:en".into()],
        (10, 10),
    );
    let event =
        serde_json::json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
    let first = f.handle(event.clone()).await.unwrap();
    assert_eq!(
        (first.tweets, first.queries_unfinished, first.rate_limited),
        (10, 1, true),
        "{first:?}"
    );
    let second = f.handle(event).await.unwrap();
    assert_eq!(
        (second.tweets, second.queries_unfinished),
        (20, 0),
        "{second:?}"
    );
    let served = fake.state.served.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(served, 30, "X served every post once");
    let got: BTreeSet<u64> = f.sink.got.lock().unwrap().iter().copied().collect();
    assert_eq!(got.len(), 30);
}

/// `make soak`: every seed of a range (`TICKERPULSE_SOAK_FROM`, default 0,
/// and `TICKERPULSE_SOAK_CASES`).
#[test]
#[ignore]
fn soak_a_seed_range() {
    tickerpulse_synth::soak_seed_range(200, run);
}

#[test]
#[ignore]
fn one_seed() {
    run(std::env::var("SEED").unwrap().parse().unwrap()).unwrap();
}

/// Seeds of the backfill property that once failed: they run first, every time.
// 15565059552845076566: a window with more pages than a run reads (max_pages 1)
// never completed: the rerun restarted it from its first page.
const BACKFILL_REGRESSIONS: &[u64] = &[15_565_059_552_845_076_566];

/// ingest's backfill over a misbehaving X, with its checkpoints in the local
/// stack's state table: a random range of the last hours split into windows of
/// 15 minutes to an hour, any `max_windows`, the same faults between pages as
/// the poll's scenarios (429, 5xx, the cap, a refused token, Firehose down,
/// deletions); reruns of the same event until the checkpoint reaches the end.
/// Every matched, undeleted post made inside the range must reach Firehose.
async fn backfill_scenario(
    seed: u64,
    table: &str,
    ddb: &aws_sdk_dynamodb::Client,
) -> Result<(), String> {
    let fake = FakeX::start("t").await.map_err(|e| e.to_string())?;
    let mut draw = Draw::new(seed);
    let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    fake.state.set_clock(now);
    // A range ending a few minutes ago (X refuses an end_time within 10 s of
    // now), its start a few hours back on a minute, different per seed so that
    // each scenario has its own checkpoint.
    let end = (now - 120_000) / 60_000 * 60_000;
    let hours = 1 + draw.modulo(6) as i64;
    let start = end - hours * 3_600_000 - 60_000 * (seed % 997) as i64;
    let window = ["15m", "30m", "1h"][draw.modulo(3) as usize];
    let max_windows = match draw.modulo(3) {
        0 => None,
        _ => Some(1 + draw.modulo(4) as usize),
    };
    let queries =
        tickerpulse_xapi::build_queries(&TICKERS, 30 + draw.modulo(40) as usize, true, Some("en"));
    let limits = (10 + draw.modulo(91) as u32, 1 + draw.modulo(4) as usize);
    let mut f = ingest(&fake, draw, end - 1_000, true, queries, limits);
    {
        // The posts of the range (X's ids are made at the time a post is).
        let mut s = f.sink.stream.lock().unwrap();
        let n = 20 + s.draw.modulo(200);
        s.burst(n, end - start - 1_000);
        s.now_ms = now;
    }
    f.usage = Some(tickerpulse_aws::state::Usage {
        client: ddb.clone(),
        table: table.to_string(),
    });
    let mut event = serde_json::json!({"start_time": rfc3339(start), "end_time": rfc3339(end), "window": window});
    if let Some(m) = max_windows {
        event["max_windows"] = serde_json::json!(m);
    }
    let wild_runs = 2 + f.sink.stream.lock().unwrap().draw.modulo(6);
    let mut log = Vec::new();
    for run in 0..wild_runs + 300 {
        if run == wild_runs {
            // The stream goes quiet, and the month with the cap ends.
            {
                let mut s = f.sink.stream.lock().unwrap();
                s.wild = false;
                s.x.faults.lock().unwrap().clear();
                s.x.monthly_cap
                    .store(0, std::sync::atomic::Ordering::Relaxed);
            }
            ddb.delete_item()
                .table_name(table)
                .key(
                    "PK",
                    aws_sdk_dynamodb::types::AttributeValue::S("usage".into()),
                )
                .key(
                    "SK",
                    aws_sdk_dynamodb::types::AttributeValue::S("cap".into()),
                )
                .send()
                .await
                .map_err(|e| format!("{e:?}"))?;
        }
        f.sink.stream.lock().unwrap().down = false;
        let report = f.handle(event.clone()).await;
        let done = matches!(&report, Ok(r) if r.windows_resumed_from == r.windows_total);
        log.push(format!("run {run}: {report:?}"));
        if run >= wild_runs && done {
            break;
        }
        if run == wild_runs + 299 {
            return Err(format!("never finished: {}", log.join("\n")));
        }
    }
    let s = f.sink.stream.lock().unwrap();
    let got: BTreeSet<u64> = f.sink.got.lock().unwrap().iter().copied().collect();
    let lost: Vec<u64> = s
        .made
        .iter()
        .filter(|(id, matched, at)| {
            *matched && (start..end).contains(at) && !s.deleted.contains(id) && !got.contains(id)
        })
        .map(|m| m.0)
        .collect();
    if lost.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} posts of the range never sent (first {:?}); window {window}, max_windows {max_windows:?}, {hours} h\n{}",
            lost.len(),
            &lost[..lost.len().min(5)],
            if std::env::var("POLL_DEBUG").is_ok() { log.join("\n") } else { String::new() }
        ))
    }
}

/// Runs the backfill scenarios of `seeds` on one local stack.
fn backfill_seeds(seeds: Vec<u64>) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let stack = tickerpulse_e2e::start_stack("ingest-backfill-props")
            .await
            .expect("starting the local stack");
        let env = stack.env().unwrap();
        let table = env["STATE_TABLE"].clone();
        let ddb = aws_sdk_dynamodb::Client::new(&tickerpulse_aws::sdk::load(&env).await);
        let mut failed = Vec::new();
        for seed in seeds {
            if let Err(e) = backfill_scenario(seed, &table, &ddb).await {
                failed.push(format!("seed {seed}: {e}"));
            }
        }
        stack.stop().await;
        failed
    })
}

/// The backfill property in `make test`: the regression seeds, then
/// `TICKERPULSE_SOAK_CASES` (default 20; `make soak` runs thousands) seeds
/// from a random start, printed
/// with any failure (`BACKFILL_SEED=<n>` reruns one).
#[test]
fn every_post_of_a_backfill_range_reaches_firehose_once_its_windows_are_done() {
    let seeds: Vec<u64> = match std::env::var("BACKFILL_SEED") {
        Ok(s) => vec![s.parse().unwrap()],
        Err(_) => {
            let base = std::collections::hash_map::RandomState::new();
            let first = std::hash::BuildHasher::hash_one(&base, 0u8);
            let n = u64::from(tickerpulse_synth::soak_cases(20));
            BACKFILL_REGRESSIONS
                .iter()
                .copied()
                .chain((0..n).map(|i| first.wrapping_add(i)))
                .collect()
        }
    };
    let failed = backfill_seeds(seeds);
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

/// `make soak`: the backfill over seeds `TICKERPULSE_SOAK_FROM` onwards.
#[test]
#[ignore]
fn soak_the_backfill_over_a_seed_range() {
    tickerpulse_synth::soak_seed_batch(2_000, |seeds| backfill_seeds(seeds.collect()));
}
