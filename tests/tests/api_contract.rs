//! `api/openapi.yaml` is what API Gateway deploys: the template includes it,
//! every operation goes to the api function through the proxy integration, the
//! data endpoints need the API key, and the routes the gateway serves without a
//! key are the ones `tickerpulse serve` serves without one.

use serde_yaml_ng::Value;
use tickerpulse_e2e::root;

fn load(path: &str) -> Value {
    let text = std::fs::read_to_string(root().join(path)).unwrap();
    serde_yaml_ng::from_str(&text).unwrap()
}

#[test]
fn the_template_deploys_the_openapi_file_and_every_operation_reaches_the_function() {
    let template = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    assert!(
        template.contains("Location: api/openapi.yaml"),
        "the RestApi includes the OpenAPI file"
    );
    let doc = load("api/openapi.yaml");
    assert_eq!(
        doc["openapi"].as_str(),
        Some("3.0.1"),
        "API Gateway imports OpenAPI 3.0"
    );
    assert_eq!(
        doc["x-amazon-apigateway-request-validator"].as_str(),
        Some("params")
    );
    let paths = doc["paths"].as_mapping().unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        let path = path.as_str().unwrap();
        for (method, op) in item.as_mapping().unwrap() {
            let method = method.as_str().unwrap();
            if method == "parameters" {
                continue;
            }
            operations += 1;
            let integration = &op["x-amazon-apigateway-integration"];
            assert_eq!(
                integration["type"].as_str(),
                Some("aws_proxy"),
                "{method} {path}"
            );
            let uri = integration["uri"]["Fn::Sub"].as_str().unwrap();
            assert!(uri.contains("${ApiFunction.Arn}"), "{method} {path}: {uri}");
            let needs = |scheme: &str| {
                op["security"]
                    .as_sequence()
                    .is_some_and(|s| s.iter().any(|r| r.get(scheme).is_some()))
            };
            let keyed = needs("api_key");
            // A path template stands for its concrete paths.
            let concrete = path
                .replace("{asset}", "app.js")
                .replace("{ticker}", "TSLA")
                .replace("{id}", "0001733400000000-00c0ffee");
            assert_eq!(
                tickerpulse_local::apigw::security(&method.to_uppercase(), &concrete),
                tickerpulse_local::apigw::Security {
                    api_key: keyed,
                    user: needs("cognito"),
                },
                "{method} {path}: the gateway and `tickerpulse serve` agree on its security"
            );
            if needs("cognito") {
                assert!(
                    op["responses"].as_mapping().unwrap().contains_key("401"),
                    "{method} {path} documents the authorizer's 401"
                );
            }
            if method == "get" && keyed {
                let responses = op["responses"].as_mapping().unwrap();
                for status in ["200", "400", "403"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} documents {status}"
                    );
                }
            }
        }
    }
    assert!(operations >= 20, "{operations} operations");
}

#[test]
fn every_route_of_the_handler_is_in_the_openapi_file() {
    let doc = load("api/openapi.yaml");
    let paths: Vec<&str> = doc["paths"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap())
        .collect();
    let handler = std::fs::read_to_string(root().join("functions/api/src/lib.rs")).unwrap();
    for route in handler
        .lines()
        .filter_map(|l| l.trim().strip_prefix('"'))
        .filter_map(|l| l.split_once("\" =>").map(|(r, _)| r))
        .filter(|r| r.starts_with('/'))
    {
        assert!(
            paths.contains(&route),
            "{route} is served but not in the OpenAPI file"
        );
    }
    assert!(paths.contains(&"/tickers/{ticker}/trend"));
}

#[test]
fn the_authorizer_is_the_stacks_user_pool_and_the_editors_group_is_the_functions() {
    let doc = load("api/openapi.yaml");
    let scheme = &doc["components"]["securitySchemes"]["cognito"];
    assert_eq!(scheme["in"].as_str(), Some("header"));
    assert_eq!(scheme["name"].as_str(), Some("Authorization"));
    let authorizer = &scheme["x-amazon-apigateway-authorizer"];
    assert_eq!(authorizer["type"].as_str(), Some("cognito_user_pools"));
    assert_eq!(
        authorizer["providerARNs"][0]["Fn::GetAtt"][0].as_str(),
        Some("UserPool")
    );
    let template = load("template.yaml");
    let resources = &template["Resources"];
    assert_eq!(
        resources["UserPool"]["Type"].as_str(),
        Some("AWS::Cognito::UserPool")
    );
    assert_eq!(
        resources["EditorsGroup"]["Properties"]["GroupName"].as_str(),
        Some(tickerpulse_fn_api::access::EDITORS_GROUP),
        "the api function lets the template's group write"
    );
    // Users' own keys: the function names the users' plan it adds them to, and
    // may add keys to that plan only.
    let env = &resources["ApiFunction"]["Properties"]["Environment"]["Variables"];
    let plan_ref =
        serde_yaml_ng::to_string(&env[tickerpulse_aws::apikeys::USER_USAGE_PLAN_ID]).unwrap();
    assert_eq!(plan_ref.trim(), "!Ref UsersUsagePlan");
    assert_eq!(
        resources["UsersUsagePlan"]["Type"].as_str(),
        Some("AWS::ApiGateway::UsagePlan")
    );
    let policies =
        serde_yaml_ng::to_string(&resources["ApiFunction"]["Properties"]["Policies"]).unwrap();
    assert!(
        policies.contains("/usageplans/${UsersUsagePlan}/keys"),
        "{policies}"
    );
    // Rotating a key needs a user, not a key (the key may be what leaked).
    let security = serde_yaml_ng::to_string(&doc["paths"]["/me/key"]["post"]["security"]).unwrap();
    assert_eq!(security.trim(), "- cognito: []");
    // Writes are routes that need a user and a key.
    for (path, method) in [("/alerts", "post"), ("/alerts/{id}", "delete")] {
        let security = doc["paths"][path][method]["security"][0].clone();
        assert!(
            security.get("cognito").is_some() && security.get("api_key").is_some(),
            "{method} {path}"
        );
    }
}
