//! The Bluesky and Reddit clients against the fakes' limits and refusals, as
//! the real services answer them (docs/sources.md lists where each comes
//! from): wrong credentials stop the function with a fatal error, a spent
//! rate window is read from the headers and stops a run before it sends
//! more, bad parameters are refused with the API's error body.

use std::sync::atomic::Ordering;
use tickerpulse_e2e::start_stack;
use tickerpulse_social::bluesky::{Bluesky, Login};
use tickerpulse_social::fake::{bluesky_view, bluesky_view_skewed, reddit_child};
use tickerpulse_social::reddit::{Credentials, Reddit};
use tickerpulse_social::{PostSource, SocialError};

const NOW_MS: i64 = 1_586_930_400_000;

async fn get(
    url: &str,
    headers: &[(&str, &str)],
) -> (u16, Vec<(String, String)>, serde_json::Value) {
    use std::io::{Read, Write};
    let url = url.strip_prefix("http://").unwrap().to_string();
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let (host, path) = url.split_at(url.find('/').unwrap());
        let mut s = std::net::TcpStream::connect(host).unwrap();
        let mut head = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        write!(s, "{head}\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        let status = head[9..12].parse().unwrap();
        let hs = head
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(": "))
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect();
        (
            status,
            hs,
            serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
        )
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clients_keep_to_the_limits_the_fakes_enforce() {
    let stack = start_stack("social-limits")
        .await
        .expect("starting the local stack");
    let env = stack.env().unwrap();
    let base = env["BLUESKY_API_BASE_URL"].clone();
    stack.bluesky.clock.set(NOW_MS);
    stack.reddit.clock.set(NOW_MS);
    stack.bluesky.add((0..3).map(|i| {
        bluesky_view(
            "did:plc:a",
            "a.bsky.social",
            &format!("3k{i}"),
            &format!("NVDA post {i}"),
            &format!("2020-04-15T05:0{i}:00.000Z"),
            1,
        )
    }));
    stack.reddit.add((0..3).map(|i| {
        reddit_child(
            &format!("r{i}"),
            "stocks",
            "u",
            &format!("NVDA {i}"),
            None,
            1_586_926_800.0 + i as f64,
            1,
            false,
        )
    }));

    // Bluesky: a wrong app password is a 401 AuthenticationRequired, and the
    // function stops with a fatal error that a retry cannot mend.
    let mut wrong = Bluesky::new(
        &base,
        Login {
            identifier: "tickerpulse.bsky.social".into(),
            app_password: "nope".into(),
        },
        vec!["NVDA".into()],
    )
    .unwrap();
    match wrong.page("NVDA", None, None).await {
        Err(SocialError::Unauthorized(..)) => {}
        other => panic!("want Unauthorized, got {other:?}"),
    }
    let mut b = Bluesky::new(
        &base,
        Login {
            identifier: "tickerpulse.bsky.social".into(),
            app_password: tickerpulse_local::stack::LOCAL_BLUESKY_APP_PASSWORD.into(),
        },
        vec!["NVDA".into()],
    )
    .unwrap();
    b.limit = 2;
    let page = b.page("NVDA", None, None).await.unwrap();
    assert_eq!((page.posts.len(), page.next.as_deref()), (2, Some("2")));
    let rest = b.page("NVDA", None, page.next.as_deref()).await.unwrap();
    assert_eq!((rest.posts.len(), rest.next), (1, None));

    // searchPosts' parameters, refused with XRPC's body; the rate-limit headers on every answer.
    let token = "Bearer fake-access-jwt-1";
    let (s, h, body) = get(
        &format!("{base}/xrpc/app.bsky.feed.searchPosts?q=NVDA&limit=101"),
        &[("authorization", token)],
    )
    .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (400, Some("InvalidRequest")),
        "{body}"
    );
    assert!(
        h.iter()
            .any(|(k, v)| k == "ratelimit-policy" && v == "3000;w=300"),
        "{h:?}"
    );
    let (s, _, body) = get(
        &format!("{base}/xrpc/app.bsky.feed.searchPosts?limit=5"),
        &[("authorization", token)],
    )
    .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (400, Some("InvalidRequest")),
        "{body}"
    );
    let (s, _, body) = get(
        &format!("{base}/xrpc/app.bsky.feed.searchPosts?q=NVDA"),
        &[],
    )
    .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (401, Some("AuthenticationRequired")),
        "{body}"
    );
    // Past the window: a 429 RateLimitExceeded with the reset, read by the client.
    stack.bluesky.rate_limit.store(1, Ordering::Relaxed);
    match b.page("NVDA", None, None).await {
        Err(SocialError::RateLimited {
            reset_epoch: Some(reset),
            ..
        }) => {
            assert_eq!(reset % 300, 0, "the 5-minute window's end");
            assert!(reset * 1000 > NOW_MS);
        }
        other => panic!("want RateLimited, got {other:?}"),
    }
    stack.bluesky.rate_limit.store(0, Ordering::Relaxed);

    // A post its client dated three hours ahead (Bluesky's createdAt is the
    // client's): counted when the AppView indexed it, and the cursor stays
    // there, so the next read still finds the posts made in those hours. Kept
    // in createdAt, the cursor would pass them for good.
    let ahead = |rkey: &str, created: &str, indexed: &str| {
        bluesky_view_skewed(
            "did:plc:s",
            "s.bsky.social",
            rkey,
            &format!("AMD post {rkey}"),
            created,
            indexed,
            1,
        )
    };
    stack.bluesky.add([
        ahead(
            "3ks1",
            "2020-04-15T09:00:00.000Z",
            "2020-04-15T05:59:00.000Z",
        ),
        ahead(
            "3ks0",
            "2020-04-15T05:50:00.000Z",
            "2020-04-15T05:50:01.000Z",
        ),
    ]);
    let mut amd = Bluesky::new(
        &base,
        Login {
            identifier: "tickerpulse.bsky.social".into(),
            app_password: tickerpulse_local::stack::LOCAL_BLUESKY_APP_PASSWORD.into(),
        },
        vec!["AMD".into()],
    )
    .unwrap();
    let first = tickerpulse_social::poll(
        &mut amd,
        &Default::default(),
        Some("2020-04-15T05:00:00Z"),
        100,
        10,
        0,
    )
    .await;
    let times: Vec<&str> = first.posts.iter().map(|p| p.created_at.as_str()).collect();
    assert_eq!(
        times,
        ["2020-04-15T05:59:00.000Z", "2020-04-15T05:50:00.000Z"]
    );
    assert_eq!(first.cursors["AMD"].newest, "2020-04-15T05:59:00.000Z");
    stack.bluesky.clock.set(NOW_MS + 10 * 60_000);
    stack.bluesky.add([ahead(
        "3ks2",
        "2020-04-15T06:05:00.000Z",
        "2020-04-15T06:05:01.000Z",
    )]);
    let second = tickerpulse_social::poll(&mut amd, &first.cursors, None, 100, 10, 0).await;
    assert!(
        second.posts.iter().any(|p| p.id.ends_with("/3ks2")),
        "{:?}",
        second.posts
    );
    stack.bluesky.clock.set(NOW_MS);

    // Reddit: wrong app credentials are a 401, fatal for the function.
    let auth = env["REDDIT_AUTH_BASE_URL"].clone();
    let api = env["REDDIT_API_BASE_URL"].clone();
    let mut wrong = Reddit::new(
        &auth,
        &api,
        Credentials {
            client_id: "x".into(),
            client_secret: "y".into(),
        },
        &["stocks"],
    )
    .unwrap();
    assert!(matches!(
        wrong.page("new", None, None).await,
        Err(SocialError::Unauthorized(..))
    ));
    let creds = Credentials {
        client_id: tickerpulse_local::stack::LOCAL_REDDIT_CLIENT_ID.into(),
        client_secret: tickerpulse_local::stack::LOCAL_REDDIT_CLIENT_SECRET.into(),
    };
    let mut r = Reddit::new(&auth, &api, creds, &["stocks", "wallstreetbets"]).unwrap();
    let page = r.page("new", None, None).await.unwrap();
    assert_eq!(page.posts.len(), 3);
    let w = r.window.expect("the rate-limit headers were read");
    assert_eq!((w.used, w.remaining), (Some(1.0), Some(999.0)), "{w:?}");
    // A revoked token: one new token, and the listing answers.
    stack.reddit.revoke_tokens();
    assert_eq!(r.page("new", None, None).await.unwrap().posts.len(), 3);
    assert_eq!(stack.reddit.tokens_made.load(Ordering::Relaxed), 2);
    // The window spent (the fake allows 3 requests): the client reads
    // `x-ratelimit-remaining: 0.0` and sends nothing more until the reset.
    stack.reddit.rate_limit.store(3, Ordering::Relaxed);
    let _ = r.page("comments", None, None).await;
    assert_eq!(r.window.and_then(|w| w.remaining), Some(0.0));
    let sent = stack.reddit.requests.load(Ordering::Relaxed);
    assert!(matches!(
        r.page("new", None, None).await,
        Err(SocialError::RateLimited {
            reset_epoch: Some(_),
            ..
        })
    ));
    assert_eq!(
        stack.reddit.requests.load(Ordering::Relaxed),
        sent,
        "nothing sent past the window"
    );
    // Past the limit anyway (another client of the same app): a 429 with Reddit's body.
    let (s, h, body) = get(
        &format!("{api}/r/stocks/new?limit=5"),
        &[
            ("authorization", "bearer fake-reddit-token-2"),
            ("user-agent", "t"),
        ],
    )
    .await;
    assert_eq!(
        (s, body),
        (
            429,
            serde_json::json!({"message": "Too Many Requests", "error": 429})
        )
    );
    assert!(h.iter().any(|(k, _)| k == "x-ratelimit-reset"), "{h:?}");
    // No User-Agent: throttled.
    let (s, _, _) = get(
        &format!("{api}/r/stocks/new"),
        &[("authorization", "bearer fake-reddit-token-2")],
    )
    .await;
    assert_eq!(s, 429);

    // The function with a wrong Reddit secret: a fatal error naming Reddit.
    let sm = aws_sdk_secretsmanager::Client::new(&tickerpulse_aws::sdk::load(&env).await);
    sm.put_secret_value()
        .secret_id(&env["REDDIT_SECRET_ARN"])
        .secret_string(r#"{"client_id": "x", "client_secret": "y"}"#)
        .send()
        .await
        .unwrap();
    stack.reddit.rate_limit.store(0, Ordering::Relaxed);
    let mut reddit_only = env.clone();
    reddit_only.insert("SOCIAL_SOURCES".into(), "reddit".into());
    let f = tickerpulse_fn_social::Function::from_env(&tickerpulse_e2e::as_function(
        &stack,
        "social",
        &reddit_only,
    ))
    .await
    .unwrap();
    let e = f.handle(serde_json::json!({})).await.unwrap_err();
    assert_eq!(e.error_type(), "TickerPulse.Fatal", "{e}");
    assert!(e.to_string().contains("reddit"), "{e}");
    // An unset secret (the template's placeholder, as a fresh deploy has it) is
    // not an error: the source is skipped and reported, the run succeeds, and a
    // deploy with SocialSources at its default does not fail every 15 minutes.
    sm.put_secret_value()
        .secret_id(&env["REDDIT_SECRET_ARN"])
        .secret_string(tickerpulse_aws::secrets::PLACEHOLDER)
        .send()
        .await
        .unwrap();
    let f = tickerpulse_fn_social::Function::from_env(&tickerpulse_e2e::as_function(
        &stack,
        "social",
        &reddit_only,
    ))
    .await
    .expect("an unset secret is not an error");
    let served = stack.reddit.served.load(Ordering::Relaxed);
    let report = f.handle(serde_json::json!({})).await.unwrap();
    assert!(report["reddit"].not_configured, "{report:?}");
    assert_eq!(report["reddit"].posts, 0);
    assert_eq!(
        stack.reddit.served.load(Ordering::Relaxed),
        served,
        "Reddit was called"
    );
}
