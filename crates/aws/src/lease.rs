//! A lease in the state table: one holder at a time of a named job, without
//! reserved concurrency (an account with a low concurrency quota refuses a
//! reservation of 1). `PK = lease`, `SK = <name>`, the holder in `Owner`, the
//! end of the hold in `Until` (epoch milliseconds); `ExpiresAt` lets the
//! table's TTL remove a lease left behind. A holder that dies leaves its lease
//! to expire: the hold must outlast the holder's timeout.

use crate::dynamo::conditional;
use crate::HandlerError;
use aws_sdk_dynamodb::types::AttributeValue;

pub const LEASE_PK: &str = "lease";

pub struct Lease {
    pub client: aws_sdk_dynamodb::Client,
    pub table: String,
    pub name: &'static str,
}

impl Lease {
    /// Takes the lease for `owner` until `now_ms + hold_ms`: true if taken (or
    /// already `owner`'s), false while someone else holds it.
    pub async fn acquire(
        &self,
        owner: &str,
        now_ms: i64,
        hold_ms: i64,
    ) -> Result<bool, HandlerError> {
        let until = now_ms + hold_ms;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("PK", AttributeValue::S(LEASE_PK.into()))
            .item("SK", AttributeValue::S(self.name.into()))
            .item("Owner", AttributeValue::S(owner.into()))
            .item("Until", AttributeValue::N(until.to_string()))
            .item(
                "ExpiresAt",
                AttributeValue::N((until / 1000 + 86_400).to_string()),
            )
            .condition_expression("attribute_not_exists(PK) OR #until < :now OR #owner = :owner")
            .expression_attribute_names("#until", "Until")
            .expression_attribute_names("#owner", "Owner")
            .expression_attribute_values(":now", AttributeValue::N(now_ms.to_string()))
            .expression_attribute_values(":owner", AttributeValue::S(owner.into()))
            .send()
            .await;
        conditional(&format!("taking the {} lease", self.name), result)
    }

    /// Gives the lease back if `owner` still holds it; true if it did.
    pub async fn release(&self, owner: &str) -> Result<bool, HandlerError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("PK", AttributeValue::S(LEASE_PK.into()))
            .key("SK", AttributeValue::S(self.name.into()))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", "Owner")
            .expression_attribute_values(":owner", AttributeValue::S(owner.into()))
            .send()
            .await;
        conditional(&format!("giving back the {} lease", self.name), result)
    }

    /// Who holds the lease and until when, if anyone's hold is recorded.
    pub async fn holder(&self) -> Result<Option<(String, i64)>, HandlerError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", AttributeValue::S(LEASE_PK.into()))
            .key("SK", AttributeValue::S(self.name.into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| HandlerError::from_sdk(&format!("reading the {} lease", self.name), e))?;
        Ok(out.item().and_then(|i| {
            let owner = i.get("Owner")?.as_s().ok()?.clone();
            let until = i.get("Until")?.as_n().ok()?.parse().ok()?;
            Some((owner, until))
        }))
    }
}
