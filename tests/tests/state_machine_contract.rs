//! The state machine and the functions agree: every Task of
//! `statemachine/pipeline.asl.json` names (through `DefinitionSubstitutions`)
//! a function of `template.yaml` that the workspace builds, and what each state
//! sends is what that function's handler accepts: the documented sample inputs
//! in `events/` and the payloads the definition builds deserialize into the
//! handlers' request types (which reject unknown fields).

use serde_json::{json, Value};
use std::path::Path;
use tickerpulse::functions::FUNCTIONS;

fn read(path: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

/// Every Task state, with nested Map processors.
fn tasks(states: &Value, out: &mut Vec<(String, Value)>) {
    for (name, state) in states.as_object().expect("States is an object") {
        if state["Type"] == "Task" {
            out.push((name.clone(), state.clone()));
        }
        if let Some(inner) = state.get("ItemProcessor").and_then(|p| p.get("States")) {
            tasks(inner, out);
        }
    }
}

/// A value for a payload field built from the execution (`$.partitions`, `$$.Execution.Name`...).
fn sample_field(key: &str) -> Value {
    match key {
        "partitions" => json!(["year=2020/month=04/day=15/hour=01"]),
        "run_id" => json!("scheduled-2020-04-15T02-00"),
        "versions" => json!({"year=2020/month=04/day=15/hour=01": 3}),
        "partition" => json!("year=2020/month=04/day=15/hour=01"),
        // The Map state's results: a clean result, and a partition that failed.
        "processed" => json!([
            {"partition": "year=2020/month=04/day=15/hour=01", "rows_in": 3},
            {"partition": "year=2020/month=04/day=15/hour=02", "failed": true, "error": "TickerPulse.Fatal", "cause": "..."}
        ]),
        // What a Catch puts in `$.error`.
        "failure" => {
            json!({"Error": "TickerPulse.InvalidInput", "Cause": "{\"errorMessage\": \"...\"}"})
        }
        other => panic!("the definition sends {other:?}: add a sample for it here"),
    }
}

fn accepts(binary: &str, payload: &Value) -> Result<(), String> {
    let p = payload.clone();
    let r = match binary {
        "plan" => serde_json::from_value::<tickerpulse_fn_plan::PlanRequest>(p).map(|_| ()),
        "compact" => serde_json::from_value::<tickerpulse_fn_compact::PartitionTask>(p).map(|_| ()),
        "clean" => serde_json::from_value::<tickerpulse_fn_clean::PartitionTask>(p).map(|_| ()),
        "aggregate" => {
            serde_json::from_value::<tickerpulse_fn_aggregate::AggregateRequest>(p).map(|_| ())
        }
        "pulse" => serde_json::from_value::<tickerpulse_fn_pulse::PulseRequest>(p).map(|_| ()),
        other => return Err(format!("no request type known for {other}")),
    };
    r.map_err(|e| e.to_string())
}

#[test]
fn every_task_names_a_built_function_and_sends_what_its_handler_accepts() {
    let asl: Value = serde_json::from_str(&read("statemachine/pipeline.asl.json")).expect("ASL");
    let template: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&read("template.yaml")).expect("template");
    let resources = &template["Resources"];
    let substitutions = &resources["PipelineStateMachine"]["Properties"]["DefinitionSubstitutions"];
    let mut found = Vec::new();
    tasks(&asl["States"], &mut found);
    let mut binaries = Vec::new();
    for (state, task) in &found {
        if task["Resource"] != "arn:aws:states:::lambda:invoke" {
            continue;
        }
        let reference = task["Parameters"]["FunctionName"]
            .as_str()
            .expect("FunctionName");
        let key = reference.trim_start_matches("${").trim_end_matches('}');
        // `!GetAtt XFunction.Arn`, as serde_yaml keeps the tag.
        let target = match &substitutions[key] {
            serde_yaml_ng::Value::Tagged(t) => t.value.as_str().unwrap_or_default().to_string(),
            other => panic!("{state}: substitution {key} is {other:?}"),
        };
        let logical = target.trim_end_matches(".Arn");
        let function = &resources[logical];
        assert_eq!(
            function["Type"].as_str(),
            Some("AWS::Serverless::Function"),
            "{state} -> {logical}"
        );
        let binary = function["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .expect("Binary");
        assert!(
            FUNCTIONS.contains(&binary),
            "{state}: {binary} is not a workspace function"
        );

        // What the state sends.
        let params = &task["Parameters"];
        let payloads: Vec<Value> = if params["Payload.$"] == "$" {
            // The state's input: the documented sample event (and, for plan, a scheduled run).
            let mut v = vec![
                serde_json::from_str(&read(&format!("events/{binary}.json"))).expect("event JSON"),
            ];
            if binary == "plan" {
                v.push(json!({}));
            }
            v
        } else {
            let fields = params["Payload"].as_object().expect("Payload object");
            vec![Value::Object(
                fields
                    .keys()
                    .map(|k| {
                        let name = k.trim_end_matches(".$");
                        (name.to_string(), sample_field(name))
                    })
                    .collect(),
            )]
        };
        for payload in payloads {
            accepts(binary, &payload)
                .unwrap_or_else(|e| panic!("{state} sends {payload} to {binary}: {e}"));
        }
        binaries.push(binary.to_string());
    }
    binaries.sort();
    assert_eq!(
        binaries,
        [
            "aggregate",
            "aggregate",
            "clean",
            "compact",
            "plan",
            "pulse"
        ],
        "the pipeline's function tasks (aggregate also records failed runs)"
    );
    // And a payload the handlers must refuse, so the check above can fail.
    assert!(accepts("compact", &json!({"partition": "x", "extra": 1})).is_err());
    assert!(accepts("pulse", &json!({"run": "x"})).is_err());
}
