//! Faults that only a real account shows, read from `template.yaml` and the
//! state machine: each of these failed on the template before it was fixed.

use serde_json::Value as Json;
use serde_yaml_ng::Value;
use std::path::Path;

fn read(path: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

fn template() -> Value {
    serde_yaml_ng::from_str(&read("template.yaml")).expect("template.yaml")
}

/// The resources of a type, by logical id.
fn resources<'a>(t: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    t["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(kind))
        .map(|(k, r)| (k.as_str().expect("logical id"), r))
        .collect()
}

/// The logical id a `!GetAtt X.Arn` (or `!Ref X`) names.
fn referenced(v: &Value) -> Option<String> {
    let Value::Tagged(t) = v else { return None };
    let name = t.value.as_str()?;
    Some(name.split('.').next().unwrap_or(name).to_string())
}

/// A field that CloudFormation takes as one string or a list of them.
fn one_or_many(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Sequence(s) => s
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

fn depends_on(r: &Value) -> Vec<String> {
    one_or_many(&r["DependsOn"])
}

/// A stage with access logs needs API Gateway's account-level CloudWatch role
/// (docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html): in
/// an account or region where it was never set, the stage fails and the stack
/// rolls back. The stack must set it, and create the API after it.
#[test]
fn access_logs_come_with_the_account_cloudwatch_role() {
    let t = template();
    let apis: Vec<_> = resources(&t, "AWS::Serverless::Api")
        .into_iter()
        .chain(resources(&t, "AWS::ApiGateway::Stage"))
        .filter(|(_, r)| !r["Properties"]["AccessLogSetting"].is_null())
        .collect();
    assert!(!apis.is_empty(), "the API logs its access");
    let accounts = resources(&t, "AWS::ApiGateway::Account");
    assert_eq!(accounts.len(), 1, "one AWS::ApiGateway::Account");
    let (account_id, account) = accounts[0];
    let role_id = referenced(&account["Properties"]["CloudWatchRoleArn"])
        .expect("CloudWatchRoleArn is a !GetAtt of a role");
    let role = &t["Resources"][role_id.as_str()];
    assert_eq!(role["Type"].as_str(), Some("AWS::IAM::Role"));
    let trust = serde_json::to_string(&role["Properties"]["AssumeRolePolicyDocument"]).unwrap();
    assert!(trust.contains("apigateway.amazonaws.com"), "{trust}");
    let policies = serde_json::to_string(&role["Properties"]["ManagedPolicyArns"]).unwrap();
    assert!(
        policies.contains("AmazonAPIGatewayPushToCloudWatchLogs"),
        "{policies}"
    );
    assert_eq!(
        role["DeletionPolicy"].as_str(),
        Some("Retain"),
        "the account setting outlives the stack: so must its role"
    );
    for (id, api) in apis {
        assert!(
            depends_on(api).iter().any(|d| d == account_id),
            "{id} must depend on {account_id}"
        );
    }
}

/// S3 refuses a lifecycle rule whose expiration is not later than its
/// transitions: at `RawRetentionDays`' minimum the raw bucket's rule must hold.
#[test]
fn raw_retention_at_its_minimum_is_a_valid_lifecycle_rule() {
    let t = template();
    let min = t["Parameters"]["RawRetentionDays"]["MinValue"]
        .as_u64()
        .expect("RawRetentionDays has a MinValue");
    let rules = t["Resources"]["RawBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
        .as_sequence()
        .expect("the raw bucket's lifecycle rules");
    let mut checked = 0;
    for rule in rules {
        let Some(name) = referenced(&rule["ExpirationInDays"]) else {
            continue;
        };
        assert_eq!(name, "RawRetentionDays");
        for tr in rule["Transitions"].as_sequence().into_iter().flatten() {
            let days = tr["TransitionInDays"].as_u64().expect("TransitionInDays");
            assert!(
                min > days,
                "RawRetentionDays may be {min}, not later than the transition at {days} days"
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "the raw bucket's rule has a transition");
}

/// Every Task that retries Lambda's transient service errors retries all that
/// AWS lists (docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html).
#[test]
fn lambda_service_errors_are_all_retried() {
    const TRANSIENT: [&str; 5] = [
        "Lambda.ClientExecutionTimeoutException",
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
    ];
    let lambda = lambda_task_retriers();
    assert!(lambda.len() >= 3, "{} Lambda tasks", lambda.len());
    for (state, retriers) in lambda {
        let errors: Vec<&Json> = retriers
            .iter()
            .flat_map(|r| r["ErrorEquals"].as_array().unwrap())
            .collect();
        for e in TRANSIENT {
            assert!(
                errors.iter().any(|x| *x == e),
                "{state} does not retry {e}: {errors:?}"
            );
        }
    }
}

/// Each state with a Lambda task, with its retriers.
fn lambda_task_retriers() -> Vec<(String, Vec<Json>)> {
    let asl: Json = serde_json::from_str(&read("statemachine/pipeline.asl.json")).unwrap();
    fn walk(states: &Json, out: &mut Vec<(String, Vec<Json>)>) {
        for (name, state) in states.as_object().expect("States") {
            let retriers: Vec<Json> = state["Retry"].as_array().cloned().unwrap_or_default();
            let lambda = retriers.iter().any(|r| {
                r["ErrorEquals"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e.as_str().is_some_and(|e| e.starts_with("Lambda.")))
            });
            if lambda {
                out.push((name.clone(), retriers));
            }
            if let Some(inner) = state.get("ItemProcessor").and_then(|p| p.get("States")) {
                walk(inner, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&asl["States"], &mut out);
    out
}

/// Fault 6: a new account runs 10 Lambda executions at once
/// (docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html). The
/// Distributed Map takes at most half of them by default; a throttled task waits
/// minutes, not 30 seconds, before its partition fails (the first retrier that
/// matches is the one used: docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html);
/// Firehose retries a throttled transform more than its default 3 times
/// (docs.aws.amazon.com/firehose/latest/dev/data-transformation-failure-handling.html).
#[test]
fn a_ten_concurrency_account_is_survived() {
    let t = template();
    let concurrency = t["Parameters"]["MapMaxConcurrency"]["Default"]
        .as_u64()
        .expect("a number");
    assert!(
        concurrency <= 5,
        "MapMaxConcurrency defaults to {concurrency}"
    );
    for (state, retriers) in lambda_task_retriers() {
        let first = retriers
            .iter()
            .find(|r| {
                r["ErrorEquals"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e == "Lambda.TooManyRequestsException" || e == "States.ALL")
            })
            .unwrap_or_else(|| panic!("{state} does not retry throttles"));
        let (mut wait, mut interval) = (0.0, first["IntervalSeconds"].as_f64().unwrap_or(1.0));
        let cap = first["MaxDelaySeconds"].as_f64().unwrap_or(f64::MAX);
        for _ in 0..first["MaxAttempts"].as_u64().unwrap_or(3) {
            wait += interval.min(cap);
            interval *= first["BackoffRate"].as_f64().unwrap_or(2.0);
        }
        assert!(
            wait >= 120.0,
            "{state} waits at most {wait} s for a throttle"
        );
    }
    let stream = &t["Resources"]["TweetsDeliveryStream"]["Properties"];
    let params = stream["ExtendedS3DestinationConfiguration"]["ProcessingConfiguration"]
        ["Processors"][0]["Parameters"]
        .as_sequence()
        .unwrap();
    let retries = params
        .iter()
        .find(|p| p["ParameterName"].as_str() == Some("NumberOfRetries"))
        .and_then(|p| p["ParameterValue"].as_str())
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(3);
    assert!(
        retries >= 10,
        "Firehose retries a throttled transform {retries} times"
    );
}

/// Step Functions fails a state over 256 KB (`States.DataLimitExceeded`) and
/// SNS a message over 256 KB. The Distributed Map's results come back inline,
/// one per partition: a failed one must not carry its cause (up to 32 KB), and
/// no notification may publish the whole state.
#[test]
fn partition_failures_and_notices_stay_small() {
    let asl: Json = serde_json::from_str(&read("statemachine/pipeline.asl.json")).unwrap();
    let inner = &asl["States"]["ProcessPartitions"]["ItemProcessor"]["States"];
    let failed = &inner["PartitionFailed"]["Parameters"];
    assert!(failed.is_object(), "PartitionFailed shapes the failure");
    for (k, v) in failed.as_object().unwrap() {
        let v = v.as_str().unwrap_or_default();
        assert!(
            !v.contains("Cause"),
            "{k} carries the cause into the Map's inline results"
        );
    }
    for (name, state) in asl["States"].as_object().unwrap() {
        if state["Resource"] != "arn:aws:states:::sns:publish" {
            continue;
        }
        let message = state["Parameters"]["Message.$"]
            .as_str()
            .unwrap_or_default();
        assert!(
            message != "$" && message != "$$",
            "{name} publishes the whole state"
        );
    }
    assert!(asl["States"]["NotifyPartial"]["Parameters"]["Message.$"]
        .as_str()
        .unwrap()
        .starts_with("States.Format("));
}

/// A fixed `BucketName` fails three ways on a real account: an upper-case stack
/// name makes an invalid name, a long one passes 63 characters, and after
/// `sam delete` (which keeps the retained buckets) the next `sam deploy` fails
/// with "already exists". Buckets CloudFormation names itself avoid all three.
#[test]
fn buckets_are_named_by_cloudformation() {
    let t = template();
    let buckets = resources(&t, "AWS::S3::Bucket");
    assert!(buckets.len() >= 4, "{} buckets", buckets.len());
    for (id, b) in buckets {
        assert!(
            b["Properties"]["BucketName"].is_null(),
            "{id} has a fixed BucketName"
        );
    }
    // What code needs of a bucket's name it gets from !Ref (environment,
    // outputs): no name is spelled in the template.
    let text = read("template.yaml");
    for zone in ["-raw-", "-stage-", "-analytics-", "-access-logs-"] {
        assert!(
            !text.contains(&format!("${{AWS::StackName}}{zone}")),
            "a bucket name is spelled: {zone}"
        );
    }
}

/// An account's unreserved concurrency must stay at 100 or more, and new
/// accounts often have a quota of 10 in all
/// (docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html): the
/// stack reserved 317. With default parameters it reserves none.
#[test]
fn no_concurrency_is_reserved_by_default() {
    let t = template();
    let mut functions = 0;
    for (id, f) in resources(&t, "AWS::Serverless::Function") {
        functions += 1;
        let reserved = &f["Properties"]["ReservedConcurrentExecutions"];
        match reserved {
            Value::Null => {}
            // !If [HasXReservation, !Ref XReservedConcurrency, !Ref AWS::NoValue]
            Value::Tagged(tag) if tag.tag == "!If" => {
                let branches = tag.value.as_sequence().expect("!If's list");
                let condition = branches[0].as_str().expect("a condition");
                let parameter = referenced(&branches[1]).expect("!Ref of a parameter");
                assert_eq!(referenced(&branches[2]).as_deref(), Some("AWS::NoValue"));
                assert_eq!(
                    t["Parameters"][parameter.as_str()]["Default"].as_str(),
                    Some(""),
                    "{id}: {parameter} reserves nothing by default"
                );
                let c = serde_json::to_string(&t["Conditions"][condition]).unwrap();
                assert!(c.contains(&parameter) && c.contains("Equals"), "{c}");
            }
            other => panic!("{id} reserves {other:?} whatever the parameters"),
        }
    }
    assert_eq!(functions, tickerpulse_local::FUNCTIONS.len());
}

/// What the reserved concurrency of 1 guaranteed aggregate, the lease does:
/// held past the function's timeout, and waited out by the state machine.
#[test]
fn the_aggregate_lease_outlasts_the_function_and_the_state_machine_waits_it_out() {
    let t = template();
    let timeout = t["Resources"]["AggregateFunction"]["Properties"]["Timeout"]
        .as_i64()
        .expect("aggregate's Timeout");
    assert!(
        timeout * 1000 < tickerpulse_fn_aggregate::LEASE_MS,
        "a run that times out must not leave the lease to the next while it may still write"
    );
    let asl: Json = serde_json::from_str(&read("statemachine/pipeline.asl.json")).unwrap();
    let busy = asl["States"]["Aggregate"]["Retry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["ErrorEquals"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e == "TickerPulse.Busy")
        })
        .expect("Aggregate retries TickerPulse.Busy");
    let mut waited = 0.0;
    let mut interval = busy["IntervalSeconds"].as_f64().unwrap();
    for _ in 0..busy["MaxAttempts"].as_u64().unwrap() {
        waited += interval;
        interval = (interval * busy["BackoffRate"].as_f64().unwrap_or(2.0))
            .min(busy["MaxDelaySeconds"].as_f64().unwrap_or(f64::MAX));
    }
    assert!(
        waited * 1000.0 > tickerpulse_fn_aggregate::LEASE_MS as f64,
        "retries wait {waited} s in all"
    );
    assert!(
        busy["JitterStrategy"].is_null(),
        "full jitter could make the wait shorter than the lease"
    );
}

/// The API's access log says who called: the request id, the caller's Cognito
/// `sub` and the API key's id (issue #36's audit), as JSON.
#[test]
fn access_logs_name_the_caller_and_the_key() {
    let t = template();
    let format = t["Resources"]["RestApi"]["Properties"]["AccessLogSetting"]["Format"]
        .as_str()
        .expect("the stage's access log format");
    let fields: Json = serde_json::from_str(format).expect("a JSON format");
    for (field, variable) in [
        ("requestId", "$context.requestId"),
        ("sub", "$context.authorizer.claims.sub"),
        ("apiKeyId", "$context.identity.apiKeyId"),
    ] {
        assert_eq!(fields[field], variable, "{format}");
    }
}

/// The deploy instructions pass no secret as a command-line argument (shell
/// history and the process list keep arguments): secrets and passwords come
/// from a file or standard input (`file://`), the smoke password from the
/// environment (issue #36).
#[test]
fn the_deploy_instructions_pass_no_secret_as_an_argument() {
    for doc in ["README.md", "docs/sources.md"] {
        let text = read(doc);
        // The "Deploying" section, to the next heading of its level (the local
        // stack's throwaway passwords elsewhere are not secrets).
        let start = text.find("\n## Deploying").expect("a Deploying section");
        let section = &text[start + 1..];
        let end = section[3..].find("\n## ").map_or(section.len(), |e| e + 3);
        let mut checked = 0;
        for line in section[..end].lines() {
            checked += usize::from(line.contains("--secret-string") || line.contains("--password"));
            for flag in ["--secret-string", "--password", "--temporary-password"] {
                if let Some(rest) = line.split(flag).nth(1) {
                    let value = rest.trim_start().trim_start_matches(['=', ' ']);
                    assert!(
                        value.starts_with("file://"),
                        "{doc}: {flag} takes a value on the command line: {line}"
                    );
                }
            }
        }
        assert!(checked >= 2, "{doc}: the Deploying section sets no secret");
    }
}

/// A claim on an alert outlasts the Pulse run that holds it: a run still
/// delivering cannot be overtaken by an overlapping one.
#[test]
fn the_alert_lease_outlasts_the_pulse_function() {
    let t = template();
    let pulse = &t["Resources"]["PulseFunction"]["Properties"];
    let timeout = pulse["Timeout"].as_i64().expect("pulse's Timeout");
    let lease = match pulse["Environment"]["Variables"]["ALERT_LEASE_SECS"].as_i64() {
        Some(set) => set,
        None => tickerpulse_fn_pulse::DEFAULT_LEASE_SECS,
    };
    assert!(lease > timeout + 30, "lease {lease} s, timeout {timeout} s");
}

/// The gateway's own answers (a missing key's 403, a throttle's 429) reach a
/// browser on another origin only with the origin the stack allows: the
/// `CorsAllowOrigin` parameter, as the function's responses send it.
#[test]
fn gateway_responses_allow_the_configured_origin() {
    let api: Value = serde_yaml_ng::from_str(&read("api/openapi.yaml")).expect("openapi.yaml");
    let responses = api["x-amazon-apigateway-gateway-responses"]
        .as_mapping()
        .expect("gateway responses");
    assert!(responses.len() >= 2);
    for (kind, r) in responses {
        let origin = &r["responseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"];
        // Only when the parameter is set: empty means same origin, no header.
        let branches = origin["Fn::If"].as_sequence().expect("an Fn::If");
        assert_eq!(branches[0].as_str(), Some("HasCorsOrigin"), "{kind:?}");
        assert_eq!(
            branches[1]["Fn::Sub"].as_str(),
            Some("'${CorsAllowOrigin}'"),
            "{kind:?} sends {origin:?} whatever CorsAllowOrigin is"
        );
        assert_eq!(
            branches[2]["Ref"].as_str(),
            Some("AWS::NoValue"),
            "{kind:?}"
        );
    }
    let t = template();
    assert_eq!(
        t["Parameters"]["CorsAllowOrigin"]["Default"].as_str(),
        Some(""),
        "no other origin by default (issue #36)"
    );
    assert!(!t["Conditions"]["HasCorsOrigin"].is_null());
}

/// Left to Lambda, a function's log group is created on its first invocation
/// with no retention (billed forever) and outlives `sam delete`. Every function
/// logs to a group the stack owns, with a retention.
#[test]
fn every_function_logs_to_a_group_the_stack_owns() {
    let t = template();
    let functions = resources(&t, "AWS::Serverless::Function");
    assert_eq!(functions.len(), tickerpulse_local::FUNCTIONS.len());
    for (id, f) in functions {
        let group = referenced(&f["Properties"]["LoggingConfig"]["LogGroup"])
            .unwrap_or_else(|| panic!("{id} logs where Lambda puts it"));
        let g = &t["Resources"][group.as_str()];
        assert_eq!(g["Type"].as_str(), Some("AWS::Logs::LogGroup"), "{id}");
        assert!(
            g["Properties"]["RetentionInDays"].as_u64().is_some(),
            "{group} keeps logs forever"
        );
        assert!(g["DeletionPolicy"].is_null(), "{group} outlives the stack");
    }
}

/// The policy statements of a resource: SAM `Policies` entries with a
/// `Statement` list, and the `Statement` list of a `PolicyDocument` or `KeyPolicy`.
fn statements(r: &Value) -> Vec<&Value> {
    let p = &r["Properties"];
    let mut out = Vec::new();
    for doc in [&p["KeyPolicy"], &p["PolicyDocument"]] {
        out.extend(doc["Statement"].as_sequence().into_iter().flatten());
    }
    for policy in p["Policies"].as_sequence().into_iter().flatten() {
        out.extend(policy["Statement"].as_sequence().into_iter().flatten());
    }
    out
}

fn actions(s: &Value) -> Vec<String> {
    one_or_many(&s["Action"])
}

/// CloudWatch alarms cannot publish to a topic under the AWS-managed aws/sns
/// key, whose policy cannot grant cloudwatch.amazonaws.com
/// (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html):
/// every alarm's topic is unencrypted or under a key of the stack's whose
/// policy lets CloudWatch use it, and every other publisher may use that key.
#[test]
fn alarm_topics_are_under_a_key_cloudwatch_may_use() {
    let t = template();
    let mut topics: Vec<String> = resources(&t, "AWS::CloudWatch::Alarm")
        .iter()
        .flat_map(|(_, a)| {
            a["Properties"]["AlarmActions"]
                .as_sequence()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|v| referenced(&v))
        .collect();
    topics.sort();
    topics.dedup();
    assert!(!topics.is_empty(), "the alarms notify a topic");
    for topic in topics {
        let key = &t["Resources"][topic.as_str()]["Properties"]["KmsMasterKeyId"];
        if key.is_null() {
            continue;
        }
        let key = referenced(key)
            .unwrap_or_else(|| panic!("{topic} is under {key:?}, a key CloudWatch cannot use"));
        let kms = &t["Resources"][key.as_str()];
        assert_eq!(
            kms["Type"].as_str(),
            Some("AWS::KMS::Key"),
            "{topic}: {key}"
        );
        let grants_cloudwatch = statements(kms).iter().any(|s| {
            s["Effect"].as_str() == Some("Allow")
                && s["Principal"]["Service"].as_str() == Some("cloudwatch.amazonaws.com")
                && ["kms:Decrypt", "kms:GenerateDataKey*"]
                    .iter()
                    .all(|a| actions(s).iter().any(|x| x == a))
        });
        assert!(
            grants_cloudwatch,
            "{key}'s policy does not let CloudWatch use it"
        );
        // Whoever else publishes to the topic may use the key too.
        for (id, r) in resources(&t, "AWS::Serverless::StateMachine")
            .into_iter()
            .chain(resources(&t, "AWS::Serverless::Function"))
        {
            let publishes = r["Properties"]["Policies"]
                .as_sequence()
                .into_iter()
                .flatten()
                .any(|p| {
                    referenced(&p["SNSPublishMessagePolicy"]["TopicName"]).as_deref()
                        == Some(topic.as_str())
                });
            if publishes {
                let may = statements(r).iter().any(|s| {
                    referenced(&s["Resource"]).as_deref() == Some(key.as_str())
                        && actions(s).iter().any(|a| a == "kms:GenerateDataKey*")
                });
                assert!(may, "{id} publishes to {topic} but may not use {key}");
            }
        }
    }
}

/// S3 answers a GetObject of a missing key with 404 only to a caller allowed
/// s3:ListBucket on the bucket (docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html),
/// and that request carries no s3:prefix: a ListBucket grant under an
/// s3:prefix condition leaves a missing price file a 403 and the API a 500.
#[test]
fn a_missing_price_file_can_be_a_404() {
    let t = template();
    let grants: Vec<&Value> = resources(&t, "AWS::Serverless::Function")
        .into_iter()
        .flat_map(|(_, r)| statements(r))
        .filter(|s| s["Sid"].as_str() == Some("ListPrices"))
        .collect();
    assert!(
        !grants.is_empty(),
        "the reader of prices may list the bucket"
    );
    for s in grants {
        assert!(actions(s).iter().any(|a| a == "s3:ListBucket"));
        assert!(
            s["Condition"].is_null(),
            "ListPrices is conditioned ({:?}): a GetObject carries no s3:prefix",
            s["Condition"]
        );
    }
}

/// SAM names a ScheduleV2 schedule after its logical id unless told otherwise,
/// and schedule names are unique per account and region in a group
/// (docs.aws.amazon.com/scheduler/latest/APIReference/API_CreateSchedule.html):
/// a second stack would fail. Each schedule's name is CloudFormation's, or the stack's.
#[test]
fn schedules_are_named_per_stack() {
    let t = template();
    let mut schedules = 0;
    for (id, r) in resources(&t, "AWS::Serverless::Function")
        .into_iter()
        .chain(resources(&t, "AWS::Serverless::StateMachine"))
    {
        for (name, event) in r["Properties"]["Events"].as_mapping().into_iter().flatten() {
            if event["Type"].as_str() != Some("ScheduleV2") {
                continue;
            }
            schedules += 1;
            let p = &event["Properties"];
            let per_stack = p["OmitName"].as_bool() == Some(true)
                || format!("{:?}", p["Name"]).contains("AWS::StackName");
            assert!(per_stack, "{id}.{name:?}: a fixed schedule name");
        }
    }
    assert!(schedules >= 3, "{schedules} schedules");
}

/// EventBridge Scheduler invokes Lambda asynchronously, and Lambda retries a
/// failed asynchronous invocation twice on its own
/// (docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html):
/// the schedule's RetryPolicy does not stop those. A scheduled poll runs once.
#[test]
fn scheduled_functions_are_not_retried_by_lambda() {
    let t = template();
    let mut scheduled = 0;
    for (id, r) in resources(&t, "AWS::Serverless::Function") {
        let events = r["Properties"]["Events"]
            .as_mapping()
            .cloned()
            .unwrap_or_default();
        if !events
            .values()
            .any(|e| e["Type"].as_str() == Some("ScheduleV2"))
        {
            continue;
        }
        scheduled += 1;
        let retries = &r["Properties"]["EventInvokeConfig"]["MaximumRetryAttempts"];
        assert_eq!(
            retries.as_u64(),
            Some(0),
            "{id}: Lambda retries a failed poll twice"
        );
    }
    assert!(scheduled >= 2, "{scheduled} scheduled functions");
}

/// S3 delivers server access logs under the destination bucket's policy; with
/// ACLs on and no log-delivery grant the policy is all there is, so the log
/// bucket turns ACLs off and every logged bucket waits for that policy
/// (docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html).
#[test]
fn logged_buckets_wait_for_the_log_bucket_policy() {
    let t = template();
    let policies = resources(&t, "AWS::S3::BucketPolicy");
    let mut logged = 0;
    for (id, r) in resources(&t, "AWS::S3::Bucket") {
        let Some(target) =
            referenced(&r["Properties"]["LoggingConfiguration"]["DestinationBucketName"])
        else {
            continue;
        };
        logged += 1;
        let policy = policies
            .iter()
            .find(|(_, p)| {
                referenced(&p["Properties"]["Bucket"]).as_deref() == Some(target.as_str())
            })
            .map(|(pid, _)| pid.to_string())
            .unwrap_or_else(|| panic!("{target} has no bucket policy"));
        assert!(
            depends_on(r).contains(&policy),
            "{id} does not depend on {policy}"
        );
        let ownership = &t["Resources"][target.as_str()]["Properties"]["OwnershipControls"]
            ["Rules"][0]["ObjectOwnership"];
        assert_eq!(
            ownership.as_str(),
            Some("BucketOwnerEnforced"),
            "{target} keeps ACLs on"
        );
    }
    assert_eq!(logged, 3, "{logged} logged buckets");
}

/// Every function is in the errors and throttles alarms and on the dashboard's
/// errors, durations and throttles: `social` was in none of them, so it could
/// fail every poll unseen.
#[test]
fn every_function_is_alarmed_and_on_the_dashboard() {
    let t = template();
    let functions: Vec<&str> = resources(&t, "AWS::Serverless::Function")
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert!(functions.len() >= 10, "{functions:?}");
    for alarm in ["FunctionErrorsAlarm", "FunctionThrottlesAlarm"] {
        let metrics = t["Resources"][alarm]["Properties"]["Metrics"]
            .as_sequence()
            .cloned()
            .unwrap_or_default();
        let total = metrics
            .iter()
            .find(|m| m["ReturnData"].as_bool() == Some(true))
            .and_then(|m| m["Expression"].as_str())
            .unwrap_or_else(|| panic!("{alarm} returns no expression"))
            .to_string();
        for f in &functions {
            let id = metrics
                .iter()
                .find(|m| {
                    referenced(&m["MetricStat"]["Metric"]["Dimensions"][0]["Value"]).as_deref()
                        == Some(*f)
                })
                .and_then(|m| m["Id"].as_str())
                .unwrap_or_else(|| panic!("{alarm} has no metric of {f}"));
            assert!(
                total.contains(id),
                "{alarm}'s expression leaves out {f} ({id}): {total}"
            );
        }
    }
    let dashboards = resources(&t, "AWS::CloudWatch::Dashboard");
    assert_eq!(dashboards.len(), 1, "one dashboard");
    let body = match &dashboards[0].1["Properties"]["DashboardBody"] {
        Value::Tagged(sub) => sub.value.as_str().unwrap_or_default().to_string(),
        other => other.as_str().unwrap_or_default().to_string(),
    };
    for metric in ["Errors", "Duration", "Throttles"] {
        for f in &functions {
            let entry = format!(r#"["AWS/Lambda", "{metric}", "FunctionName", "${{{f}}}"]"#);
            assert!(
                body.contains(&entry),
                "the dashboard's {metric} leaves out {f}"
            );
        }
    }
}

/// Fault 8: docs/cost.md costs the schedule the template runs by default (every
/// 15 minutes: 2,880 runs in a 30-day month), not hourly runs alone.
#[test]
fn the_cost_table_counts_the_default_schedule() {
    let t = template();
    let default = t["Parameters"]["PipelineSchedule"]["Default"]
        .as_str()
        .expect("PipelineSchedule has a default");
    let minutes: u32 = match default
        .trim_start_matches("rate(")
        .trim_end_matches(')')
        .split_once(' ')
    {
        Some((n, "minutes" | "minute")) => n.parse().unwrap(),
        Some((n, "hours" | "hour")) => n.parse::<u32>().unwrap() * 60,
        other => panic!("unreadable schedule {default:?}: {other:?}"),
    };
    let runs = 30 * 24 * 60 / minutes;
    let text = read("docs/cost.md");
    let figure = format!("{},{:03} runs", runs / 1000, runs % 1000);
    assert!(
        text.contains(&figure),
        "docs/cost.md does not cost the default schedule ({default}: {figure})"
    );
}
