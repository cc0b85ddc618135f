//! What the pulse function writes and the API reads: the trending rankings
//! (one item a window in the overall summaries table, key `trending#<window>`,
//! the top `TRENDING_TOP_N` of the ranking and how many were ranked),
//! the alert history table (`Owner`, `AlertId`), and the alert deliveries to
//! SNS and EventBridge. Both directions of each schema are here.

use crate::serving::get_n;
use crate::HandlerError;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};
use std::collections::HashMap;
use tickerpulse_aggregate::alerting::Firing;
use tickerpulse_aggregate::trending::Trend;
use tickerpulse_core::window::Window;

type Item = HashMap<String, AttributeValue>;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
fn text(item: &Item, key: &str) -> Option<String> {
    item.get(key)?.as_s().ok().cloned()
}

/// Whether a history item was delivered (absent: not yet).
fn delivered(item: &Item) -> bool {
    item.get("Delivered")
        .and_then(|d| d.as_bool().ok())
        .copied()
        .unwrap_or(false)
}

/// The key of a window's ranking in the overall summaries table (no bucket
/// key has a `#`, and the item has no `Level`, so no period index lists it).
pub fn trending_key(window: Window) -> String {
    format!("trending#{}", window.name())
}

/// One window's ranking as last computed.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranking {
    pub window: Window,
    /// The hour the window ends at (RFC 3339): the newest hour with data.
    pub anchor: String,
    pub computed_at: String,
    pub run_id: String,
    pub min_mentions: u64,
    /// Tickers ranked in all; `trends` keeps the first of them (the top N).
    pub ranked: u64,
    pub trends: Vec<Trend>,
}

pub struct Trending {
    pub client: aws_sdk_dynamodb::Client,
    /// The overall summaries table.
    pub table: String,
}

impl Trending {
    /// Replaces a window's ranking (one item: the whole ranking changes at once).
    pub async fn put(&self, r: &Ranking) -> Result<(), HandlerError> {
        let trends = serde_json::to_string(&r.trends)
            .map_err(|e| HandlerError::Fatal(format!("serializing a ranking: {e}")))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .item("DetailLevel", s(trending_key(r.window)))
            .item("Anchor", s(&r.anchor))
            .item("ComputedAt", s(&r.computed_at))
            .item("RunId", s(&r.run_id))
            .item("MinMentions", n(r.min_mentions))
            .item("Ranked", n(r.ranked))
            .item("Ranking", s(trends))
            .send()
            .await
            .map_err(|e| HandlerError::from_sdk("writing a trending ranking", e))?;
        Ok(())
    }

    /// A window's ranking; `None` before the first pipeline run.
    pub async fn get(&self, window: Window) -> Result<Option<Ranking>, HandlerError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("DetailLevel", s(trending_key(window)))
            .send()
            .await
            .map_err(|e| HandlerError::from_sdk("reading a trending ranking", e))?;
        let Some(item) = out.item() else {
            return Ok(None);
        };
        let trends: Vec<Trend> = text(item, "Ranking")
            .and_then(|t| serde_json::from_str(&t).ok())
            .ok_or_else(|| HandlerError::Fatal("a trending item without its ranking".into()))?;
        Ok(Some(Ranking {
            window,
            anchor: text(item, "Anchor").unwrap_or_default(),
            computed_at: text(item, "ComputedAt").unwrap_or_default(),
            run_id: text(item, "RunId").unwrap_or_default(),
            min_mentions: get_n(item, "MinMentions").unwrap_or(0),
            ranked: get_n(item, "Ranked").unwrap_or(trends.len() as u64),
            trends,
        }))
    }
}

/// A firing as the history keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Fired {
    pub id: String,
    pub owner: String,
    pub rule_id: String,
    pub ticker: String,
    pub metric: String,
    pub op: String,
    pub threshold: f64,
    pub window: String,
    pub anchor: String,
    pub value: f64,
    pub previous: Option<f64>,
    pub mentions: u64,
    pub fired_at: String,
    pub delivered: bool,
}

impl Fired {
    pub fn new(f: &Firing, fired_at: &str) -> Fired {
        Fired {
            id: f.id(),
            owner: f.owner.clone(),
            rule_id: f.rule_id.clone(),
            ticker: f.ticker.clone(),
            metric: f.metric.name().into(),
            op: f.op.name().into(),
            threshold: f.threshold,
            window: f.window.name().into(),
            anchor: f.anchor_time(),
            value: f.value,
            previous: f.previous,
            mentions: f.mentions,
            fired_at: fired_at.into(),
            delivered: false,
        }
    }

    /// The document delivered to SNS and EventBridge and listed by the API.
    pub fn to_json(&self) -> Value {
        json!({
            "alert_id": self.id, "owner": self.owner, "rule_id": self.rule_id,
            "ticker": self.ticker, "metric": self.metric, "op": self.op,
            "threshold": self.threshold, "window": self.window, "anchor": self.anchor,
            "value": self.value, "previous": self.previous, "mentions": self.mentions,
            "fired_at": self.fired_at,
        })
    }

    /// One line for people (email subject, SMS).
    pub fn summary(&self) -> String {
        format!(
            "TickerPulse: {} {} {} {} over {} ({} at {})",
            self.ticker, self.metric, self.op, self.threshold, self.window, self.value, self.anchor
        )
    }

    fn item(&self, expires_at: i64) -> Item {
        let mut item = Item::from([
            ("Owner".into(), s(&self.owner)),
            ("AlertId".into(), s(&self.id)),
            ("RuleId".into(), s(&self.rule_id)),
            ("Ticker".into(), s(&self.ticker)),
            ("Metric".into(), s(&self.metric)),
            ("Op".into(), s(&self.op)),
            ("Threshold".into(), n(self.threshold)),
            ("Window".into(), s(&self.window)),
            ("Anchor".into(), s(&self.anchor)),
            ("Value".into(), n(self.value)),
            ("Mentions".into(), n(self.mentions)),
            ("FiredAt".into(), s(&self.fired_at)),
            ("Delivered".into(), AttributeValue::Bool(self.delivered)),
            ("ExpiresAt".into(), n(expires_at)),
        ]);
        if let Some(p) = self.previous {
            item.insert("Previous".into(), n(p));
        }
        item
    }

    fn from_item(item: &Item) -> Option<Fired> {
        Some(Fired {
            id: text(item, "AlertId")?,
            owner: text(item, "Owner")?,
            rule_id: text(item, "RuleId")?,
            ticker: text(item, "Ticker")?,
            metric: text(item, "Metric")?,
            op: text(item, "Op")?,
            threshold: get_n(item, "Threshold")?,
            window: text(item, "Window")?,
            anchor: text(item, "Anchor")?,
            value: get_n(item, "Value")?,
            previous: get_n(item, "Previous"),
            mentions: get_n(item, "Mentions")?,
            fired_at: text(item, "FiredAt")?,
            delivered: delivered(item),
        })
    }
}

/// Where a firing goes; each has its own "sent" flag in the history item, so a
/// retry sends only what an earlier attempt did not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Sns,
    EventBridge,
}

impl Target {
    pub const ALL: [Target; 2] = [Target::Sns, Target::EventBridge];

    fn flag(self) -> &'static str {
        match self {
            Target::Sns => "SentSns",
            Target::EventBridge => "SentEvents",
        }
    }
}

/// The targets an earlier attempt sent a firing to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sent {
    pub sns: bool,
    pub events: bool,
}

impl Sent {
    fn of(item: &Item) -> Sent {
        let flag = |t: Target| {
            item.get(t.flag())
                .and_then(|d| d.as_bool().ok())
                .copied()
                .unwrap_or(false)
        };
        Sent {
            sns: flag(Target::Sns),
            events: flag(Target::EventBridge),
        }
    }

    pub fn contains(&self, t: Target) -> bool {
        match t {
            Target::Sns => self.sns,
            Target::EventBridge => self.events,
        }
    }
}

/// Who delivers a firing, and until when: a claim names its owner (one Pulse
/// invocation) and holds for `secs`, longer than the function's timeout, so a
/// live owner's claim cannot be taken; an owner that died loses it when it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub owner: String,
    /// Unix seconds.
    pub now: i64,
    pub secs: i64,
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// First time: this run delivers it to every target.
    New,
    /// Claimed by an earlier attempt whose lease ended (it died) or that
    /// released it (it failed): this run sends what that one did not.
    Resumed(Sent),
    /// Another run holds it and may be delivering it now: left to that run (if
    /// it dies, the first run after its lease ends delivers the rest).
    Held { owner: String, until: i64 },
    /// Delivered to every target before: nothing to do.
    Delivered,
}

pub struct AlertHistory {
    pub client: aws_sdk_dynamodb::Client,
    pub table: String,
    /// Days a firing is kept (the table's TTL).
    pub keep_days: i64,
}

impl AlertHistory {
    /// Claims a firing for `lease.owner`: records it if it is new, else takes
    /// it over if it is undelivered and its lease is over (or already this
    /// owner's). Both are conditional writes, so of two overlapping runs only
    /// one holds a firing at a time.
    pub async fn claim(&self, f: &Fired, lease: &Lease) -> Result<Claim, HandlerError> {
        let until = lease.now + lease.secs;
        let mut item = f.item(lease.now + self.keep_days * 86_400);
        item.insert("LeaseOwner".into(), s(&lease.owner));
        item.insert("LeaseUntil".into(), n(until));
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(AlertId)")
            .send()
            .await;
        if crate::dynamo::conditional("recording an alert", put)? {
            return Ok(Claim::New);
        }
        let take = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("Owner", s(&f.owner))
            .key("AlertId", s(&f.id))
            .update_expression("SET LeaseOwner = :me, LeaseUntil = :until")
            .condition_expression(
                "attribute_exists(AlertId) AND (attribute_not_exists(Delivered) OR Delivered = :f) \
                 AND (attribute_not_exists(LeaseUntil) OR LeaseUntil < :now OR LeaseOwner = :me)",
            )
            .expression_attribute_values(":me", s(&lease.owner))
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":now", n(lease.now))
            .expression_attribute_values(":f", AttributeValue::Bool(false))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match take {
            Ok(out) => {
                return Ok(Claim::Resumed(
                    out.attributes().map(Sent::of).unwrap_or_default(),
                ))
            }
            Err(e) if !crate::dynamo::is_conditional_failure(&e) => {
                return Err(HandlerError::from_sdk("taking over an alert", e))
            }
            Err(_) => {}
        }
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("Owner", s(&f.owner))
            .key("AlertId", s(&f.id))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| HandlerError::from_sdk("reading an alert", e))?;
        let item = got.item().cloned().unwrap_or_default();
        Ok(if delivered(&item) {
            Claim::Delivered
        } else {
            Claim::Held {
                owner: text(&item, "LeaseOwner").unwrap_or_default(),
                until: get_n(&item, "LeaseUntil").unwrap_or(0),
            }
        })
    }

    /// Records that a target got the firing (right after it did: a death
    /// between the two is the one way a target gets it twice).
    pub async fn mark_sent(&self, f: &Fired, target: Target) -> Result<(), HandlerError> {
        self.set(f, target.flag(), "marking an alert sent").await
    }

    /// Every target got it: nothing more to do for this firing, ever.
    pub async fn mark_delivered(&self, f: &Fired) -> Result<(), HandlerError> {
        self.set(f, "Delivered", "marking an alert delivered").await
    }

    async fn set(&self, f: &Fired, flag: &str, doing: &str) -> Result<(), HandlerError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("Owner", s(&f.owner))
            .key("AlertId", s(&f.id))
            .update_expression("SET #flag = :t")
            .expression_attribute_names("#flag", flag)
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .condition_expression("attribute_exists(AlertId)")
            .send()
            .await
            .map_err(|e| HandlerError::from_sdk(doing, e))?;
        Ok(())
    }

    /// Gives a claim up before its lease ends (a failed delivery), so the
    /// retry need not wait for it. Only the owner's own claim is released.
    pub async fn release(&self, f: &Fired, owner: &str) -> Result<(), HandlerError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("Owner", s(&f.owner))
            .key("AlertId", s(&f.id))
            .update_expression("SET LeaseUntil = :zero")
            .condition_expression("LeaseOwner = :me")
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":me", s(owner))
            .send()
            .await;
        crate::dynamo::conditional("releasing an alert", out.map(|_| ())).map(|_| ())
    }

    /// The latest anchor (hours since the epoch) of each (rule, ticker) among
    /// an owner's firings anchored at or after `since` (RFC 3339).
    pub async fn last_fired(
        &self,
        owner: &str,
        since: &str,
    ) -> Result<HashMap<(String, String), i64>, HandlerError> {
        let mut out = HashMap::new();
        for f in self.list(owner, Some(since), None).await? {
            let Some(anchor) = tickerpulse_aggregate::alerting::hour_of_anchor(&f.anchor) else {
                continue;
            };
            let slot = out.entry((f.rule_id, f.ticker)).or_insert(anchor);
            *slot = (*slot).max(anchor);
        }
        Ok(out)
    }

    /// An owner's firings, newest first; `since` (an anchor, RFC 3339) bounds
    /// them from below.
    pub async fn list(
        &self,
        owner: &str,
        since: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<Fired>, HandlerError> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .expression_attribute_names("#o", "Owner")
            .expression_attribute_values(":o", s(owner))
            .scan_index_forward(false)
            .consistent_read(true);
        query = match since {
            Some(since) => query
                .key_condition_expression("#o = :o AND AlertId >= :since")
                .expression_attribute_values(":since", s(since)),
            None => query.key_condition_expression("#o = :o"),
        };
        match limit {
            Some(limit) => {
                let out = query
                    .limit(i32::try_from(limit).unwrap_or(i32::MAX))
                    .send()
                    .await
                    .map_err(|e| HandlerError::from_sdk("reading alert history", e))?;
                Ok(out.items().iter().filter_map(Fired::from_item).collect())
            }
            None => {
                crate::dynamo::query_all(query, "reading alert history", Fired::from_item).await
            }
        }
    }
}

/// Where firings go: an SNS topic (email, SMS, HTTPS subscribers; each can
/// filter on the `owner` message attribute) and an EventBridge bus.
pub struct Notifier {
    pub sns: aws_sdk_sns::Client,
    pub events: aws_sdk_eventbridge::Client,
    pub topic_arn: String,
    pub event_bus: String,
}

/// The EventBridge `source` and `detail-type` of a firing.
pub const EVENT_SOURCE: &str = "tickerpulse";
pub const EVENT_DETAIL_TYPE: &str = "TickerPulse alert fired";

impl Notifier {
    /// Sends a firing to one target.
    pub async fn send(&self, f: &Fired, target: Target) -> Result<(), HandlerError> {
        match target {
            Target::Sns => self.publish(f).await,
            Target::EventBridge => self.put_event(f).await,
        }
    }

    async fn publish(&self, f: &Fired) -> Result<(), HandlerError> {
        use aws_sdk_sns::types::MessageAttributeValue;
        let doc = f.to_json().to_string();
        // One message, a body per protocol: JSON for HTTPS, SQS and Lambda,
        // a sentence for email and SMS.
        let message = json!({
            "default": doc, "email": format!("{}\n\n{doc}", f.summary()), "sms": f.summary(),
        });
        let attribute = |v: &str| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
                .map_err(|e| HandlerError::Fatal(format!("an SNS message attribute: {e}")))
        };
        self.sns
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(truncate(&f.summary(), 99))
            .message_structure("json")
            .message(message.to_string())
            .message_attributes("owner", attribute(&f.owner)?)
            .message_attributes("ticker", attribute(&f.ticker)?)
            .message_attributes("alert_id", attribute(&f.id)?)
            .send()
            .await
            .map_err(|e| HandlerError::from_sdk("publishing an alert to SNS", e))?;
        Ok(())
    }

    async fn put_event(&self, f: &Fired) -> Result<(), HandlerError> {
        let doc = f.to_json().to_string();
        let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
            .source(EVENT_SOURCE)
            .detail_type(EVENT_DETAIL_TYPE)
            .detail(doc)
            .event_bus_name(&self.event_bus)
            .resources(format!("tickerpulse:alert/{}", f.rule_id))
            .build();
        let out = self
            .events
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|e| HandlerError::from_sdk("sending an alert to EventBridge", e))?;
        if out.failed_entry_count() > 0 {
            let why = out
                .entries()
                .iter()
                .filter_map(|e| e.error_message())
                .collect::<Vec<_>>()
                .join("; ");
            return Err(HandlerError::Retryable(format!(
                "EventBridge refused the alert: {why}"
            )));
        }
        Ok(())
    }
}

/// At most `max` bytes, on a character boundary (SNS subjects stop at 100).
fn truncate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickerpulse_core::alerts::{Metric, Op};

    fn fired() -> Fired {
        Fired::new(
            &Firing {
                owner: "sub-1".into(),
                rule_id: "r1".into(),
                ticker: "TSLA".into(),
                metric: Metric::ZScore,
                op: Op::Above,
                threshold: 4.0,
                window: Window::Hour,
                anchor: 440_000,
                value: 6.5,
                previous: None,
                mentions: 40,
            },
            "2026-12-05T10:00:00Z",
        )
    }

    #[test]
    fn a_firing_survives_its_item() {
        let f = fired();
        assert_eq!(Fired::from_item(&f.item(1)), Some(f.clone()));
        let mut with_previous = f.clone();
        with_previous.previous = Some(1.25);
        assert_eq!(
            Fired::from_item(&with_previous.item(1)),
            Some(with_previous)
        );
        assert!(f.id.starts_with(&f.anchor) && f.id.ends_with("#r1#TSLA"));
    }

    #[test]
    fn subjects_are_cut_on_a_character_boundary() {
        assert_eq!(truncate("ab€", 3), "ab");
        assert_eq!(truncate("abc", 99), "abc");
        assert!(fired().summary().len() < 100);
    }
}
