//! `tickerpulse pipeline`: start an execution of the pipeline and follow it
//! state by state, list recent executions, show one's event history. The same
//! calls work on the local stack and on a deployed stack.

use anyhow::{anyhow, Context, Result};
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent};
use std::time::{Duration, Instant};

fn sdk_error<E: std::error::Error + 'static>(what: &str, e: E) -> anyhow::Error {
    anyhow!("{what}: {}", tickerpulse_aws::sdk::describe(&e))
}

fn millis(t: &aws_sdk_sfn::primitives::DateTime) -> i64 {
    t.to_millis().unwrap_or_default()
}

fn clock(t: &aws_sdk_sfn::primitives::DateTime) -> String {
    time::OffsetDateTime::from_unix_timestamp(t.secs())
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// One line for an event of the history, or None for the noise.
pub fn describe_event(e: &HistoryEvent) -> Option<String> {
    let kind = e.r#type().as_str();
    let detail = if let Some(d) = e.state_entered_event_details() {
        format!("-> {}", d.name())
    } else if let Some(d) = e.state_exited_event_details() {
        format!("<- {}", d.name())
    } else if let Some(d) = e.task_failed_event_details() {
        format!(
            "task failed: {} {}",
            d.error().unwrap_or_default(),
            d.cause().unwrap_or_default()
        )
    } else if let Some(d) = e.execution_failed_event_details() {
        format!(
            "execution failed: {} {}",
            d.error().unwrap_or_default(),
            d.cause().unwrap_or_default()
        )
    } else if kind.starts_with("MapIteration") {
        e.map_iteration_started_event_details()
            .or(e.map_iteration_succeeded_event_details())
            .or(e.map_iteration_failed_event_details())
            .map(|d| format!("iteration {}", d.index()))
            .unwrap_or_default()
    } else if kind == "ExecutionSucceeded" {
        "execution succeeded".into()
    } else {
        return None;
    };
    Some(format!("{:>4}  {:<28} {detail}", e.id(), kind))
}

/// Every event of an execution's history, all pages.
pub async fn history(sfn: &aws_sdk_sfn::Client, arn: &str) -> Result<Vec<HistoryEvent>> {
    let mut events = Vec::new();
    let mut pages = sfn
        .get_execution_history()
        .execution_arn(arn)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        events.extend(
            page.map_err(|e| sdk_error("reading the execution history", e))?
                .events()
                .iter()
                .cloned(),
        );
    }
    Ok(events)
}

/// Starts an execution and follows it until it ends; returns its final status.
pub async fn run(
    sfn: &aws_sdk_sfn::Client,
    machine: &str,
    name: &str,
    input: &serde_json::Value,
    timeout: Duration,
) -> Result<ExecutionStatus> {
    let started = sfn
        .start_execution()
        .state_machine_arn(machine)
        .name(name)
        .input(input.to_string())
        .send()
        .await
        .map_err(|e| sdk_error("starting the pipeline", e))?;
    let arn = started.execution_arn().to_string();
    println!("execution {name} started ({arn})");
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    let deadline = Instant::now() + timeout;
    let mut shown = 0usize;
    let (mut iterations, mut done) = (0usize, 0usize);
    let status = loop {
        let events = history(sfn, &arn).await?;
        for e in events.iter().skip(shown) {
            match e.r#type().as_str() {
                "MapIterationStarted" => iterations += 1,
                "MapIterationSucceeded" | "MapIterationFailed" | "MapIterationAborted" => done += 1,
                _ => {}
            }
        }
        print_events(&bar, &events[shown.min(events.len())..]);
        shown = events.len();
        // A Distributed Map reports its children through its map run.
        if let Ok(runs) = sfn.list_map_runs().execution_arn(&arn).send().await {
            for run in runs.map_runs() {
                if let Ok(d) = sfn
                    .describe_map_run()
                    .map_run_arn(run.map_run_arn())
                    .send()
                    .await
                {
                    if let Some(c) = d.item_counts() {
                        iterations = c.total() as usize;
                        done = (c.succeeded() + c.failed() + c.aborted()) as usize;
                    }
                }
            }
        }
        bar.set_message(format!("partitions {done}/{iterations}"));
        let d = sfn
            .describe_execution()
            .execution_arn(&arn)
            .send()
            .await
            .map_err(|e| sdk_error("following the pipeline", e))?;
        if d.status() != &ExecutionStatus::Running {
            // The execution may have ended after the history above was read:
            // the events since then, before the verdict.
            let events = history(sfn, &arn).await?;
            print_events(&bar, &events[shown.min(events.len())..]);
            bar.finish_and_clear();
            let took = d
                .stop_date()
                .map(|s| millis(s) - millis(d.start_date()))
                .unwrap_or_default();
            println!(
                "execution {name}: {} in {:.1} s",
                d.status().as_str(),
                took as f64 / 1000.0
            );
            if let Some(out) = d.output() {
                println!("  output: {out}");
            }
            if let Some(e) = d.error() {
                println!("  error: {e}: {}", d.cause().unwrap_or_default());
            }
            break d.status().clone();
        }
        if Instant::now() > deadline {
            bar.finish_and_clear();
            return Err(anyhow!(
                "execution {name} still running after {} s",
                timeout.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    Ok(status)
}

/// The lines of these events, above the spinner (map iterations are counted
/// in the spinner, not listed).
fn print_events(bar: &indicatif::ProgressBar, events: &[HistoryEvent]) {
    for e in events {
        if let Some(line) = describe_event(e) {
            if !e.r#type().as_str().starts_with("MapIteration") {
                // Without a terminal the spinner is hidden, and so are its lines.
                if bar.is_hidden() {
                    println!("{line}");
                } else {
                    bar.println(line);
                }
            }
        }
    }
}

/// One row of `pipeline executions`.
pub struct ExecutionRow {
    pub name: String,
    pub status: String,
    pub start: String,
    pub seconds: Option<f64>,
    pub partitions: Option<u64>,
    pub rows: Option<u64>,
}

/// The most recent executions, newest first.
pub async fn executions(
    sfn: &aws_sdk_sfn::Client,
    machine: &str,
    limit: i32,
) -> Result<Vec<ExecutionRow>> {
    let list = sfn
        .list_executions()
        .state_machine_arn(machine)
        .max_results(limit)
        .send()
        .await
        .map_err(|e| sdk_error("listing executions", e))?;
    let mut rows = Vec::new();
    for e in list.executions() {
        let d = sfn
            .describe_execution()
            .execution_arn(e.execution_arn())
            .send()
            .await
            .map_err(|e| sdk_error("describing an execution", e))?;
        let output: serde_json::Value = d
            .output()
            .and_then(|o| serde_json::from_str(o).ok())
            .unwrap_or_default();
        rows.push(ExecutionRow {
            name: e.name().to_string(),
            status: e.status().as_str().to_string(),
            start: clock(e.start_date()),
            seconds: e
                .stop_date()
                .map(|s| (millis(s) - millis(e.start_date())) as f64 / 1000.0),
            partitions: output["partitions"]
                .as_u64()
                .or(output["partition_count"].as_u64()),
            rows: output["rows_in"].as_u64(),
        });
    }
    rows.sort_by(|a, b| b.start.cmp(&a.start));
    Ok(rows)
}

pub fn print_executions(rows: &[ExecutionRow]) {
    println!(
        "{:<40} {:<10} {:<21} {:>8} {:>10} {:>10}",
        "EXECUTION", "STATUS", "STARTED", "SECONDS", "PARTITIONS", "ROWS"
    );
    let opt = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
    for r in rows {
        println!(
            "{:<40} {:<10} {:<21} {:>8} {:>10} {:>10}",
            r.name,
            r.status,
            r.start,
            r.seconds.map_or("-".into(), |s| format!("{s:.1}")),
            opt(r.partitions),
            opt(r.rows)
        );
    }
}

/// Prints an execution's event history (by name or ARN).
pub async fn show(sfn: &aws_sdk_sfn::Client, machine: &str, execution: &str) -> Result<usize> {
    let arn = if execution.starts_with("arn:") {
        execution.to_string()
    } else {
        // arn:aws:states:REGION:ACCOUNT:stateMachine:NAME -> ...:execution:NAME:EXECUTION
        let (prefix, name) = machine
            .rsplit_once(":stateMachine:")
            .context("the state machine ARN has no :stateMachine:")?;
        format!("{prefix}:execution:{name}:{execution}")
    };
    let events = history(sfn, &arn).await?;
    for e in &events {
        if let Some(line) = describe_event(e) {
            println!("{}  {line}", clock(e.timestamp()));
        }
    }
    Ok(events.len())
}
