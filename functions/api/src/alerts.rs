//! `/alerts`: a signed-in user's alert rules. Anyone signed in lists their own;
//! only the editors group creates and deletes (403 otherwise).

use crate::access::Caller;
use crate::params::{watched_ticker, ApiError};
use crate::respond::{Answer, Failure};
use serde_json::{json, Value};
use tickerpulse_aws::alerts::AlertRules;
use tickerpulse_core::alerts::{NewRule, Rule, ANY_TICKER, MAX_RULES_PER_USER};
use tickerpulse_core::watchlist::Watchlist;

/// Bodies larger than this are refused before parsing.
pub const MAX_BODY: usize = 4096;

pub fn rule_json(r: &Rule) -> Value {
    json!({
        "id": r.id, "ticker": r.ticker, "metric": r.metric.name(), "op": r.op.name(),
        "threshold": r.threshold, "window": r.window.name(),
        "cooldown_hours": r.cooldown_hours, "min_mentions": r.min_mentions,
        "created_at": r.created_at,
    })
}

fn forbidden(caller: &Caller) -> Failure {
    Failure::Refused(ApiError {
        status: 403,
        code: "forbidden",
        message: format!(
            "{} is not in the {} group, which alert rules need",
            caller.username,
            crate::access::EDITORS_GROUP
        ),
    })
}

pub(crate) async fn list(store: &AlertRules, caller: &Caller) -> Answer {
    let rules: Vec<Value> = store
        .list(&caller.sub)
        .await?
        .iter()
        .map(rule_json)
        .collect();
    Ok(json!({ "rules": rules }))
}

/// A rule id that sorts by creation time: milliseconds, then 8 hex digits.
pub fn rule_id(now_ms: i128, salt: &str) -> String {
    let h = tickerpulse_core::hash::stable(salt.as_bytes()) as u32;
    format!("{now_ms:013}-{h:08x}")
}

pub(crate) async fn create(
    store: &AlertRules,
    watchlist: &Watchlist,
    caller: &Caller,
    body: &[u8],
    request_id: &str,
) -> Answer {
    if !caller.can_write() {
        return Err(forbidden(caller));
    }
    if body.len() > MAX_BODY {
        return Err(ApiError::bad("bad_body", format!("the body is over {MAX_BODY} bytes")).into());
    }
    let new: NewRule = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad("bad_body", format!("not an alert rule: {e}")))?;
    new.check()
        .map_err(|e| ApiError::bad("bad_body", e.to_string()))?;
    let ticker = if new.ticker == ANY_TICKER {
        new.ticker.clone()
    } else {
        watched_ticker(&new.ticker, watchlist)?
    };
    if store.list(&caller.sub).await?.len() >= MAX_RULES_PER_USER {
        return Err(Failure::Refused(ApiError {
            status: 409,
            code: "too_many_rules",
            message: format!(
                "{MAX_RULES_PER_USER} rules is the most one user may keep; delete one first"
            ),
        }));
    }
    let now = time::OffsetDateTime::now_utc();
    let rule = Rule {
        owner: caller.sub.clone(),
        id: rule_id(
            now.unix_timestamp_nanos() / 1_000_000,
            &format!("{request_id}{}", caller.sub),
        ),
        ticker,
        metric: new.metric,
        op: new.op,
        threshold: new.stored_threshold(),
        window: new.window,
        cooldown_hours: new.cooldown_hours,
        min_mentions: new.min_mentions,
        created_at: now
            .replace_nanosecond(0)
            .unwrap_or(now)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
    };
    if !store.create(&rule).await? {
        return Err(Failure::Refused(ApiError {
            status: 409,
            code: "conflict",
            message: "a rule of that id exists; send it again".into(),
        }));
    }
    Ok(rule_json(&rule))
}

pub(crate) async fn delete(store: &AlertRules, caller: &Caller, id: &str) -> Answer {
    if !caller.can_write() {
        return Err(forbidden(caller));
    }
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(ApiError::bad("bad_parameter", format!("{id:?} is not a rule id")).into());
    }
    if store.delete(&caller.sub, id).await? {
        Ok(Value::Null)
    } else {
        Err(ApiError::not_found(format!("you have no alert rule {id}")).into())
    }
}
