//! The state table: ingest cursors (and, with later issues, the partition ledger
//! and run records). Keys: `PK`, `SK`.

use crate::HandlerError;
use aws_sdk_dynamodb::types::AttributeValue;

/// Ingest's `since_id` per query. A cursor only moves forward.
#[allow(async_fn_in_trait)]
pub trait CursorStore {
    async fn get(&self, query_key: &str) -> Result<Option<u64>, HandlerError>;
    /// Moves the cursor to `id` if it is ahead of the stored one; returns whether it moved.
    async fn advance(&self, query_key: &str, id: u64, query: &str) -> Result<bool, HandlerError>;
}

pub struct DynamoCursors {
    pub client: aws_sdk_dynamodb::Client,
    pub table: String,
}

fn pk(query_key: &str) -> AttributeValue {
    AttributeValue::S(format!("cursor#{query_key}"))
}

impl CursorStore for DynamoCursors {
    async fn get(&self, query_key: &str) -> Result<Option<u64>, HandlerError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", pk(query_key))
            .key("SK", AttributeValue::S("since_id".into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| HandlerError::from_sdk("reading an ingest cursor", e))?;
        Ok(out
            .item()
            .and_then(|i| i.get("since_id"))
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok()))
    }

    async fn advance(&self, query_key: &str, id: u64, query: &str) -> Result<bool, HandlerError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("PK", pk(query_key))
            .item("SK", AttributeValue::S("since_id".into()))
            .item("since_id", AttributeValue::N(id.to_string()))
            .item("query", AttributeValue::S(query.to_string()))
            .condition_expression("attribute_not_exists(since_id) OR since_id < :new")
            .expression_attribute_values(":new", AttributeValue::N(id.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(HandlerError::from_sdk("moving an ingest cursor", e)),
        }
    }
}
