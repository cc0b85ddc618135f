//! The cursors of the sources beyond X, in the state table: `PK =
//! social#<source>`, `SK = cursor#<query>`, with `Newest` (the time of the
//! newest post read, UTC RFC 3339, which sorts as text) and `Query`. Read
//! with one Query a source; a cursor only moves forward.

use crate::dynamo::{conditional, query_all};
use crate::HandlerError;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::BTreeMap;
use tickerpulse_core::source::Source;

/// Each query's cursor of a source.
#[allow(async_fn_in_trait)]
pub trait SocialCursorStore {
    async fn load(&self, source: Source) -> Result<BTreeMap<String, String>, HandlerError>;
    /// Moves a query's cursor to `newest` if it is ahead; returns whether it moved.
    async fn save(&self, source: Source, query: &str, newest: &str) -> Result<bool, HandlerError>;
}

pub struct DynamoSocialCursors {
    pub client: aws_sdk_dynamodb::Client,
    pub table: String,
}

fn pk(source: Source) -> AttributeValue {
    AttributeValue::S(format!("social#{}", source.as_str()))
}

impl SocialCursorStore for DynamoSocialCursors {
    async fn load(&self, source: Source) -> Result<BTreeMap<String, String>, HandlerError> {
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
                let q = i.get("Query")?.as_s().ok()?.clone();
                let n = i.get("Newest")?.as_s().ok()?.clone();
                Some((q, n))
            },
        )
        .await?;
        Ok(items.into_iter().collect())
    }

    async fn save(&self, source: Source, query: &str, newest: &str) -> Result<bool, HandlerError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("PK", pk(source))
            .item("SK", AttributeValue::S(format!("cursor#{query}")))
            .item("Query", AttributeValue::S(query.to_string()))
            .item("Newest", AttributeValue::S(newest.to_string()))
            .condition_expression("attribute_not_exists(Newest) OR Newest < :new")
            .expression_attribute_values(":new", AttributeValue::S(newest.to_string()))
            .send()
            .await;
        conditional("moving a social cursor", result)
    }
}
