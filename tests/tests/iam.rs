//! IAM on the local stack: every function signs its calls with its role's key, and
//! the proxy allows only what the template's policies for that role allow, refusing
//! the rest as AWS does (docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_s3::error::ProvideErrorMetadata;
use std::collections::BTreeMap;
use tickerpulse_e2e::{root, scratch_dir};
use tickerpulse_local::{LocalStack, Template};

async fn stack_of(name: &str, template: Template) -> LocalStack {
    LocalStack::start(
        template,
        &scratch_dir(name),
        tickerpulse::functions::invoker(),
    )
    .await
    .expect("starting the local stack")
}

fn template() -> Template {
    Template::load(&root().join("template.yaml")).unwrap()
}

async fn sdk(env: &BTreeMap<String, String>) -> aws_config::SdkConfig {
    tickerpulse_aws::sdk::load(env).await
}

fn code<E, R>(e: &aws_sdk_s3::error::SdkError<E, R>) -> String
where
    E: aws_sdk_s3::error::ProvideErrorMetadata,
{
    e.as_service_error()
        .and_then(|s| s.code())
        .unwrap_or("none")
        .to_string()
}

/// An action no role of the template has is refused for every function, with the
/// protocol's AccessDenied; a key nobody was given is not a principal at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_no_role_has_is_refused() {
    let stack = stack_of("iam-none", template()).await;
    let operator = stack.env().unwrap();
    let table = operator["STATE_TABLE"].clone();
    let bucket = operator["RAW_BUCKET"].clone();
    for binary in tickerpulse_local::FUNCTIONS {
        let env = stack.function_env(binary).unwrap();
        let conf = sdk(&env).await;
        let ddb = aws_sdk_dynamodb::Client::new(&conf);
        let e = ddb
            .delete_table()
            .table_name(&table)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&e), "AccessDeniedException", "{binary}: {e:?}");
        let message = e
            .as_service_error()
            .and_then(|s| s.message())
            .unwrap_or_default()
            .to_string();
        assert!(
            message.contains("is not authorized to perform: dynamodb:DeleteTable")
                && message.contains(":assumed-role/"),
            "{binary}: {message}"
        );
        let s3 = tickerpulse_aws::sdk::s3_client(&conf);
        let e = s3.delete_bucket().bucket(&bucket).send().await.unwrap_err();
        assert_eq!(code(&e), "AccessDenied", "{binary}: {e:?}");
    }
    // The operator (an administrator) may; the table is still there after the refusals.
    let admin = aws_sdk_dynamodb::Client::new(&sdk(&operator).await);
    admin
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap();

    let mut stranger = operator.clone();
    stranger.insert("AWS_ACCESS_KEY_ID".into(), "AKIANOBODYGAVETHIS".into());
    let e = aws_sdk_dynamodb::Client::new(&sdk(&stranger).await)
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "UnrecognizedClientException", "{e:?}");
    stack.stop().await;
}

/// With `ListPrices` removed, the api role may still read prices, but S3 answers a
/// missing price file with 403 instead of 404 (what the template's fault #2 was);
/// with it, 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_removed_from_the_template_is_refused() {
    /// The error code of the api role's GetObject of `key` on `stack`.
    async fn refusal(stack: &LocalStack, key: &str) -> String {
        let env = stack.function_env("api").unwrap();
        let s3 = tickerpulse_aws::sdk::s3_client(&sdk(&env).await);
        let e = s3
            .get_object()
            .bucket(&env["ANALYTICS_BUCKET"])
            .key(key)
            .send()
            .await
            .unwrap_err();
        code(&e)
    }
    let full = stack_of("iam-full", template()).await;
    assert_eq!(refusal(&full, "prices/daily/NOPE.csv").await, "NoSuchKey");
    // Outside prices/, even an existing object is not the api's to read.
    let admin = tickerpulse_aws::sdk::s3_client(&sdk(&full.env().unwrap()).await);
    admin
        .put_object()
        .bucket(&full.env().unwrap()["ANALYTICS_BUCKET"])
        .key("lake/secret.txt")
        .body(b"x".to_vec().into())
        .send()
        .await
        .unwrap();
    assert_eq!(refusal(&full, "lake/secret.txt").await, "AccessDenied");
    full.stop().await;

    let mut cut = template();
    assert_eq!(cut.remove_statement("ListPrices"), 1);
    let stack = stack_of("iam-cut", cut).await;
    assert_eq!(
        refusal(&stack, "prices/daily/NOPE.csv").await,
        "AccessDenied"
    );
    stack.stop().await;
}

/// compact, clean and aggregate may read, write and delete the objects of the
/// bucket they own and list it, nothing more: not the bucket's lifecycle (its
/// expiry) nor an object's ACL, which `S3CrudPolicy` gave them (issue #36).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_of_the_lake_cannot_change_its_expiry_or_acls() {
    use aws_sdk_s3::types::{
        BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
        LifecycleRuleFilter, ObjectCannedAcl,
    };
    let stack = stack_of("iam-lake-writers", template()).await;
    for (binary, bucket_var) in [
        ("compact", "STAGE_BUCKET"),
        ("clean", "STAGE_BUCKET"),
        ("aggregate", "ANALYTICS_BUCKET"),
    ] {
        let env = stack.function_env(binary).unwrap();
        let bucket = env[bucket_var].clone();
        let s3 = tickerpulse_aws::sdk::s3_client(&sdk(&env).await);
        let key = format!("iam-test/{binary}.txt");
        s3.put_object()
            .bucket(&bucket)
            .key(&key)
            .body(b"x".to_vec().into())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{binary} writes its bucket: {e:?}"));
        s3.list_objects_v2()
            .bucket(&bucket)
            .prefix("iam-test/")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{binary} lists its bucket: {e:?}"));
        let rule = LifecycleRule::builder()
            .id("expire-everything")
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix("").build())
            .expiration(LifecycleExpiration::builder().days(1).build())
            .build()
            .unwrap();
        let e = s3
            .put_bucket_lifecycle_configuration()
            .bucket(&bucket)
            .lifecycle_configuration(
                BucketLifecycleConfiguration::builder()
                    .rules(rule)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&e), "AccessDenied", "{binary}: {e:?}");
        let e = s3
            .put_object_acl()
            .bucket(&bucket)
            .key(&key)
            .acl(ObjectCannedAcl::PublicRead)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&e), "AccessDenied", "{binary}: {e:?}");
        s3.delete_object()
            .bucket(&bucket)
            .key(&key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{binary} deletes its files: {e:?}"));
    }
    stack.stop().await;
}

/// ingest, track, plan and comply hold only their own partitions of the state table
/// (`dynamodb:LeadingKeys`): none of them may delete aggregate's lease or write
/// a run record, which `DynamoDBCrudPolicy` allowed (issue #36).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_table_is_scoped_per_function() {
    let stack = stack_of("iam-state", template()).await;
    let table = stack.env().unwrap()["STATE_TABLE"].clone();
    let key = |pk: &str, sk: &str| {
        std::collections::HashMap::from([
            ("PK".to_string(), AttributeValue::S(pk.into())),
            ("SK".to_string(), AttributeValue::S(sk.into())),
        ])
    };
    for (binary, own_pk) in [
        ("ingest", "cursor#q"),
        ("track", "changed#raw"),
        ("plan", "changed#raw"),
        ("comply", "comply"),
    ] {
        let env = stack.function_env(binary).unwrap();
        let ddb = aws_sdk_dynamodb::Client::new(&sdk(&env).await);
        let e = ddb
            .delete_item()
            .table_name(&table)
            .set_key(Some(key("lease", "aggregate")))
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&e), "AccessDeniedException", "{binary}: {e:?}");
        let e = ddb
            .put_item()
            .table_name(&table)
            .set_item(Some(key("runs", "2026-12-07T00:00:00Z#forged")))
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&e), "AccessDeniedException", "{binary}: {e:?}");
        // What each does to its own partition passes.
        let own = match binary {
            "plan" => ddb
                .query()
                .table_name(&table)
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(":pk", AttributeValue::S(own_pk.into()))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| format!("{e:?}")),
            _ => ddb
                .update_item()
                .table_name(&table)
                .set_key(Some(key(own_pk, "test")))
                .update_expression("SET Touched = :t")
                .expression_attribute_values(":t", AttributeValue::Bool(true))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| format!("{e:?}")),
        };
        own.unwrap_or_else(|e| panic!("{binary} on {own_pk}: {e:?}"));
    }
    stack.stop().await;
}

/// The social role's cursors statement holds it to `social#` partitions
/// (`dynamodb:LeadingKeys`); without the statement, its own cursors are refused too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditions_are_enforced_and_a_removed_statement_refuses() {
    let query = |client: aws_sdk_dynamodb::Client, table: String, pk: &'static str| async move {
        client
            .query()
            .table_name(table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(pk.into()))
            .send()
            .await
    };
    let stack = stack_of("iam-social", template()).await;
    let env = stack.function_env("social").unwrap();
    let table = env["STATE_TABLE"].clone();
    let ddb = aws_sdk_dynamodb::Client::new(&sdk(&env).await);
    query(ddb.clone(), table.clone(), "social#bluesky")
        .await
        .unwrap();
    let e = query(ddb, table.clone(), "cursor#x").await.unwrap_err();
    assert_eq!(code(&e), "AccessDeniedException", "{e:?}");
    stack.stop().await;

    let mut cut = template();
    assert_eq!(cut.remove_statement("SocialCursors"), 1);
    let stack = stack_of("iam-social-cut", cut).await;
    let env = stack.function_env("social").unwrap();
    let ddb = aws_sdk_dynamodb::Client::new(&sdk(&env).await);
    let e = query(ddb, table, "social#bluesky").await.unwrap_err();
    assert_eq!(code(&e), "AccessDeniedException", "{e:?}");
    stack.stop().await;
}

/// Every function and the state machine have a role with the template's policies,
/// and the Firehose delivery role is the stream's.
#[test]
fn every_role_comes_from_the_template() {
    let t = template();
    let roles = t.roles().unwrap();
    for f in t.functions().unwrap() {
        let role = t.role_of(&f.logical_id).unwrap();
        let spec = roles
            .iter()
            .find(|r| r.logical_id == role)
            .unwrap_or_else(|| panic!("{role}"));
        assert!(!spec.policies.is_empty(), "{role} has no policy");
    }
    for m in t.state_machines().unwrap() {
        assert!(roles
            .iter()
            .any(|r| r.logical_id == t.role_of(&m.logical_id).unwrap()));
    }
    for s in t.delivery_streams().unwrap() {
        let role = s.role.expect("a delivery role");
        assert!(roles.iter().any(|r| r.logical_id == role), "{role}");
    }
    // SAM's policy templates are expanded with their resources resolved.
    let api = roles
        .iter()
        .find(|r| r.logical_id == "ApiFunctionRole")
        .unwrap();
    let text = serde_json::to_string(&api.policies).unwrap();
    assert!(
        text.contains("arn:aws:dynamodb:us-east-1:123456789012:table/"),
        "{text}"
    );
    assert!(!text.contains("${"), "{text}");
    // Every role's documents are policies IAM would take.
    tickerpulse_local::iam::Roles::from_template(&t).unwrap();
}

/// The state machine publishes its failure notices to the alarm topic, which is
/// under a key of the stack's: without the statement that lets its role use the
/// key, SNS refuses the publish with `KMSAccessDenied`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_to_the_alarm_topic_needs_its_key() {
    let topic = |t: &Template| {
        let name = t
            .topics()
            .unwrap()
            .into_iter()
            .find(|t| t.logical_id == "AlarmTopic")
            .expect("the alarm topic")
            .name;
        format!("arn:aws:sns:us-east-1:123456789012:{name}")
    };
    let publish = |stack: &LocalStack, arn: String| {
        let mut env = stack.env().unwrap();
        // What moto's state-machine engine signs with: the state machine's role.
        env.insert(
            "AWS_ACCESS_KEY_ID".into(),
            tickerpulse_local::iam::STATE_MACHINE_ENGINE_KEY.into(),
        );
        async move {
            aws_sdk_sns::Client::new(&sdk(&env).await)
                .publish()
                .topic_arn(arn)
                .message("partition failed")
                .send()
                .await
        }
    };
    let full = template();
    let arn = topic(&full);
    let stack = stack_of("iam-kms", full).await;
    publish(&stack, arn.clone())
        .await
        .expect("the role may use the key");
    stack.stop().await;

    let mut cut = template();
    assert_eq!(cut.remove_statement("AlarmTopicKey"), 1);
    let stack = stack_of("iam-kms-cut", cut).await;
    let e = publish(&stack, arn).await.unwrap_err();
    assert_eq!(code(&e), "KMSAccessDenied", "{e:?}");
    stack.stop().await;
}

/// The api function makes users' keys in the users' plan only: it may not put
/// a key into another plan (a programmatic client's, with other limits) or
/// change a plan's limits; only the api role may touch keys at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_keys_go_into_the_users_plan_only() {
    let stack = stack_of("iam-keys", template()).await;
    let api = aws_sdk_apigateway::Client::new(&sdk(&stack.function_env("api").unwrap()).await);
    let key = api
        .create_api_key()
        .name("tickerpulse-user-someone.1")
        .enabled(true)
        .send()
        .await
        .expect("the api role creates keys");
    let id = key.id().unwrap();
    let plan = &stack
        .usage_plans
        .iter()
        .find(|p| p.name.ends_with("-users"))
        .expect("the users' plan in moto")
        .id;
    api.create_usage_plan_key()
        .usage_plan_id(plan)
        .key_id(id)
        .key_type("API_KEY")
        .send()
        .await
        .expect("into the users' plan");
    let e = api
        .create_usage_plan_key()
        .usage_plan_id("another-plan")
        .key_id(id)
        .key_type("API_KEY")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDeniedException", "{e:?}");
    let e = api
        .update_usage_plan()
        .usage_plan_id(plan)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDeniedException", "{e:?}");
    let ingest =
        aws_sdk_apigateway::Client::new(&sdk(&stack.function_env("ingest").unwrap()).await);
    let e = ingest.get_api_keys().send().await.unwrap_err();
    assert_eq!(code(&e), "AccessDeniedException", "{e:?}");
    api.delete_api_key()
        .api_key(id)
        .send()
        .await
        .expect("a rotated key goes");
    stack.stop().await;
}
