//! ingest against the X API's real limits, as the fake enforces them on the
//! real clock: a cursor fallen out of recent search's 7 days, the monthly post
//! budget, the plan's usage cap, and a backfill that stops and resumes.

use serde_json::{json, Value};
use tickerpulse_aws::state::{CursorStore, DynamoCursors, Usage};
use tickerpulse_e2e::start_stack;
use tickerpulse_local::fakex::FakeX;
use tickerpulse_xapi::client::{snowflake_at, snowflake_millis};

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// `n` $TSLA tweets, `step` minutes apart, the newest `ago_min` minutes ago.
fn tweets(first: u64, n: u64, ago_min: i64, step: i64) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let ms = now_ms() - (ago_min + i as i64 * step) * 60_000;
            json!({
                "id": (snowflake_at(ms) + first + i).to_string(),
                "text": format!("$TSLA deliveries beat, number {}", first + i),
                "created_at": rfc3339(ms),
                "author_id": "42",
                "lang": "en",
                "entities": {"cashtags": [{"start": 0, "end": 5, "tag": "TSLA"}]},
                "author": {"id": "42", "username": "trader", "public_metrics": {"followers_count": 5}},
            })
        })
        .collect()
}

fn tsla_query() -> (String, String) {
    let symbols = tickerpulse_core::watchlist::Watchlist::bundled();
    let q = tickerpulse_xapi::build_queries(&symbols.symbols(), 512, true, Some("en"))
        .into_iter()
        .find(|q| q.contains("$TSLA ") || q.contains("$TSLA)"))
        .unwrap();
    (tickerpulse_xapi::query_key(&q), q)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_survives_the_window_the_budget_the_cap_and_resumes_a_backfill() {
    let stack = start_stack("x-limits")
        .await
        .expect("starting the local stack");
    let fake = FakeX::start("t").await.unwrap();
    let mut env = stack.env().unwrap();
    env.insert("X_API_BASE_URL".into(), fake.base_url());
    env.insert("X_BEARER_TOKEN".into(), "t".into());
    env.insert("INGEST_RETRY_BASE_MS".into(), "20".into());
    // No budget but where the test sets one (the template's default is 10,000).
    env.insert("X_MONTHLY_POST_BUDGET".into(), "0".into());
    // Recent search, the deployed default (the local stack reads its 2020
    // sample through the archive).
    env.insert("X_SEARCH_ENDPOINT".into(), "recent".into());
    let schedule = json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
    let conf = tickerpulse_aws::sdk::load(&env).await;
    let db = aws_sdk_dynamodb::Client::new(&conf);
    let table = env["STATE_TABLE"].clone();
    let cursors = DynamoCursors {
        client: db.clone(),
        table: table.clone(),
    };
    let usage = Usage {
        client: db.clone(),
        table: table.clone(),
    };
    let (key, query) = tsla_query();

    // 1. A cursor from ten days ago (after a month at the cap, say): X refuses
    // it with a 400; ingest restarts inside the 7 days, records the gap, reads.
    fake.add(tweets(0, 30, 60, 1));
    let stale = snowflake_at(now_ms() - 10 * 86_400_000);
    cursors.advance(&key, stale, &query).await.unwrap();
    let ingest = tickerpulse_fn_ingest::Function::from_env(&tickerpulse_e2e::as_function(
        &stack, "ingest", &env,
    ))
    .await
    .unwrap();
    let report = ingest.handle(schedule.clone()).await.unwrap();
    assert_eq!(report.cursor_resets.len(), 1, "{report:?}");
    let gap = &report.cursor_resets[0];
    assert_eq!((gap.query.as_str(), gap.since_id), (key.as_str(), stale));
    assert!(gap.from < gap.to, "{gap:?}");
    assert_eq!(report.tweets, 30, "{report:?}");
    let cursor = cursors.get(&key).await.unwrap().since_id.unwrap();
    assert!(
        snowflake_millis(cursor) > now_ms() - 7 * 86_400_000,
        "the cursor is inside the window again"
    );
    // The next run goes on from there without another reset.
    let again = ingest.handle(schedule.clone()).await.unwrap();
    assert!(
        again.cursor_resets.is_empty() && again.tweets == 0,
        "{again:?}"
    );

    // 2. The monthly budget: this month's pace less what was read is all a run
    // may read. Usage just under the pace leaves 25 posts.
    // The pace grows by budget / month-seconds a second (3.7 posts/s here): the
    // allowance below stays in 25..=50 for several seconds of a slow machine
    // (at 100,000,000 it grew past 50 in one second under load).
    let budget = 10_000_000u64;
    let month = tickerpulse_fn_ingest::budget::month(now_ms());
    let paced = tickerpulse_fn_ingest::budget::run_allowance(budget, 0, now_ms()).unwrap();
    let read = usage.read(&month).await.unwrap().posts;
    usage.add(&month, paced - read - 25).await.unwrap();
    // Newer than the cursor (X serves nothing older than since_id).
    fake.add(tweets(1000, 50, 2, 1));
    let mut budgeted_env = env.clone();
    budgeted_env.insert("X_MONTHLY_POST_BUDGET".into(), budget.to_string());
    let budgeted = tickerpulse_fn_ingest::Function::from_env(&tickerpulse_e2e::as_function(
        &stack,
        "ingest",
        &budgeted_env,
    ))
    .await
    .unwrap();
    let served_before = fake.state.served.load(std::sync::atomic::Ordering::Relaxed);
    let r = budgeted.handle(schedule.clone()).await.unwrap();
    let allowance = r.run_allowance.unwrap();
    assert!((25..=50).contains(&allowance), "{r:?}");
    assert!(r.tweets as u64 <= allowance && r.tweets >= 20, "{r:?}");
    assert_eq!(
        r.queries_unfinished, 1,
        "the pagination stopped at the budget: {r:?}"
    );
    let served = fake.state.served.load(std::sync::atomic::Ordering::Relaxed) - served_before;
    assert_eq!(served, r.tweets, "X served no more than the run read");
    // A budget with room: the held pagination resumes, and nothing is lost.
    let mut roomy_env = env.clone();
    roomy_env.insert("X_MONTHLY_POST_BUDGET".into(), (budget * 10).to_string());
    let roomy = tickerpulse_fn_ingest::Function::from_env(&tickerpulse_e2e::as_function(
        &stack, "ingest", &roomy_env,
    ))
    .await
    .unwrap();
    let r2 = roomy.handle(schedule.clone()).await.unwrap();
    assert_eq!(r.tweets + r2.tweets, 50, "{r:?} then {r2:?}");
    assert_eq!(r2.queries_unfinished, 0);
    assert!(cursors.get(&key).await.unwrap().pending.is_none());
    assert!(usage.read(&month).await.unwrap().posts >= paced - 25 + 50);
    // A held token X no longer honours (a 400 naming next_token): the query is
    // read again from its cursor, the hold dropped, and the run goes on.
    let newest = cursors.get(&key).await.unwrap().since_id.unwrap();
    cursors
        .hold(
            &key,
            &tickerpulse_aws::state::Pending {
                next_token: "expired".into(),
                newest,
            },
        )
        .await
        .unwrap();
    let recovered = roomy.handle(schedule.clone()).await.unwrap();
    assert_eq!(
        (recovered.tweets, recovered.queries_unfinished),
        (0, 0),
        "{recovered:?}"
    );
    assert!(cursors.get(&key).await.unwrap().pending.is_none());

    // 3. A backfill in chunks: two windows a run, checkpointed, resumed.
    let end = now_ms() / 60_000 * 60_000 - 60_000;
    let event = json!({"start_time": rfc3339(end - 3 * 3_600_000), "end_time": rfc3339(end), "window": "30m", "max_windows": 2});
    let b1 = ingest.handle(event.clone()).await.unwrap();
    assert_eq!(
        (b1.windows_total, b1.windows_resumed_from, b1.windows_done),
        (6, 0, 2),
        "{b1:?}"
    );
    let b2 = ingest.handle(event.clone()).await.unwrap();
    assert_eq!((b2.windows_resumed_from, b2.windows_done), (2, 4), "{b2:?}");
    let b3 = ingest.handle(event.clone()).await.unwrap();
    let b4 = ingest.handle(event.clone()).await.unwrap();
    assert_eq!(
        (b3.windows_done, b4.windows_resumed_from, b4.tweets),
        (6, 6, 0),
        "{b3:?} {b4:?}"
    );
    let in_range = 30 + 50; // every tweet above was made in the last 3 hours
    assert_eq!(b1.tweets + b2.tweets + b3.tweets, in_range);
    // A rate limit past the time budget in the first window: the run stops there,
    // nothing is checkpointed past it (it used to mark every window done, failed
    // or not), and the rerun of the same event reads every window.
    let hourly = json!({"start_time": rfc3339(end - 3 * 3_600_000), "end_time": rfc3339(end), "window": "1h"});
    fake.state
        .faults
        .lock()
        .unwrap()
        .push_back(tickerpulse_xapi::fake::Fault::RateLimit {
            reset_in_secs: 3_600,
        });
    let limited = ingest.handle(hourly.clone()).await.unwrap();
    assert_eq!(
        (
            limited.windows_done,
            limited.failed_windows.len(),
            limited.rate_limited
        ),
        (0, 1, true),
        "{limited:?}"
    );
    let resumed = ingest.handle(hourly.clone()).await.unwrap();
    assert_eq!(
        (
            resumed.windows_resumed_from,
            resumed.windows_done,
            resumed.tweets
        ),
        (0, 3, in_range),
        "{resumed:?}"
    );
    // Older than recent search keeps: refused before any call, with what to do.
    let requests = fake.requests();
    let err = ingest
        .handle(json!({"start_time": rfc3339(now_ms() - 8 * 86_400_000), "end_time": rfc3339(end), "window": "1h"}))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "TickerPulse.InvalidInput");
    assert!(err.to_string().contains("X_SEARCH_ENDPOINT=all"), "{err}");
    assert_eq!(fake.requests(), requests);

    // 4. The plan's cap: X's 429 UsageCapExceeded stops the run at once, with
    // no retry spent and no wait, and later runs do not call X this month.
    fake.add(tweets(5000, 150, 1, 0));
    let cap = fake.state.used_this_month() + 100;
    fake.state
        .monthly_cap
        .store(cap, std::sync::atomic::Ordering::Relaxed);
    let started = std::time::Instant::now();
    let capped = ingest.handle(schedule.clone()).await.unwrap();
    assert!(capped.usage_capped, "{capped:?}");
    assert_eq!(capped.retries, 0, "a cap is not retried: {capped:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(
        capped.tweets >= 100,
        "the page before the cap was read: {capped:?}"
    );
    let until = usage.read(&month).await.unwrap().capped_until.unwrap();
    assert_eq!(
        until,
        tickerpulse_fn_ingest::budget::next_month_secs(now_ms())
    );
    let requests = fake.requests();
    let skipped = ingest.handle(schedule.clone()).await.unwrap();
    assert!(skipped.usage_capped && skipped.pages == 0, "{skipped:?}");
    assert_eq!(fake.requests(), requests, "no call to X while capped");
    // The API shows the month's usage and the cap.
    let api =
        tickerpulse_fn_api::Function::from_env(&tickerpulse_e2e::as_function(&stack, "api", &env))
            .await
            .unwrap();
    let shown = tickerpulse::demo::api_get_as(&api, "/usage", "", Some("operators"))
        .await
        .unwrap();
    assert_eq!(shown["month"], month.as_str());
    assert_eq!(
        shown["posts_read"].as_u64(),
        Some(usage.read(&month).await.unwrap().posts)
    );
    assert!(shown["capped_until"].is_string(), "{shown}");
    assert_eq!(shown["capped"], true, "{shown}");
    // Anyone else: the count and that reads are stopped, not the plan's details.
    let reader = tickerpulse::demo::api_get_as(&api, "/usage", "", Some("editors"))
        .await
        .unwrap();
    assert_eq!(
        (
            &reader["capped"],
            &reader["capped_until"],
            &reader["posts_read"]
        ),
        (&json!(true), &Value::Null, &shown["posts_read"]),
        "{reader}"
    );
    stack.stop().await;
}

/// The batch compliance endpoints refuse what X documents it refuses: a
/// second job of a type while one is open, an upload after its URL's 15
/// minutes, results before the job completes, a URL whose signature was
/// changed; and a job's results name only the uploaded ids with an event.
#[tokio::test]
async fn batch_compliance_as_x_documents_it() {
    use tickerpulse_xapi::XApi;
    let fake = FakeX::start("t").await.unwrap();
    fake.state.set_clock(now_ms());
    // One draw: the ids follow the clock of the call.
    let posted = tweets(1, 4, 60, 1);
    let ids: Vec<String> = posted
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    fake.add(posted);
    fake.state.delete(&[ids[0].parse().unwrap()]);
    let x = XApi::new(&fake.base_url(), "t".into()).unwrap();
    assert!(matches!(
        XApi::new(&fake.base_url(), "wrong".into())
            .unwrap()
            .create_compliance_job("a")
            .await,
        Err(tickerpulse_xapi::XApiError::Client(401, _))
    ));

    let job = x.create_compliance_job("first").await.unwrap();
    assert_eq!(job.status, "created");
    let second = x.create_compliance_job("second").await;
    assert!(
        matches!(&second, Err(tickerpulse_xapi::XApiError::Client(400, b)) if b.contains("Invalid Request")),
        "{second:?}"
    );
    // Results before the upload: storage has no such object yet.
    assert!(matches!(
        x.compliance_results(&job).await,
        Err(tickerpulse_xapi::XApiError::Client(404, b)) if b.contains("NoSuchKey")
    ));
    // A changed signature is refused by storage.
    let mut forged = job.clone();
    forged.upload_url = forged.upload_url.replace("Signature=", "Signature=0");
    assert!(matches!(
        x.upload_compliance_ids(&forged, &ids).await,
        Err(tickerpulse_xapi::XApiError::Client(403, b)) if b.contains("SignatureDoesNotMatch")
    ));
    x.upload_compliance_ids(&job, &ids).await.unwrap();
    assert_eq!(
        x.compliance_job(&job.id).await.unwrap().status,
        "in_progress"
    );
    assert_eq!(x.compliance_job(&job.id).await.unwrap().status, "complete");
    let events = x.compliance_results(&job).await.unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (events[0].id.as_str(), events[0].reason.as_str()),
        (ids[0].as_str(), "deleted")
    );

    // A new job's upload URL lasts 15 minutes; past that the job is expired,
    // and a new one may be made.
    let late = x.create_compliance_job("late").await.unwrap();
    fake.state.set_clock(now_ms() + 16 * 60 * 1000);
    assert!(matches!(
        x.upload_compliance_ids(&late, &ids).await,
        Err(tickerpulse_xapi::XApiError::Client(400, b)) if b.contains("ExpiredToken")
    ));
    assert_eq!(x.compliance_job(&late.id).await.unwrap().status, "expired");
    let events = x
        .check_posts("again", &ids, std::time::Duration::from_millis(5), 5)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
}
