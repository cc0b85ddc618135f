//! Helpers for the end-to-end tests: a local stack per test, SDK clients on it,
//! and execution polling.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use tickerpulse_local::LocalStack;
use tickerpulse_local::Template;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A fresh directory under the system temp dir, unique to this test process.
/// Earlier runs' directories (of processes that have exited) are removed first.
pub fn scratch_dir(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    static SWEEP: std::sync::Once = std::sync::Once::new();
    SWEEP.call_once(|| tickerpulse_local::stack::remove_stale_scratch("tickerpulse-test"));
    let dir = std::env::temp_dir().join(format!(
        "tickerpulse-test-{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating a scratch dir");
    dir
}

/// Starts a local stack for one test.
pub async fn start_stack(name: &str) -> Result<LocalStack> {
    start_stack_with(name, "").await
}

/// A local stack with template parameters overridden (`Name=Value ...`, as
/// `sam deploy --parameter-overrides` takes them).
pub async fn start_stack_with(name: &str, overrides: &str) -> Result<LocalStack> {
    let mut template = Template::load(&root().join("template.yaml"))?;
    template.override_parameters(overrides)?;
    LocalStack::start(
        template,
        &scratch_dir(name),
        tickerpulse::functions::invoker(),
    )
    .await
}

pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub firehose: aws_sdk_firehose::Client,
    pub sfn: aws_sdk_sfn::Client,
}

pub async fn clients(stack: &LocalStack) -> Result<Clients> {
    let env = stack.env()?;
    let conf = tickerpulse_aws::sdk::load(&env).await;
    Ok(Clients {
        s3: tickerpulse_aws::sdk::s3_client(&conf),
        dynamodb: aws_sdk_dynamodb::Client::new(&conf),
        firehose: aws_sdk_firehose::Client::new(&conf),
        sfn: aws_sdk_sfn::Client::new(&conf),
    })
}

/// Starts an execution and waits (60 s at most) until it is no longer running.
pub async fn run_execution(
    sfn: &aws_sdk_sfn::Client,
    state_machine_arn: &str,
    name: &str,
    input: &serde_json::Value,
) -> Result<aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput> {
    let started = sfn
        .start_execution()
        .state_machine_arn(state_machine_arn)
        .name(name)
        .input(input.to_string())
        .send()
        .await
        .context("start_execution")?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let d = sfn
            .describe_execution()
            .execution_arn(started.execution_arn())
            .send()
            .await
            .context("describe_execution")?;
        if d.status() != &aws_sdk_sfn::types::ExecutionStatus::Running {
            return Ok(d);
        }
        if Instant::now() > deadline {
            bail!("execution {name} still running after 60 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every object key under a prefix.
pub async fn list_keys(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Result<Vec<String>> {
    Ok(tickerpulse_aws::lake::list_keys(s3, bucket, prefix).await?)
}

/// An object's bytes, gunzipped when the key ends in `.gz`.
pub async fn get_object(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<Vec<u8>> {
    Ok(tickerpulse_aws::lake::read_object(s3, bucket, key).await?)
}

/// A full enriched record, as transform writes it to the raw zone.
pub fn enriched(
    id: &str,
    created_at: &str,
    text: &str,
    tickers: &[&str],
    watched: &[&str],
    sentiment: (f64, &str),
) -> serde_json::Value {
    serde_json::json!({
        "schema_version": 1,
        "tweet_id": id,
        "created_at": created_at,
        "author_id": format!("a{id}"),
        "author_username": format!("user{id}"),
        "author_verified": false,
        "author_followers": 150,
        "author_created_at": "2015-01-01T00:00:00.000Z",
        "text": text,
        "lang": "en",
        "tickers": tickers,
        "watched_tickers": watched,
        "hashtags": ["stocks"],
        "mentions": [],
        "urls": [],
        "retweet_count": 1,
        "reply_count": 0,
        "like_count": 3,
        "quote_count": 0,
        "is_retweet": false,
        "is_reply": false,
        "is_quote": false,
        "sentiment": {"compound": sentiment.0, "pos": 0.4, "neu": 0.6, "neg": 0.0,
                      "label": sentiment.1, "mode": "vader", "scorer": "tickerpulse-vader 3.3.2"},
        "arrival_ms": 1_586_912_626_000i64
    })
}

/// JSON lines, gzipped, as Firehose writes them.
pub fn gzip_lines(lines: &[String]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    for l in lines {
        let _ = gz.write_all(l.as_bytes());
        let _ = gz.write_all(b"\n");
    }
    gz.finish().unwrap_or_default()
}

pub type Item = std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>;

/// The state table's items under one partition key (`runs`, `changed#raw`...),
/// read consistently.
pub async fn state_items(db: &aws_sdk_dynamodb::Client, pk: &str) -> Result<Vec<Item>> {
    let out = db
        .query()
        .table_name("tickerpulse-state")
        .key_condition_expression("PK = :p")
        .expression_attribute_values(":p", aws_sdk_dynamodb::types::AttributeValue::S(pk.into()))
        .consistent_read(true)
        .send()
        .await
        .context("querying the state table")?;
    Ok(out.items().to_vec())
}

/// The run record of one run id, if there is one.
pub async fn run_record(db: &aws_sdk_dynamodb::Client, run_id: &str) -> Result<Option<Item>> {
    Ok(state_items(db, "runs").await?.into_iter().find(|i| {
        i.get("RunId")
            .and_then(|v| v.as_s().ok())
            .map(String::as_str)
            == Some(run_id)
    }))
}

/// A finished execution's output; panics, with its error and cause, unless it succeeded.
pub fn succeeded_output(
    run: &aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput,
) -> serde_json::Value {
    assert_eq!(
        run.status().as_str(),
        "SUCCEEDED",
        "{:?} {:?}",
        run.error(),
        run.cause()
    );
    let output = run.output().expect("a succeeded execution has an output");
    serde_json::from_str(output).expect("the execution's output is JSON")
}

/// Sends records to the local stack's delivery stream in one `PutRecordBatch`.
pub async fn put_records(
    firehose: &aws_sdk_firehose::Client,
    records: &[Vec<u8>],
) -> Result<aws_sdk_firehose::operation::put_record_batch::PutRecordBatchOutput> {
    let records = records
        .iter()
        .map(|r| {
            aws_sdk_firehose::types::Record::builder()
                .data(r.clone().into())
                .build()
        })
        .collect::<Result<Vec<_>, _>>()
        .context("building records")?;
    firehose
        .put_record_batch()
        .delivery_stream_name("tickerpulse-tweets")
        .set_records(Some(records))
        .send()
        .await
        .context("PutRecordBatch")
}

/// A bucket's name on the local stack: CloudFormation names the buckets (the
/// template gives none), and the local stack names them the same way.
pub fn bucket(logical_id: &str) -> String {
    Template::load(&root().join("template.yaml"))
        .and_then(|t| t.physical_name(logical_id))
        .unwrap_or_else(|e| panic!("the name of {logical_id}: {e}"))
}

/// The local stack's raw bucket.
pub static RAW_BUCKET: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| bucket("RawBucket"));

/// Puts gzipped JSON lines into a raw hour partition, as Firehose does.
pub async fn put_raw(s3: &aws_sdk_s3::Client, partition: &str, name: &str, lines: &[String]) {
    s3.put_object()
        .bucket(RAW_BUCKET.as_str())
        .key(format!("raw/tweets/{partition}/{name}"))
        .body(gzip_lines(lines).into())
        .send()
        .await
        .unwrap();
}

/// Runs the real compact and clean handlers on one hour partition.
pub async fn compact_and_clean(stack: &LocalStack, partition: &str) {
    let compact =
        tickerpulse_fn_compact::Function::from_env(&stack.function_env("compact").unwrap())
            .await
            .unwrap();
    let clean = tickerpulse_fn_clean::Function::from_env(&stack.function_env("clean").unwrap())
        .await
        .unwrap();
    compact
        .handle(tickerpulse_fn_compact::PartitionTask {
            partition: partition.into(),
        })
        .await
        .unwrap();
    clean
        .handle(tickerpulse_fn_clean::PartitionTask {
            partition: partition.into(),
            rejected: 0,
        })
        .await
        .unwrap();
}

/// `tickerpulse serve` as deployed (the key and the user pool's authorizer) on
/// a free loopback port, for tests: its address, and a sender that stops it.
pub async fn serve_guarded(
    stack: &LocalStack,
    key: &str,
) -> Result<(
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
)> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let function = tickerpulse_fn_api::Function::from_env(&stack.function_env("api")?)
        .await
        .map_err(|e| anyhow::anyhow!("api: {e}"))?;
    let server = tickerpulse::serve::ApiServer::guarded(
        function,
        Some(key.into()),
        Some(stack.authorizer().await?),
    );
    server.check_keys(
        tickerpulse_local::keys::KeyCheck::new(&stack.env()?, stack.usage_plans.clone()).await,
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(tickerpulse::serve::serve(listener, server, async move {
        let _ = stopped.await;
    }));
    Ok((addr, stop, serving))
}

/// One request to a served API (`serve_guarded`): (status, JSON body).
pub async fn call(
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    key: Option<&str>,
    body: Option<&str>,
) -> (u16, serde_json::Value) {
    use std::io::{Read, Write};
    let (base, method, path) = (base.to_string(), method.to_string(), path.to_string());
    let (token, key, body) = (
        token.map(String::from),
        key.map(String::from),
        body.unwrap_or_default().to_string(),
    );
    tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(base.as_str()).unwrap();
        let mut head =
            format!("{method} /v1{path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
        if let Some(t) = token {
            head.push_str(&format!("Authorization: {t}\r\n"));
        }
        if let Some(k) = key {
            head.push_str(&format!("x-api-key: {k}\r\n"));
        }
        if !body.is_empty() {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        write!(s, "{head}\r\n{body}").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let status: u16 = out[9..12].parse().unwrap();
        let text = out.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
        (
            status,
            serde_json::from_str(text).unwrap_or(serde_json::Value::Null),
        )
    })
    .await
    .unwrap()
}

/// `env` (the operator's, perhaps with a test's own settings) as `binary` runs on
/// the stack: the function's own variables and its role's credentials, plus what
/// the test set differently from the operator's environment.
pub fn as_function(
    stack: &LocalStack,
    binary: &str,
    env: &std::collections::BTreeMap<String, String>,
) -> std::collections::BTreeMap<String, String> {
    let operator = stack.env().expect("the operator's environment");
    let mut out = stack
        .function_env(binary)
        .expect("the function's environment");
    for (k, v) in env {
        if operator.get(k) != Some(v) && !k.starts_with("AWS_") {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

/// One post as the X API gives it (`id`, `text`, `created_at`, `lang`,
/// `author_id`), as the Firehose record `ingest` sends: a JSON line.
pub fn x_record(
    id: impl std::fmt::Display,
    text: &str,
    created_at: &str,
    author_id: impl std::fmt::Display,
) -> Vec<u8> {
    let mut line = serde_json::json!({
        "id": id.to_string(), "text": text, "created_at": created_at,
        "lang": "en", "author_id": author_id.to_string(),
    })
    .to_string();
    line.push('\n');
    line.into_bytes()
}
