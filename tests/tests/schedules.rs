//! The template's schedules on the local stack, as EventBridge Scheduler and Lambda
//! run them: a scheduled function is invoked asynchronously, and a failed run is
//! retried as often as its `EventInvokeConfig` says (Lambda's default is twice;
//! docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html).
//! The pollers say zero: a failed poll must not spend X's budget three times.

use std::time::Duration;
use tickerpulse_e2e::{root, scratch_dir};
use tickerpulse_local::template::ScheduleTarget;
use tickerpulse_local::{LocalStack, Template};

fn template() -> Template {
    Template::load(&root().join("template.yaml")).unwrap()
}

async fn start(name: &str, t: Template) -> LocalStack {
    let stack = LocalStack::start(t, &scratch_dir(name), tickerpulse::functions::invoker())
        .await
        .expect("starting the local stack");
    let state = stack.proxy_state.as_ref().unwrap();
    *state.async_retry_delay.lock().unwrap() = Duration::from_millis(20);
    stack
}

#[test]
fn the_template_schedules_the_pollers_and_the_pipeline() {
    let t = template();
    let schedules = t.schedules().unwrap();
    let find = |n: &str| {
        schedules
            .iter()
            .find(|s| s.name == n)
            .unwrap_or_else(|| panic!("{n}"))
    };
    assert_eq!(
        find("IngestFunction.Poll").target,
        ScheduleTarget::Function("ingest".into())
    );
    assert_eq!(
        find("IngestFunction.Poll").period(),
        Some(Duration::from_secs(300))
    );
    assert_eq!(
        find("SocialFunction.Poll").period(),
        Some(Duration::from_secs(900))
    );
    assert!(find("SocialFunction.Poll").enabled);
    assert!(matches!(
        &find("PipelineStateMachine.Hourly").target,
        ScheduleTarget::StateMachine(arn) if arn.ends_with(":stateMachine:tickerpulse-pipeline")
    ));
    assert_eq!(
        find("PipelineStateMachine.Hourly").input.as_deref(),
        Some("{}")
    );
    let mut off = template();
    off.set_parameter("SocialSources", "none").unwrap();
    let schedules = off.schedules().unwrap();
    assert!(
        !schedules
            .iter()
            .find(|s| s.name == "SocialFunction.Poll")
            .unwrap()
            .enabled
    );
    for f in t.functions().unwrap() {
        // The scheduled pollers and comply keep their state between runs:
        // the next scheduled run goes on where a failed one stopped.
        let expected = if ["ingest", "social", "comply"].contains(&f.binary.as_str()) {
            0
        } else {
            2
        };
        assert_eq!(f.async_retries, expected, "{}", f.binary);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_scheduled_poll_runs_once_and_lambdas_default_is_three_times() {
    let stack = start("schedules", template()).await;
    stack
        .invoke_faults
        .fail("ingest", "Scheduled Event", "TickerPulse.Retryable");
    let run = stack.fire_schedule("IngestFunction.Poll").await.unwrap();
    let outcome = run.await.unwrap();
    assert!(outcome.result.is_err());
    assert_eq!(outcome.attempts, 1, "the poll was retried");
    // A scheduled run that succeeds: the real handler, asynchronously.
    stack.invoke_faults.clear();
    let outcome = stack
        .fire_schedule("IngestFunction.Poll")
        .await
        .unwrap()
        .await
        .unwrap();
    let report = outcome.result.expect("the poll succeeds");
    assert!(report["tweets"].as_u64().unwrap() > 0, "{report}");
    stack.stop().await;

    // The same function without the template's EventInvokeConfig: Lambda's two retries.
    let mut t = template();
    t.resource_mut("IngestFunction")
        .and_then(|r| r.get_mut("Properties"))
        .and_then(|p| p.as_mapping_mut())
        .unwrap()
        .remove("EventInvokeConfig")
        .expect("the template sets EventInvokeConfig");
    let stack = start("schedules-default", t).await;
    stack
        .invoke_faults
        .fail("ingest", "Scheduled Event", "TickerPulse.Retryable");
    let outcome = stack
        .fire_schedule("IngestFunction.Poll")
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(outcome.attempts, 3);
    stack.stop().await;
}
