//! IAM as the local stack enforces it: each function's role, with the template's
//! own policies, and the evaluation of a request against them.
//!
//! The evaluation is `iam-rs`'s (identity-based policies of one account: an explicit
//! Deny wins, else an Allow, else the implicit deny), wrapped so that this module
//! owns what the local stack relies on, and tested against AWS's documented
//! examples in `tests/iam_evaluation.rs`. moto's own IAM access control is not used:
//! moto 5.2 evaluates the `Resource` element only for S3 (every other service is
//! asked about `*`), evaluates no `Condition` of an identity policy, and answers a
//! condition that does not hold with an explicit Deny (`moto/iam/access_control.py`,
//! its module docstring lists the gaps). What `iam-rs` gets wrong against AWS's
//! documentation is corrected here, each place says which.

use iam_rs::{Arn, Context, ContextValue, IAMPolicy, IAMRequest, Principal, PrincipalId};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum IamError {
    #[error("policy {name}: {reason}")]
    InvalidPolicy { name: String, reason: String },
    #[error("evaluating {action} on {resource}: {reason}")]
    Evaluation {
        action: String,
        resource: String,
        reason: String,
    },
}

/// One policy document, parsed.
#[derive(Debug, Clone)]
pub struct Policy {
    pub name: String,
    document: IAMPolicy,
}

impl Policy {
    /// Parses a policy document (`{"Version": ..., "Statement": [...]}`), whose
    /// intrinsics are already resolved. An operator or element AWS would refuse is
    /// an error here too.
    pub fn parse(name: &str, document: &Value) -> Result<Self, IamError> {
        let invalid = |reason: String| IamError::InvalidPolicy {
            name: name.to_string(),
            reason,
        };
        let mut document = document.clone();
        if document.get("Version").is_none() {
            // What IAM assumes of a policy without one (and SAM's templates have none).
            document["Version"] = Value::String("2012-10-17".into());
        }
        // IAM refuses a policy whose resource is not an ARN (or `*`): so does this.
        for statement in document
            .get("Statement")
            .map(|s| s.as_array().cloned().unwrap_or_else(|| vec![s.clone()]))
            .unwrap_or_default()
        {
            for element in ["Resource", "NotResource"] {
                let resources = match statement.get(element) {
                    Some(Value::String(r)) => vec![r.clone()],
                    Some(Value::Array(rs)) => rs
                        .iter()
                        .filter_map(|r| r.as_str().map(String::from))
                        .collect(),
                    _ => vec![],
                };
                for r in resources {
                    if r != "*" && !(r.starts_with("arn:") && r.split(':').count() >= 6) {
                        return Err(invalid(format!("{element} {r:?} is not an ARN")));
                    }
                }
            }
        }
        let parsed = IAMPolicy::from_json(&document.to_string())
            .map_err(|e| invalid(format!("not a policy document: {e}")))?;
        Ok(Self {
            name: name.to_string(),
            document: parsed,
        })
    }
}

/// A value of the request context: condition keys are single- or multivalued
/// (docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html).
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    One(String),
    Many(Vec<String>),
    /// A key of type Boolean (`aws:SecureTransport`): `Bool` compares only these.
    Flag(bool),
}

/// What a call asks: an action on a resource, with its context keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub action: String,
    pub resource: String,
    pub context: BTreeMap<String, Key>,
}

impl Request {
    pub fn new(action: &str, resource: impl Into<String>) -> Self {
        Self {
            action: action.to_string(),
            resource: resource.into(),
            context: BTreeMap::new(),
        }
    }

    pub fn with(mut self, key: &str, value: Key) -> Self {
        self.context.insert(key.to_string(), value);
        self
    }
}

/// The outcome of evaluating identity-based policies
/// (docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// A Deny statement applies.
    ExplicitDeny,
    /// No statement allows it.
    ImplicitDeny,
}

/// Evaluates `request` against a principal's identity policies.
pub fn evaluate(policies: &[Policy], request: &Request) -> Result<Decision, IamError> {
    let fail = |reason: String| IamError::Evaluation {
        action: request.action.clone(),
        resource: request.resource.clone(),
        reason,
    };
    let resource = Arn::parse(&request.resource).map_err(|e| fail(format!("resource: {e}")))?;
    let mut context = Context::new();
    for (k, v) in &request.context {
        context.insert(
            k.clone(),
            match v {
                Key::One(s) => ContextValue::String(s.clone()),
                Key::Many(list) => ContextValue::StringList(list.clone()),
                Key::Flag(b) => ContextValue::Boolean(*b),
            },
        );
    }
    let iam_request = IAMRequest::new_with_context(
        Principal::Aws(PrincipalId::String(
            "arn:aws:iam::123456789012:role/local".into(),
        )),
        request.action.clone(),
        resource,
        context,
    );
    let documents: Vec<IAMPolicy> = policies.iter().map(|p| p.document.clone()).collect();
    let result =
        iam_rs::evaluate_policies(&documents, &iam_request).map_err(|e| fail(e.to_string()))?;
    Ok(match result {
        iam_rs::Decision::Allow => Decision::Allow,
        iam_rs::Decision::Deny => Decision::ExplicitDeny,
        iam_rs::Decision::NotApplicable => Decision::ImplicitDeny,
    })
}

/// The access key the operator (tests, the CLI, provisioning) signs with: every
/// call allowed, as for an account administrator.
pub const ADMIN_KEY: &str = "testing";

/// The access key moto's state-machine engine signs its Lambda calls with
/// (`moto/stepfunctions/parser/asl/utils/boto_client.py`): the calls of the
/// state machine's role.
pub const STATE_MACHINE_ENGINE_KEY: &str = "ak";

/// The access key of a role's (local) credentials.
pub fn access_key(role: &str) -> String {
    format!("ASIA{role}")
}

/// A role with its policies.
#[derive(Debug, Clone)]
pub struct Identity {
    pub role: String,
    pub arn: String,
    pub policies: Vec<Policy>,
}

/// Why a call was refused, in AWS's words
/// (docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct Denied {
    pub action: String,
    pub resource: String,
    pub message: String,
}

impl Identity {
    /// The caller as AWS names an assumed role's session.
    pub fn session_arn(&self) -> String {
        let account = self.arn.split(':').nth(4).unwrap_or_default();
        format!(
            "arn:aws:sts::{account}:assumed-role/{}/{}",
            self.role, self.role
        )
    }

    /// Allows `request` or says why not. A request the evaluator cannot read is refused.
    pub fn check(&self, request: &Request) -> Result<(), Denied> {
        let decision = evaluate(&self.policies, request);
        let why = match decision {
            Ok(Decision::Allow) => return Ok(()),
            Ok(Decision::ExplicitDeny) => {
                "with an explicit deny in an identity-based policy".to_string()
            }
            Ok(Decision::ImplicitDeny) => format!(
                "because no identity-based policy allows the {} action",
                request.action
            ),
            Err(e) => format!("because the request could not be evaluated: {e}"),
        };
        Err(Denied {
            action: request.action.clone(),
            resource: request.resource.clone(),
            message: format!(
                "User: {} is not authorized to perform: {} on resource: {} {why}",
                self.session_arn(),
                request.action,
                request.resource
            ),
        })
    }
}

/// Who signed a call.
#[derive(Debug, Clone)]
pub enum Caller {
    Admin,
    Role(std::sync::Arc<Identity>),
    /// A key no one was given: AWS answers `InvalidClientTokenId`.
    Unknown(String),
}

/// Every role of a stack, by access key.
#[derive(Debug, Clone, Default)]
pub struct Roles {
    by_key: std::collections::HashMap<String, std::sync::Arc<Identity>>,
}

impl Roles {
    /// The template's roles, each under its access key; the state machine's role
    /// also under moto's engine key.
    pub fn from_template(template: &crate::template::Template) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let mut by_key = std::collections::HashMap::new();
        for spec in template.roles()? {
            let policies = spec
                .policies
                .iter()
                .map(|(name, doc)| Policy::parse(name, doc))
                .collect::<Result<Vec<_>, _>>()
                .with_context(|| format!("role {}", spec.logical_id))?;
            by_key.insert(
                access_key(&spec.logical_id),
                std::sync::Arc::new(Identity {
                    role: spec.logical_id,
                    arn: spec.arn,
                    policies,
                }),
            );
        }
        let machines = template.state_machines()?;
        if let [machine] = machines.as_slice() {
            let role = template.role_of(&machine.logical_id)?;
            if let Some(identity) = by_key.get(&access_key(&role)).cloned() {
                by_key.insert(STATE_MACHINE_ENGINE_KEY.into(), identity);
            }
        }
        Ok(Self { by_key })
    }

    pub fn caller(&self, key: &str) -> Caller {
        if key == ADMIN_KEY {
            return Caller::Admin;
        }
        match self.by_key.get(key) {
            Some(identity) => Caller::Role(identity.clone()),
            None => Caller::Unknown(key.to_string()),
        }
    }

    /// A role by logical id.
    pub fn role(&self, role: &str) -> Option<std::sync::Arc<Identity>> {
        self.by_key.get(&access_key(role)).cloned()
    }
}
