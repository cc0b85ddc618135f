//! The template's usage plans in moto, and the local gateway's check of an
//! `x-api-key` against them, as API Gateway checks it: the key exists, is
//! enabled, and belongs to a plan of the stage; each key is throttled by its
//! own plan's limits.
//!
//! moto keeps a key in a plan's key list after the key is deleted (API
//! Gateway drops it), so a key is looked for among the live keys too. Keys
//! the plans accepted are remembered for a second: a rotated key stops
//! working within that, where API Gateway takes "a few seconds" to apply a
//! change (developer guide, "Usage plans", what changes take effect when).

use anyhow::{anyhow, Result};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// A plan's id in moto and its throttle.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub name: String,
    pub id: String,
    pub rate: f64,
    pub burst: f64,
}

async fn client(env: &BTreeMap<String, String>) -> aws_sdk_apigateway::Client {
    aws_sdk_apigateway::Client::new(&tickerpulse_aws::sdk::load(env).await)
}

/// The template's plans as moto has them (by name).
pub async fn lookup(
    template: &crate::Template,
    env: &BTreeMap<String, String>,
) -> Result<Vec<Plan>> {
    let specs = template.usage_plans()?;
    if specs.is_empty() {
        return Ok(Vec::new());
    }
    let found = client(env)
        .await
        .get_usage_plans()
        .limit(500)
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "listing usage plans: {}",
                tickerpulse_aws::sdk::describe(&e)
            )
        })?;
    Ok(specs
        .into_iter()
        .filter_map(|s| {
            let id = found
                .items()
                .iter()
                .find(|p| p.name() == Some(s.name.as_str()))?
                .id()?
                .to_string();
            Some(Plan {
                name: s.name,
                id,
                rate: s.rate,
                burst: s.burst,
            })
        })
        .collect())
}

/// Creates the template's plans that moto lacks; returns what it created.
pub async fn provision(
    template: &crate::Template,
    env: &BTreeMap<String, String>,
) -> Result<Vec<String>> {
    use aws_sdk_apigateway::types::ThrottleSettings;
    let have = lookup(template, env).await?;
    let c = client(env).await;
    let mut created = Vec::new();
    for s in template.usage_plans()? {
        if have.iter().any(|p| p.name == s.name) {
            continue;
        }
        // Its id is its name (moto_server.py), what the roles' policies name.
        c.create_usage_plan()
            .name(&s.name)
            .tags("_custom_id_", &s.name)
            .throttle(
                ThrottleSettings::builder()
                    .rate_limit(s.rate)
                    .burst_limit(s.burst as i32)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| {
                anyhow!(
                    "creating usage plan {}: {}",
                    s.name,
                    tickerpulse_aws::sdk::describe(&e)
                )
            })?;
        created.push(format!("apigateway:usageplan:{}", s.name));
    }
    Ok(created)
}

/// The local gateway's key check over the stack's plans.
pub struct KeyCheck {
    client: aws_sdk_apigateway::Client,
    plans: Vec<Plan>,
    accepted: std::sync::Mutex<HashMap<String, (usize, Instant)>>,
}

/// Why a key opens nothing.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KeyRefusal {
    #[error("no key")]
    Missing,
    #[error("the key is in none of the stage's plans, or was deleted or disabled")]
    Unknown,
}

const REMEMBERED: Duration = Duration::from_secs(1);

impl KeyCheck {
    pub async fn new(env: &BTreeMap<String, String>, plans: Vec<Plan>) -> Self {
        Self {
            client: client(env).await,
            plans,
            accepted: Default::default(),
        }
    }

    /// The plan (its throttle) that `key` belongs to.
    pub async fn plan_of(&self, key: Option<&str>) -> Result<&Plan, KeyRefusal> {
        let key = key.filter(|k| !k.is_empty()).ok_or(KeyRefusal::Missing)?;
        if let Some((i, at)) = self
            .accepted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .copied()
        {
            if at.elapsed() < REMEMBERED {
                return Ok(&self.plans[i]);
            }
        }
        let i = self.find(key).await.ok_or(KeyRefusal::Unknown)?;
        self.accepted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_string(), (i, Instant::now()));
        Ok(&self.plans[i])
    }

    async fn find(&self, key: &str) -> Option<usize> {
        let live = self
            .client
            .get_api_keys()
            .include_values(true)
            .limit(500)
            .send()
            .await
            .ok()?;
        let id = live
            .items()
            .iter()
            .find(|k| k.value() == Some(key) && k.enabled())?
            .id()?
            .to_string();
        for (i, plan) in self.plans.iter().enumerate() {
            let members = self
                .client
                .get_usage_plan_keys()
                .usage_plan_id(&plan.id)
                .limit(500)
                .send()
                .await
                .ok()?;
            if members.items().iter().any(|m| m.id() == Some(id.as_str())) {
                return Some(i);
            }
        }
        None
    }
}
