//! Prices beside sentiment on the local stack: daily bars dropped in the
//! lake's `prices/daily/` (synthetic ones for AAPL, a malformed AMZN file, no
//! file for MSFT), tweets through Firehose and the pipeline, then the API's
//! `/prices` and `/correlation`, checked against a correlation computed here
//! from the same bars and the API's own daily figures.

use serde_json::{json, Value};
use tickerpulse_e2e::{clients, put_records, run_execution, start_stack, succeeded_output};

const PIPELINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:tickerpulse-pipeline";

async fn get(api: &tickerpulse_fn_api::Function, path: &str, query: &str) -> (u16, Value) {
    let event = tickerpulse_local::apigw::proxy_event("GET", path, Some(query), &[], b"", 1);
    let request = lambda_http::request::from_str(&event.to_string()).expect("an event");
    let response = api.handle(request).await.expect("the handler answers");
    let status = response.status().as_u16();
    match response.body() {
        lambda_http::Body::Text(t) => (status, serde_json::from_str(t).expect("json")),
        other => panic!("unexpected body {other:?}"),
    }
}

/// Tweets on the trading days of April 2020: a day is cheerful or gloomy by a
/// fixed pattern, three tweets each, every text its own (copies are spam).
fn tweets() -> Vec<Vec<u8>> {
    const DAYS: [&str; 12] = [
        "2020-04-13",
        "2020-04-14",
        "2020-04-15",
        "2020-04-16",
        "2020-04-17",
        "2020-04-20",
        "2020-04-21",
        "2020-04-22",
        "2020-04-23",
        "2020-04-24",
        "2020-04-27",
        "2020-04-28",
    ];
    const WORDS: [&str; 6] = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];
    let mut out = Vec::new();
    let mut id = 50_000u64;
    for (d, day) in DAYS.iter().enumerate() {
        let cheerful = [0, 1, 4, 5, 7, 10].contains(&d);
        for i in 0..3 {
            id += 1;
            let mood = if cheerful {
                "great gains, love this strong rally"
            } else {
                "terrible crash, awful weak selloff"
            };
            let text = format!("$AAPL {} {} {mood}", WORDS[d % 6], WORDS[(d / 6 + i) % 6]);
            let line = json!({"id": id.to_string(), "text": text, "lang": "en",
                "created_at": format!("{day}T14:{:02}:00.000Z", 10 + i), "author_id": (id % 89).to_string()});
            out.push(format!("{line}\n").into_bytes());
        }
        id += 1;
        let line = json!({"id": id.to_string(), "text": format!("$MSFT note {} {}", WORDS[d % 6], d),
            "lang": "en", "created_at": format!("{day}T15:00:00.000Z"), "author_id": "7"});
        out.push(format!("{line}\n").into_bytes());
    }
    out
}

fn pearson(pairs: &[(f64, f64)]) -> f64 {
    let n = pairs.len() as f64;
    let mx = pairs.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pairs.iter().map(|p| p.1).sum::<f64>() / n;
    let cov: f64 = pairs.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    let vx: f64 = pairs.iter().map(|(x, _)| (x - mx).powi(2)).sum();
    let vy: f64 = pairs.iter().map(|(_, y)| (y - my).powi(2)).sum();
    cov / (vx * vy).sqrt()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prices_and_the_next_days_return_come_from_the_lakes_bars() {
    let stack = start_stack("prices")
        .await
        .expect("starting the local stack");
    let env = stack.env().unwrap();
    let c = clients(&stack).await.unwrap();
    let bucket = &env["ANALYTICS_BUCKET"];
    // Synthetic bars (the repository holds no real prices), put where an
    // operator puts real ones.
    let day = |m, d| time::Date::from_calendar_date(2020, m, d).unwrap();
    let aapl = tickerpulse_synth::prices::daily_csv(
        "AAPL",
        day(time::Month::March, 25),
        day(time::Month::August, 7),
    );
    for (key, body) in [
        ("prices/daily/AAPL.csv", aapl.clone()),
        (
            "prices/daily/AMZN.csv",
            "date,open,high,low,close,volume\n2020-04-14,1,1,1,oops,3\n".into(),
        ),
    ] {
        c.s3.put_object()
            .bucket(bucket)
            .key(key)
            .body(body.into_bytes().into())
            .send()
            .await
            .unwrap();
    }
    put_records(&c.firehose, &tweets()).await.unwrap();
    let run = run_execution(&c.sfn, PIPELINE, "prices-1", &json!({}))
        .await
        .unwrap();
    succeeded_output(&run);
    let api =
        tickerpulse_fn_api::Function::from_env(&tickerpulse_e2e::as_function(&stack, "api", &env))
            .await
            .unwrap();

    // The bars, cut to the range, exactly as in the file.
    let (s, p) = get(
        &api,
        "/tickers/AAPL/prices",
        "from=2020-04-13&to=2020-04-17",
    )
    .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["available"], true, "{p}");
    let closes: Vec<f64> = aapl
        .lines()
        .skip(1)
        .filter(|l| ("2020-04-13".."2020-04-18").contains(&&l[..10]))
        .map(|l| l.split(',').nth(4).unwrap().parse().unwrap())
        .collect();
    let got: Vec<f64> = p["bars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["close"].as_f64().unwrap())
        .collect();
    assert_eq!(got, closes);
    assert_eq!(closes.len(), 5);
    // No file, or one that is not prices: said plainly, never a made-up bar.
    let (s, none) = get(&api, "/tickers/MSFT/prices", "").await;
    assert_eq!(
        (
            s,
            none["available"].as_bool(),
            none["bars"].as_array().map(Vec::len)
        ),
        (200, Some(false), Some(0)),
        "{none}"
    );
    assert!(
        none["message"]
            .as_str()
            .unwrap()
            .contains("no price data for MSFT"),
        "{none}"
    );
    let (_, bad) = get(&api, "/tickers/AMZN/prices", "").await;
    assert!(
        bad["message"]
            .as_str()
            .unwrap()
            .contains("line 2: close \"oops\""),
        "{bad}"
    );
    let (s, e) = get(
        &api,
        "/tickers/AAPL/prices",
        "from=2020-05-01&to=2020-04-01",
    )
    .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("bad_parameter")),
        "{e}"
    );
    let (s, e) = get(&api, "/tickers/ZZZZ/correlation", "").await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("unknown_ticker")),
        "{e}"
    );

    // The correlation, recomputed here: each day's mean compound (the API's
    // daily trend) against the next trading day's close-to-close return.
    let (_, corr) = get(&api, "/tickers/AAPL/correlation", "").await;
    let (_, trend) = get(&api, "/tickers/AAPL/trend", "granularity=day").await;
    let close: std::collections::BTreeMap<&str, f64> = aapl
        .lines()
        .skip(1)
        .map(|l| (&l[..10], l.split(',').nth(4).unwrap().parse().unwrap()))
        .collect();
    let mut pairs = Vec::new();
    for pt in trend["points"].as_array().unwrap() {
        let day = &pt["start"].as_str().unwrap()[..10];
        let Some(today) = close.get(day) else {
            continue;
        };
        let next = close
            .range::<str, _>((std::ops::Bound::Excluded(day), std::ops::Bound::Unbounded))
            .next();
        let (_, next) = next.unwrap();
        pairs.push((pt["mean_compound"].as_f64().unwrap(), next / today - 1.0));
    }
    assert_eq!(pairs.len(), 12, "{trend}");
    assert_eq!(corr["mean_compound"]["n"], 12, "{corr}");
    let r = corr["mean_compound"]["r"].as_f64().unwrap();
    assert!(
        (r - pearson(&pairs)).abs() < 0.0006,
        "{r} against {}",
        pearson(&pairs)
    );
    // Three mentions every day: the mentions do not vary, so no r.
    assert_eq!(corr["mentions"], json!({"n": 12, "r": null}), "{corr}");
    assert_eq!(corr["caveats"].as_array().unwrap().len(), 4);
    // MSFT: one mention a day, under the default minimum of 3, and no prices.
    let (_, msft) = get(&api, "/tickers/MSFT/correlation", "min_mentions=1").await;
    assert_eq!(
        (
            msft["tweet_days"].as_u64(),
            msft["mean_compound"]["n"].as_u64()
        ),
        (Some(12), Some(0)),
        "{msft}"
    );
    assert!(
        msft["message"].as_str().unwrap().contains("no price data"),
        "{msft}"
    );
    stack.stop().await;
}
