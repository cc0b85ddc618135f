//! Reads `template.yaml`, the one place where TickerPulse's resources are declared,
//! and resolves the intrinsic functions the local stack needs (`!Ref`, `!Sub`,
//! `!GetAtt`) for a given stack name, account and region.

use anyhow::{anyhow, bail, Context, Result};
use serde_yaml_ng::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod roles;
pub use roles::{sam_policy_templates_path, RoleSpec};

/// The account and region the local stack pretends to be (moto's defaults).
pub const LOCAL_ACCOUNT: &str = "123456789012";
pub const LOCAL_REGION: &str = "us-east-1";
pub const LOCAL_STACK_NAME: &str = "tickerpulse";

#[derive(Debug, Clone)]
pub struct Template {
    pub path: PathBuf,
    resources: serde_yaml_ng::Mapping,
    outputs: serde_yaml_ng::Mapping,
    conditions: serde_yaml_ng::Mapping,
    parameters: BTreeMap<String, String>,
    /// Each parameter's `AllowedValues`, where it has them.
    allowed: BTreeMap<String, Vec<String>>,
    /// The parameters set by `set_parameter`, in order.
    overridden: Vec<(String, String)>,
    globals_env: BTreeMap<String, Value>,
    stack_name: String,
    account: String,
    region: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BucketSpec {
    pub logical_id: String,
    pub name: String,
    pub versioned: bool,
    pub eventbridge: bool,
    /// The enabled lifecycle rules' expiry actions (transitions change no
    /// content and are not emulated).
    pub lifecycle: Vec<LifecycleRule>,
}

/// One enabled rule of a bucket's `LifecycleConfiguration`: what expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleRule {
    pub id: String,
    /// `Prefix` (empty: the whole bucket).
    pub prefix: String,
    /// `ExpirationInDays`: current versions expire this long after written.
    pub expiration_days: Option<i32>,
    /// `NoncurrentVersionExpiration.NoncurrentDays`.
    pub noncurrent_days: Option<i32>,
    /// `ExpiredObjectDeleteMarker`: a delete marker left alone is removed.
    pub expired_object_delete_marker: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KeyAttr {
    pub name: String,
    /// `S`, `N` or `B`
    pub attr_type: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IndexSpec {
    pub name: String,
    pub hash: String,
    pub range: Option<String>,
    /// `ALL`, `KEYS_ONLY` or `INCLUDE`.
    pub projection: String,
    /// The non-key attributes of an `INCLUDE` projection.
    pub include: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TableSpec {
    pub logical_id: String,
    pub name: String,
    pub hash: String,
    pub range: Option<String>,
    pub attributes: Vec<KeyAttr>,
    pub indexes: Vec<IndexSpec>,
    pub ttl_attribute: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryStreamSpec {
    pub logical_id: String,
    pub name: String,
    pub bucket: String,
    pub prefix: String,
    pub error_prefix: String,
    pub compression: String,
    /// Physical name of the transformation function, if any.
    pub processor: Option<String>,
    /// The logical id of the role Firehose delivers as (`RoleARN`).
    pub role: Option<String>,
    /// The processor's `NumberOfRetries` (Firehose's default: 3).
    pub processor_retries: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FunctionSpec {
    pub logical_id: String,
    /// Physical name (`FunctionName`).
    pub name: String,
    /// The Cargo binary (`Metadata.BuildProperties.Binary`).
    pub binary: String,
    pub environment: BTreeMap<String, String>,
    /// How often Lambda retries a failed asynchronous invocation:
    /// `EventInvokeConfig.MaximumRetryAttempts`, else Lambda's default, 2
    /// (docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html).
    pub async_retries: u32,
}

/// What a schedule (`Type: ScheduleV2`) starts.
#[derive(Debug, Clone, PartialEq)]
pub enum ScheduleTarget {
    /// A function, by Cargo binary, invoked asynchronously.
    Function(String),
    /// A state machine, by ARN.
    StateMachine(String),
}

/// An EventBridge Scheduler schedule the template declares on a function or
/// state machine.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleSpec {
    /// `<owner logical id>.<event name>`, e.g. `IngestFunction.Poll`.
    pub name: String,
    pub target: ScheduleTarget,
    /// `rate(5 minutes)`.
    pub expression: String,
    pub enabled: bool,
    /// The schedule's `Input`, if any.
    pub input: Option<String>,
}

impl ScheduleSpec {
    /// The period of a `rate(...)` expression (a `cron(...)` one has none here).
    pub fn period(&self) -> Option<std::time::Duration> {
        let inner = self.expression.strip_prefix("rate(")?.strip_suffix(')')?;
        let (n, unit) = inner.split_once(' ')?;
        let n: u64 = n.parse().ok()?;
        let secs = match unit.trim_end_matches('s') {
            "minute" => 60,
            "hour" => 3_600,
            "day" => 86_400,
            _ => return None,
        };
        Some(std::time::Duration::from_secs(n * secs))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StateMachineSpec {
    pub logical_id: String,
    pub name: String,
    /// What `!Ref` gives: the state machine's ARN.
    pub arn: String,
    pub definition: String,
}

/// A Cognito user pool with its app clients and groups.
#[derive(Debug, Clone, PartialEq)]
pub struct UserPoolSpec {
    pub logical_id: String,
    pub name: String,
    /// `Policies.PasswordPolicy.MinimumLength` (moto holds passwords to it).
    pub password_min_length: Option<i32>,
    pub admin_create_only: bool,
    /// `MfaConfiguration` (`OFF`, `ON`, `OPTIONAL`), resolved.
    pub mfa: String,
    /// `EnabledMfas` has `SOFTWARE_TOKEN_MFA`.
    pub totp: bool,
    /// `(logical id, client name, explicit auth flows)`.
    pub clients: Vec<(String, String, Vec<String>)>,
    pub groups: Vec<String>,
}

/// A usage plan: its name (what `!Ref` resolves to locally until moto gives
/// the plan an id) and its throttle.
#[derive(Debug, Clone, PartialEq)]
pub struct UsagePlanSpec {
    pub logical_id: String,
    pub name: String,
    pub rate: f64,
    pub burst: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TopicSpec {
    pub logical_id: String,
    pub name: String,
    /// The ARN of the topic's key when it is one of the stack's own
    /// (`KmsMasterKeyId: !Ref AKey`): publishers then need `kms:GenerateDataKey*`
    /// and `kms:Decrypt` on it. An AWS-managed key (`alias/aws/sns`) needs neither.
    pub kms_key_arn: Option<String>,
}

/// The name CloudFormation gives a bucket declared without `BucketName`:
/// `stack-logicalid-suffix`, lower-cased, with the stack and logical id cut so
/// the whole fits S3's 63 characters (docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-name.html;
/// e.g. `tickerpulse-rawbucket-1x2y3z4w5v6u7`). CloudFormation's 13-character
/// suffix is random; here it is derived from `seed`, so a local stack's names
/// are the same on every start.
pub fn generated_bucket_name(stack: &str, logical_id: &str, seed: &str) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let key = format!("{stack}/{logical_id}/{seed}");
    let stable = |salt: &str| tickerpulse_core::hash::stable(format!("{salt}{key}").as_bytes());
    // 13 base-36 digits need 68 bits.
    let mut h = (u128::from(stable("a")) << 64) | u128::from(stable("b"));
    let suffix: String = (0..13)
        .map(|_| {
            let c = ALPHABET[(h % 36) as usize] as char;
            h /= 36;
            c
        })
        .collect();
    let clean = |s: &str, max: usize| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .map(|c| c.to_ascii_lowercase())
            .take(max)
            .collect::<String>()
            .trim_matches('-')
            .to_string()
    };
    // 63 = stack + '-' + logical + '-' + 13
    let logical = clean(logical_id, 20);
    let stack = clean(stack, 63 - 2 - 13 - logical.len());
    format!("{stack}-{logical}-{suffix}")
}

impl Template {
    /// Loads the template with the local stack's name, account and region.
    pub fn load(path: &Path) -> Result<Self> {
        Self::load_as(path, LOCAL_STACK_NAME, LOCAL_ACCOUNT, LOCAL_REGION)
    }

    pub fn load_as(path: &Path, stack_name: &str, account: &str, region: &str) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let doc: Value = serde_yaml_ng::from_str(&text)
            .with_context(|| format!("parsing {}", path.display()))?;
        let resources = doc
            .get("Resources")
            .and_then(Value::as_mapping)
            .cloned()
            .ok_or_else(|| anyhow!("{} has no Resources", path.display()))?;
        let outputs = doc
            .get("Outputs")
            .and_then(Value::as_mapping)
            .cloned()
            .unwrap_or_default();
        let conditions = doc
            .get("Conditions")
            .and_then(Value::as_mapping)
            .cloned()
            .unwrap_or_default();
        let mut parameters = BTreeMap::new();
        let mut allowed = BTreeMap::new();
        if let Some(params) = doc.get("Parameters").and_then(Value::as_mapping) {
            for (k, v) in params {
                let key = k.as_str().unwrap_or_default().to_string();
                let default = v
                    .get("Default")
                    .map(scalar_to_string)
                    .transpose()?
                    .unwrap_or_default();
                if let Some(values) = v.get("AllowedValues").and_then(Value::as_sequence) {
                    let values = values
                        .iter()
                        .map(scalar_to_string)
                        .collect::<Result<Vec<_>>>()?;
                    allowed.insert(key.clone(), values);
                }
                parameters.insert(key, default);
            }
        }
        let globals_env = doc
            .get("Globals")
            .and_then(|g| g.get("Function"))
            .and_then(|f| f.get("Environment"))
            .and_then(|e| e.get("Variables"))
            .and_then(Value::as_mapping)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.as_str().unwrap_or_default().to_string(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            path: path.to_path_buf(),
            resources,
            outputs,
            conditions,
            parameters,
            allowed,
            overridden: Vec::new(),
            globals_env,
            stack_name: stack_name.into(),
            account: account.into(),
            region: region.into(),
        })
    }

    /// Sets a parameter as `sam deploy --parameter-overrides` does: only a
    /// parameter the template declares, and one of its `AllowedValues`.
    pub fn set_parameter(&mut self, name: &str, value: &str) -> Result<()> {
        if !self.parameters.contains_key(name) {
            bail!("the template has no parameter {name:?}");
        }
        if let Some(values) = self.allowed.get(name) {
            if !values.iter().any(|v| v == value) {
                bail!("{name} must be one of {values:?}, not {value:?}");
            }
        }
        self.parameters.insert(name.into(), value.into());
        self.overridden.push((name.into(), value.into()));
        Ok(())
    }

    /// The overrides applied, as `Name=Value` pairs separated by spaces (what
    /// `override_parameters` reads), for a process started with the same stack.
    pub fn parameter_overrides(&self) -> String {
        self.overridden
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Applies `Name=Value` pairs separated by spaces (the form of
    /// `sam deploy --parameter-overrides`), e.g. `SentimentMode=model`.
    pub fn override_parameters(&mut self, pairs: &str) -> Result<()> {
        for pair in pairs.split_whitespace() {
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| anyhow!("a parameter override is Name=Value, not {pair:?}"))?;
            self.set_parameter(name, value)?;
        }
        Ok(())
    }

    /// The directory the template lives in (the project root).
    pub fn root(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    fn of_type(&self, ty: &str) -> impl Iterator<Item = (String, &Value)> + '_ {
        let ty = ty.to_string();
        self.resources
            .iter()
            .filter(move |(_, v)| v.get("Type").and_then(Value::as_str) == Some(ty.as_str()))
            .map(|(k, v)| (k.as_str().unwrap_or_default().to_string(), v))
    }

    fn props<'a>(&self, resource: &'a Value) -> &'a Value {
        static NULL: Value = Value::Null;
        resource.get("Properties").unwrap_or(&NULL)
    }

    fn resource(&self, logical_id: &str) -> Result<&Value> {
        self.resources
            .get(logical_id)
            .ok_or_else(|| anyhow!("template has no resource {logical_id}"))
    }

    /// The stack's outputs as the local stack resolves them (what
    /// `describe-stacks` lists for a deployed one). An output that names a
    /// resource SAM generates (the API key) is left out.
    pub fn outputs(&self) -> BTreeMap<String, String> {
        self.outputs
            .iter()
            .filter_map(|(k, o)| {
                // An output under a condition that does not hold is not made.
                if let Some(c) = o.get("Condition").and_then(Value::as_str) {
                    if !self.condition(c).ok()? {
                        return None;
                    }
                }
                let value = self.resolve_string(o.get("Value")?).ok()?;
                Some((k.as_str()?.to_string(), value))
            })
            .collect()
    }

    /// The physical name CloudFormation gives a resource (what `!Ref` returns for
    /// buckets, tables, functions, streams; the ARN for state machines and topics).
    pub fn physical_name(&self, logical_id: &str) -> Result<String> {
        let r = self.resource(logical_id)?;
        let ty = r.get("Type").and_then(Value::as_str).unwrap_or_default();
        let p = self.props(r);
        let name_field = match ty {
            "AWS::S3::Bucket" => "BucketName",
            "AWS::DynamoDB::Table" => "TableName",
            "AWS::Serverless::Function" => "FunctionName",
            "AWS::KinesisFirehose::DeliveryStream" => "DeliveryStreamName",
            "AWS::Serverless::StateMachine" => "Name",
            "AWS::SNS::Topic" => "TopicName",
            "AWS::SecretsManager::Secret" => "Name",
            "AWS::Logs::LogGroup" => "LogGroupName",
            "AWS::Serverless::Api" => "Name",
            "AWS::ApiGateway::UsagePlan" => "UsagePlanName",
            _ => "",
        };
        match p.get(name_field) {
            Some(v) => self.resolve_string(v),
            None if ty == "AWS::S3::Bucket" => Ok(generated_bucket_name(
                &self.stack_name,
                logical_id,
                &format!("{}/{}", self.account, self.region),
            )),
            None => Ok(format!("{}-{logical_id}", self.stack_name)),
        }
    }

    fn reference(&self, name: &str) -> Result<String> {
        match name {
            "AWS::StackName" => return Ok(self.stack_name.clone()),
            "AWS::AccountId" => return Ok(self.account.clone()),
            "AWS::Region" => return Ok(self.region.clone()),
            "AWS::URLSuffix" => return Ok("amazonaws.com".into()),
            "AWS::Partition" => return Ok("aws".into()),
            "AWS::StackId" => return Ok(self.stack_id()),
            _ => {}
        }
        if let Some(v) = self.parameters.get(name) {
            return Ok(v.clone());
        }
        let r = self.resource(name)?;
        let name_value = self.physical_name(name)?;
        match r.get("Type").and_then(Value::as_str).unwrap_or_default() {
            "AWS::Serverless::StateMachine" => Ok(format!(
                "arn:aws:states:{}:{}:stateMachine:{name_value}",
                self.region, self.account
            )),
            "AWS::SNS::Topic" => Ok(format!(
                "arn:aws:sns:{}:{}:{name_value}",
                self.region, self.account
            )),
            _ => Ok(name_value),
        }
    }

    fn get_att(&self, logical_id: &str, attr: &str) -> Result<String> {
        let r = self.resource(logical_id)?;
        let ty = r.get("Type").and_then(Value::as_str).unwrap_or_default();
        let name = self.physical_name(logical_id)?;
        let (region, account) = (&self.region, &self.account);
        Ok(match (ty, attr) {
            ("AWS::S3::Bucket", "Arn") => format!("arn:aws:s3:::{name}"),
            ("AWS::DynamoDB::Table", "Arn") => {
                format!("arn:aws:dynamodb:{region}:{account}:table/{name}")
            }
            ("AWS::Serverless::Function", "Arn") => {
                format!("arn:aws:lambda:{region}:{account}:function:{name}")
            }
            ("AWS::KinesisFirehose::DeliveryStream", "Arn") => {
                format!("arn:aws:firehose:{region}:{account}:deliverystream/{name}")
            }
            ("AWS::SNS::Topic", "TopicName") => name,
            ("AWS::SNS::Topic", "TopicArn") => format!("arn:aws:sns:{region}:{account}:{name}"),
            ("AWS::Logs::LogGroup", "Arn") => {
                format!("arn:aws:logs:{region}:{account}:log-group:{name}:*")
            }
            ("AWS::IAM::Role", "Arn") => format!("arn:aws:iam::{account}:role/{logical_id}"),
            ("AWS::KMS::Key", "Arn") => {
                let h = format!(
                    "{:016x}{:016x}",
                    tickerpulse_core::hash::stable(format!("kms-a{logical_id}").as_bytes()),
                    tickerpulse_core::hash::stable(format!("kms-b{logical_id}").as_bytes())
                );
                format!(
                    "arn:aws:kms:{region}:{account}:key/{}-{}-{}-{}-{}",
                    &h[..8],
                    &h[8..12],
                    &h[12..16],
                    &h[16..20],
                    &h[20..32]
                )
            }
            _ => bail!("the local stack cannot resolve !GetAtt {logical_id}.{attr}"),
        })
    }

    /// Resolves a scalar or an intrinsic (`!Ref`, `!Sub`, `!GetAtt`) to a string.
    pub fn resolve_string(&self, v: &Value) -> Result<String> {
        match v {
            Value::Tagged(t) => {
                let tag = t.tag.to_string();
                match tag.trim_start_matches('!') {
                    "Ref" => self.reference(
                        t.value
                            .as_str()
                            .ok_or_else(|| anyhow!("!Ref wants a name"))?,
                    ),
                    "GetAtt" => {
                        let s = t
                            .value
                            .as_str()
                            .ok_or_else(|| anyhow!("!GetAtt wants Name.Attr"))?;
                        let (id, attr) = s
                            .split_once('.')
                            .ok_or_else(|| anyhow!("!GetAtt {s}: want Name.Attr"))?;
                        self.get_att(id, attr)
                    }
                    "Sub" => self.sub_value(&t.value),
                    "Join" | "Select" | "Split" => {
                        let mut m = serde_yaml_ng::Mapping::new();
                        m.insert(
                            Value::String(format!("Fn::{}", tag.trim_start_matches('!'))),
                            t.value.clone(),
                        );
                        self.resolve_string(&Value::Mapping(m))
                    }
                    other => bail!("the local stack cannot resolve !{other}"),
                }
            }
            Value::Mapping(m) if m.len() == 1 => {
                let Some((k, inner)) = m
                    .iter()
                    .next()
                    .map(|(k, v)| (k.as_str().unwrap_or_default(), v))
                else {
                    bail!("empty mapping where a value was expected");
                };
                match k {
                    "Ref" => self.reference(inner.as_str().unwrap_or_default()),
                    "Fn::Sub" => self.sub_value(inner),
                    "Fn::GetAtt" => {
                        let parts: Vec<String> = match inner {
                            Value::Sequence(s) => s
                                .iter()
                                .filter_map(|x| x.as_str().map(String::from))
                                .collect(),
                            Value::String(s) => s.split('.').map(String::from).collect(),
                            _ => vec![],
                        };
                        match parts.as_slice() {
                            [id, attr] => self.get_att(id, attr),
                            _ => bail!("bad Fn::GetAtt"),
                        }
                    }
                    "Fn::Join" => match inner.as_sequence().map(Vec::as_slice) {
                        Some([delim, items]) => {
                            let delim = scalar_to_string(delim)?;
                            Ok(self.resolve_list(items)?.join(&delim))
                        }
                        _ => bail!("Fn::Join wants [delimiter, [values]]"),
                    },
                    "Fn::Select" => match inner.as_sequence().map(Vec::as_slice) {
                        Some([index, items]) => {
                            let i: usize = self.resolve_string(index)?.parse()?;
                            self.resolve_list(items)?
                                .into_iter()
                                .nth(i)
                                .ok_or_else(|| anyhow!("Fn::Select index {i} is past the list"))
                        }
                        _ => bail!("Fn::Select wants [index, list]"),
                    },
                    _ => bail!("the local stack cannot resolve {k}"),
                }
            }
            other => scalar_to_string(other),
        }
    }

    /// A list value: a sequence of values or `Fn::Split`.
    fn resolve_list(&self, v: &Value) -> Result<Vec<String>> {
        let split = match v {
            Value::Tagged(t) if t.tag.to_string().trim_start_matches('!') == "Split" => {
                Some(&t.value)
            }
            Value::Mapping(m) if m.len() == 1 => m.get("Fn::Split"),
            _ => None,
        };
        if let Some(args) = split {
            return match args.as_sequence().map(Vec::as_slice) {
                Some([delim, source]) => {
                    let delim = scalar_to_string(delim)?;
                    Ok(self
                        .resolve_string(source)?
                        .split(delim.as_str())
                        .map(String::from)
                        .collect())
                }
                _ => bail!("Fn::Split wants [delimiter, value]"),
            };
        }
        match v {
            Value::Sequence(items) => items.iter().map(|i| self.resolve_string(i)).collect(),
            _ => bail!("the local stack wants a list here"),
        }
    }

    /// `AWS::StackId` of the local stack: its name's hash in the UUID's place.
    fn stack_id(&self) -> String {
        let hex = |salt: &str| {
            format!(
                "{:016x}",
                tickerpulse_core::hash::stable(format!("{salt}{}", self.stack_name).as_bytes())
            )
        };
        let (a, b) = (hex("stack-id-a"), hex("stack-id-b"));
        format!(
            "arn:aws:cloudformation:{}:{}:stack/{}/{}-{}-{}-{}-{}",
            self.region,
            self.account,
            self.stack_name,
            &a[..8],
            &a[8..12],
            &a[12..16],
            &b[..4],
            &b[4..16]
        )
    }

    /// `!Sub text` or `!Sub [text, {Var: value, ...}]`.
    fn sub_value(&self, v: &Value) -> Result<String> {
        match v {
            Value::String(text) => self.sub_with(text, &BTreeMap::new()),
            Value::Sequence(s) => match s.as_slice() {
                [text, vars] => {
                    let mut values = BTreeMap::new();
                    for (k, x) in vars.as_mapping().into_iter().flatten() {
                        values.insert(scalar_to_string(k)?, self.resolve_string(x)?);
                    }
                    self.sub_with(text.as_str().unwrap_or_default(), &values)
                }
                _ => bail!("!Sub wants a text or [text, variables]"),
            },
            _ => bail!("!Sub wants a text or [text, variables]"),
        }
    }

    fn sub_with(&self, text: &str, vars: &BTreeMap<String, String>) -> Result<String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| anyhow!("unclosed ${{ in !Sub {text:?}"))?;
            let var = &after[..end];
            if let Some(literal) = var.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(value) = vars.get(var) {
                out.push_str(value);
            } else if let Some((id, attr)) =
                var.split_once('.').filter(|_| !var.starts_with("AWS::"))
            {
                out.push_str(&self.get_att(id, attr)?);
            } else {
                out.push_str(&self.reference(var)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    pub fn buckets(&self) -> Result<Vec<BucketSpec>> {
        self.of_type("AWS::S3::Bucket")
            .map(|(id, r)| {
                let p = self.props(r);
                Ok(BucketSpec {
                    name: self.physical_name(&id)?,
                    versioned: p
                        .get("VersioningConfiguration")
                        .and_then(|v| v.get("Status"))
                        .and_then(Value::as_str)
                        == Some("Enabled"),
                    eventbridge: p
                        .get("NotificationConfiguration")
                        .and_then(|n| n.get("EventBridgeConfiguration"))
                        .and_then(|e| e.get("EventBridgeEnabled"))
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                    lifecycle: self.lifecycle_rules(p)?,
                    logical_id: id,
                })
            })
            .collect()
    }

    fn lifecycle_rules(&self, bucket: &Value) -> Result<Vec<LifecycleRule>> {
        let rules = bucket
            .get("LifecycleConfiguration")
            .and_then(|c| c.get("Rules"))
            .and_then(Value::as_sequence);
        let days = |v: Option<&Value>| -> Result<Option<i32>> {
            v.map(|v| {
                let s = self.resolve_string(v)?;
                s.parse::<i32>()
                    .map_err(|_| anyhow!("lifecycle days {s:?} is not a number"))
            })
            .transpose()
        };
        let mut out = Vec::new();
        for r in rules.into_iter().flatten() {
            if r.get("Status").and_then(Value::as_str) != Some("Enabled") {
                continue;
            }
            if r.get("TagFilters").is_some() || r.get("ExpirationDate").is_some() {
                bail!(
                    "lifecycle rule {:?}: tag filters and dates are not emulated",
                    r.get("Id")
                );
            }
            out.push(LifecycleRule {
                id: r
                    .get("Id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                prefix: r
                    .get("Prefix")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                expiration_days: days(r.get("ExpirationInDays"))?,
                noncurrent_days: days(
                    r.get("NoncurrentVersionExpiration")
                        .and_then(|n| n.get("NoncurrentDays")),
                )?,
                expired_object_delete_marker: r
                    .get("ExpiredObjectDeleteMarker")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            });
        }
        Ok(out)
    }

    pub fn tables(&self) -> Result<Vec<TableSpec>> {
        self.of_type("AWS::DynamoDB::Table")
            .map(|(id, r)| {
                let p = self.props(r);
                let keys = |schema: Option<&Value>| -> (String, Option<String>) {
                    let mut hash = String::new();
                    let mut range = None;
                    for k in schema.and_then(Value::as_sequence).into_iter().flatten() {
                        let name = k
                            .get("AttributeName")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string();
                        match k.get("KeyType").and_then(Value::as_str) {
                            Some("HASH") => hash = name,
                            Some("RANGE") => range = Some(name),
                            _ => {}
                        }
                    }
                    (hash, range)
                };
                let (hash, range) = keys(p.get("KeySchema"));
                if hash.is_empty() {
                    bail!("table {id} has no HASH key");
                }
                let attributes = p
                    .get("AttributeDefinitions")
                    .and_then(Value::as_sequence)
                    .into_iter()
                    .flatten()
                    .map(|a| KeyAttr {
                        name: a
                            .get("AttributeName")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .into(),
                        attr_type: a
                            .get("AttributeType")
                            .and_then(Value::as_str)
                            .unwrap_or("S")
                            .into(),
                    })
                    .collect();
                let indexes = p
                    .get("GlobalSecondaryIndexes")
                    .and_then(Value::as_sequence)
                    .into_iter()
                    .flatten()
                    .map(|g| {
                        let (hash, range) = keys(g.get("KeySchema"));
                        IndexSpec {
                            name: g
                                .get("IndexName")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .into(),
                            hash,
                            range,
                            projection: g
                                .get("Projection")
                                .and_then(|p| p.get("ProjectionType"))
                                .and_then(Value::as_str)
                                .unwrap_or("ALL")
                                .into(),
                            include: g
                                .get("Projection")
                                .and_then(|p| p.get("NonKeyAttributes"))
                                .and_then(Value::as_sequence)
                                .into_iter()
                                .flatten()
                                .filter_map(Value::as_str)
                                .map(String::from)
                                .collect(),
                        }
                    })
                    .collect();
                let ttl_attribute = p
                    .get("TimeToLiveSpecification")
                    .filter(|t| t.get("Enabled").and_then(Value::as_bool) == Some(true))
                    .and_then(|t| t.get("AttributeName"))
                    .and_then(Value::as_str)
                    .map(String::from);
                Ok(TableSpec {
                    name: self.physical_name(&id)?,
                    logical_id: id,
                    hash,
                    range,
                    attributes,
                    indexes,
                    ttl_attribute,
                })
            })
            .collect()
    }

    pub fn delivery_streams(&self) -> Result<Vec<DeliveryStreamSpec>> {
        self.of_type("AWS::KinesisFirehose::DeliveryStream")
            .map(|(id, r)| {
                let dest = self
                    .props(r)
                    .get("ExtendedS3DestinationConfiguration")
                    .ok_or_else(|| {
                        anyhow!(
                            "{id}: only ExtendedS3DestinationConfiguration is supported locally"
                        )
                    })?;
                let field = |k: &str| -> Result<String> {
                    dest.get(k)
                        .map(|v| self.resolve_string(v))
                        .transpose()
                        .map(Option::unwrap_or_default)
                };
                let bucket_arn = field("BucketARN")?;
                let mut processor = None;
                let mut processor_retries = 3;
                if let Some(procs) = dest
                    .get("ProcessingConfiguration")
                    .filter(|c| c.get("Enabled").and_then(Value::as_bool) == Some(true))
                    .and_then(|c| c.get("Processors"))
                    .and_then(Value::as_sequence)
                {
                    for proc_ in procs {
                        for param in proc_
                            .get("Parameters")
                            .and_then(Value::as_sequence)
                            .into_iter()
                            .flatten()
                        {
                            if param.get("ParameterName").and_then(Value::as_str)
                                == Some("NumberOfRetries")
                            {
                                processor_retries = self
                                    .resolve_string(
                                        param.get("ParameterValue").unwrap_or(&Value::Null),
                                    )?
                                    .parse()
                                    .context("NumberOfRetries")?;
                            }
                            if param.get("ParameterName").and_then(Value::as_str)
                                == Some("LambdaArn")
                            {
                                let arn = self.resolve_string(
                                    param.get("ParameterValue").unwrap_or(&Value::Null),
                                )?;
                                processor = arn.rsplit(':').next().map(String::from);
                            }
                        }
                    }
                }
                Ok(DeliveryStreamSpec {
                    name: self.physical_name(&id)?,
                    logical_id: id,
                    bucket: bucket_arn.trim_start_matches("arn:aws:s3:::").to_string(),
                    prefix: field("Prefix")?,
                    error_prefix: field("ErrorOutputPrefix")?,
                    compression: field("CompressionFormat")?,
                    processor,
                    processor_retries,
                    role: Some(field("RoleARN")?)
                        .filter(|arn| !arn.is_empty())
                        .map(|arn| arn.rsplit('/').next().unwrap_or_default().to_string()),
                })
            })
            .collect()
    }

    pub fn functions(&self) -> Result<Vec<FunctionSpec>> {
        self.of_type("AWS::Serverless::Function")
            .map(|(id, r)| {
                let binary = r
                    .get("Metadata")
                    .and_then(|m| m.get("BuildProperties"))
                    .and_then(|b| b.get("Binary"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| anyhow!("function {id} has no Metadata.BuildProperties.Binary"))?
                    .to_string();
                let mut environment = BTreeMap::new();
                for (k, v) in &self.globals_env {
                    environment.insert(k.clone(), self.resolve_string(v)?);
                }
                if let Some(vars) = self
                    .props(r)
                    .get("Environment")
                    .and_then(|e| e.get("Variables"))
                    .and_then(Value::as_mapping)
                {
                    for (k, v) in vars {
                        let key = k.as_str().unwrap_or_default().to_string();
                        let value = self
                            .resolve_string(v)
                            .with_context(|| format!("{id}: environment {key}"))?;
                        environment.insert(key, value);
                    }
                }
                let async_retries = match self
                    .props(r)
                    .get("EventInvokeConfig")
                    .and_then(|c| c.get("MaximumRetryAttempts"))
                {
                    Some(v) => self
                        .resolve_string(v)?
                        .parse()
                        .context("MaximumRetryAttempts")?,
                    None => 2,
                };
                Ok(FunctionSpec {
                    name: self.physical_name(&id)?,
                    logical_id: id,
                    binary,
                    environment,
                    async_retries,
                })
            })
            .collect()
    }

    /// Every `ScheduleV2` event of the template's functions and state machines.
    pub fn schedules(&self) -> Result<Vec<ScheduleSpec>> {
        let mut out = Vec::new();
        for ty in ["AWS::Serverless::Function", "AWS::Serverless::StateMachine"] {
            for (id, r) in self.of_type(ty) {
                for (event, e) in self
                    .props(r)
                    .get("Events")
                    .and_then(Value::as_mapping)
                    .into_iter()
                    .flatten()
                {
                    if e.get("Type").and_then(Value::as_str) != Some("ScheduleV2") {
                        continue;
                    }
                    let p = self.props(e);
                    let field = |k: &str| -> Result<Option<String>> {
                        p.get(k)
                            .map(|v| self.resolve_if(v))
                            .transpose()
                            .map(Option::flatten)
                    };
                    let target = if ty == "AWS::Serverless::Function" {
                        let binary = r
                            .get("Metadata")
                            .and_then(|m| m.get("BuildProperties"))
                            .and_then(|b| b.get("Binary"))
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        ScheduleTarget::Function(binary.to_string())
                    } else {
                        ScheduleTarget::StateMachine(self.reference(&id)?)
                    };
                    out.push(ScheduleSpec {
                        name: format!("{id}.{}", event.as_str().unwrap_or_default()),
                        target,
                        expression: field("ScheduleExpression")?.unwrap_or_default(),
                        enabled: field("State")?.is_none_or(|s| s == "ENABLED"),
                        input: field("Input")?,
                    });
                }
            }
        }
        Ok(out)
    }

    /// The usage plans' throttle, `(rate a second, burst)`: the strictest of the
    /// template's `AWS::ApiGateway::UsagePlan`s and `AWS::Serverless::Api` plans.
    /// The template's `AWS::ApiGateway::UsagePlan`s with a name and a throttle.
    pub fn usage_plans(&self) -> Result<Vec<UsagePlanSpec>> {
        let mut out = Vec::new();
        for (id, r) in self.of_type("AWS::ApiGateway::UsagePlan") {
            let p = self.props(r);
            let number = |v: Option<&Value>| -> Result<Option<f64>> {
                v.map(|v| Ok(self.resolve_string(v)?.parse::<f64>()?))
                    .transpose()
            };
            let throttle = p.get("Throttle");
            let (Some(rate), Some(burst)) = (
                number(throttle.and_then(|t| t.get("RateLimit")))?,
                number(throttle.and_then(|t| t.get("BurstLimit")))?,
            ) else {
                continue;
            };
            out.push(UsagePlanSpec {
                name: self.physical_name(&id)?,
                rate,
                burst,
                logical_id: id,
            });
        }
        Ok(out)
    }

    pub fn api_throttle(&self) -> Result<Option<(f64, f64)>> {
        let mut throttles = Vec::new();
        for (_, r) in self.of_type("AWS::ApiGateway::UsagePlan") {
            throttles.extend(self.props(r).get("Throttle").cloned());
        }
        for (_, r) in self.of_type("AWS::Serverless::Api") {
            throttles.extend(
                self.props(r)
                    .get("Auth")
                    .and_then(|a| a.get("UsagePlan"))
                    .and_then(|u| u.get("Throttle"))
                    .cloned(),
            );
        }
        let mut out: Option<(f64, f64)> = None;
        for t in throttles {
            let number = |k: &str| -> Result<Option<f64>> {
                t.get(k)
                    .map(|v| Ok(self.resolve_string(v)?.parse::<f64>()?))
                    .transpose()
            };
            if let (Some(rate), Some(burst)) = (number("RateLimit")?, number("BurstLimit")?) {
                out = Some(match out {
                    Some((r, b)) => (r.min(rate), b.min(burst)),
                    None => (rate, burst),
                });
            }
        }
        Ok(out)
    }

    /// A resource's definition, to change before the stack starts (tests of what
    /// a template without some property does).
    pub fn resource_mut(&mut self, logical_id: &str) -> Option<&mut Value> {
        self.resources.get_mut(logical_id)
    }

    pub fn state_machines(&self) -> Result<Vec<StateMachineSpec>> {
        self.of_type("AWS::Serverless::StateMachine")
            .map(|(id, r)| {
                let p = self.props(r);
                let uri = p
                    .get("DefinitionUri")
                    .and_then(Value::as_str)
                    .ok_or_else(|| anyhow!("state machine {id} has no DefinitionUri"))?;
                let path = self.root().join(uri);
                let mut definition = std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
                if let Some(subs) = p.get("DefinitionSubstitutions").and_then(Value::as_mapping) {
                    for (k, v) in subs {
                        let key = k.as_str().unwrap_or_default();
                        let value = self
                            .resolve_string(v)
                            .with_context(|| format!("{id}: substitution {key}"))?;
                        definition = definition.replace(&format!("${{{key}}}"), &value);
                    }
                }
                if let Some(pos) = definition.find("${") {
                    let end = definition[pos..]
                        .find('}')
                        .map_or(definition.len(), |e| pos + e + 1);
                    bail!(
                        "{}: {} has no DefinitionSubstitutions entry",
                        path.display(),
                        &definition[pos..end]
                    );
                }
                Ok(StateMachineSpec {
                    name: self.physical_name(&id)?,
                    arn: self.reference(&id)?,
                    logical_id: id,
                    definition,
                })
            })
            .collect()
    }

    pub fn topics(&self) -> Result<Vec<TopicSpec>> {
        self.of_type("AWS::SNS::Topic")
            .map(|(id, r)| {
                let key = self
                    .props(r)
                    .get("KmsMasterKeyId")
                    .and_then(|k| self.referenced(k))
                    .filter(|(_, k)| self.type_of(k) == Some("AWS::KMS::Key"))
                    .map(|(_, k)| self.get_att(&k, "Arn"))
                    .transpose()?;
                Ok(TopicSpec {
                    name: self.physical_name(&id)?,
                    logical_id: id,
                    kms_key_arn: key,
                })
            })
            .collect()
    }

    /// The Cognito user pools, each with the clients and groups that name it.
    pub fn user_pools(&self) -> Result<Vec<UserPoolSpec>> {
        let names_pool = |r: &Value, pool: &str| {
            matches!(self.props(r).get("UserPoolId"), Some(Value::Tagged(t))
                if t.value.as_str() == Some(pool))
                || self
                    .props(r)
                    .get("UserPoolId")
                    .and_then(|v| v.get("Ref"))
                    .and_then(Value::as_str)
                    == Some(pool)
        };
        self.of_type("AWS::Cognito::UserPool")
            .map(|(id, r)| {
                let p = self.props(r);
                let name = match p.get("UserPoolName") {
                    Some(v) => self.resolve_string(v)?,
                    None => format!("{}-{id}", self.stack_name),
                };
                let mut clients = Vec::new();
                for (cid, c) in self.of_type("AWS::Cognito::UserPoolClient") {
                    if !names_pool(c, &id) {
                        continue;
                    }
                    let cp = self.props(c);
                    let cname = match cp.get("ClientName") {
                        Some(v) => self.resolve_string(v)?,
                        None => cid.clone(),
                    };
                    let flows = cp
                        .get("ExplicitAuthFlows")
                        .and_then(Value::as_sequence)
                        .map(|s| {
                            s.iter()
                                .filter_map(|f| f.as_str().map(String::from))
                                .collect()
                        })
                        .unwrap_or_default();
                    clients.push((cid, cname, flows));
                }
                let mut groups = Vec::new();
                for (_, g) in self.of_type("AWS::Cognito::UserPoolGroup") {
                    if names_pool(g, &id) {
                        if let Some(v) = self.props(g).get("GroupName") {
                            groups.push(self.resolve_string(v)?);
                        }
                    }
                }
                Ok(UserPoolSpec {
                    name,
                    password_min_length: p
                        .get("Policies")
                        .and_then(|v| v.get("PasswordPolicy"))
                        .and_then(|v| v.get("MinimumLength"))
                        .and_then(Value::as_i64)
                        .map(|n| n as i32),
                    admin_create_only: p
                        .get("AdminCreateUserConfig")
                        .and_then(|v| v.get("AllowAdminCreateUserOnly"))
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                    mfa: match p.get("MfaConfiguration") {
                        Some(v) => self.resolve_string(v)?,
                        None => "OFF".into(),
                    },
                    totp: p
                        .get("EnabledMfas")
                        .and_then(Value::as_sequence)
                        .is_some_and(|s| {
                            s.iter().any(|m| m.as_str() == Some("SOFTWARE_TOKEN_MFA"))
                        }),
                    clients,
                    groups,
                    logical_id: id,
                })
            })
            .collect()
    }

    /// Names of the Secrets Manager secrets.
    pub fn secrets(&self) -> Result<Vec<String>> {
        self.of_type("AWS::SecretsManager::Secret")
            .map(|(id, _)| self.physical_name(&id))
            .collect()
    }

    /// The union of every function's environment. The local stack runs all handlers
    /// in one process, so one variable must mean the same thing everywhere.
    pub fn merged_environment(&self) -> Result<BTreeMap<String, String>> {
        let mut merged = BTreeMap::<String, (String, String)>::new();
        for f in self.functions()? {
            for (k, v) in f.environment {
                if let Some((other_fn, other)) = merged.get(&k) {
                    if *other != v {
                        bail!(
                            "environment variable {k} is {other:?} on {other_fn} but {v:?} on {}",
                            f.logical_id
                        );
                    }
                } else {
                    merged.insert(k, (f.logical_id.clone(), v));
                }
            }
        }
        Ok(merged.into_iter().map(|(k, (_, v))| (k, v)).collect())
    }
}

fn scalar_to_string(v: &Value) -> Result<String> {
    Ok(match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        other => bail!("expected a scalar, found {other:?}"),
    })
}

/// Finds `template.yaml` from the current directory upwards, or from this crate's
/// workspace when run with `cargo run`.
pub fn find_template() -> Result<PathBuf> {
    if let Ok(p) = std::env::var("TICKERPULSE_TEMPLATE") {
        return Ok(PathBuf::from(p));
    }
    let mut dir = std::env::current_dir().context("reading the current directory")?;
    loop {
        let candidate = dir.join("template.yaml");
        if candidate.is_file() && dir.join("Cargo.toml").is_file() {
            return Ok(candidate);
        }
        if !dir.pop() {
            break;
        }
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
    if built.is_file() {
        return Ok(built);
    }
    bail!("template.yaml not found: run from the TickerPulse checkout or set TICKERPULSE_TEMPLATE")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invoke::FUNCTIONS;

    fn template() -> Template {
        Template::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml")).unwrap()
    }

    /// S3's rules (docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html):
    /// 3 to 63 characters, lower-case letters, digits, hyphens and dots,
    /// starting and ending with a letter or digit.
    fn valid_bucket_name(n: &str) -> bool {
        (3..=63).contains(&n.len())
            && n.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
            && n.starts_with(|c: char| c.is_ascii_alphanumeric())
            && n.ends_with(|c: char| c.is_ascii_alphanumeric())
    }

    #[test]
    fn generated_bucket_names_are_valid_for_every_stack_name() {
        let long = "A".repeat(128); // CloudFormation's longest stack name
        for stack in ["tickerpulse", "TickerPulse-Prod", "a", long.as_str()] {
            for logical in ["AccessLogsBucket", "RawBucket", "AnalyticsBucket"] {
                let n = generated_bucket_name(stack, logical, "123456789012/us-east-1");
                assert!(valid_bucket_name(&n), "{stack}/{logical}: {n}");
            }
        }
        // Distinct per bucket, stable per stack.
        let a = generated_bucket_name("s", "RawBucket", "x");
        assert_ne!(a, generated_bucket_name("s", "StageBucket", "x"));
        assert_eq!(a, generated_bucket_name("s", "RawBucket", "x"));
    }

    #[test]
    fn names_resolve_like_cloudformation() {
        let t = template();
        let raw_name = t.physical_name("RawBucket").unwrap();
        let buckets: Vec<String> = t.buckets().unwrap().into_iter().map(|b| b.name).collect();
        assert!(buckets.contains(&raw_name));
        assert!(raw_name.starts_with("tickerpulse-rawbucket-"), "{raw_name}");
        let raw = t
            .buckets()
            .unwrap()
            .into_iter()
            .find(|b| b.logical_id == "RawBucket")
            .unwrap();
        assert!(raw.versioned && raw.eventbridge);
        let tables = t.tables().unwrap();
        let summary = tables
            .iter()
            .find(|t| t.logical_id == "TickerSummaryTable")
            .unwrap();
        assert_eq!(
            (summary.hash.as_str(), summary.range.as_deref()),
            ("DetailLevel", Some("Ticker"))
        );
        assert_eq!(summary.indexes[0].hash, "TickerDetail");
        assert_eq!(summary.indexes[0].range.as_deref(), Some("Timestamp"));
        let recent = tables
            .iter()
            .find(|t| t.logical_id == "RecentTweetsTable")
            .unwrap();
        assert_eq!(recent.ttl_attribute.as_deref(), Some("ExpiresAt"));
        assert!(recent
            .attributes
            .iter()
            .any(|a| a.name == "Feed" && a.attr_type == "S"));
        let stream = &t.delivery_streams().unwrap()[0];
        assert_eq!(stream.bucket, raw_name);
        assert_eq!(stream.processor.as_deref(), Some("tickerpulse-transform"));
        assert!(stream.prefix.contains("!{partitionKeyFromLambda:hour}"));
    }

    #[test]
    fn every_function_is_a_known_binary_with_its_environment() {
        let t = template();
        let functions = t.functions().unwrap();
        let mut binaries: Vec<&str> = functions.iter().map(|f| f.binary.as_str()).collect();
        binaries.sort();
        let mut known = FUNCTIONS.to_vec();
        known.sort();
        assert_eq!(binaries, known);
        for f in &functions {
            assert_eq!(
                f.name,
                format!("tickerpulse-{}", f.binary),
                "function names are <stack>-<binary>"
            );
        }
        let agg = functions.iter().find(|f| f.binary == "aggregate").unwrap();
        assert_eq!(
            agg.environment["TICKER_SUMMARY_TABLE"],
            "tickerpulse-ticker-summary"
        );
        assert_eq!(agg.environment["RUST_BACKTRACE"], "1", "Globals apply");
        // One process runs every handler locally: no variable may differ between functions.
        let merged = t.merged_environment().unwrap();
        assert_eq!(merged["RAW_BUCKET"], t.physical_name("RawBucket").unwrap());
    }

    #[test]
    fn state_machine_substitutions_are_complete_and_point_at_template_functions() {
        let t = template();
        let m = &t.state_machines().unwrap()[0];
        assert!(!m.definition.contains("${"));
        let def: serde_json::Value = serde_json::from_str(&m.definition).unwrap();
        let names: Vec<String> = t.functions().unwrap().into_iter().map(|f| f.name).collect();
        let mut tasks = 0;
        fn walk(v: &serde_json::Value, f: &mut dyn FnMut(&serde_json::Value)) {
            f(v);
            match v {
                serde_json::Value::Object(m) => m.values().for_each(|x| walk(x, f)),
                serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, f)),
                _ => {}
            }
        }
        walk(&def, &mut |v| {
            if let Some(arn) = v.get("FunctionName").and_then(|x| x.as_str()) {
                tasks += 1;
                let name = arn.rsplit(':').next().unwrap();
                assert!(
                    names.iter().any(|n| n == name),
                    "{arn} is not a function of the template"
                );
            }
        });
        assert_eq!(
            tasks, 6,
            "plan, compact, clean, aggregate, pulse, and aggregate recording a failed run"
        );
    }

    #[test]
    fn intrinsics_resolve_and_unknowns_fail() {
        let t = template();
        let sub: Value =
            serde_yaml_ng::from_str("!Sub \"${AWS::StackName}-x-${RawBucket.Arn}-${!Literal}\"")
                .unwrap();
        assert_eq!(
            t.resolve_string(&sub).unwrap(),
            format!(
                "tickerpulse-x-arn:aws:s3:::{}-${{Literal}}",
                t.physical_name("RawBucket").unwrap()
            )
        );
        let bad: Value = serde_yaml_ng::from_str("!Ref NoSuchThing").unwrap();
        assert!(t.resolve_string(&bad).is_err());
        let param: Value = serde_yaml_ng::from_str("!Ref SentimentMode").unwrap();
        assert_eq!(t.resolve_string(&param).unwrap(), "model");
        let mut t = t;
        t.override_parameters("SentimentMode=finance").unwrap();
        assert_eq!(t.resolve_string(&param).unwrap(), "finance");
        assert_eq!(t.parameter_overrides(), "SentimentMode=finance");
        for bad in ["SentimentMode=bert", "NoSuchParameter=1", "SentimentMode"] {
            assert!(t.override_parameters(bad).is_err(), "{bad}");
        }
        // An output under a condition that does not hold is not made.
        assert!(!t.outputs().contains_key("CorsAllowedOrigin"));
        t.override_parameters("CorsAllowOrigin=https://app.example.com")
            .unwrap();
        assert_eq!(
            t.outputs().get("CorsAllowedOrigin").map(String::as_str),
            Some("https://app.example.com")
        );
    }
}
