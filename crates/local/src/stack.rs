//! The local AWS stack: moto server behind the TickerPulse proxy, with every
//! resource of `template.yaml` created in it.
//!
//! moto's state-machine engine sends its Lambda calls to `localhost:$MOTO_PORT`, so
//! moto runs on an inner port with `MOTO_PORT` set to the proxy's port: the proxy
//! runs the real handlers and forwards everything else back to moto.

use crate::firehose::LocalFirehose;
use crate::invoke::MakeInvoker;
use crate::proxy::{self, ProxyState};
use crate::template::{Template, LOCAL_ACCOUNT, LOCAL_REGION};
use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The default port of the local endpoint (the port LocalStack made familiar).
pub const DEFAULT_PORT: u16 = 4566;

/// The bearer token of the local fake X API; `local up` stores it in the
/// template's Secrets Manager secret, where ingest reads it as in AWS.
pub const LOCAL_X_TOKEN: &str = "local-x-bearer-token";
/// The fake Bluesky's account and app password, and the fake Reddit's app.
pub const LOCAL_BLUESKY_IDENTIFIER: &str = "tickerpulse.bsky.social";
pub const LOCAL_BLUESKY_APP_PASSWORD: &str = "abcd-efgh-ijkl-mnop";
pub const LOCAL_REDDIT_CLIENT_ID: &str = "local-reddit-client";
pub const LOCAL_REDDIT_CLIENT_SECRET: &str = "local-reddit-secret";

/// Sample tweets the local fake X API serves until the demo loads its own.
pub const SAMPLE_TWEETS: &str = include_str!("../../../events/x-api-tweets.jsonl");

/// What `local up` records so that `status` and `down` find the processes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StackFile {
    pub port: u16,
    pub moto_port: u16,
    pub moto_pid: u32,
    pub proxy_pid: u32,
    pub template: PathBuf,
}

impl StackFile {
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// Where the local stack keeps its PID file and logs.
pub fn state_dir(template: &Template) -> PathBuf {
    std::env::var_os("TICKERPULSE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| template.root().join(".tickerpulse"))
}

/// The environment a handler sees in the local stack: what the template sets on
/// the functions, plus the endpoint and test credentials.
pub fn handler_env(template: &Template, port: Option<u16>) -> Result<BTreeMap<String, String>> {
    let mut env = template.merged_environment()?;
    if let Some(port) = port {
        env.insert(
            "AWS_ENDPOINT_URL".into(),
            format!("http://127.0.0.1:{port}"),
        );
        // The proxy answers the X API recent search too.
        env.insert("X_API_BASE_URL".into(), format!("http://127.0.0.1:{port}"));
        // And the fake Bluesky and Reddit.
        for name in [
            "BLUESKY_API_BASE_URL",
            "REDDIT_AUTH_BASE_URL",
            "REDDIT_API_BASE_URL",
        ] {
            env.insert(name.into(), format!("http://127.0.0.1:{port}"));
        }
        // The fake X API's posts cost nothing, and a paced budget reads almost
        // nothing in a month's first hour: no budget locally (tests that test
        // the budget set one).
        env.insert("X_MONTHLY_POST_BUDGET".into(), "0".into());
        // The sample tweets span April to July 2020: the local stack reads them
        // as full-archive search does (recent search keeps 7 days, and the
        // fake holds it to that: tests of the window ask for recent).
        env.insert("X_SEARCH_ENDPOINT".into(), "all".into());
        env.insert("AWS_ACCESS_KEY_ID".into(), "testing".into());
        env.insert("AWS_SECRET_ACCESS_KEY".into(), "testing".into());
    }
    env.insert("AWS_REGION".into(), template.region().to_string());
    Ok(env)
}

/// Finds moto's server script: `$TICKERPULSE_MOTO_SERVER`, `.venv/bin/moto_server`,
/// then the `PATH`.
pub fn moto_server(template: &Template) -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("TICKERPULSE_MOTO_SERVER") {
        return Ok(PathBuf::from(p));
    }
    let venv = template.root().join(".venv/bin/moto_server");
    if venv.is_file() {
        return Ok(venv);
    }
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        let p = dir.join("moto_server");
        if p.is_file() {
            return Ok(p);
        }
    }
    bail!(
        "moto_server not found (looked in {}): run `make setup`",
        venv.display()
    )
}

/// moto's server with DynamoDB Query answered from the partition it names
/// (moto 5.2 sorts the whole table on every Query), request routing cached and
/// item responses written with `json.dumps` (see the script's docstrings).
const MOTO_LAUNCHER: &str = include_str!("moto_server.py");

/// The interpreter (and its arguments) on the `#!` line of moto's server script,
/// if it is a Python script.
fn python_of(server: &Path) -> Option<Vec<String>> {
    let text = std::fs::read(server).ok()?;
    let first = text.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(first).ok()?.strip_prefix("#!")?;
    let words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    let python = words.iter().any(|w| w.contains("python"));
    (python && !words.is_empty()).then_some(words)
}

/// Binds a loopback port, failing with a clear message when it is taken.
pub fn bind_loopback(port: u16) -> Result<StdListener> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    StdListener::bind(addr).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            anyhow!("port {port} is already in use (is a local stack running? try `tickerpulse local status`, or pass --port)")
        } else {
            anyhow!("binding 127.0.0.1:{port}: {e}")
        }
    })
}

fn free_port() -> Result<u16> {
    Ok(bind_loopback(0)?.local_addr()?.port())
}

/// Starts moto on an inner port; its Lambda calls go to `proxy_port`.
fn spawn_moto(
    template: &Template,
    moto_port: u16,
    proxy_port: u16,
    log: &Path,
    detach: bool,
) -> Result<Child> {
    let server = moto_server(template)?;
    let log_file =
        std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let mut cmd = match python_of(&server) {
        // Through the launcher that indexes DynamoDB Query by partition.
        Some(interpreter) => {
            let launcher = log.with_file_name("moto_server.py");
            std::fs::write(&launcher, MOTO_LAUNCHER)
                .with_context(|| format!("writing {}", launcher.display()))?;
            let mut cmd = Command::new(&interpreter[0]);
            cmd.args(&interpreter[1..]).arg(&launcher);
            cmd
        }
        None => Command::new(&server),
    };
    cmd.args(["-H", "127.0.0.1", "-p", &moto_port.to_string()])
        .env("MOTO_PORT", proxy_port.to_string())
        .env("MOTO_ALLOW_NONEXISTENT_REGION", "true")
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file);
    if detach {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    cmd.spawn()
        .with_context(|| format!("starting {}", server.display()))
}

/// A GET to the emulator: the status and the body.
pub async fn get(url: &str) -> Result<(u16, String)> {
    http_request("GET", url, "application/json", String::new()).await
}

async fn http_request(
    method: &str,
    url: &str,
    content_type: &str,
    body: String,
) -> Result<(u16, String)> {
    http_request_as(method, url, content_type, body, None).await
}

/// An HTTP call to the emulator; `service` adds an (unverified) SigV4 credential
/// scope, which is how moto routes query-protocol calls such as SNS's.
async fn http_request_as(
    method: &str,
    url: &str,
    content_type: &str,
    body: String,
    service: Option<&str>,
) -> Result<(u16, String)> {
    use http_body_util::{BodyExt, Full};
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<bytes::Bytes>>();
    let req = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", content_type);
    let req = match service {
        Some(service) => req.header(
            "authorization",
            format!("AWS4-HMAC-SHA256 Credential=testing/20200101/{LOCAL_REGION}/{service}/aws4_request, SignedHeaders=host, Signature=0"),
        ),
        None => req,
    };
    let req = req.body(Full::new(bytes::Bytes::from(body)))?;
    let resp = client.request(req).await?;
    let status = resp.status().as_u16();
    let text = resp.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&text).into_owned()))
}

/// Waits until `url` answers 200, or the child dies, or 60 s pass.
async fn wait_ready(url: &str, child: Option<&mut Child>, log: &Path) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut child = child;
    loop {
        if let Ok((200, _)) = http_request("GET", url, "application/json", String::new()).await {
            return Ok(());
        }
        if let Some(c) = child.as_deref_mut() {
            if let Some(status) = c.try_wait()? {
                let tail = std::fs::read_to_string(log).unwrap_or_default();
                let tail: Vec<&str> = tail.lines().rev().take(5).collect();
                bail!(
                    "the emulator exited ({status}) before it was ready: {}",
                    tail.join(" | ")
                );
            }
        }
        if Instant::now() > deadline {
            bail!("{url} did not answer within 60 s (log: {})", log.display());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Turns on moto's real state-machine execution. Must come before any resource
/// is created.
async fn configure_moto(moto_port: u16) -> Result<()> {
    let (status, body) = http_request(
        "POST",
        &format!("http://127.0.0.1:{moto_port}/moto-api/config"),
        "application/json",
        r#"{"stepfunctions":{"execute_state_machine":true}}"#.into(),
    )
    .await?;
    if !(200..300).contains(&status) {
        bail!("moto refused its configuration ({status}): {body}");
    }
    Ok(())
}

/// Builds the proxy's state for a stack whose proxy listens on `port`.
pub async fn proxy_state(
    template: &Template,
    port: u16,
    moto_port: u16,
    make_invoker: &MakeInvoker,
) -> Result<Arc<ProxyState>> {
    let env = handler_env(template, Some(port))?;
    let registry = make_invoker(env);
    let functions: HashMap<String, String> = template
        .functions()?
        .into_iter()
        .map(|f| (f.name, f.binary))
        .collect();
    // Firehose writes straight to moto.
    let mut direct = handler_env(template, Some(moto_port))?;
    direct.insert(
        "AWS_ENDPOINT_URL".into(),
        format!("http://127.0.0.1:{moto_port}"),
    );
    let conf = tickerpulse_aws::sdk::load(&direct).await;
    let firehose = LocalFirehose::new(
        template.delivery_streams()?,
        tickerpulse_aws::sdk::s3_client(&conf),
        registry.clone(),
        functions.clone(),
        LOCAL_REGION,
        LOCAL_ACCOUNT,
    );
    let state = ProxyState::new(
        format!("http://127.0.0.1:{moto_port}"),
        registry,
        functions,
        firehose,
    );
    state.x_api.add(
        SAMPLE_TWEETS
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(serde_json::from_str::<serde_json::Value>)
            .collect::<Result<Vec<_>, _>>()
            .context("events/x-api-tweets.jsonl")?,
    );
    // The sample tweets are from 2020: the fake lives then, so recent search
    // (7 days before its clock) serves them as X served them at the time.
    state.x_api.live_after_newest();
    Ok(Arc::new(state))
}

/// Creates every bucket, table, topic, delivery stream and state machine of the
/// template. Idempotent: what exists is left as it is (state machines get the
/// current definition).
pub async fn provision(template: &Template, port: u16) -> Result<Vec<String>> {
    let env = handler_env(template, Some(port))?;
    let conf = tickerpulse_aws::sdk::load(&env).await;
    let s3 = tickerpulse_aws::sdk::s3_client(&conf);
    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    let firehose = aws_sdk_firehose::Client::new(&conf);
    let sfn = aws_sdk_sfn::Client::new(&conf);
    let describe = |e: &(dyn std::error::Error + 'static)| tickerpulse_aws::sdk::describe(e);
    let mut created = Vec::new();

    for b in template.buckets()? {
        match s3.create_bucket().bucket(&b.name).send().await {
            Ok(_) => created.push(format!("s3://{}", b.name)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_bucket_already_owned_by_you()) => {}
            Err(e) => bail!("creating bucket {}: {}", b.name, describe(&e)),
        }
        if b.versioned {
            s3.put_bucket_versioning()
                .bucket(&b.name)
                .versioning_configuration(
                    aws_sdk_s3::types::VersioningConfiguration::builder()
                        .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                        .build(),
                )
                .send()
                .await
                .map_err(|e| anyhow!("versioning {}: {}", b.name, describe(&e)))?;
        }
    }

    for t in template.tables()? {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
            Projection, ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
        };
        let schema = |hash: &str, range: &Option<String>| -> Result<Vec<KeySchemaElement>> {
            let mut v = vec![key(hash, KeyType::Hash)?];
            if let Some(r) = range {
                v.push(key(r, KeyType::Range)?);
            }
            Ok(v)
        };
        let mut req = ddb
            .create_table()
            .table_name(&t.name)
            .billing_mode(BillingMode::PayPerRequest)
            .set_key_schema(Some(schema(&t.hash, &t.range)?));
        for a in &t.attributes {
            req = req.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(&a.name)
                    .attribute_type(ScalarAttributeType::from(a.attr_type.as_str()))
                    .build()?,
            );
        }
        for g in &t.indexes {
            req = req.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(&g.name)
                    .set_key_schema(Some(schema(&g.hash, &g.range)?))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::from(g.projection.as_str()))
                            .set_non_key_attributes(
                                (!g.include.is_empty()).then(|| g.include.clone()),
                            )
                            .build(),
                    )
                    .build()?,
            );
        }
        match req.send().await {
            Ok(_) => created.push(format!("dynamodb:{}", t.name)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_in_use_exception()) =>
            {
                continue
            }
            Err(e) => bail!("creating table {}: {}", t.name, describe(&e)),
        }
        if let Some(attr) = &t.ttl_attribute {
            ddb.update_time_to_live()
                .table_name(&t.name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(attr)
                        .enabled(true)
                        .build()?,
                )
                .send()
                .await
                .map_err(|e| anyhow!("TTL on {}: {}", t.name, describe(&e)))?;
        }
    }

    for topic in template.topics()? {
        let body = format!("Action=CreateTopic&Version=2010-03-31&Name={}", topic.name);
        let (status, text) = http_request_as(
            "POST",
            &format!("http://127.0.0.1:{port}/"),
            "application/x-www-form-urlencoded",
            body,
            Some("sns"),
        )
        .await?;
        if status != 200 || !text.contains("CreateTopicResult") {
            bail!("creating topic {}: {status} {text}", topic.name);
        }
        created.push(format!("sns:{}", topic.name));
    }

    for secret in template.secrets()? {
        let sm = aws_sdk_secretsmanager::Client::new(&conf);
        // Each secret holds what its API's fake takes (see the template).
        let value = if secret.ends_with("/bluesky-app-password") {
            serde_json::json!({"identifier": LOCAL_BLUESKY_IDENTIFIER, "app_password": LOCAL_BLUESKY_APP_PASSWORD})
                .to_string()
        } else if secret.ends_with("/reddit-app") {
            serde_json::json!({"client_id": LOCAL_REDDIT_CLIENT_ID, "client_secret": LOCAL_REDDIT_CLIENT_SECRET})
                .to_string()
        } else {
            LOCAL_X_TOKEN.to_string()
        };
        match sm
            .create_secret()
            .name(&secret)
            .secret_string(value)
            .send()
            .await
        {
            Ok(_) => created.push(format!("secretsmanager:{secret}")),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_exists_exception()) => {}
            Err(e) => bail!("creating secret {secret}: {}", describe(&e)),
        }
    }

    for d in template.delivery_streams()? {
        use aws_sdk_firehose::types::ExtendedS3DestinationConfiguration;
        let dest = ExtendedS3DestinationConfiguration::builder()
            .bucket_arn(format!("arn:aws:s3:::{}", d.bucket))
            .role_arn(format!(
                "arn:aws:iam::{LOCAL_ACCOUNT}:role/{}-firehose",
                d.name
            ))
            .prefix(&d.prefix)
            .error_output_prefix(&d.error_prefix)
            .build()?;
        match firehose
            .create_delivery_stream()
            .delivery_stream_name(&d.name)
            .extended_s3_destination_configuration(dest)
            .send()
            .await
        {
            Ok(_) => created.push(format!("firehose:{}", d.name)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_in_use_exception()) => {}
            Err(e) => bail!("creating delivery stream {}: {}", d.name, describe(&e)),
        }
    }

    for m in template.state_machines()? {
        let role = format!("arn:aws:iam::{LOCAL_ACCOUNT}:role/{}-role", m.name);
        match sfn
            .create_state_machine()
            .name(&m.name)
            .definition(&m.definition)
            .role_arn(&role)
            .send()
            .await
        {
            Ok(_) => created.push(format!("states:{}", m.name)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_state_machine_already_exists()) =>
            {
                sfn.update_state_machine()
                    .state_machine_arn(&m.arn)
                    .definition(&m.definition)
                    .send()
                    .await
                    .map_err(|e| anyhow!("updating state machine {}: {}", m.name, describe(&e)))?;
            }
            Err(e) => bail!("creating state machine {}: {}", m.name, describe(&e)),
        }
    }
    if crate::cognito::lookup(template, &env).await?.is_none() {
        if let Some(ids) = crate::cognito::provision(template, &env).await? {
            created.push(format!("cognito-idp:{}", ids.pool_id));
        }
    }
    Ok(created)
}

/// A local stack whose proxy runs inside this process (tests, the demo). Dropping
/// it stops moto.
pub struct LocalStack {
    pub port: u16,
    pub moto_port: u16,
    pub template: Template,
    moto: Option<Child>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    proxy: Option<tokio::task::JoinHandle<()>>,
    _state: PathBuf,
    /// Faults the proxy injects into DynamoDB batch writes (for tests).
    pub dynamodb_faults: Arc<crate::proxy::DynamoFaults>,
    /// Invocations the proxy fails on purpose (for tests).
    pub invoke_faults: Arc<crate::proxy::InvokeFaults>,
    /// Latency the proxy adds to DynamoDB and S3 calls, and their counts.
    pub latency: Arc<crate::proxy::Latency>,
    /// The fake X API's tweets (the sample tweets at start; the demo replaces them).
    pub x_api: Arc<tickerpulse_xapi::fake::FakeXState>,
    /// The fake Bluesky's and Reddit's posts (none at start; the demo and
    /// tests add them).
    pub bluesky: Arc<tickerpulse_social::fake::FakeBluesky>,
    pub reddit: Arc<tickerpulse_social::fake::FakeReddit>,
    /// The ids moto gave the template's user pool.
    pub user_pool: Option<crate::cognito::UserPoolIds>,
}

impl LocalStack {
    /// Starts moto and the proxy on free loopback ports and provisions the template.
    pub async fn start(template: Template, state: &Path, invoker: MakeInvoker) -> Result<Self> {
        Self::start_on(template, state, 0, invoker).await
    }

    /// The same on a given proxy port (0 picks a free one).
    pub async fn start_on(
        template: Template,
        state: &Path,
        port: u16,
        invoker: MakeInvoker,
    ) -> Result<Self> {
        std::fs::create_dir_all(state).with_context(|| format!("creating {}", state.display()))?;
        let listener = bind_loopback(port)?;
        let port = listener.local_addr()?.port();
        let moto_port = free_port()?;
        let log = state.join("moto.log");
        let mut moto = spawn_moto(&template, moto_port, port, &log, false)?;
        let ready = wait_ready(
            &format!("http://127.0.0.1:{moto_port}/moto-api/"),
            Some(&mut moto),
            &log,
        )
        .await;
        if let Err(e) = ready {
            let _ = moto.kill();
            let _ = moto.wait();
            return Err(e);
        }
        let mut stack = Self {
            port,
            moto_port,
            template,
            moto: Some(moto),
            shutdown: None,
            proxy: None,
            _state: state.to_path_buf(),
            dynamodb_faults: Arc::default(),
            invoke_faults: Arc::default(),
            latency: Arc::default(),
            x_api: Arc::default(),
            bluesky: Arc::default(),
            reddit: Arc::default(),
            user_pool: None,
        };
        configure_moto(moto_port).await?;
        let state = proxy_state(&stack.template, port, moto_port, &invoker).await?;
        stack.dynamodb_faults = state.dynamodb_faults.clone();
        stack.invoke_faults = state.invoke_faults.clone();
        stack.latency = state.latency.clone();
        stack.x_api = state.x_api.clone();
        stack.bluesky = state.bluesky.clone();
        stack.reddit = state.reddit.clone();
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        stack.proxy = Some(tokio::spawn(proxy::serve(listener, state, async {
            let _ = rx.await;
        })));
        stack.shutdown = Some(tx);
        provision(&stack.template, port).await?;
        stack.user_pool =
            crate::cognito::lookup(&stack.template, &handler_env(&stack.template, Some(port))?)
                .await?;
        Ok(stack)
    }

    /// The API Gateway Cognito authorizer of this stack's user pool (its JWKS
    /// read from moto).
    pub async fn authorizer(&self) -> Result<crate::cognito::Authorizer> {
        let ids = self
            .user_pool
            .as_ref()
            .ok_or_else(|| anyhow!("the template has no user pool"))?;
        crate::cognito::Authorizer::fetch(
            &format!("http://127.0.0.1:{}", self.moto_port),
            self.template.region(),
            &ids.pool_id,
        )
        .await
    }

    /// Invites a user to the pool and signs them in.
    pub async fn add_user(
        &self,
        username: &str,
        password: &str,
        groups: &[&str],
    ) -> Result<crate::cognito::Tokens> {
        let ids = self
            .user_pool
            .as_ref()
            .ok_or_else(|| anyhow!("the template has no user pool"))?;
        crate::cognito::add_user(&self.env()?, ids, username, password, groups).await
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The environment handlers and clients use against this stack.
    pub fn env(&self) -> Result<BTreeMap<String, String>> {
        let mut env = handler_env(&self.template, Some(self.port))?;
        if let Some(ids) = &self.user_pool {
            env.extend(crate::cognito::env_of(ids, &self.endpoint()));
        }
        Ok(env)
    }

    pub fn moto_pid(&self) -> Option<u32> {
        self.moto.as_ref().map(Child::id)
    }

    /// Stops the proxy and moto, and waits for moto to exit.
    pub async fn stop(mut self) {
        self.stop_inner();
        if let Some(p) = self.proxy.take() {
            let _ = p.await;
        }
    }

    fn stop_inner(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut m) = self.moto.take() {
            let _ = m.kill();
            let _ = m.wait();
        }
    }
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

/// Whether a process is alive (a zombie, exited but not yet reaped, is not).
pub fn alive(pid: u32) -> bool {
    let Ok(raw) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 only checks that the process exists.
    if unsafe { libc::kill(raw, 0) } != 0 {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name, which is in parentheses.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_none_or(|state| state != "Z" && state != "X"),
        Err(_) => true,
    }
}

/// Removes the directories `<temp dir>/<prefix>-<pid>-...` whose process has
/// exited: the scratch directories of earlier test runs. A run's own stay until
/// the next run, for looking into a failure; `prefix` must not contain `-<digits>-`.
pub fn remove_stale_scratch(prefix: &str) {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|n| n.strip_prefix('-'))
        else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|pid| pid != std::process::id() && !alive(pid)) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn terminate(pid: u32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: sends SIGTERM to a process this CLI started and recorded.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
}

fn stack_file(state: &Path) -> PathBuf {
    state.join("local.json")
}

pub fn read_stack_file(state: &Path) -> Result<Option<StackFile>> {
    let path = stack_file(state);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(serde_json::from_str(&text).with_context(|| {
            format!("{} is damaged; delete it", path.display())
        })?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow!("reading {}: {e}", path.display())),
    }
}

/// The running detached stack, if both its processes are alive.
pub fn running(state: &Path) -> Result<Option<StackFile>> {
    Ok(read_stack_file(state)?.filter(|f| alive(f.moto_pid) && alive(f.proxy_pid)))
}

/// What `local up` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restart {
    /// Nothing was recorded, or nothing recorded was alive: a new stack.
    Fresh,
    /// The proxy had died; moto (and everything in it) was kept.
    Proxy,
    /// moto had died: moto keeps its state in memory only, so the stack was
    /// provisioned again, empty; the proxy was kept.
    Moto,
}

fn spawn_proxy(
    template: &Template,
    exe: &Path,
    port: u16,
    moto_port: u16,
    state: &Path,
) -> Result<(Child, PathBuf)> {
    let proxy_log = state.join("proxy.log");
    let log = std::fs::File::create(&proxy_log)?;
    let mut cmd = Command::new(exe);
    cmd.args([
        "local",
        "proxy",
        "--port",
        &port.to_string(),
        "--moto-port",
        &moto_port.to_string(),
    ])
    .env("TICKERPULSE_TEMPLATE", &template.path)
    .env(
        "TICKERPULSE_PARAMETER_OVERRIDES",
        template.parameter_overrides(),
    )
    .stdin(Stdio::null())
    .stdout(log.try_clone()?)
    .stderr(log);
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    let child = cmd
        .spawn()
        .with_context(|| format!("starting {} local proxy", exe.display()))?;
    Ok((child, proxy_log))
}

/// `tickerpulse local up`: starts moto and a detached proxy process, provisions the
/// template and records both PIDs. When one recorded process survives, only the
/// other is started again, on the same ports: a dead proxy costs nothing, a dead
/// moto loses the stack's contents (moto keeps them in memory only).
pub async fn up(
    template: &Template,
    port: u16,
    exe: &Path,
) -> Result<(StackFile, Vec<String>, Restart)> {
    let state = state_dir(template);
    if let Some(f) = running(&state)? {
        bail!("a local stack is already running on {} (moto pid {}, proxy pid {}); `tickerpulse local down` stops it", f.endpoint(), f.moto_pid, f.proxy_pid);
    }
    if let Some(mut f) = read_stack_file(&state)? {
        let (moto_alive, proxy_alive) = (alive(f.moto_pid), alive(f.proxy_pid));
        if moto_alive && !proxy_alive {
            let (mut proxy, log) = spawn_proxy(template, exe, f.port, f.moto_port, &state)?;
            f.proxy_pid = proxy.id();
            std::fs::write(stack_file(&state), serde_json::to_string_pretty(&f)?)?;
            wait_ready(
                &format!("{}/moto-api/", f.endpoint()),
                Some(&mut proxy),
                &log,
            )
            .await?;
            return Ok((f, Vec::new(), Restart::Proxy));
        }
        if proxy_alive && !moto_alive {
            let moto_log = state.join("moto.log");
            let mut moto = spawn_moto(template, f.moto_port, f.port, &moto_log, true)?;
            f.moto_pid = moto.id();
            std::fs::write(stack_file(&state), serde_json::to_string_pretty(&f)?)?;
            wait_ready(
                &format!("http://127.0.0.1:{}/moto-api/", f.moto_port),
                Some(&mut moto),
                &moto_log,
            )
            .await?;
            configure_moto(f.moto_port).await?;
            let created = provision(template, f.port).await?;
            return Ok((f, created, Restart::Moto));
        }
    }
    // Leftovers of a dead stack.
    down(template).await?;
    std::fs::create_dir_all(&state).with_context(|| format!("creating {}", state.display()))?;
    let port = bind_loopback(port)?.local_addr()?.port();
    let moto_port = free_port()?;
    let moto_log = state.join("moto.log");
    let mut moto = spawn_moto(template, moto_port, port, &moto_log, true)?;
    let moto_pid = moto.id();
    let started: Result<StackFile> = async {
        wait_ready(
            &format!("http://127.0.0.1:{moto_port}/moto-api/"),
            Some(&mut moto),
            &moto_log,
        )
        .await?;
        configure_moto(moto_port).await?;
        let (mut proxy, proxy_log) = spawn_proxy(template, exe, port, moto_port, &state)?;
        let file = StackFile {
            port,
            moto_port,
            moto_pid,
            proxy_pid: proxy.id(),
            template: template.path.clone(),
        };
        std::fs::write(stack_file(&state), serde_json::to_string_pretty(&file)?)?;
        wait_ready(
            &format!("http://127.0.0.1:{port}/moto-api/"),
            Some(&mut proxy),
            &proxy_log,
        )
        .await?;
        Ok(file)
    }
    .await;
    let file = match started {
        Ok(f) => f,
        Err(e) => {
            let _ = down(template).await;
            terminate(moto_pid);
            return Err(e);
        }
    };
    match provision(template, port).await {
        Ok(created) => Ok((file, created, Restart::Fresh)),
        Err(e) => {
            let _ = down(template).await;
            Err(e)
        }
    }
}

/// `tickerpulse local down`: stops the recorded processes. Returns whether a stack
/// was recorded.
pub async fn down(template: &Template) -> Result<bool> {
    let state = state_dir(template);
    let Some(file) = read_stack_file(&state)? else {
        return Ok(false);
    };
    for pid in [file.proxy_pid, file.moto_pid] {
        if alive(pid) {
            terminate(pid);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while (alive(file.proxy_pid) || alive(file.moto_pid)) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for pid in [file.proxy_pid, file.moto_pid] {
        if alive(pid) {
            if let Ok(p) = libc::pid_t::try_from(pid) {
                // SAFETY: the process ignored SIGTERM; it is ours.
                unsafe {
                    libc::kill(p, libc::SIGKILL);
                }
            }
        }
    }
    std::fs::remove_file(stack_file(&state))
        .with_context(|| format!("removing {}", stack_file(&state).display()))?;
    Ok(true)
}
