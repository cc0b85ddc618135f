//! The alert rules table: one item a rule, `Owner` (the user's `sub`) and
//! `RuleId` its key. This module writes and reads that schema, nothing else does.

use crate::dynamo::{conditional, query_all};
use crate::serving::get_n;
use crate::HandlerError;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use tickerpulse_core::alerts::{Metric, Op, Rule, DEFAULT_COOLDOWN_HOURS, DEFAULT_MIN_MENTIONS};
use tickerpulse_core::window::Window;

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
        ("Window".to_string(), s(r.window.name())),
        (
            "CooldownHours".to_string(),
            AttributeValue::N(r.cooldown_hours.to_string()),
        ),
        (
            "MinMentions".to_string(),
            AttributeValue::N(r.min_mentions.to_string()),
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
        threshold: get_n(item, "Threshold")?,
        // Rules stored before windows and cooldowns existed read with the defaults.
        window: match text("Window") {
            Some(w) => Window::parse(&w)?,
            None => Window::Day,
        },
        cooldown_hours: get_n(item, "CooldownHours").unwrap_or(DEFAULT_COOLDOWN_HOURS),
        min_mentions: get_n(item, "MinMentions").unwrap_or(DEFAULT_MIN_MENTIONS),
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

    /// Every user's rules, for the evaluation after each pipeline run. A Scan:
    /// rules are few (at most 50 a user, about 200 bytes each), so reading
    /// them all costs about one read unit per 20 rules a run.
    pub async fn all(&self) -> Result<Vec<Rule>, HandlerError> {
        let mut pages = self
            .client
            .scan()
            .table_name(&self.table)
            .consistent_read(true)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| HandlerError::from_sdk("reading every alert rule", e))?;
            out.extend(page.items().iter().filter_map(rule_from_item));
        }
        out.sort_by(|a, b| (&a.owner, &a.id).cmp(&(&b.owner, &b.id)));
        Ok(out)
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
            window: Window::Hour,
            cooldown_hours: 0,
            min_mentions: 12,
            created_at: "2026-12-05T03:00:00Z".into(),
        };
        let mut bad = rule_item(&r);
        assert_eq!(rule_from_item(&bad), Some(r.clone()));
        // An item written before windows and cooldowns reads with the defaults.
        let mut old = rule_item(&r);
        for k in ["Window", "CooldownHours", "MinMentions"] {
            old.remove(k);
        }
        let read = rule_from_item(&old).unwrap();
        assert_eq!(
            (read.window, read.cooldown_hours, read.min_mentions),
            (Window::Day, 24, 5)
        );
        bad.insert("Metric".into(), s("volume"));
        assert_eq!(rule_from_item(&bad), None);
    }
}
