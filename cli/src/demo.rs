//! `tickerpulse demo` / `make demo`: the local stack in this process, the pipeline
//! state machine run once against it, and the stack kept up until Ctrl-C.
//!
//! It runs ingest against the fake X API of the local stack (the sample tweets of
//! events/x-api-tweets.jsonl), Firehose and transform into the raw zone, then the
//! pipeline over the partitions that landed. The full demo (the 5,000 real tweets
//! through to DynamoDB and the API) is issue #9.

use crate::local::{self, LocalStack};
use crate::template::Template;
use anyhow::{Context, Result};
use std::time::{Duration, Instant};

/// Starts the stack, runs the demo, and stops every process it started on every
/// way out: the end of a `--no-wait` run, an error, Ctrl-C or SIGTERM at any point.
pub async fn run(template: Template, port: u16, no_wait: bool) -> Result<()> {
    let state = local::state_dir(&template).join("demo");
    let started = Instant::now();
    let stack = LocalStack::start_on(template, &state, port).await?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("listening for SIGTERM")?;
    let outcome = tokio::select! {
        r = body(&stack, started, no_wait) => r,
        _ = tokio::signal::ctrl_c() => Ok(()),
        _ = term.recv() => Ok(()),
    };
    stack.stop().await;
    println!("stopped");
    outcome
}

async fn body(stack: &LocalStack, started: Instant, no_wait: bool) -> Result<()> {
    println!(
        "local AWS stack up at {} in {:.1} s (moto pid {})",
        stack.endpoint(),
        started.elapsed().as_secs_f64(),
        stack.moto_pid().unwrap_or_default()
    );
    let t = &stack.template;
    println!(
        "  {} buckets, {} tables, {} delivery stream, {} state machine, {} functions (run in-process)",
        t.buckets()?.len(),
        t.tables()?.len(),
        t.delivery_streams()?.len(),
        t.state_machines()?.len(),
        t.functions()?.len()
    );
    let env = stack.env()?;
    let conf = tickerpulse_aws::sdk::load(&env).await;
    let sfn = aws_sdk_sfn::Client::new(&conf);

    // Ingest: the fake X API on the stack's endpoint serves the sample tweets;
    // ingest reads its token from Secrets Manager and sends through Firehose, where
    // the real transform scores and partitions them into the raw zone.
    let ingest = tickerpulse_fn_ingest::Function::from_env(&env)
        .await
        .map_err(|e| anyhow::anyhow!("ingest: {e}"))?;
    let schedule =
        serde_json::json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
    let report = ingest
        .handle(schedule)
        .await
        .map_err(|e| anyhow::anyhow!("ingest: {e}"))?;
    let raw_bucket = t
        .buckets()?
        .into_iter()
        .find(|b| b.logical_id == "RawBucket")
        .context("the template has no RawBucket")?
        .name;
    let s3 = tickerpulse_aws::sdk::s3_client(&conf);
    let mut landed = 0usize;
    let mut partitions = std::collections::BTreeSet::new();
    let prefix = format!("{}/", tickerpulse_aws::lake::RAW_PREFIX);
    for key in tickerpulse_aws::lake::list_keys(&s3, &raw_bucket, &prefix).await? {
        if let Ok(p) = tickerpulse_core::HourPartition::from_key(&key) {
            partitions.insert(p);
            let lines = tickerpulse_aws::lake::read_object(&s3, &raw_bucket, &key).await?;
            landed += lines
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .count();
        }
    }
    println!(
        "ingest: {} tweets from the fake X API in {} pages ({} queries), {} sent to Firehose; transform landed {landed} in {} hour partitions of s3://{raw_bucket}/raw/tweets/",
        report.tweets,
        report.pages,
        report.queries,
        report.sent,
        partitions.len()
    );
    let machine = t
        .state_machines()?
        .into_iter()
        .next()
        .context("the template has no state machine")?;
    let input = match (partitions.first(), partitions.last()) {
        (Some(a), Some(b)) => serde_json::json!({
            "from": a.start()?.format(&time::format_description::well_known::Rfc3339)?,
            "to": b.start()?.format(&time::format_description::well_known::Rfc3339)?,
        }),
        _ => serde_json::json!({"from": "2020-04-09T00:00:00Z", "to": "2020-07-16T23:59:59Z"}),
    };
    let name = format!("demo-{}", time::OffsetDateTime::now_utc().unix_timestamp());
    let exec = sfn
        .start_execution()
        .state_machine_arn(&machine.arn)
        .name(&name)
        .input(input.to_string())
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "starting the pipeline: {}",
                tickerpulse_aws::sdk::describe(&e)
            )
        })?;
    let deadline = Instant::now() + Duration::from_secs(120);
    let done = loop {
        let d = sfn
            .describe_execution()
            .execution_arn(exec.execution_arn())
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "following the pipeline: {}",
                    tickerpulse_aws::sdk::describe(&e)
                )
            })?;
        if d.status().as_str() != "RUNNING" || Instant::now() > deadline {
            break d;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!(
        "pipeline execution {name}: {}{}",
        done.status().as_str(),
        done.error()
            .map(|e| format!(" at {e}: {}", done.cause().unwrap_or_default()))
            .unwrap_or_default()
    );
    println!("  plan listed the partitions, compact and clean wrote stage 1 and 2 Parquet for each; aggregate is issue #6, the full demo #9");
    if no_wait {
        return Ok(());
    }
    println!(
        "AWS endpoint: export AWS_ENDPOINT_URL={} AWS_REGION={} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing",
        stack.endpoint(),
        t.region()
    );
    println!("Ctrl-C stops everything this demo started.");
    std::future::pending::<()>().await;
    Ok(())
}
