//! What each AWS call through the proxy asks of IAM, and AWS's answer when the
//! caller's role does not allow it.
//!
//! The actions, resources and condition keys follow the Service Authorization
//! Reference (docs.aws.amazon.com/service-authorization/latest/reference/):
//! S3 (`list_amazons3.html`: `ListObjectsV2` is `s3:ListBucket` with `s3:prefix`,
//! `HeadObject` is `s3:GetObject`, `DeleteObjects` is `s3:DeleteObject` per key,
//! `CopyObject` is `s3:GetObject` on the source and `s3:PutObject` on the target,
//! multipart uploads are `s3:PutObject`); DynamoDB (`list_amazondynamodb.html`:
//! the table's ARN, `table/T/index/I` for an index, `dynamodb:LeadingKeys` the
//! partition keys the call names); SNS `Publish` on the topic; EventBridge
//! `PutEvents` on each entry's bus; Firehose on the delivery stream; Secrets
//! Manager on the secret's ARN; Lambda `InvokeFunction` on the function;
//! Step Functions on the state machine or execution; API Gateway's control
//! plane (`list_amazonapigatewaymanagement.html`) as the HTTP method on the
//! path's ARN (`arn:aws:apigateway:REGION::/apikeys`).

use crate::iam::{Key, Request};
use bytes::Bytes;
use http::request::Parts;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// What the proxy knows of the stack to name resources.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub region: String,
    pub account: String,
    /// Table -> its partition key, and each index's.
    pub partition_keys: HashMap<String, (String, HashMap<String, String>)>,
    /// Secret name -> ARN.
    pub secrets: HashMap<String, String>,
    /// Topic ARN -> the ARN of its customer-managed key.
    pub topic_keys: HashMap<String, String>,
}

/// The access key a call is signed with (`Authorization` or a presigned URL's
/// `X-Amz-Credential`), and the service of its credential scope.
pub fn credential(parts: &Parts) -> Option<(String, String)> {
    let scope = match parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
    {
        Some(auth) => auth
            .split("Credential=")
            .nth(1)?
            .split([',', ' '])
            .next()?
            .to_string(),
        None => {
            let query = parts.uri.query()?;
            form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == "X-Amz-Credential")
                .map(|(_, v)| v.into_owned())?
        }
    };
    let mut fields = scope.split('/');
    let key = fields.next()?.to_string();
    let service = fields.nth(2)?.to_string();
    Some((key, service))
}

fn header<'a>(parts: &'a Parts, name: &str) -> &'a str {
    parts
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The authorizations a call needs (one each; all must be allowed). A call of a
/// service not named here is asked as `<service>:<Action>` on the account's ARN,
/// which only a `*` resource allows.
pub fn requests(parts: &Parts, body: &Bytes, service: &str, names: &Names) -> Vec<Request> {
    let (region, account) = (&names.region, &names.account);
    let target = header(parts, "x-amz-target");
    let json = || serde_json::from_slice::<Value>(body).unwrap_or(Value::Null);
    let text = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    match service {
        "s3" => s3_requests(parts, body),
        "dynamodb" => {
            let op = target.rsplit('.').next().unwrap_or_default();
            dynamodb_requests(op, &json(), names)
        }
        "lambda" => {
            let path = parts.uri.path();
            let function = path
                .strip_prefix("/2015-03-31/functions/")
                .and_then(|r| r.split('/').next())
                .map(decode)
                .unwrap_or_default();
            let name = match function.split_once(":function:") {
                Some((_, rest)) => rest.split(':').next().unwrap_or(rest).to_string(),
                None => function,
            };
            let action = if path.ends_with("/invocations") {
                "lambda:InvokeFunction".to_string()
            } else {
                format!("lambda:{}", lambda_action(parts))
            };
            vec![Request::new(
                &action,
                format!("arn:aws:lambda:{region}:{account}:function:{name}"),
            )]
        }
        "sns" => {
            let form: BTreeMap<String, String> = form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let action = form.get("Action").cloned().unwrap_or_default();
            let resource = form
                .get("TopicArn")
                .or_else(|| form.get("TargetArn"))
                .cloned()
                .unwrap_or_else(|| format!("arn:aws:sns:{region}:{account}:*"));
            let mut out = vec![Request::new(&format!("sns:{action}"), resource.clone())];
            // Publishing to a topic under a customer-managed key also uses the key
            // (docs.aws.amazon.com/sns/latest/dg/sns-key-management.html).
            if action == "Publish" {
                if let Some(key) = names.topic_keys.get(&resource) {
                    out.push(Request::new("kms:GenerateDataKey", key.clone()));
                    out.push(Request::new("kms:Decrypt", key.clone()));
                }
            }
            out
        }
        "apigateway" => {
            // The control plane (keys, usage plans): the HTTP method is the action
            // and the path the resource, in the region, with no account
            // (list_amazonapigatewaymanagement.html).
            let path = decode(parts.uri.path().trim_end_matches('/'));
            vec![Request::new(
                &format!("apigateway:{}", parts.method),
                format!("arn:aws:apigateway:{region}::{path}"),
            )]
        }
        _ if !target.is_empty() => {
            let op = target.rsplit('.').next().unwrap_or_default();
            let v = json();
            let action = format!("{service}:{op}");
            let resource = match (service, op) {
                ("firehose", _) => format!(
                    "arn:aws:firehose:{region}:{account}:deliverystream/{}",
                    text(&v, "DeliveryStreamName")
                ),
                ("secretsmanager", _) => {
                    let id = text(&v, "SecretId");
                    names.secrets.get(&id).cloned().unwrap_or_else(|| {
                        if id.starts_with("arn:") {
                            id
                        } else {
                            format!("arn:aws:secretsmanager:{region}:{account}:secret:{id}-000000")
                        }
                    })
                }
                ("events", "PutEvents") => {
                    let mut out = Vec::new();
                    for entry in v
                        .get("Entries")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        let bus = entry
                            .get("EventBusName")
                            .and_then(Value::as_str)
                            .unwrap_or("default");
                        let arn = if bus.starts_with("arn:") {
                            bus.to_string()
                        } else {
                            format!("arn:aws:events:{region}:{account}:event-bus/{bus}")
                        };
                        if !out.iter().any(|r: &Request| r.resource == arn) {
                            out.push(Request::new(&action, arn));
                        }
                    }
                    return out;
                }
                ("states", _) => {
                    let arn = text(&v, "stateMachineArn");
                    if arn.is_empty() {
                        let execution = text(&v, "executionArn");
                        if execution.is_empty() {
                            format!("arn:aws:states:{region}:{account}:*")
                        } else {
                            execution
                        }
                    } else {
                        arn
                    }
                }
                _ => format!("arn:aws:{service}:{region}:{account}:*"),
            };
            vec![Request::new(&action, resource)]
        }
        _ => {
            // Query-protocol calls of other services (CloudWatch, STS, ...).
            let action = form_urlencoded::parse(body)
                .find(|(k, _)| k == "Action")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            vec![Request::new(
                &format!("{service}:{action}"),
                format!("arn:aws:{service}:{region}:{account}:*"),
            )]
        }
    }
}

fn lambda_action(parts: &Parts) -> &'static str {
    match parts.method {
        http::Method::GET => "GetFunction",
        http::Method::DELETE => "DeleteFunction",
        _ => "UpdateFunctionConfiguration",
    }
}

/// S3's REST API, path-style (`/bucket/key?subresource`), as the SDK calls the
/// emulator.
fn s3_requests(parts: &Parts, body: &Bytes) -> Vec<Request> {
    let path = parts.uri.path().trim_start_matches('/');
    let (bucket, key) = match path.split_once('/') {
        Some((b, k)) => (decode(b), Some(decode(k)).filter(|k| !k.is_empty())),
        None => (decode(path), None),
    };
    let query: BTreeMap<String, String> =
        form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    let has = |k: &str| query.contains_key(k);
    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    let method = parts.method.as_str();
    if bucket.is_empty() {
        return vec![Request::new("s3:ListAllMyBuckets", "arn:aws:s3:::*")];
    }
    let Some(key) = key else {
        let action = match method {
            "GET" | "HEAD" if has("versions") => "s3:ListBucketVersions",
            "GET" if has("location") => "s3:GetBucketLocation",
            "GET" if has("uploads") => "s3:ListBucketMultipartUploads",
            "GET" if has("versioning") => "s3:GetBucketVersioning",
            "PUT" if has("versioning") => "s3:PutBucketVersioning",
            "GET" if has("notification") => "s3:GetBucketNotification",
            "PUT" if has("notification") => "s3:PutBucketNotification",
            "GET" if has("lifecycle") => "s3:GetLifecycleConfiguration",
            "PUT" if has("lifecycle") => "s3:PutLifecycleConfiguration",
            "POST" if has("delete") => {
                // DeleteObjects: s3:DeleteObject on every key it names.
                let text = String::from_utf8_lossy(body);
                return text
                    .split("<Key>")
                    .skip(1)
                    .filter_map(|s| s.split("</Key>").next())
                    .map(|k| {
                        Request::new(
                            "s3:DeleteObject",
                            format!("{bucket_arn}/{}", xml_unescape(k)),
                        )
                    })
                    .collect();
            }
            "GET" | "HEAD" => {
                let mut r = Request::new("s3:ListBucket", bucket_arn);
                for (q, k) in [
                    ("prefix", "s3:prefix"),
                    ("delimiter", "s3:delimiter"),
                    ("max-keys", "s3:max-keys"),
                ] {
                    if let Some(v) = query.get(q) {
                        r = r.with(k, Key::One(v.clone()));
                    }
                }
                return vec![r];
            }
            "PUT" => "s3:CreateBucket",
            "DELETE" => "s3:DeleteBucket",
            _ => "s3:ListBucket",
        };
        return vec![Request::new(action, bucket_arn)];
    };
    let object = format!("{bucket_arn}/{key}");
    let action = match method {
        "GET" | "HEAD" if has("tagging") => "s3:GetObjectTagging",
        "GET" | "HEAD" if has("versionId") => "s3:GetObjectVersion",
        "GET" if has("uploadId") => "s3:ListMultipartUploadParts",
        "GET" | "HEAD" => "s3:GetObject",
        "PUT" if has("tagging") => "s3:PutObjectTagging",
        "PUT" if has("acl") => "s3:PutObjectAcl",
        "PUT" | "POST" => {
            let mut out = vec![Request::new("s3:PutObject", object)];
            let source = header(parts, "x-amz-copy-source");
            if !source.is_empty() {
                let source = decode(source.split('?').next().unwrap_or_default());
                out.push(Request::new(
                    "s3:GetObject",
                    format!("arn:aws:s3:::{}", source.trim_start_matches('/')),
                ));
            }
            return out;
        }
        "DELETE" if has("uploadId") => "s3:AbortMultipartUpload",
        "DELETE" if has("versionId") => "s3:DeleteObjectVersion",
        "DELETE" => "s3:DeleteObject",
        _ => "s3:GetObject",
    };
    vec![Request::new(action, object)]
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// A DynamoDB attribute value's scalar form (`{"S": "x"}` -> `x`).
fn scalar(v: &Value) -> Option<String> {
    let (_, inner) = v.as_object()?.iter().next()?;
    match inner {
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn dynamodb_requests(op: &str, v: &Value, names: &Names) -> Vec<Request> {
    let (region, account) = (&names.region, &names.account);
    let table_arn = |t: &str| format!("arn:aws:dynamodb:{region}:{account}:table/{t}");
    let action = format!("dynamodb:{op}");
    let partition_key = |table: &str, index: Option<&str>| -> Option<String> {
        let (hash, indexes) = names.partition_keys.get(table)?;
        match index {
            Some(i) => indexes.get(i).cloned(),
            None => Some(hash.clone()),
        }
    };
    let leading = |table: &str, items: &[&Value]| -> Vec<String> {
        let Some(hash) = partition_key(table, None) else {
            return vec![];
        };
        let mut keys: Vec<String> = items
            .iter()
            .filter_map(|i| i.get(&hash).and_then(scalar))
            .collect();
        keys.sort();
        keys.dedup();
        keys
    };
    let with_keys = |r: Request, keys: Vec<String>| {
        if keys.is_empty() {
            r
        } else {
            r.with("dynamodb:LeadingKeys", Key::Many(keys))
        }
    };
    let table = v
        .get("TableName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match op {
        "BatchWriteItem" | "BatchGetItem" => {
            let mut out = Vec::new();
            for (t, entries) in v
                .get("RequestItems")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let items: Vec<&Value> = if op == "BatchWriteItem" {
                    entries
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|e| {
                            e.pointer("/PutRequest/Item")
                                .or_else(|| e.pointer("/DeleteRequest/Key"))
                        })
                        .collect()
                } else {
                    entries
                        .get("Keys")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .collect()
                };
                out.push(with_keys(
                    Request::new(&action, table_arn(t)),
                    leading(t, &items),
                ));
            }
            out
        }
        "GetItem" | "DeleteItem" | "UpdateItem" => {
            let items: Vec<&Value> = v.get("Key").into_iter().collect();
            vec![with_keys(
                Request::new(&action, table_arn(table)),
                leading(table, &items),
            )]
        }
        "PutItem" => {
            let items: Vec<&Value> = v.get("Item").into_iter().collect();
            vec![with_keys(
                Request::new(&action, table_arn(table)),
                leading(table, &items),
            )]
        }
        "Query" | "Scan" => {
            let index = v.get("IndexName").and_then(Value::as_str);
            let resource = match index {
                Some(i) => format!("{}/index/{i}", table_arn(table)),
                None => table_arn(table),
            };
            let mut r = Request::new(&action, resource);
            if op == "Query" {
                if let Some(key) = partition_key(table, index).and_then(|h| query_partition(v, &h))
                {
                    r = r.with("dynamodb:LeadingKeys", Key::Many(vec![key]));
                }
            }
            vec![r]
        }
        "ListTables" | "DescribeLimits" | "DescribeEndpoints" => {
            vec![Request::new(
                &action,
                format!("arn:aws:dynamodb:{region}:{account}:table/*"),
            )]
        }
        _ if !table.is_empty() => vec![Request::new(&action, table_arn(table))],
        _ => vec![Request::new(
            &action,
            format!("arn:aws:dynamodb:{region}:{account}:table/*"),
        )],
    }
}

/// The partition key value a Query's `KeyConditionExpression` names
/// (`#pk = :v` or `pk = :v`, ANDed with a sort key condition).
fn query_partition(v: &Value, hash: &str) -> Option<String> {
    let expression = v.get("KeyConditionExpression")?.as_str()?;
    let names = v.get("ExpressionAttributeNames");
    let values = v.get("ExpressionAttributeValues")?;
    for clause in expression.split(" AND ").flat_map(|c| c.split(" and ")) {
        let Some((left, right)) = clause.split_once('=') else {
            continue;
        };
        if left.ends_with(['<', '>', '!']) {
            continue;
        }
        let left = left.trim().trim_start_matches('(');
        let attr = if left.starts_with('#') {
            names?.get(left)?.as_str()?.to_string()
        } else {
            left.to_string()
        };
        if attr == hash {
            let placeholder = right.trim().trim_end_matches(')');
            return values.get(placeholder).and_then(scalar);
        }
    }
    None
}

/// AWS's refusal, in each protocol's form (SNS's `KMSAccessDenied`, 400, when the
/// key is what the publisher lacks): S3's XML `AccessDenied` (403,
/// docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html), SNS's query
/// `AuthorizationError` (403, docs.aws.amazon.com/sns/latest/api/API_Publish.html),
/// Lambda's `AccessDeniedException` (403 with `x-amzn-ErrorType`), and the JSON
/// protocols' `AccessDeniedException` (400,
/// docs.aws.amazon.com/amazondynamodb/latest/APIReference/CommonErrors.html).
pub fn denied_reply(
    service: &str,
    head: bool,
    message: &str,
) -> http::Response<http_body_util::Full<Bytes>> {
    let escaped = message
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let (status, content_type, error_type, body) = match service {
        // SNS's answer when the publisher may not use the topic's key.
        "sns" if message.contains(" kms:") => (
            400,
            "text/xml",
            "KMSAccessDenied",
            format!(
                "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>Sender</Type><Code>KMSAccessDenied</Code><Message>{escaped}</Message></Error><RequestId>LOCAL</RequestId></ErrorResponse>"
            ),
        ),
        "s3" => (
            403,
            "application/xml",
            "AccessDenied",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>{escaped}</Message><RequestId>LOCAL</RequestId><HostId>LOCAL</HostId></Error>"
            ),
        ),
        "sns" => (
            403,
            "text/xml",
            "AuthorizationError",
            format!(
                "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>Sender</Type><Code>AuthorizationError</Code><Message>{escaped}</Message></Error><RequestId>LOCAL</RequestId></ErrorResponse>"
            ),
        ),
        "apigateway" => (
            403,
            "application/json",
            "AccessDeniedException",
            serde_json::json!({"message": message}).to_string(),
        ),
        "lambda" => (
            403,
            "application/json",
            "AccessDeniedException",
            serde_json::json!({"Type": "User", "Message": message}).to_string(),
        ),
        _ => (
            400,
            "application/x-amz-json-1.0",
            "AccessDeniedException",
            serde_json::json!({"__type": "AccessDeniedException", "message": message}).to_string(),
        ),
    };
    let body = if head {
        Bytes::new()
    } else {
        Bytes::from(body)
    };
    http::Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("x-amzn-errortype", error_type)
        .header("x-amzn-requestid", "LOCAL")
        .body(http_body_util::Full::new(body))
        .expect("a static response")
}

/// AWS's answer to a key it never issued (`InvalidClientTokenId`, 403,
/// docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html; S3 says
/// `InvalidAccessKeyId`).
pub fn unknown_key_reply(service: &str, key: &str) -> http::Response<http_body_util::Full<Bytes>> {
    let message =
        format!("The security token included in the request is invalid (access key {key})");
    let (code, body) = if service == "s3" {
        (
            "InvalidAccessKeyId",
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id you provided does not exist in our records.</Message><AWSAccessKeyId>{key}</AWSAccessKeyId></Error>"),
        )
    } else {
        (
            "UnrecognizedClientException",
            serde_json::json!({"__type": "UnrecognizedClientException", "message": message})
                .to_string(),
        )
    };
    http::Response::builder()
        .status(403)
        .header("x-amzn-errortype", code)
        .body(http_body_util::Full::new(Bytes::from(body)))
        .expect("a static response")
}
