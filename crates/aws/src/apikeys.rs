//! API Gateway: each user's own API key in the users' usage plan.
//!
//! A usage plan throttles each of its keys on its own (API Gateway developer
//! guide, "Usage plans and API keys": the limits apply to each key), so a key
//! per user is a limit per user: one user's script empties their own bucket,
//! not anyone else's. A user's key is created the first time they ask for it
//! (`GET /me`) and replaced when they rotate it (`POST /me/key`); its name is
//! the stack's prefix, the user's `sub` and the creation time, its
//! `customerId` the `sub`. Both directions live here: what is written at
//! creation is what `key_for` reads back.

use crate::HandlerError;
use tickerpulse_core::config::{self, Env};

pub const USER_USAGE_PLAN_ID: &str = "USER_USAGE_PLAN_ID";
pub const USER_KEY_PREFIX: &str = "USER_KEY_PREFIX";

#[derive(Clone, Debug)]
pub struct UserKeys {
    client: aws_sdk_apigateway::Client,
    plan_id: String,
    prefix: String,
}

/// One of a user's keys.
#[derive(Clone, Debug, PartialEq)]
pub struct UserKey {
    pub id: String,
    pub value: String,
    /// Milliseconds since the epoch, from the name.
    pub created: u64,
}

impl UserKeys {
    /// `None` when the environment names no users' plan (a stack without one,
    /// or a test that gives static keys).
    pub fn from_env(env: &dyn Env, conf: &crate::sdk::SdkConfig) -> Option<Self> {
        let plan_id = config::optional(env, USER_USAGE_PLAN_ID, "");
        (!plan_id.is_empty()).then(|| Self {
            client: aws_sdk_apigateway::Client::new(conf),
            plan_id,
            prefix: config::optional(env, USER_KEY_PREFIX, "tickerpulse-user-"),
        })
    }

    fn name_of(&self, sub: &str) -> String {
        format!("{}{sub}.", self.prefix)
    }

    /// The user's keys, newest first.
    pub async fn of(&self, sub: &str) -> Result<Vec<UserKey>, HandlerError> {
        let name = self.name_of(sub);
        let mut keys = Vec::new();
        let mut position = None;
        loop {
            let page = self
                .client
                .get_api_keys()
                .name_query(&name)
                .include_values(true)
                .limit(500)
                .set_position(position)
                .send()
                .await
                .map_err(|e| HandlerError::from_sdk("listing a user's API keys", e))?;
            for k in page.items() {
                // `nameQuery` matches a prefix: keep this user's names only.
                let Some(created) = k
                    .name()
                    .and_then(|n| n.strip_prefix(name.as_str()))
                    .and_then(|t| t.parse().ok())
                else {
                    continue;
                };
                if let (Some(id), Some(value)) = (k.id(), k.value()) {
                    keys.push(UserKey {
                        id: id.into(),
                        value: value.into(),
                        created,
                    });
                }
            }
            position = page.position().map(String::from);
            if position.is_none() {
                break;
            }
        }
        keys.sort_by_key(|k| std::cmp::Reverse(k.created));
        Ok(keys)
    }

    /// The user's key, created (and added to the plan) if they have none.
    pub async fn key_for(&self, sub: &str) -> Result<String, HandlerError> {
        match self.of(sub).await?.into_iter().next() {
            Some(k) => Ok(k.value),
            None => Ok(self.create(sub).await?.value),
        }
    }

    /// A new key for the user; their older keys are deleted, so a key that
    /// leaked stops working at once.
    pub async fn rotate(&self, sub: &str) -> Result<String, HandlerError> {
        let old = self.of(sub).await?;
        let new = self.create(sub).await?;
        for k in old {
            self.client
                .delete_api_key()
                .api_key(&k.id)
                .send()
                .await
                .map_err(|e| HandlerError::from_sdk("deleting a user's old API key", e))?;
        }
        Ok(new.value)
    }

    async fn create(&self, sub: &str) -> Result<UserKey, HandlerError> {
        let created = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let key = self
            .client
            .create_api_key()
            .name(format!("{}{created}", self.name_of(sub)))
            .description("A dashboard user's key: their own throttle and quota.")
            .customer_id(sub)
            .enabled(true)
            .send()
            .await
            .map_err(|e| HandlerError::from_sdk("creating a user's API key", e))?;
        let (Some(id), Some(value)) = (key.id(), key.value()) else {
            return Err(HandlerError::Fatal(
                "API Gateway created a key without an id or value".into(),
            ));
        };
        let added = self
            .client
            .create_usage_plan_key()
            .usage_plan_id(&self.plan_id)
            .key_id(id)
            .key_type("API_KEY")
            .send()
            .await;
        if let Err(e) = added {
            // A key outside the plan opens nothing: do not leave it to be found.
            let _ = self.client.delete_api_key().api_key(id).send().await;
            return Err(HandlerError::from_sdk(
                "adding a user's key to their plan",
                e,
            ));
        }
        Ok(UserKey {
            id: id.into(),
            value: value.into(),
            created,
        })
    }
}
