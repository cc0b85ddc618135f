//! What every DynamoDB adapter of this crate shares: reading a query's every
//! page, and telling a failed condition from a failure.

use crate::HandlerError;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// Every item of every page a query returns, through `parse` (the items it
/// refuses are skipped). `context` names the read in an error.
pub async fn query_all<T>(
    query: QueryFluentBuilder,
    context: &str,
    mut parse: impl FnMut(&HashMap<String, AttributeValue>) -> Option<T>,
) -> Result<Vec<T>, HandlerError> {
    let mut pages = query.into_paginator().send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| HandlerError::from_sdk(context, e))?;
        out.extend(page.items().iter().filter_map(&mut parse));
    }
    Ok(out)
}

/// The outcome of a conditional write: true if written, false if its
/// condition did not hold, an error for anything else.
pub fn conditional<T, E, R>(
    context: &str,
    result: Result<T, aws_sdk_dynamodb::error::SdkError<E, R>>,
) -> Result<bool, HandlerError>
where
    E: std::error::Error + Send + Sync + 'static + aws_sdk_dynamodb::error::ProvideErrorMetadata,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(e) if is_conditional_failure(&e) => Ok(false),
        Err(e) => Err(HandlerError::from_sdk(context, e)),
    }
}

/// Whether a write was refused by its condition (not failed).
pub fn is_conditional_failure<E, R>(e: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    e.as_service_error().and_then(|s| s.code()) == Some("ConditionalCheckFailedException")
}

/// An item's string attribute.
pub fn read_s(item: &HashMap<String, AttributeValue>, k: &str) -> Option<String> {
    item.get(k).and_then(|v| v.as_s().ok()).cloned()
}

/// An item's number attribute, as an integer.
pub fn read_n(item: &HashMap<String, AttributeValue>, k: &str) -> Option<i64> {
    item.get(k)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
}

/// An item's list of strings (empty when absent).
pub fn read_strings(item: &HashMap<String, AttributeValue>, k: &str) -> Vec<String> {
    item.get(k)
        .and_then(|v| v.as_l().ok())
        .map(|l| l.iter().filter_map(|v| v.as_s().ok().cloned()).collect())
        .unwrap_or_default()
}
