//! Helpers for the end-to-end tests: a local stack per test, SDK clients on it,
//! and execution polling.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use tickerpulse::local::LocalStack;
use tickerpulse::template::Template;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A fresh directory under the system temp dir, unique to this test process.
pub fn scratch_dir(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
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
    let template = Template::load(&root().join("template.yaml"))?;
    LocalStack::start(template, &scratch_dir(name)).await
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
