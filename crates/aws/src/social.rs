//! The cursors of the sources beyond X, in the state table: `PK =
//! social#<source>`, `SK = cursor#<query>`, with `Newest` (the time reads go
//! back to, UTC RFC 3339, which sorts as text), `Query`, and for a read that
//! stopped early `ResumePage` and `ResumeTop` (where it goes on, and the newest
//! post it saw). Read with one Query a source; `Newest` only moves forward.

use crate::dynamo::{conditional, query_all};
use crate::HandlerError;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::BTreeMap;
pub use tickerpulse_core::source::{Cursor, Resume, Source};

/// Each query's cursor of a source.
#[allow(async_fn_in_trait)]
pub trait SocialCursorStore {
    async fn load(&self, source: Source) -> Result<BTreeMap<String, Cursor>, HandlerError>;
    /// Stores a query's cursor unless the stored one is ahead of it; returns
    /// whether it was stored.
    async fn save(
        &self,
        source: Source,
        query: &str,
        cursor: &Cursor,
    ) -> Result<bool, HandlerError>;
}

pub struct DynamoSocialCursors {
    pub client: aws_sdk_dynamodb::Client,
    pub table: String,
}

fn pk(source: Source) -> AttributeValue {
    AttributeValue::S(format!("social#{}", source.as_str()))
}

impl SocialCursorStore for DynamoSocialCursors {
    async fn load(&self, source: Source) -> Result<BTreeMap<String, Cursor>, HandlerError> {
        let items = query_all(
            self.client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :c)")
                .expression_attribute_values(":pk", pk(source))
                .expression_attribute_values(":c", AttributeValue::S("cursor#".into()))
                .consistent_read(true),
            "reading the social cursors",
            |i| {
                let text = |k: &str| i.get(k).and_then(|v| v.as_s().ok()).cloned();
                let resume = match (text("ResumePage"), text("ResumeTop")) {
                    (Some(page), Some(top)) => Some(Resume { page, top }),
                    _ => None,
                };
                Some((
                    text("Query")?,
                    Cursor {
                        newest: text("Newest")?,
                        resume,
                    },
                ))
            },
        )
        .await?;
        Ok(items.into_iter().collect())
    }

    async fn save(
        &self,
        source: Source,
        query: &str,
        cursor: &Cursor,
    ) -> Result<bool, HandlerError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("PK", pk(source))
            .item("SK", AttributeValue::S(format!("cursor#{query}")))
            .item("Query", AttributeValue::S(query.to_string()))
            .item("Newest", AttributeValue::S(cursor.newest.clone()));
        if let Some(r) = &cursor.resume {
            put = put
                .item("ResumePage", AttributeValue::S(r.page.clone()))
                .item("ResumeTop", AttributeValue::S(r.top.clone()));
        }
        // Equal: a stopped read's resume point moves on under the same cursor.
        let result = put
            .condition_expression("attribute_not_exists(Newest) OR Newest <= :new")
            .expression_attribute_values(":new", AttributeValue::S(cursor.newest.clone()))
            .send()
            .await;
        conditional("moving a social cursor", result)
    }
}
