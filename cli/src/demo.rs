//! `tickerpulse demo` / `make demo`: the local stack in this process, the pipeline
//! state machine run once against it, and the stack kept up until Ctrl-C.
//!
//! The full demo (the 5,000 real tweets through ingest, Firehose, transform, the
//! pipeline and the API) is issue #9; until then this shows the stack working.

use crate::local::{self, LocalStack};
use crate::template::Template;
use anyhow::{Context, Result};
use std::time::{Duration, Instant};

pub async fn run(template: Template, port: u16, no_wait: bool) -> Result<()> {
    let state = local::state_dir(&template).join("demo");
    let started = Instant::now();
    let stack = LocalStack::start_on(template, &state, port).await?;
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
    let machine = t
        .state_machines()?
        .into_iter()
        .next()
        .context("the template has no state machine")?;
    let arn = format!(
        "arn:aws:states:{}:{}:stateMachine:{}",
        t.region(),
        crate::template::LOCAL_ACCOUNT,
        machine.name
    );
    let input = serde_json::json!({"from": "2020-04-09T00:00:00Z", "to": "2020-07-16T23:59:59Z"});
    let name = format!("demo-{}", time::OffsetDateTime::now_utc().unix_timestamp());
    let exec = sfn
        .start_execution()
        .state_machine_arn(&arn)
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
        "pipeline execution {name}: {} (the plan handler ran in-process; output {})",
        done.status().as_str(),
        done.output().unwrap_or("-")
    );
    println!(
        "  the lake is empty until ingest and transform land (issue #4); the full demo is issue #9"
    );
    if no_wait {
        stack.stop().await;
        return Ok(());
    }
    println!(
        "AWS endpoint: export AWS_ENDPOINT_URL={} AWS_REGION={} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing",
        stack.endpoint(),
        t.region()
    );
    println!("Ctrl-C stops everything this demo started.");
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    stack.stop().await;
    println!("stopped");
    Ok(())
}
