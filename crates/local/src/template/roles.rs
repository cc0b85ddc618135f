//! The template's IAM roles with their policies, as CloudFormation and SAM would
//! create them: each function's and state machine's generated role (`<Id>Role`,
//! SAM's naming) with its `Policies` expanded (SAM policy templates from
//! `samtranslator`'s own `policy_templates.json`, inline statements, `!If` on the
//! template's conditions), and every `AWS::IAM::Role` with its inline policies.

use super::{scalar_to_string, Template};
use anyhow::{anyhow, bail, Context, Result};
use serde_yaml_ng::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A role and its policy documents (intrinsics resolved).
#[derive(Debug, Clone, PartialEq)]
pub struct RoleSpec {
    pub logical_id: String,
    pub arn: String,
    /// (name, document)
    pub policies: Vec<(String, serde_json::Value)>,
}

/// Where SAM's policy templates are read: `$TICKERPULSE_SAM_POLICY_TEMPLATES`, else
/// the `aws-sam-translator` that `make setup` installs (pinned in requirements-dev.txt).
pub fn sam_policy_templates_path(root: &std::path::Path) -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("TICKERPULSE_SAM_POLICY_TEMPLATES") {
        return Ok(PathBuf::from(p));
    }
    let lib = root.join(".venv/lib");
    let entries = std::fs::read_dir(&lib)
        .with_context(|| format!("reading {} (run `make setup`)", lib.display()))?;
    for entry in entries.flatten() {
        let p = entry
            .path()
            .join("site-packages/samtranslator/policy_templates_data/policy_templates.json");
        if p.is_file() {
            return Ok(p);
        }
    }
    bail!(
        "SAM's policy templates (samtranslator/policy_templates_data/policy_templates.json) \
         are not under {}: run `make setup`",
        lib.display()
    )
}

fn tag_name(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(t) => Some((
            format!("Fn::{}", t.tag.to_string().trim_start_matches('!')).replace("Fn::Ref", "Ref"),
            &t.value,
        )),
        Value::Mapping(m) if m.len() == 1 => {
            let (k, inner) = m.iter().next()?;
            let k = k.as_str()?;
            (k == "Ref" || k.starts_with("Fn::") || k == "Condition")
                .then(|| (k.to_string(), inner))
        }
        _ => None,
    }
}

impl Template {
    /// The resource a `!Ref X` or `!GetAtt X.Attr` (either form) names: the
    /// intrinsic (`Ref`, `Fn::GetAtt`) and the logical id.
    pub(super) fn referenced(&self, v: &Value) -> Option<(String, String)> {
        let (f, inner) = tag_name(v)?;
        let target = match inner {
            Value::String(s) => s.split('.').next().unwrap_or(s).to_string(),
            Value::Sequence(parts) => parts.first()?.as_str()?.to_string(),
            _ => return None,
        };
        (f == "Ref" || f == "Fn::GetAtt").then_some((f, target))
    }

    /// A resource's `Type`.
    pub(super) fn type_of(&self, logical_id: &str) -> Option<&str> {
        self.resources.get(logical_id)?.get("Type")?.as_str()
    }

    /// Evaluates one of the template's `Conditions`.
    pub fn condition(&self, name: &str) -> Result<bool> {
        let v = self
            .conditions
            .get(name)
            .ok_or_else(|| anyhow!("the template has no condition {name:?}"))?;
        self.condition_value(v)
            .with_context(|| format!("condition {name}"))
    }

    fn condition_value(&self, v: &Value) -> Result<bool> {
        let (f, args) = tag_name(v).ok_or_else(|| anyhow!("not a condition function: {v:?}"))?;
        let list = || args.as_sequence().cloned().unwrap_or_default();
        Ok(match f.as_str() {
            "Fn::Equals" => match list().as_slice() {
                [a, b] => self.resolve_string(a)? == self.resolve_string(b)?,
                _ => bail!("Fn::Equals wants two values"),
            },
            "Fn::Not" => match list().as_slice() {
                [c] => !self.condition_value(c)?,
                _ => bail!("Fn::Not wants one condition"),
            },
            "Fn::And" => {
                let mut all = true;
                for c in list() {
                    all &= self.condition_value(&c)?;
                }
                all
            }
            "Fn::Or" => {
                let mut any = false;
                for c in list() {
                    any |= self.condition_value(&c)?;
                }
                any
            }
            "Condition" | "Fn::Condition" => self.condition(args.as_str().unwrap_or_default())?,
            other => bail!("{other} is not a condition function"),
        })
    }

    /// An `!If [condition, then, else]`'s chosen branch; `None` for `AWS::NoValue`.
    fn choose<'a>(&self, v: &'a Value) -> Result<Option<&'a Value>> {
        let Some(("Fn::If", args)) = tag_name(v).as_ref().map(|(f, a)| (f.as_str(), *a)) else {
            return Ok((!is_no_value(v)).then_some(v));
        };
        let [cond, yes, no] = args
            .as_sequence()
            .map(Vec::as_slice)
            .ok_or_else(|| anyhow!("Fn::If wants [condition, then, else]"))?
        else {
            bail!("Fn::If wants [condition, then, else]");
        };
        let branch = if self.condition(cond.as_str().unwrap_or_default())? {
            yes
        } else {
            no
        };
        self.choose(branch)
    }

    /// A value that may be an `!If`: its chosen branch resolved, `None` for
    /// `AWS::NoValue`.
    pub(super) fn resolve_if(&self, v: &Value) -> Result<Option<String>> {
        self.choose(v)?.map(|v| self.resolve_string(v)).transpose()
    }

    /// The ARN of a Secrets Manager secret of this stack. AWS ends it with six
    /// random characters; here they come from the name, so that policies and
    /// requests agree.
    pub fn secret_arn(&self, name: &str) -> String {
        let h = format!(
            "{:016x}",
            tickerpulse_core::hash::stable(format!("secret{name}").as_bytes())
        );
        format!(
            "arn:aws:secretsmanager:{}:{}:secret:{name}-{}",
            self.region,
            self.account,
            &h[..6]
        )
    }

    /// Replaces `Ref`s to policy-template parameters, and to secrets (whose `!Ref`
    /// CloudFormation answers with the ARN), by their values.
    fn substitute_refs(&self, v: &Value, params: &BTreeMap<String, String>) -> Result<Value> {
        if let Some((f, inner)) = tag_name(v) {
            if f == "Ref" {
                let name = inner.as_str().unwrap_or_default();
                if let Some(p) = params.get(name) {
                    return Ok(Value::String(p.clone()));
                }
                if self.type_of(name) == Some("AWS::SecretsManager::Secret") {
                    return Ok(Value::String(self.secret_arn(&self.physical_name(name)?)));
                }
                return Ok(v.clone());
            }
        }
        Ok(match v {
            Value::Mapping(m) => {
                let mut out = serde_yaml_ng::Mapping::new();
                for (k, x) in m {
                    out.insert(k.clone(), self.substitute_refs(x, params)?);
                }
                Value::Mapping(out)
            }
            Value::Sequence(s) => Value::Sequence(
                s.iter()
                    .map(|x| self.substitute_refs(x, params))
                    .collect::<Result<_>>()?,
            ),
            Value::Tagged(t) => {
                let mut t = t.clone();
                t.value = self.substitute_refs(&t.value, params)?;
                Value::Tagged(t)
            }
            other => other.clone(),
        })
    }

    /// A policy document with every intrinsic resolved, as JSON.
    fn policy_json(
        &self,
        v: &Value,
        params: &BTreeMap<String, String>,
    ) -> Result<serde_json::Value> {
        use serde_json::Value as J;
        let Some(v) = self.choose(v)? else {
            return Ok(J::Null);
        };
        if tag_name(v).is_some() {
            let v = self.substitute_refs(v, params)?;
            return Ok(J::String(self.resolve_string(&v)?));
        }
        Ok(match v {
            Value::Mapping(m) => {
                let mut out = serde_json::Map::new();
                for (k, x) in m {
                    let x = self.policy_json(x, params)?;
                    if !x.is_null() {
                        out.insert(scalar_to_string(k)?, x);
                    }
                }
                J::Object(out)
            }
            Value::Sequence(s) => J::Array(
                s.iter()
                    .map(|x| self.policy_json(x, params))
                    .filter(|x| !matches!(x, Ok(J::Null)))
                    .collect::<Result<_>>()?,
            ),
            Value::Bool(b) => J::Bool(*b),
            other => J::String(scalar_to_string(other)?),
        })
    }

    /// A SAM `Policies` list: policy templates, inline documents, `!If`s.
    fn sam_policies(
        &self,
        owner: &str,
        list: &Value,
        templates: &serde_json::Value,
    ) -> Result<Vec<(String, serde_json::Value)>> {
        let items = match list {
            Value::Sequence(s) => s.clone(),
            Value::Null => vec![],
            other => vec![other.clone()],
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let Some(item) = self.choose(item)? else {
                continue;
            };
            let name = format!("{owner}Policy{i}");
            match item {
                Value::String(managed) => bail!(
                    "{owner}: the managed policy {managed} is not expanded locally; \
                     write its statements or a SAM policy template"
                ),
                Value::Mapping(m) if m.contains_key("Statement") => {
                    out.push((name, self.policy_json(item, &BTreeMap::new())?));
                }
                Value::Mapping(m) if m.len() == 1 => {
                    let (k, args) = m.iter().next().expect("one entry");
                    let template_name = k.as_str().unwrap_or_default();
                    let definition = templates
                        .get("Templates")
                        .and_then(|t| t.get(template_name))
                        .and_then(|t| t.get("Definition"))
                        .ok_or_else(|| {
                            anyhow!("{owner}: {template_name} is not a SAM policy template")
                        })?;
                    let mut params = BTreeMap::new();
                    for (pk, pv) in args.as_mapping().into_iter().flatten() {
                        let pv = self.substitute_refs(pv, &BTreeMap::new())?;
                        params.insert(scalar_to_string(pk)?, self.resolve_string(&pv)?);
                    }
                    let definition: Value = serde_yaml_ng::to_value(definition)?;
                    let doc = self
                        .policy_json(&definition, &params)
                        .with_context(|| format!("{owner}: {template_name}"))?;
                    out.push((format!("{owner}{template_name}{i}"), doc));
                }
                other => bail!("{owner}: a policy SAM does not know: {other:?}"),
            }
        }
        Ok(out)
    }

    /// The logical id of a function's or state machine's role: its `Role` (a
    /// `!GetAtt X.Arn`), else the one SAM generates, `<Id>Role`.
    pub fn role_of(&self, logical_id: &str) -> Result<String> {
        let r = self.resource(logical_id)?;
        match self.props(r).get("Role") {
            None => Ok(format!("{logical_id}Role")),
            Some(v) => match self.referenced(v) {
                Some((f, role)) if f == "Fn::GetAtt" => Ok(role),
                _ => bail!("{logical_id}: Role must be !GetAtt <Role>.Arn locally"),
            },
        }
    }

    /// Removes every policy statement with this `Sid` (inline in a function's or
    /// state machine's `Policies`, or in an `AWS::IAM::Role`'s documents, `!If`
    /// branches included); how many went. For tests of what a role may not do.
    pub fn remove_statement(&mut self, sid: &str) -> usize {
        fn walk(v: &mut Value, sid: &str) -> usize {
            let mut removed = 0;
            match v {
                Value::Mapping(m) => {
                    if let Some(Value::Sequence(statements)) = m.get_mut("Statement") {
                        let before = statements.len();
                        statements.retain(|st| st.get("Sid").and_then(Value::as_str) != Some(sid));
                        removed += before - statements.len();
                    }
                    for (_, x) in m.iter_mut() {
                        removed += walk(x, sid);
                    }
                }
                Value::Sequence(s) => {
                    for x in s {
                        removed += walk(x, sid);
                    }
                }
                Value::Tagged(t) => removed += walk(&mut t.value, sid),
                _ => {}
            }
            removed
        }
        self.resources
            .iter_mut()
            .map(|(_, r)| r.get_mut("Properties").map_or(0, |p| walk(p, sid)))
            .sum()
    }

    /// Every role of the stack with its policies.
    pub fn roles(&self) -> Result<Vec<RoleSpec>> {
        let path = sam_policy_templates_path(self.root())?;
        let templates: serde_json::Value = serde_json::from_slice(
            &std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?,
        )
        .with_context(|| format!("parsing {}", path.display()))?;
        let arn = |id: &str| format!("arn:aws:iam::{}:role/{id}", self.account);
        let mut roles = Vec::new();
        for ty in ["AWS::Serverless::Function", "AWS::Serverless::StateMachine"] {
            for (id, r) in self.of_type(ty) {
                if self.props(r).get("Role").is_some() {
                    continue;
                }
                let role = self.role_of(&id)?;
                let policies = self.props(r).get("Policies").unwrap_or(&Value::Null);
                roles.push(RoleSpec {
                    arn: arn(&role),
                    policies: self.sam_policies(&id, policies, &templates)?,
                    logical_id: role,
                });
            }
        }
        for (id, r) in self.of_type("AWS::IAM::Role") {
            let mut policies = Vec::new();
            for p in self
                .props(r)
                .get("Policies")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
            {
                let Some(p) = self.choose(p)? else { continue };
                let name = p
                    .get("PolicyName")
                    .map(|n| self.resolve_string(n))
                    .transpose()?
                    .unwrap_or_default();
                let doc = p
                    .get("PolicyDocument")
                    .ok_or_else(|| anyhow!("{id}: policy {name} has no PolicyDocument"))?;
                policies.push((name, self.policy_json(doc, &BTreeMap::new())?));
            }
            roles.push(RoleSpec {
                arn: arn(&id),
                logical_id: id,
                policies,
            });
        }
        Ok(roles)
    }
}

fn is_no_value(v: &Value) -> bool {
    matches!(tag_name(v), Some((f, inner)) if f == "Ref" && inner.as_str() == Some("AWS::NoValue"))
}
