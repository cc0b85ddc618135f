//! The alert rules table: one item a rule, `Owner` (the user's `sub`) and
//! `RuleId` its key. This module writes and reads that schema, nothing else does.

use crate::dynamo::{conditional, query_all};
use crate::HandlerError;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use tickerpulse_core::alerts::{Metric, Op, Rule};

pub struct AlertRules {
    pub client: aws_sdk_dynamodb::Client,
    pub table: String,
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

/// The item of a rule.
pub fn rule_item(r: &Rule) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("Owner".to_string(), s(&r.owner)),
        ("RuleId".to_string(), s(&r.id)),
        ("Ticker".to_string(), s(&r.ticker)),
        ("Metric".to_string(), s(r.metric.name())),
        ("Op".to_string(), s(r.op.name())),
        (
            "Threshold".to_string(),
            AttributeValue::N(r.threshold.to_string()),
        ),
        ("CreatedAt".to_string(), s(&r.created_at)),
    ])
}

/// The rule of an item; `None` for an item this schema did not write.
pub fn rule_from_item(item: &HashMap<String, AttributeValue>) -> Option<Rule> {
    let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
    Some(Rule {
        owner: text("Owner")?,
        id: text("RuleId")?,
        ticker: text("Ticker")?,
        metric: Metric::from_name(&text("Metric")?)?,
        op: Op::from_name(&text("Op")?)?,
        threshold: item.get("Threshold")?.as_n().ok()?.parse().ok()?,
        created_at: text("CreatedAt")?,
    })
}

impl AlertRules {
    /// A user's rules, oldest first (rule ids sort by creation time).
    pub async fn list(&self, owner: &str) -> Result<Vec<Rule>, HandlerError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#o = :o")
            .expression_attribute_names("#o", "Owner")
            .expression_attribute_values(":o", s(owner))
            .consistent_read(true);
        query_all(query, "reading alert rules", rule_from_item).await
    }

    /// Stores a new rule; false if one of the same id exists.
    pub async fn create(&self, rule: &Rule) -> Result<bool, HandlerError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(rule_item(rule)))
            .condition_expression("attribute_not_exists(RuleId)")
            .send()
            .await;
        conditional("storing an alert rule", result)
    }

    /// Deletes one of `owner`'s rules; false if there was none.
    pub async fn delete(&self, owner: &str, id: &str) -> Result<bool, HandlerError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("Owner", s(owner))
            .key("RuleId", s(id))
            .condition_expression("attribute_exists(RuleId)")
            .send()
            .await;
        conditional("deleting an alert rule", result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_survives_its_item() {
        let r = Rule {
            owner: "sub-1".into(),
            id: "0193-abc".into(),
            ticker: "TSLA".into(),
            metric: Metric::NegativeRatio,
            op: Op::Above,
            threshold: 0.45,
            created_at: "2026-12-05T03:00:00Z".into(),
        };
        let mut bad = rule_item(&r);
        assert_eq!(rule_from_item(&bad), Some(r));
        bad.insert("Metric".into(), s("volume"));
        assert_eq!(rule_from_item(&bad), None);
    }
}
