//! The local stack's IAM evaluation against AWS's documented rules and examples.
//! Each case names the page it comes from (under docs.aws.amazon.com/IAM/latest/UserGuide/
//! unless a full address is given).

use serde_json::{json, Value};
use tickerpulse_local::iam::{evaluate, Decision, Key, Policy, Request};
use Decision::{Allow, ExplicitDeny, ImplicitDeny};

fn policy(statements: Value) -> Policy {
    Policy::parse(
        "test",
        &json!({ "Version": "2012-10-17", "Statement": statements }),
    )
    .unwrap()
}

fn decide(policies: &[Policy], request: &Request) -> Decision {
    evaluate(policies, request).unwrap()
}

fn one(v: &str) -> Key {
    Key::One(v.into())
}

fn many(v: &[&str]) -> Key {
    Key::Many(v.iter().map(|s| s.to_string()).collect())
}

const BUCKET: &str = "arn:aws:s3:::amzn-s3-demo-bucket";

/// reference_policies_evaluation-logic.html: an explicit deny in any policy
/// overrides an allow; without an allow the request is implicitly denied.
#[test]
fn explicit_deny_wins_and_nothing_allowed_is_denied() {
    let allow = policy(json!([{ "Effect": "Allow", "Action": "s3:*", "Resource": "*" }]));
    let deny = policy(json!([{ "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*" }]));
    let get = Request::new("s3:GetObject", format!("{BUCKET}/k"));
    let delete = Request::new("s3:DeleteObject", format!("{BUCKET}/k"));
    assert_eq!(decide(&[allow.clone(), deny.clone()], &get), Allow);
    assert_eq!(decide(&[allow, deny.clone()], &delete), ExplicitDeny);
    assert_eq!(decide(&[deny], &get), ImplicitDeny);
    assert_eq!(decide(&[], &get), ImplicitDeny);
}

/// reference_policies_elements_action.html: "The prefix and the action name are
/// case insensitive"; wildcards `*` and `?` match within the action.
#[test]
fn actions_are_case_insensitive_with_wildcards() {
    let p = policy(
        json!([{ "Effect": "Allow", "Action": ["iam:listaccesskeys", "s3:Get*", "sqs:?eleteMessage"], "Resource": "*" }]),
    );
    let r = |a: &str| {
        decide(
            std::slice::from_ref(&p),
            &Request::new(a, format!("{BUCKET}/k")),
        )
    };
    assert_eq!(r("IAM:ListAccessKeys"), Allow);
    assert_eq!(r("s3:GetObject"), Allow);
    assert_eq!(r("s3:PutObject"), ImplicitDeny);
    assert_eq!(r("sqs:DeleteMessage"), Allow);
    assert_eq!(r("sqs:DDeleteMessage"), ImplicitDeny);
}

/// reference_policies_elements_notaction.html: Allow with NotAction allows every
/// action but those listed (here, everything but IAM).
#[test]
fn not_action_allows_all_but_the_listed() {
    let p = policy(json!([{ "Effect": "Allow", "NotAction": "iam:*", "Resource": "*" }]));
    assert_eq!(
        decide(
            std::slice::from_ref(&p),
            &Request::new("s3:ListBucket", BUCKET)
        ),
        Allow
    );
    assert_eq!(
        decide(
            &[p],
            &Request::new("iam:CreateUser", "arn:aws:iam::123456789012:user/u")
        ),
        ImplicitDeny
    );
}

/// reference_policies_elements_notresource.html: a Deny with NotResource denies
/// every resource but the listed.
#[test]
fn not_resource_denies_all_but_the_listed() {
    let p = policy(json!([
        { "Effect": "Allow", "Action": "s3:*", "Resource": "*" },
        { "Effect": "Deny", "Action": "s3:*", "NotResource": [BUCKET, format!("{BUCKET}/*")] }
    ]));
    assert_eq!(
        decide(
            std::slice::from_ref(&p),
            &Request::new("s3:GetObject", format!("{BUCKET}/a"))
        ),
        Allow
    );
    assert_eq!(
        decide(
            &[p],
            &Request::new("s3:GetObject", "arn:aws:s3:::other-bucket/a")
        ),
        ExplicitDeny
    );
}

/// reference_policies_elements_resource.html: resource ARNs are case sensitive,
/// `*` and `?` are wildcards, and a table's ARN does not cover its indexes
/// (amazondynamodb/latest/developerguide/using-identity-based-policies.html lists
/// `table/name/index/*` separately, as SAM's DynamoDB policy templates do).
#[test]
fn resources_are_case_sensitive_and_tables_do_not_cover_indexes() {
    let table = "arn:aws:dynamodb:us-east-1:123456789012:table/Books";
    let p = policy(json!([
        { "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::Demo/*" },
        { "Effect": "Allow", "Action": "dynamodb:Query", "Resource": table },
        { "Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::demo/report-????.csv" }
    ]));
    let d = |a: &str, r: &str| decide(std::slice::from_ref(&p), &Request::new(a, r));
    assert_eq!(d("s3:GetObject", "arn:aws:s3:::Demo/a/b"), Allow);
    assert_eq!(d("s3:GetObject", "arn:aws:s3:::demo/a/b"), ImplicitDeny);
    assert_eq!(d("dynamodb:Query", table), Allow);
    assert_eq!(
        d("dynamodb:Query", &format!("{table}/index/ByDate")),
        ImplicitDeny
    );
    assert_eq!(
        d("s3:PutObject", "arn:aws:s3:::demo/report-2026.csv"),
        Allow
    );
    assert_eq!(
        d("s3:PutObject", "arn:aws:s3:::demo/report-26.csv"),
        ImplicitDeny
    );
}

/// reference_policies_condition-logic-multiple-context-keys-or-values.html: the
/// operators of a Condition are ANDed, the keys of an operator are ANDed, and the
/// values of a key are ORed.
#[test]
fn conditions_and_keys_are_anded_values_ored() {
    let p = policy(json!([{
        "Effect": "Allow", "Action": "s3:ListBucket", "Resource": BUCKET,
        "Condition": {
            "StringEquals": { "aws:PrincipalTag/dept": ["finance", "hr"], "aws:RequestedRegion": "us-east-1" },
            "Bool": { "aws:SecureTransport": "true" }
        }
    }]));
    let req = |dept: &str, region: &str, tls: &str| {
        Request::new("s3:ListBucket", BUCKET)
            .with("aws:PrincipalTag/dept", one(dept))
            .with("aws:RequestedRegion", one(region))
            .with("aws:SecureTransport", Key::Flag(tls == "true"))
    };
    let d = |r: Request| decide(std::slice::from_ref(&p), &r);
    assert_eq!(d(req("hr", "us-east-1", "true")), Allow);
    assert_eq!(d(req("finance", "us-east-1", "true")), Allow);
    assert_eq!(d(req("legal", "us-east-1", "true")), ImplicitDeny);
    assert_eq!(d(req("hr", "eu-west-1", "true")), ImplicitDeny);
    assert_eq!(d(req("hr", "us-east-1", "false")), ImplicitDeny);
}

/// reference_policies_elements_condition_operators.html: a key absent from the
/// request fails a condition, except a negated one (true), `...IfExists` (true),
/// and `Null` (which tests presence).
#[test]
fn missing_keys_follow_the_operator() {
    let with = |condition: Value| {
        policy(
            json!([{ "Effect": "Allow", "Action": "s3:ListBucket", "Resource": BUCKET, "Condition": condition }]),
        )
    };
    let bare = Request::new("s3:ListBucket", BUCKET);
    let d = |c: Value| decide(&[with(c)], &bare);
    assert_eq!(
        d(json!({ "StringEquals": { "s3:prefix": "prices/" } })),
        ImplicitDeny
    );
    assert_eq!(
        d(json!({ "StringLike": { "s3:prefix": "prices/*" } })),
        ImplicitDeny
    );
    assert_eq!(
        d(json!({ "StringNotEquals": { "s3:prefix": "secret/" } })),
        Allow
    );
    assert_eq!(
        d(json!({ "StringNotLike": { "s3:prefix": "secret/*" } })),
        Allow
    );
    assert_eq!(
        d(json!({ "StringEqualsIfExists": { "s3:prefix": "prices/" } })),
        Allow
    );
    assert_eq!(d(json!({ "Null": { "s3:prefix": "true" } })), Allow);
    assert_eq!(d(json!({ "Null": { "s3:prefix": "false" } })), ImplicitDeny);
    let present = bare.clone().with("s3:prefix", one("secret/x"));
    assert_eq!(
        decide(
            &[with(
                json!({ "StringEqualsIfExists": { "s3:prefix": "prices/" } })
            )],
            &present
        ),
        ImplicitDeny
    );
    assert_eq!(
        decide(
            &[with(json!({ "Null": { "s3:prefix": "false" } }))],
            &present
        ),
        Allow
    );
}

/// reference_policies_elements_condition_operators.html (string operators): a
/// negated operator holds only when the value matches none of the listed values;
/// `StringLike` is case sensitive, with `*` and `?`.
#[test]
fn negated_operators_match_none_of_the_values() {
    let p = policy(json!([{
        "Effect": "Allow", "Action": "s3:ListBucket", "Resource": BUCKET,
        "Condition": { "StringNotEquals": { "s3:prefix": ["secret/", "private/"] } }
    }]));
    let d = |prefix: &str| {
        decide(
            std::slice::from_ref(&p),
            &Request::new("s3:ListBucket", BUCKET).with("s3:prefix", one(prefix)),
        )
    };
    assert_eq!(d("public/"), Allow);
    assert_eq!(d("secret/"), ImplicitDeny);
    assert_eq!(d("private/"), ImplicitDeny);

    let like = policy(json!([{
        "Effect": "Allow", "Action": "s3:ListBucket", "Resource": BUCKET,
        "Condition": { "StringLike": { "s3:prefix": ["home/?/*"] } }
    }]));
    let l = |prefix: &str| {
        decide(
            std::slice::from_ref(&like),
            &Request::new("s3:ListBucket", BUCKET).with("s3:prefix", one(prefix)),
        )
    };
    assert_eq!(l("home/a/docs"), Allow);
    assert_eq!(l("home/ab/docs"), ImplicitDeny);
    assert_eq!(l("Home/a/docs"), ImplicitDeny);
}

/// reference_policies_condition-single-vs-multi-valued-context-keys.html:
/// ForAllValues holds when every request value matches a policy value, and also
/// when the key is absent or empty; ForAnyValue needs at least one match and is
/// false without the key. The DynamoDB fine-grained access example
/// (amazondynamodb/latest/developerguide/specifying-conditions.html) restricts
/// `dynamodb:LeadingKeys` this way.
#[test]
fn set_operators_on_multivalued_keys() {
    let all = policy(json!([{
        "Effect": "Allow", "Action": ["dynamodb:Query", "dynamodb:PutItem"],
        "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/State",
        "Condition": { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["social#*"] } }
    }]));
    let table = "arn:aws:dynamodb:us-east-1:123456789012:table/State";
    let d = |p: &Policy, r: Request| decide(std::slice::from_ref(p), &r);
    let q = || Request::new("dynamodb:Query", table);
    assert_eq!(
        d(
            &all,
            q().with("dynamodb:LeadingKeys", many(&["social#bluesky"]))
        ),
        Allow
    );
    assert_eq!(
        d(
            &all,
            q().with(
                "dynamodb:LeadingKeys",
                many(&["social#bluesky", "social#reddit"])
            )
        ),
        Allow
    );
    assert_eq!(
        d(
            &all,
            q().with("dynamodb:LeadingKeys", many(&["social#reddit", "cursor#x"]))
        ),
        ImplicitDeny
    );
    assert_eq!(
        d(&all, q().with("dynamodb:LeadingKeys", many(&["cursor#x"]))),
        ImplicitDeny
    );
    // True without the key: why AWS pairs it with Null for Allow statements.
    assert_eq!(d(&all, q()), Allow);

    let any = policy(json!([{
        "Effect": "Deny", "Action": "iam:TagUser", "Resource": "*",
        "Condition": { "ForAnyValue:StringEquals": { "aws:TagKeys": ["CostCenter", "Owner"] } }
    }]));
    let tag = || Request::new("iam:TagUser", "arn:aws:iam::123456789012:user/u");
    assert_eq!(
        d(&any, tag().with("aws:TagKeys", many(&["Dept", "Owner"]))),
        ExplicitDeny
    );
    assert_eq!(
        d(&any, tag().with("aws:TagKeys", many(&["Dept"]))),
        ImplicitDeny
    );
    assert_eq!(d(&any, tag()), ImplicitDeny);
}

/// reference_policies_elements_condition_operators.html (ARN operators): each of
/// the six colon-delimited parts is matched on its own.
#[test]
fn arn_like_matches_part_by_part() {
    let p = policy(json!([{
        "Effect": "Allow", "Action": "sns:Publish", "Resource": "*",
        "Condition": { "ArnLike": { "aws:SourceArn": "arn:aws:cloudwatch:*:123456789012:alarm:*" } }
    }]));
    let d = |arn: &str| {
        decide(
            std::slice::from_ref(&p),
            &Request::new("sns:Publish", "arn:aws:sns:us-east-1:123456789012:alarms")
                .with("aws:SourceArn", one(arn)),
        )
    };
    assert_eq!(
        d("arn:aws:cloudwatch:us-east-1:123456789012:alarm:HighErrors"),
        Allow
    );
    assert_eq!(
        d("arn:aws:cloudwatch:us-east-1:999999999999:alarm:HighErrors"),
        ImplicitDeny
    );
    assert_eq!(
        d("arn:aws:events:us-east-1:123456789012:alarm:x"),
        ImplicitDeny
    );
}

/// reference_policies_elements_condition_operators.html (numeric operators).
#[test]
fn numeric_conditions() {
    let p = policy(json!([{
        "Effect": "Allow", "Action": "s3:ListBucket", "Resource": BUCKET,
        "Condition": { "NumericLessThanEquals": { "s3:max-keys": "10" } }
    }]));
    let d = |n: &str| {
        decide(
            std::slice::from_ref(&p),
            &Request::new("s3:ListBucket", BUCKET).with("s3:max-keys", one(n)),
        )
    };
    assert_eq!(d("10"), Allow);
    assert_eq!(d("11"), ImplicitDeny);
}

/// A policy AWS would refuse is refused here too, rather than read as something else.
#[test]
fn malformed_policies_are_errors() {
    for bad in [
        json!({ "Statement": [{ "Effect": "Maybe", "Action": "s3:*", "Resource": "*" }] }),
        json!({ "Statement": [{ "Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": { "StringSortOf": { "s3:prefix": "a" } } }] }),
    ] {
        assert!(Policy::parse("bad", &bad).is_err(), "{bad}");
    }
}

/// IAM refuses a resource that is not an ARN ("MalformedPolicyDocument", e.g. a
/// secret's name where its ARN belongs).
#[test]
fn a_resource_that_is_not_an_arn_is_refused() {
    let bad = json!({ "Statement": [{ "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "tickerpulse/x-bearer-token" }] });
    assert!(Policy::parse("bad", &bad).is_err());
    // An ARN whose resource holds colons (a secret, a function version) is one.
    let ok = policy(
        json!([{ "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
        "Resource": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x-token-AbCdEf" }]),
    );
    let r = Request::new(
        "secretsmanager:GetSecretValue",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:x-token-AbCdEf",
    );
    assert_eq!(decide(&[ok], &r), Allow);
}
