//! What the `comply` function keeps between its runs, in the state table under
//! `PK = comply` (written and read here only):
//!
//! - `SK = x-job`: X's open compliance job (`JobId`, `StartedMs`); X allows
//!   one at a time and it may take hours;
//! - `SK = x-last`: when the last job was started (`StartedMs`);
//! - `SK = social-last`: when Reddit's and Bluesky's posts were last
//!   re-checked (`StartedMs`);
//! - `SK = request#<ms>#<id>`: an operator's request to forget posts or
//!   authors (`Posts`, `Authors`, `By`), from the API;
//! - `SK = purge#<hour>`: an hour whose posts left the raw zone; once a
//!   pipeline run has rebuilt it, its stage files' older versions go.

use crate::dynamo::query_all;
use crate::HandlerError;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::{BTreeSet, HashMap};

pub const COMPLY_PK: &str = "comply";

#[derive(Debug, Clone)]
pub struct ComplyState {
    pub client: aws_sdk_dynamodb::Client,
    pub table: String,
}

/// X's open job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenJob {
    pub id: String,
    pub started_ms: i64,
}

/// An operator's request to forget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Its sort key (`request#<ms>#<id>`).
    pub key: String,
    pub posts: Vec<String>,
    pub authors: Vec<String>,
    pub by: String,
}

type Item = HashMap<String, AttributeValue>;

use crate::dynamo::{read_n as n, read_s as s, read_strings as list};

fn strings(values: &[String]) -> AttributeValue {
    AttributeValue::L(values.iter().cloned().map(AttributeValue::S).collect())
}

impl ComplyState {
    async fn with_prefix(&self, prefix: &str) -> Result<Vec<Item>, HandlerError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :p AND begins_with(SK, :s)")
            .expression_attribute_values(":p", AttributeValue::S(COMPLY_PK.into()))
            .expression_attribute_values(":s", AttributeValue::S(prefix.into()))
            .consistent_read(true);
        query_all(query, "reading the compliance state", |i| Some(i.clone())).await
    }

    async fn put(&self, sk: &str, fields: Vec<(&str, AttributeValue)>) -> Result<(), HandlerError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("PK", AttributeValue::S(COMPLY_PK.into()))
            .item("SK", AttributeValue::S(sk.into()));
        for (k, v) in fields {
            put = put.item(k, v);
        }
        put.send()
            .await
            .map_err(|e| HandlerError::from_sdk("writing the compliance state", e))?;
        Ok(())
    }

    async fn delete(&self, sk: &str) -> Result<(), HandlerError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("PK", AttributeValue::S(COMPLY_PK.into()))
            .key("SK", AttributeValue::S(sk.into()))
            .send()
            .await
            .map_err(|e| HandlerError::from_sdk("deleting compliance state", e))?;
        Ok(())
    }

    pub async fn open_job(&self) -> Result<Option<OpenJob>, HandlerError> {
        Ok(self.with_prefix("x-job").await?.first().and_then(|i| {
            Some(OpenJob {
                id: s(i, "JobId")?,
                started_ms: n(i, "StartedMs")?,
            })
        }))
    }

    /// Records a started job (and when, for the next start).
    pub async fn started(&self, job: &OpenJob) -> Result<(), HandlerError> {
        let at = AttributeValue::N(job.started_ms.to_string());
        self.put(
            "x-job",
            vec![
                ("JobId", AttributeValue::S(job.id.clone())),
                ("StartedMs", at.clone()),
            ],
        )
        .await?;
        self.put("x-last", vec![("StartedMs", at)]).await
    }

    pub async fn job_done(&self) -> Result<(), HandlerError> {
        self.delete("x-job").await
    }

    /// When the last job was started, if ever.
    pub async fn last_started_ms(&self) -> Result<Option<i64>, HandlerError> {
        Ok(self
            .with_prefix("x-last")
            .await?
            .first()
            .and_then(|i| n(i, "StartedMs")))
    }

    /// When Reddit's and Bluesky's posts were last re-checked, if ever.
    pub async fn last_rechecked_ms(&self) -> Result<Option<i64>, HandlerError> {
        Ok(self
            .with_prefix("social-last")
            .await?
            .first()
            .and_then(|i| n(i, "StartedMs")))
    }

    pub async fn rechecked(&self, at_ms: i64) -> Result<(), HandlerError> {
        self.put(
            "social-last",
            vec![("StartedMs", AttributeValue::N(at_ms.to_string()))],
        )
        .await
    }

    /// Queues an operator's request (`id`: the API's request id).
    pub async fn request(
        &self,
        now_ms: i64,
        id: &str,
        posts: &[String],
        authors: &[String],
        by: &str,
    ) -> Result<String, HandlerError> {
        let key = format!("request#{now_ms:013}#{id}");
        self.put(
            &key,
            vec![
                ("Posts", strings(posts)),
                ("Authors", strings(authors)),
                ("By", AttributeValue::S(by.into())),
            ],
        )
        .await?;
        Ok(key)
    }

    /// The queued requests, oldest first.
    pub async fn requests(&self) -> Result<Vec<Request>, HandlerError> {
        Ok(self
            .with_prefix("request#")
            .await?
            .iter()
            .filter_map(|i| {
                Some(Request {
                    key: s(i, "SK")?,
                    posts: list(i, "Posts"),
                    authors: list(i, "Authors"),
                    by: s(i, "By").unwrap_or_default(),
                })
            })
            .collect())
    }

    pub async fn request_done(&self, key: &str) -> Result<(), HandlerError> {
        self.delete(key).await
    }

    /// Hours whose stage files' older versions must go once rebuilt.
    pub async fn purge_later(&self, hours: &BTreeSet<String>) -> Result<(), HandlerError> {
        for hour in hours {
            self.put(&format!("purge#{hour}"), Vec::new()).await?;
        }
        Ok(())
    }

    pub async fn purges(&self) -> Result<BTreeSet<String>, HandlerError> {
        Ok(self
            .with_prefix("purge#")
            .await?
            .iter()
            .filter_map(|i| s(i, "SK")?.strip_prefix("purge#").map(String::from))
            .collect())
    }

    pub async fn purged(&self, hour: &str) -> Result<(), HandlerError> {
        self.delete(&format!("purge#{hour}")).await
    }
}
