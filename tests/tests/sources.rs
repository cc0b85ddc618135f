//! Three sources end to end on the local stack: the fake X API read by
//! ingest, the fake Bluesky and Reddit read by the social function, every post
//! through Firehose, the transform, the pipeline and the API. A post read
//! twice (by two queries, or again by a second run's overlap) counts once;
//! each source's totals are exact, and the API filters by source.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use tickerpulse_e2e::{call, clients, run_execution, serve_guarded, start_stack, succeeded_output};
use tickerpulse_social::fake::{bluesky_view, reddit_child, Fault};

const PIPELINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:tickerpulse-pipeline";
const KEY: &str = "sources-test-key";
/// 2020-04-15T06:00:00Z: the fakes live just after the posts below.
const NOW_MS: i64 = 1_586_930_400_000;

fn x_tweets() -> Vec<Value> {
    (0..5)
        .map(|i| {
            json!({"id": (1_250_000_000_000_000_000u64 + i).to_string(),
                   "text": format!("$TSLA tape number {i} looks {}", ["firm", "weak", "flat", "hot", "cold"][i as usize]),
                   "created_at": format!("2020-04-15T02:0{i}:00.000Z"), "lang": "en",
                   "author_id": (100 + i).to_string(),
                   "author": {"id": (100 + i).to_string(), "username": format!("xuser{i}")}})
        })
        .collect()
}

fn bluesky_posts() -> Vec<Value> {
    let p = |i: usize, text: &str| {
        bluesky_view(
            &format!("did:plc:author{i}"),
            &format!("author{i}.bsky.social"),
            &format!("3kpost{i}"),
            text,
            &format!("2020-04-15T03:{:02}:00.000Z", 10 + i),
            i as u64,
        )
    };
    vec![
        p(0, "TSLA deliveries beat, shares up #stocks"),
        p(1, "AAPL and TSLA both green today"),
        p(2, "$AAPL breaking out of the range"),
        p(3, "IT IS WHAT IT IS, ALL IN NOW"),
    ]
}

fn reddit_posts() -> Vec<Value> {
    let t = |i: usize, sub: &str, title: &str, comment: bool| {
        reddit_child(
            &format!("abc{i}"),
            sub,
            &format!("redditor{i}"),
            title,
            None,
            1_586_919_600.0 + 60.0 * i as f64, // 2020-04-15T03:00Z + i minutes
            5,
            comment,
        )
    };
    vec![
        t(
            0,
            "wallstreetbets",
            "TSLA 800c expiring friday, wish me luck",
            false,
        ),
        t(1, "stocks", "Thoughts on AAPL before earnings?", false),
        t(2, "stocks", "NVDA shares look stretched to me", true),
        t(
            3,
            "wallstreetbets",
            "bought more TSLA calls at the open",
            true,
        ),
        t(4, "cooking", "TSLA of soups: a recipe", false),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_of_three_sources_are_each_counted_once_with_exact_per_source_totals() {
    let stack = start_stack("sources")
        .await
        .expect("starting the local stack");
    let env = stack.env().unwrap();
    stack.x_api.replace(x_tweets());
    stack.x_api.set_clock(NOW_MS);
    stack.bluesky.add(bluesky_posts());
    stack.bluesky.clock.set(NOW_MS);
    stack.reddit.add(reddit_posts());
    stack.reddit.clock.set(NOW_MS);

    let schedule: Value = serde_json::from_str(include_str!("../../events/schedule.json")).unwrap();
    let ingest = tickerpulse_fn_ingest::Function::from_env(&tickerpulse_e2e::as_function(
        &stack, "ingest", &env,
    ))
    .await
    .unwrap();
    let x = ingest.handle(schedule.clone()).await.unwrap();
    assert_eq!(x.sent, 5, "{x:?}");

    // The local stack's watch list is the bundled S&P 500: Bluesky's queries
    // (one a ticker) are read in a run (BLUESKY_MAX_QUERIES).
    let mut env_all = env.clone();
    env_all.insert("BLUESKY_MAX_QUERIES".into(), "1000".into());
    let social = tickerpulse_fn_social::Function::from_env(&tickerpulse_e2e::as_function(
        &stack, "social", &env_all,
    ))
    .await
    .unwrap();
    let first = social.handle(schedule.clone()).await.unwrap();
    let (b, r) = (&first["bluesky"], &first["reddit"]);
    // Post 1 names AAPL and TSLA: both queries read it (sent twice, counted once).
    // Post 3 names no ticker: no query finds it.
    assert_eq!((b.posts, b.sent, b.error.as_deref()), (4, 4, None), "{b:?}");
    assert_eq!(b.cursors_advanced, 2, "{b:?}");
    // r/cooking is not watched.
    assert_eq!((r.posts, r.sent, r.queries), (4, 4, 2), "{r:?}");
    assert_eq!(
        stack
            .bluesky
            .sessions_made
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );

    // A second run: the cursors' overlap reads the newest posts again, and an
    // expired session is made again once.
    stack.bluesky.expire_sessions();
    let second = social.handle(schedule.clone()).await.unwrap();
    assert!(
        second["bluesky"].sent > 0 && second["reddit"].sent > 0,
        "{second:?}"
    );
    assert_eq!(
        stack
            .bluesky
            .sessions_made
            .load(std::sync::atomic::Ordering::Relaxed),
        2
    );
    // Reddit past its window: the run stops, says so, and keeps its cursors.
    stack.reddit.fail_next(Fault::RateLimit);
    let limited = social.handle(schedule).await.unwrap();
    assert!(limited["reddit"].rate_limited, "{limited:?}");

    let c = clients(&stack).await.unwrap();
    let run = run_execution(&c.sfn, PIPELINE, "sources-1", &json!({}))
        .await
        .unwrap();
    let out = succeeded_output(&run);
    assert!(out.is_object(), "{out}");

    let user = stack
        .add_user("sam", "Sources-password-1", &[])
        .await
        .unwrap();
    let (addr, stop, serving) = serve_guarded(&stack, KEY).await.unwrap();
    let base = addr.to_string();
    let token = Some(user.id_token.as_str());
    let get = |path: String| {
        let base = base.clone();
        async move { call(&base, "GET", &path, token, Some(KEY), None).await }
    };
    // Unique posts per source: X 5, Bluesky 3 (post 3 never read), Reddit 4.
    let (s, all) = get("/overall?level=day&period=2020-04-15".into()).await;
    assert_eq!(s, 200, "{all}");
    assert_eq!(all["tweets"], 12, "{all}");
    assert_eq!(
        all["sources"],
        json!({"x": 5, "bluesky": 3, "reddit": 4}),
        "{all}"
    );
    let mut per_source = BTreeMap::new();
    for source in ["x", "bluesky", "reddit"] {
        let (s, one) = get(format!(
            "/overall?level=day&period=2020-04-15&source={source}"
        ))
        .await;
        assert_eq!(s, 200, "{one}");
        per_source.insert(source, one["tweets"].as_u64().unwrap());
        assert_eq!(one["mean_p_positive"], Value::Null);
    }
    assert_eq!(
        per_source,
        BTreeMap::from([("bluesky", 3), ("reddit", 4), ("x", 5)])
    );
    // Tickers found without a `$`: TSLA on all three sources.
    let (s, board) =
        get("/leaderboard?level=day&period=2020-04-15&source=reddit&limit=10".into()).await;
    assert_eq!(s, 200, "{board}");
    let reddit: BTreeMap<String, u64> = board["tickers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["ticker"].as_str().unwrap().to_string(),
                t["mentions"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        reddit,
        BTreeMap::from([("AAPL".into(), 1), ("NVDA".into(), 1), ("TSLA".into(), 2)])
    );
    let (s, board) = get("/leaderboard?level=day&period=2020-04-15&limit=10".into()).await;
    assert_eq!(s, 200);
    let tsla = board["tickers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["ticker"] == "TSLA")
        .unwrap()
        .clone();
    assert_eq!(tsla["mentions"], 9, "{tsla}");
    assert_eq!(
        tsla["sources"],
        json!({"x": 5, "bluesky": 2, "reddit": 2}),
        "{tsla}"
    );
    // A wrong source is a 400 with the JSON error body.
    let (s, bad) = get("/overall?source=mastodon".into()).await;
    assert_eq!(
        (s, bad["error"].as_str()),
        (400, Some("bad_parameter")),
        "{bad}"
    );
    let _ = stop.send(());
    let _ = serving.await;
}
