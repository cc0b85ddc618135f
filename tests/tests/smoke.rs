//! `tickerpulse smoke` finds what a fresh deploy leaves undone: with the X
//! secret still the template's placeholder it fails that step, says what to
//! run, and still checks the rest.

use tickerpulse::smoke::{local_on, Step, Target, PLACEHOLDER_SECRET};
use tickerpulse_e2e::start_stack;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_placeholder_secret_fails_its_step_with_the_fix() {
    let stack = start_stack("smoke")
        .await
        .expect("starting the local stack");
    let env = stack.env().unwrap();
    let conf = tickerpulse_aws::sdk::load(&env).await;
    let secret = stack.template.outputs()["XBearerTokenSecretArn"].clone();
    aws_sdk_secretsmanager::Client::new(&conf)
        .put_secret_value()
        .secret_id(&secret)
        .secret_string(PLACEHOLDER_SECRET)
        .send()
        .await
        .unwrap();
    let mut steps: Vec<Step> = Vec::new();
    let ok = local_on(&stack, &mut |s| steps.push(s.clone()))
        .await
        .unwrap();
    assert!(!ok);
    let names: Vec<(&str, bool)> = steps.iter().map(|s| (s.name, s.passed)).collect();
    assert_eq!(
        names,
        [
            ("outputs", true),
            ("secret", false),
            ("firehose", true),
            ("raw zone", true),
            ("pipeline", true),
            ("api", true),
        ]
    );
    let line = steps[1].line();
    assert!(
        line.contains("put-secret-value") && line.contains(&secret),
        "{line}"
    );
    stack.stop().await;
}

#[test]
fn a_stack_without_the_outputs_is_named() {
    let err = Target::from_outputs(&Default::default(), None).unwrap_err();
    assert!(err.to_string().contains("has no output"), "{err}");
}
