//! Who may call the API, on the local stack as on AWS: the gateway's Cognito
//! authorizer (moto's user pool, its tokens and JWKS) in front of every data
//! route, the usage plan's key after it, and the editors group in front of
//! every write.

use std::process::Command;
use tickerpulse_e2e::{call, root, start_stack};

const KEY: &str = "access-test-key";

/// `token` signed again by moto's key with `exp` at now + `offset` seconds.
fn reminted(token: &str, offset: i64) -> String {
    let root = root();
    let out = Command::new(root.join(".venv/bin/python"))
        .arg(root.join("tests/moto/mint_token.py"))
        .args([token, &offset.to_string()])
        .output()
        .expect("running .venv/bin/python (make setup)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_keys_and_groups_decide_who_reads_and_who_writes() {
    let stack = start_stack("access")
        .await
        .expect("starting the local stack");
    let editor = stack
        .add_user("ann", "Editor-password-1", &["editors"])
        .await
        .unwrap();
    let reader = stack
        .add_user("bob", "Reader-password-1", &[])
        .await
        .unwrap();
    // moto holds the pool's password policy (MinimumLength 12).
    assert!(stack.add_user("cid", "Short-1", &[]).await.is_err());

    let (addr, stop, serving) = tickerpulse_e2e::serve_guarded(&stack, KEY).await.unwrap();
    let base = addr.to_string();
    let b = base.as_str();
    let ann = Some(editor.id_token.as_str());
    let bob = Some(reader.id_token.as_str());

    // No token, a token that is not a JWT, a token with its signature changed:
    // the authorizer's 401, before the key is looked at.
    let (s, body) = call(b, "GET", "/tickers", None, Some(KEY), None).await;
    assert_eq!(
        (s, body["message"].as_str()),
        (401, Some("Unauthorized")),
        "{body}"
    );
    assert_eq!(
        call(b, "GET", "/tickers", Some("not-a-token"), Some(KEY), None)
            .await
            .0,
        401
    );
    let mut forged = editor.id_token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(
        call(b, "GET", "/tickers", Some(&forged), Some(KEY), None)
            .await
            .0,
        401
    );

    // An expired token, otherwise valid: the same claims signed by the pool's
    // key with `exp` in the future pass, so expiry alone is what is refused.
    let expired = reminted(&editor.id_token, -60);
    let (s, body) = call(b, "GET", "/tickers", Some(&expired), Some(KEY), None).await;
    assert_eq!(
        (s, body["message"].as_str()),
        (401, Some("The incoming token has expired")),
        "{body}"
    );
    let fresh = reminted(&editor.id_token, 600);
    assert_eq!(
        call(b, "GET", "/tickers", Some(&fresh), Some(KEY), None)
            .await
            .0,
        200
    );

    // A valid token without the usage plan's key: the gateway's 403.
    let (s, body) = call(b, "GET", "/tickers", ann, None, None).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (403, Some("INVALID_API_KEY")),
        "{body}"
    );
    assert_eq!(
        call(b, "GET", "/tickers", ann, Some(KEY), None).await.0,
        200
    );
    assert_eq!(
        call(b, "GET", "/tickers", bob, Some(KEY), None).await.0,
        200
    );

    // Who am I: no key needed; each user's own key comes with the answer, the
    // same one each time, another for another user.
    let (s, me) = call(b, "GET", "/me", bob, None, None).await;
    assert_eq!(s, 200, "{me}");
    assert_eq!(me["username"], "bob");
    assert_eq!(me["can_write"], false);
    let bob_key = me["api_key"].as_str().expect("bob's key").to_string();
    assert_eq!(
        call(b, "GET", "/me", bob, None, None).await.1["api_key"].as_str(),
        Some(bob_key.as_str())
    );
    assert_eq!(
        call(b, "GET", "/tickers", bob, Some(&bob_key), None)
            .await
            .0,
        200,
        "a user's key is a key of the users' usage plan"
    );
    let (_, me) = call(b, "GET", "/me", ann, None, None).await;
    assert_eq!(
        (me["can_write"].as_bool(), me["groups"][0].as_str()),
        (Some(true), Some("editors"))
    );
    let ann_key = me["api_key"].as_str().expect("ann's key").to_string();
    assert_ne!(ann_key, bob_key);

    // Limits per user: the plan throttles each key on its own. Bob empties his
    // bucket and is refused (429); Ann is served all the while.
    let plan = stack
        .template
        .usage_plans()
        .unwrap()
        .into_iter()
        .find(|p| p.logical_id == "UsersUsagePlan")
        .expect("the users' plan");
    let mut bob_refused = 0;
    for _ in 0..(2 * plan.burst as usize + 10) {
        match call(b, "GET", "/tickers", bob, Some(&bob_key), None)
            .await
            .0
        {
            429 => bob_refused += 1,
            s => assert_eq!(s, 200),
        }
    }
    assert!(bob_refused > 0, "bob past his burst of {}", plan.burst);
    let (s, body) = call(b, "GET", "/tickers", bob, Some(&bob_key), None).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (429, Some("THROTTLED")),
        "{body}"
    );
    assert_eq!(
        call(b, "GET", "/tickers", ann, Some(&ann_key), None)
            .await
            .0,
        200,
        "ann is served while bob is throttled"
    );

    // Rotation: a new key for bob; the old one stops working, ann's does not.
    assert_eq!(
        call(b, "POST", "/me/key", None, None, None).await.0,
        401,
        "a key alone cannot rotate"
    );
    let (s, body) = call(b, "POST", "/me/key", bob, None, None).await;
    assert_eq!(s, 201, "{body}");
    let rotated = body["api_key"].as_str().unwrap().to_string();
    assert_ne!(rotated, bob_key);
    assert_eq!(
        call(b, "GET", "/me", bob, None, None).await.1["api_key"].as_str(),
        Some(rotated.as_str())
    );
    // The local gateway remembers an accepted key for a second, as API Gateway
    // applies a deletion within seconds.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (s, body) = call(b, "GET", "/tickers", bob, Some(&bob_key), None).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (403, Some("INVALID_API_KEY")),
        "{body}"
    );
    assert_eq!(
        call(b, "GET", "/tickers", ann, Some(&ann_key), None)
            .await
            .0,
        200
    );
    // A method the OpenAPI file does not declare is the gateway's own 403.
    let (s, body) = call(b, "GET", "/me/key", bob, None, None).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (403, Some("MISSING_AUTHENTICATION_TOKEN")),
        "{body}"
    );

    // Writes: the editors group only.
    let rule = r#"{"ticker":"TSLA","metric":"mean_compound","op":"below","threshold":-0.3}"#;
    let (s, body) = call(b, "POST", "/alerts", bob, Some(KEY), Some(rule)).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    assert_eq!(
        call(b, "POST", "/alerts", None, Some(KEY), Some(rule))
            .await
            .0,
        401
    );
    assert_eq!(
        call(b, "POST", "/alerts", Some(&expired), Some(KEY), Some(rule))
            .await
            .0,
        401
    );
    let (s, created) = call(b, "POST", "/alerts", ann, Some(KEY), Some(rule)).await;
    assert_eq!(s, 201, "{created}");
    assert_eq!(
        (created["ticker"].as_str(), created["threshold"].as_f64()),
        (Some("TSLA"), Some(-0.3))
    );
    let id = created["id"].as_str().unwrap().to_string();
    let (_, mine) = call(b, "GET", "/alerts", ann, Some(KEY), None).await;
    assert_eq!(mine["rules"].as_array().map(Vec::len), Some(1), "{mine}");
    let (_, theirs) = call(b, "GET", "/alerts", bob, Some(KEY), None).await;
    assert_eq!(
        theirs["rules"].as_array().map(Vec::len),
        Some(0),
        "a user sees only their own rules"
    );
    let path = format!("/alerts/{id}");
    assert_eq!(call(b, "DELETE", &path, bob, Some(KEY), None).await.0, 403);
    assert_eq!(call(b, "DELETE", &path, ann, Some(KEY), None).await.0, 204);
    assert_eq!(call(b, "DELETE", &path, ann, Some(KEY), None).await.0, 404);

    // Bad rules: 400 with a JSON body, nothing stored.
    for bad in [
        r#"{"ticker":"NOPE","metric":"mentions","op":"above","threshold":1}"#,
        r#"{"ticker":"TSLA","metric":"volume","op":"above","threshold":1}"#,
        r#"{"ticker":"TSLA","metric":"positive_ratio","op":"above","threshold":1.5}"#,
        r#"{"ticker":"TSLA","metric":"mentions","op":"above","threshold":1,"owner":"bob"}"#,
        "not json",
    ] {
        let (s, body) = call(b, "POST", "/alerts", ann, Some(KEY), Some(bad)).await;
        assert_eq!(s, 400, "{bad}: {body}");
        assert!(body["message"].is_string(), "{body}");
    }
    let (_, mine) = call(b, "GET", "/alerts", ann, Some(KEY), None).await;
    assert_eq!(mine["rules"].as_array().map(Vec::len), Some(0), "{mine}");
    // A threshold finer than DynamoDB's numbers (schemathesis found it as a
    // 500): stored to a millionth.
    let tiny = r#"{"ticker":"AAPL","metric":"positive_ratio","op":"above","threshold":2.868549570860184e-245}"#;
    let (s, stored) = call(b, "POST", "/alerts", ann, Some(KEY), Some(tiny)).await;
    assert_eq!(
        (s, stored["threshold"].as_f64()),
        (201, Some(0.0)),
        "{stored}"
    );
    let path = format!("/alerts/{}", stored["id"].as_str().unwrap());
    assert_eq!(call(b, "DELETE", &path, ann, Some(KEY), None).await.0, 204);

    // A user keeps at most MAX_RULES_PER_USER rules.
    for _ in 0..tickerpulse_core::alerts::MAX_RULES_PER_USER {
        assert_eq!(
            call(b, "POST", "/alerts", ann, Some(KEY), Some(rule))
                .await
                .0,
            201
        );
    }
    let (s, body) = call(b, "POST", "/alerts", ann, Some(KEY), Some(rule)).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (409, Some("too_many_rules")),
        "{body}"
    );

    let _ = stop.send(());
    serving.await.unwrap();
    stack.stop().await;
}

/// `POST /forget` is the operators' alone; a well-formed request is queued
/// in the state table (with the api role's own rights) and the comply
/// function carries it out on its next run; a malformed one is a 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forget_requests_are_the_operators_and_reach_the_comply_queue() {
    let stack = start_stack("access-forget").await.expect("a local stack");
    let olga = stack
        .add_user("olga", "Operator-password-1", &["operators"])
        .await
        .unwrap();
    let ann = stack
        .add_user("ann", "Editor-password-1", &["editors"])
        .await
        .unwrap();
    let (addr, stop, serving) = tickerpulse_e2e::serve_guarded(&stack, KEY).await.unwrap();
    let b = addr.to_string();
    let (olga, ann) = (Some(olga.id_token.as_str()), Some(ann.id_token.as_str()));
    let post = |token, body: &str| {
        let (b, body) = (b.clone(), body.to_string());
        async move { call(&b, "POST", "/forget", token, Some(KEY), Some(&body)).await }
    };

    let (s, body) = post(ann, r#"{"posts": ["3006"]}"#).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    let many = serde_json::json!({"posts": (0..1001).map(|i| i.to_string()).collect::<Vec<_>>()});
    for bad in [
        "{}".to_string(),
        "not json".into(),
        r#"{"posts": [""]}"#.into(),
        r#"{"posts": ["a b"]}"#.into(),
        r#"{"posts": ["1"], "also": true}"#.into(),
        many.to_string(),
    ] {
        let (s, body) = post(olga, &bad).await;
        assert_eq!(
            (s, body["error"].as_str()),
            (400, Some("bad_body")),
            "{bad}: {body}"
        );
    }
    // No GET in the OpenAPI file: the gateway's own 403, as API Gateway
    // answers a method a resource lacks.
    assert_eq!(
        call(&b, "GET", "/forget", olga, Some(KEY), None).await.0,
        403
    );
    let (s, body) = post(olga, r#"{"posts": ["3006"], "authors": ["@mallory"]}"#).await;
    assert_eq!(
        (s, body["status"].as_str()),
        (202, Some("queued")),
        "{body}"
    );

    let env = stack.env().unwrap();
    let state = tickerpulse_aws::compliance::ComplyState {
        client: tickerpulse_e2e::clients(&stack).await.unwrap().dynamodb,
        table: env["STATE_TABLE"].clone(),
    };
    let queued = state.requests().await.unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(
        (
            queued[0].posts.as_slice(),
            queued[0].authors.as_slice(),
            queued[0].by.as_str()
        ),
        (
            &["3006".to_string()][..],
            &["@mallory".to_string()][..],
            "olga"
        )
    );
    // The X token's secret is not set yet (a stack reading Bluesky and Reddit
    // only, with XCompliance left on): the run still carries the request
    // out, then fails, so the errors alarm tells.
    let comply_env = stack.function_env("comply").unwrap();
    let sm = aws_sdk_secretsmanager::Client::new(&tickerpulse_aws::sdk::load(&env).await);
    sm.put_secret_value()
        .secret_id(&comply_env["X_BEARER_SECRET_ARN"])
        .secret_string(tickerpulse_aws::secrets::PLACEHOLDER)
        .send()
        .await
        .unwrap();
    let run = stack
        .fire_schedule("ComplyFunction.Schedule")
        .await
        .unwrap()
        .await
        .unwrap();
    let err = run
        .result
        .expect_err("X compliance without a token fails the run");
    assert!(err.contains("X bearer token secret is not set"), "{err}");
    assert!(
        state.requests().await.unwrap().is_empty(),
        "the request was carried out first"
    );
    let _ = stop.send(());
    let _ = serving.await;
    stack.stop().await;
}
