//! `tickerpulse smoke`: the check a user runs after `sam deploy`. It reads the
//! stack's outputs, checks that the X token was put in its secret, sends three
//! canned tweets through the delivery stream (transform runs on them as on any
//! record), waits for them in the raw zone, runs the pipeline over their hour,
//! and reads them back from the API with the key. Each step prints PASS or FAIL
//! and, on FAIL, what to do. Without `--aws` the same steps run against a local
//! stack started for the purpose.
//!
//! The canned tweets are real records in the stack afterwards: three `$AAPL`
//! posts by the author `tickerpulse_smoke`, dated now, counted like any other.

use anyhow::{anyhow, Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tickerpulse_core::HourPartition;
use time::OffsetDateTime;

/// The ticker the canned tweets mention (in the bundled watch list).
pub const TICKER: &str = "AAPL";
/// The placeholder the template puts in the X secret.
pub const PLACEHOLDER_SECRET: &str = "replace-me";

/// What the smoke test needs of a stack: its outputs, and the API key.
#[derive(Debug, Clone)]
pub struct Target {
    pub raw_bucket: String,
    pub delivery_stream: String,
    pub state_machine_arn: String,
    pub secret_id: String,
    /// The stage URL, ending in `/`.
    pub api_url: String,
    pub api_key: Option<String>,
    /// A signed-in user's ID token (the data routes need one).
    pub token: Option<String>,
}

impl Target {
    /// From the stack outputs of `template.yaml` (the keys of its `Outputs`).
    pub fn from_outputs(
        outputs: &BTreeMap<String, String>,
        api_key: Option<String>,
    ) -> Result<Self> {
        let get = |k: &str| {
            outputs.get(k).cloned().ok_or_else(|| {
                anyhow!("the stack has no output {k}: is it a TickerPulse stack, fully deployed?")
            })
        };
        let mut api_url = get("ApiUrl")?;
        if !api_url.ends_with('/') {
            api_url.push('/');
        }
        Ok(Self {
            raw_bucket: get("RawBucketName")?,
            delivery_stream: get("DeliveryStreamName")?,
            state_machine_arn: get("StateMachineArn")?,
            secret_id: get("XBearerTokenSecretArn")?,
            api_url,
            api_key,
            token: None,
        })
    }
}

pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub firehose: aws_sdk_firehose::Client,
    pub sfn: aws_sdk_sfn::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
}

impl Clients {
    pub fn new(conf: &aws_config::SdkConfig) -> Self {
        Self {
            s3: tickerpulse_aws::sdk::s3_client(conf),
            firehose: aws_sdk_firehose::Client::new(conf),
            sfn: aws_sdk_sfn::Client::new(conf),
            secrets: aws_sdk_secretsmanager::Client::new(conf),
        }
    }
}

/// How long to wait, and how often to look.
#[derive(Debug, Clone, Copy)]
pub struct Waits {
    /// For the records to reach the raw zone (Firehose buffers up to 60 s, and
    /// dynamic partitioning retries up to 300 s).
    pub raw: Duration,
    /// For the pipeline's execution to end.
    pub pipeline: Duration,
    pub poll: Duration,
}

impl Waits {
    pub fn aws(seconds: u64) -> Self {
        Self {
            raw: Duration::from_secs(seconds),
            pipeline: Duration::from_secs(seconds.max(900)),
            poll: Duration::from_secs(5),
        }
    }
}

/// One step's outcome, as printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub name: &'static str,
    pub passed: bool,
    pub detail: String,
    /// What to do about a failure.
    pub fix: String,
}

impl Step {
    fn pass(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            passed: true,
            detail: detail.into(),
            fix: String::new(),
        }
    }
    fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            name,
            passed: false,
            detail: detail.into(),
            fix: fix.into(),
        }
    }

    pub fn line(&self) -> String {
        let mut s = format!(
            "{} {:<9} {}",
            if self.passed { "PASS" } else { "FAIL" },
            self.name,
            self.detail
        );
        if !self.passed && !self.fix.is_empty() {
            s.push_str(&format!("\n               what to do: {}", self.fix));
        }
        s
    }
}

/// The three canned tweets of run `run` (unique ids), dated `now`, in the
/// shape ingest sends to the delivery stream (one JSON line per record).
pub fn canned(run: u64, now: OffsetDateTime) -> Vec<Value> {
    let at = now
        .replace_nanosecond(0)
        .unwrap_or(now)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
        .replace('Z', ".000Z");
    [
        "strong quarter, great momentum",
        "weak guidance, terrible outlook",
        "shares open flat today",
    ]
    .iter()
    .enumerate()
    .map(|(i, words)| {
        let author = format!("90000000{i}");
        json!({
            "id": (run * 10 + i as u64).to_string(),
            "text": format!("${TICKER} tickerpulse smoke test {run}: {words}"),
            "created_at": at,
            "author_id": author,
            "lang": "en",
            "entities": {"cashtags": [{"tag": TICKER}]},
            "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": 0, "quote_count": 0},
            "author": {"id": author, "username": format!("tickerpulse_smoke{i}"), "verified": false,
                       "public_metrics": {"followers_count": 100}},
        })
    })
    .collect()
}

/// Runs every step, printing each as it ends; true if all passed.
pub async fn run(target: &Target, c: &Clients, waits: Waits, print: &mut dyn FnMut(&Step)) -> bool {
    let mut all = true;
    let mut report = |s: Step| {
        all &= s.passed;
        print(&s);
        s.passed
    };
    report(secret(target, c).await);
    let now = OffsetDateTime::now_utc();
    let run_id = (now.unix_timestamp_nanos() / 1_000_000) as u64;
    let tweets = canned(run_id, now);
    let ids: Vec<String> = tweets
        .iter()
        .map(|t| t["id"].as_str().unwrap_or_default().to_string())
        .collect();
    let hour = HourPartition::containing(now);
    if !report(send(target, c, &tweets).await) {
        return false;
    }
    if !report(landed(target, c, &hour, &ids, waits).await) {
        return false;
    }
    if !report(pipeline(target, c, &hour, run_id, waits).await) {
        return false;
    }
    report(api(target, &ids).await);
    all
}

async fn secret(t: &Target, c: &Clients) -> Step {
    const NAME: &str = "secret";
    let put = format!(
        "aws secretsmanager put-secret-value --secret-id {} --secret-string \"$X_BEARER_TOKEN\"",
        t.secret_id
    );
    match c
        .secrets
        .get_secret_value()
        .secret_id(&t.secret_id)
        .send()
        .await
    {
        Ok(v) => match v.secret_string().map(str::trim) {
            Some(s) if !s.is_empty() && s != PLACEHOLDER_SECRET => Step::pass(
                NAME,
                format!("the X bearer token is set ({} characters)", s.len()),
            ),
            _ => Step::fail(
                NAME,
                "the X bearer token is still the placeholder: ingest cannot poll X",
                put,
            ),
        },
        Err(e) => Step::fail(
            NAME,
            format!(
                "reading {}: {}",
                t.secret_id,
                tickerpulse_aws::sdk::describe(&e)
            ),
            "run with credentials allowed secretsmanager:GetSecretValue on the stack's secret",
        ),
    }
}

async fn send(t: &Target, c: &Clients, tweets: &[Value]) -> Step {
    const NAME: &str = "firehose";
    let records: Result<Vec<_>, _> = tweets
        .iter()
        .map(|tw| {
            let mut line = tw.to_string().into_bytes();
            line.push(b'\n');
            aws_sdk_firehose::types::Record::builder()
                .data(line.into())
                .build()
        })
        .collect();
    let records = match records {
        Ok(r) => r,
        Err(e) => {
            return Step::fail(
                NAME,
                format!("building records: {e}"),
                "report this as a bug",
            )
        }
    };
    match c
        .firehose
        .put_record_batch()
        .delivery_stream_name(&t.delivery_stream)
        .set_records(Some(records))
        .send()
        .await
    {
        Ok(out) if out.failed_put_count() == 0 => Step::pass(
            NAME,
            format!(
                "{} canned ${TICKER} tweets sent to {}",
                tweets.len(),
                t.delivery_stream
            ),
        ),
        Ok(out) => Step::fail(
            NAME,
            format!(
                "{} of {} records refused",
                out.failed_put_count(),
                tweets.len()
            ),
            "run smoke again; if it persists, look at the stream's metrics (ThrottledRecords)",
        ),
        Err(e) => Step::fail(
            NAME,
            format!("PutRecordBatch: {}", tickerpulse_aws::sdk::describe(&e)),
            "run with credentials allowed firehose:PutRecordBatch on the stack's stream",
        ),
    }
}

async fn landed(t: &Target, c: &Clients, hour: &HourPartition, ids: &[String], w: Waits) -> Step {
    const NAME: &str = "raw zone";
    let prefix = format!("{}/{}/", tickerpulse_aws::lake::RAW_PREFIX, hour.path());
    let started = Instant::now();
    // Objects already read (one that failed to read is tried again).
    let mut seen: std::collections::BTreeSet<String> = Default::default();
    loop {
        if let Ok(keys) = tickerpulse_aws::lake::list_keys(&c.s3, &t.raw_bucket, &prefix).await {
            for key in keys {
                if seen.contains(&key) {
                    continue;
                }
                let Ok(body) = tickerpulse_aws::lake::read_object(&c.s3, &t.raw_bucket, &key).await
                else {
                    continue;
                };
                let text = String::from_utf8_lossy(&body);
                let has = ids.iter().any(|id| text.contains(&format!("\"{id}\"")));
                seen.insert(key.clone());
                if has {
                    return Step::pass(
                        NAME,
                        format!(
                            "s3://{}/{key} after {:.0?}",
                            t.raw_bucket,
                            started.elapsed()
                        ),
                    );
                }
            }
        }
        if started.elapsed() > w.raw {
            return Step::fail(
                NAME,
                format!("no object under s3://{}/{prefix} holds them after {:?}", t.raw_bucket, w.raw),
                "look at the transform function's logs (make logs FUNCTION=transform) and the stream's errors under raw-errors/",
            );
        }
        tokio::time::sleep(w.poll).await;
    }
}

async fn pipeline(t: &Target, c: &Clients, hour: &HourPartition, run: u64, w: Waits) -> Step {
    const NAME: &str = "pipeline";
    let start = hour
        .start()
        .map(|s| s.format(&time::format_description::well_known::Rfc3339));
    let Ok(Ok(start)) = start else {
        return Step::fail(NAME, "the hour has no start", "report this as a bug");
    };
    let name = format!("smoke-{run}");
    let started = Instant::now();
    let exec =
        match c
            .sfn
            .start_execution()
            .state_machine_arn(&t.state_machine_arn)
            .name(&name)
            .input(json!({"from": start, "to": start}).to_string())
            .send()
            .await
        {
            Ok(o) => o.execution_arn().to_string(),
            Err(e) => return Step::fail(
                NAME,
                format!("StartExecution: {}", tickerpulse_aws::sdk::describe(&e)),
                "run with credentials allowed states:StartExecution on the stack's state machine",
            ),
        };
    loop {
        match c.sfn.describe_execution().execution_arn(&exec).send().await {
            Ok(d) if d.status().as_str() == "SUCCEEDED" => {
                return Step::pass(
                    NAME,
                    format!("{name} succeeded in {:.0?}", started.elapsed()),
                )
            }
            Ok(d) if d.status().as_str() != "RUNNING" => {
                return Step::fail(
                    NAME,
                    format!(
                        "{name} ended {}: {} {}",
                        d.status().as_str(),
                        d.error().unwrap_or_default(),
                        d.cause().unwrap_or_default()
                    ),
                    format!("tickerpulse pipeline show {name} --aws shows which state failed"),
                )
            }
            _ => {}
        }
        if started.elapsed() > w.pipeline {
            return Step::fail(
                NAME,
                format!("{name} still running after {:?}", w.pipeline),
                format!("follow it: tickerpulse pipeline show {name} --aws"),
            );
        }
        tokio::time::sleep(w.poll).await;
    }
}

async fn api(t: &Target, ids: &[String]) -> Step {
    const NAME: &str = "api";
    let url = format!("{}tweets?ticker={TICKER}&limit=100", t.api_url);
    // Without a user the gateway must refuse: that shows the authorizer is on.
    match get(&url, t.api_key.as_deref(), None).await {
        Ok((401, _)) => {}
        Ok((status, body)) => {
            return Step::fail(
                NAME,
                format!("GET {url} without a token: {status} {body}, not 401"),
                "the Cognito authorizer is not on the data routes: redeploy template.yaml with api/openapi.yaml",
            )
        }
        Err(e) => {
            return Step::fail(
                NAME,
                format!("GET {url}: {e:#}"),
                "check the ApiUrl output and your network",
            )
        }
    }
    let Some(token) = t.token.as_deref() else {
        return Step::fail(
            NAME,
            "anonymous requests are refused (401); no user given, so the data was not checked",
            "invite a user (aws cognito-idp admin-create-user --user-pool-id <UserPoolId output> --username smoke; \
             admin-set-user-password --permanent) and pass --username smoke --password ...",
        );
    };
    let (status, body) = match get(&url, t.api_key.as_deref(), Some(token)).await {
        Ok(r) => r,
        Err(e) => {
            return Step::fail(
                NAME,
                format!("GET {url}: {e:#}"),
                "check the ApiUrl output and your network",
            )
        }
    };
    let key_hint = "pass the key: --api-key \"$(aws apigateway get-api-key --api-key <ApiKeyId output> --include-value --query value --output text)\"";
    if status == 403 {
        return Step::fail(NAME, format!("GET {url}: 403 {body}"), key_hint);
    }
    if status == 401 {
        return Step::fail(
            NAME,
            format!("GET {url}: 401 {body}"),
            "the user's token was refused: is the user in this stack's pool (UserPoolId output)?",
        );
    }
    if status != 200 {
        return Step::fail(
            NAME,
            format!("GET {url}: {status} {body}"),
            "make logs FUNCTION=api shows why",
        );
    }
    let found: Vec<String> = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v["tweets"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|t| t["tweet_id"].as_str().map(String::from))
        .collect();
    let missing: Vec<&String> = ids.iter().filter(|id| !found.contains(id)).collect();
    if missing.is_empty() {
        Step::pass(
            NAME,
            format!(
                "GET /tweets?ticker={TICKER} returns the {} tweets",
                ids.len()
            ),
        )
    } else {
        Step::fail(
            NAME,
            format!(
                "GET /tweets?ticker={TICKER} lacks {missing:?} ({} newer tweets returned)",
                found.len()
            ),
            "the pipeline ran but did not serve them: look at aggregate's logs (make logs FUNCTION=aggregate)",
        )
    }
}

/// One GET over HTTP or HTTPS: (status, body).
pub async fn get(url: &str, api_key: Option<&str>, token: Option<&str>) -> Result<(u16, String)> {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .context("the system's root certificates")?
        .https_or_http()
        .enable_http1()
        .build();
    let client: hyper_util::client::legacy::Client<_, Empty<Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(https);
    // AWS WAF's common rule set blocks a request without a User-Agent
    // (NoUserAgent_HEADER), and the template puts it in front of the stage.
    let mut req = hyper::Request::get(url).header(
        "user-agent",
        concat!("tickerpulse-smoke/", env!("CARGO_PKG_VERSION")),
    );
    if let Some(k) = api_key {
        req = req.header("x-api-key", k);
    }
    if let Some(t) = token {
        req = req.header("authorization", t);
    }
    let resp = tokio::time::timeout(
        Duration::from_secs(30),
        client.request(req.body(Empty::new())?),
    )
    .await
    .context("no answer in 30 s")??;
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// Against a deployed stack: its outputs from CloudFormation, the shell's
/// credentials and region.
pub async fn aws(
    stack_name: &str,
    api_key: Option<String>,
    user: Option<(String, String)>,
    totp_secret: Option<String>,
    wait: u64,
) -> Result<bool> {
    let conf = tickerpulse_aws::sdk::load(&tickerpulse_core::config::ProcessEnv).await;
    let cfn = aws_sdk_cloudformation::Client::new(&conf);
    let outputs: BTreeMap<String, String> = match cfn
        .describe_stacks()
        .stack_name(stack_name)
        .send()
        .await
    {
        Ok(out) => out
            .stacks()
            .first()
            .map(|s| {
                s.outputs()
                    .iter()
                    .filter_map(|o| {
                        Some((o.output_key()?.to_string(), o.output_value()?.to_string()))
                    })
                    .collect()
            })
            .unwrap_or_default(),
        Err(e) => {
            println!(
                "{}",
                Step::fail(
                    "outputs",
                    format!("describe-stacks {stack_name}: {}", tickerpulse_aws::sdk::describe(&e)),
                    "deploy first (sam deploy --guided), or name the stack: --stack-name <name>; check AWS_REGION",
                )
                .line()
            );
            return Ok(false);
        }
    };
    let mut target = match Target::from_outputs(&outputs, api_key) {
        Ok(t) => t,
        Err(e) => {
            println!(
                "{}",
                Step::fail(
                    "outputs",
                    format!("{e:#}"),
                    "wait for the deploy to finish: sam deploy"
                )
                .line()
            );
            return Ok(false);
        }
    };
    println!(
        "{}",
        Step::pass(
            "outputs",
            format!("stack {stack_name}: {} outputs", outputs.len())
        )
        .line()
    );
    if let Some((username, password)) = user {
        let ids = tickerpulse_local::cognito::UserPoolIds {
            pool_id: outputs.get("UserPoolId").cloned().unwrap_or_default(),
            client_id: outputs
                .get("DashboardClientId")
                .cloned()
                .unwrap_or_default(),
        };
        let env: BTreeMap<String, String> = std::env::vars().collect();
        let signed = tickerpulse_local::cognito::sign_in(
            &env,
            &ids,
            &username,
            &password,
            totp_secret.as_deref(),
        )
        .await;
        match signed {
            Ok(tokens) => {
                if totp_secret.is_none() {
                    if let Some(secret) = &tokens.totp_secret {
                        println!(
                            "note: {username} enrolled a TOTP device; keep its key for the next sign-in: \
                             TICKERPULSE_TOTP_SECRET={secret}"
                        );
                    }
                }
                target.token = Some(tokens.id_token);
                println!(
                    "{}",
                    Step::pass(
                        "sign-in",
                        format!("{username} signed in to {}", ids.pool_id)
                    )
                    .line()
                );
            }
            Err(e) => {
                println!(
                    "{}",
                    Step::fail(
                        "sign-in",
                        format!("{e:#}"),
                        "check the user, the password and the TOTP key (--totp-secret); a new user must set \
                         a permanent password first (aws cognito-idp admin-set-user-password --permanent)",
                    )
                    .line()
                );
                return Ok(false);
            }
        }
    }
    if target.api_key.is_none() {
        println!(
            "note: no API key given (--api-key or TICKERPULSE_API_KEY): the api step will be refused. \
             Get it with: aws apigateway get-api-key --api-key {} --include-value --query value --output text",
            outputs.get("ApiKeyId").map(String::as_str).unwrap_or("<ApiKeyId output>")
        );
    }
    Ok(
        run(&target, &Clients::new(&conf), Waits::aws(wait), &mut |s| {
            println!("{}", s.line())
        })
        .await,
    )
}

/// Against a local stack started for the purpose: the same steps, the API
/// served on loopback with a key, as API Gateway serves it.
pub async fn local(template: tickerpulse_local::Template) -> Result<bool> {
    let dir = std::env::temp_dir().join(format!("tickerpulse-smoke-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let stack =
        tickerpulse_local::LocalStack::start(template, &dir, crate::functions::invoker()).await?;
    let result = local_on(&stack, &mut |s| println!("{}", s.line())).await;
    stack.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The steps on a running local stack.
pub async fn local_on(
    stack: &tickerpulse_local::LocalStack,
    print: &mut dyn FnMut(&Step),
) -> Result<bool> {
    const KEY: &str = "smoke-key";
    let env = stack.env()?;
    let conf = tickerpulse_aws::sdk::load(&env).await;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let api = tickerpulse_fn_api::Function::from_env(&env)
        .await
        .map_err(|e| anyhow!("api: {e}"))?;
    let tokens = stack.add_user("smoke", "Smoke-password-1", &[]).await?;
    let server =
        crate::serve::ApiServer::guarded(api, Some(KEY.into()), Some(stack.authorizer().await?));
    server.check_keys(
        tickerpulse_local::keys::KeyCheck::new(&stack.env()?, stack.usage_plans.clone()).await,
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(crate::serve::serve(listener, server, async move {
        let _ = stopped.await;
    }));
    let mut outputs = stack.template.outputs();
    print(&Step::pass(
        "outputs",
        format!("local stack: {} outputs", outputs.len()),
    ));
    outputs.insert("ApiUrl".into(), format!("http://{addr}/v1/"));
    let ok = match Target::from_outputs(&outputs, Some(KEY.into())) {
        Ok(mut target) => {
            target.token = Some(tokens.id_token);
            let waits = Waits {
                raw: Duration::from_secs(30),
                pipeline: Duration::from_secs(120),
                poll: Duration::from_millis(200),
            };
            run(&target, &Clients::new(&conf), waits, print).await
        }
        Err(e) => {
            print(&Step::fail(
                "outputs",
                format!("{e:#}"),
                "template.yaml lost an output",
            ));
            false
        }
    };
    let _ = stop.send(());
    let _ = serving.await;
    Ok(ok)
}
