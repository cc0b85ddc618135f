//! The state table, every item written and read here: ingest's cursors, the
//! ledger of aggregated stage 2 partitions, the raw partitions changed since they
//! were last processed, and the run records the API lists. Keys: `PK`, `SK`.

use crate::dynamo::{conditional, query_all};
use crate::HandlerError;
use aws_sdk_dynamodb::types::AttributeValue;

/// Ingest's `since_id` per query. A cursor only moves forward.
#[allow(async_fn_in_trait)]
pub trait CursorStore {
    async fn get(&self, query_key: &str) -> Result<Cursor, HandlerError>;
    /// Moves the cursor to `id` if it is ahead of the stored one, and forgets a
    /// pending pagination; returns whether it moved.
    async fn advance(&self, query_key: &str, id: u64, query: &str) -> Result<bool, HandlerError>;
    /// Keeps the cursor and remembers where an unfinished pagination stopped.
    async fn hold(&self, query_key: &str, pending: &Pending) -> Result<(), HandlerError>;
    /// Forgets a held pagination (its token was refused).
    async fn drop_pending(&self, query_key: &str) -> Result<(), HandlerError>;
}

/// A query's cursor: the newest post fetched (`since_id`), and a pagination a
/// run left unfinished (its `next_token` and the newest id it began with).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cursor {
    pub since_id: Option<u64>,
    pub pending: Option<Pending>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub next_token: String,
    pub newest: u64,
}

pub struct DynamoCursors {
    pub client: aws_sdk_dynamodb::Client,
    pub table: String,
}

fn pk(query_key: &str) -> AttributeValue {
    AttributeValue::S(format!("cursor#{query_key}"))
}

impl CursorStore for DynamoCursors {
    async fn get(&self, query_key: &str) -> Result<Cursor, HandlerError> {
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
        let item = out.item();
        let n = |k: &str| {
            item.and_then(|i| i.get(k))
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok())
        };
        let token = item
            .and_then(|i| i.get("pending_token"))
            .and_then(|v| v.as_s().ok())
            .cloned();
        Ok(Cursor {
            since_id: n("since_id"),
            pending: token
                .zip(n("pending_newest"))
                .map(|(next_token, newest)| Pending { next_token, newest }),
        })
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
        conditional("moving an ingest cursor", result)
    }

    async fn hold(&self, query_key: &str, pending: &Pending) -> Result<(), HandlerError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("PK", pk(query_key))
            .key("SK", AttributeValue::S("since_id".into()))
            .update_expression("SET pending_token = :t, pending_newest = :n")
            .expression_attribute_values(":t", AttributeValue::S(pending.next_token.clone()))
            .expression_attribute_values(":n", AttributeValue::N(pending.newest.to_string()))
            .send()
            .await
            .map_err(|e| HandlerError::from_sdk("holding an ingest pagination", e))?;
        Ok(())
    }

    async fn drop_pending(&self, query_key: &str) -> Result<(), HandlerError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("PK", pk(query_key))
            .key("SK", AttributeValue::S("since_id".into()))
            .update_expression("REMOVE pending_token, pending_newest")
            .send()
            .await
            .map_err(|e| HandlerError::from_sdk("dropping an ingest pagination", e))?;
        Ok(())
    }
}

/// The posts read from X per calendar month (UTC), and a usage cap X reported:
/// `PK = usage`, `SK = posts#YYYY-MM` with `Posts`, and `SK = cap` with
/// `Until` (epoch seconds) when X answered `UsageCapExceeded`.
pub struct Usage {
    pub client: aws_sdk_dynamodb::Client,
    pub table: String,
}

pub const USAGE_PK: &str = "usage";

/// What the usage record says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageRecord {
    pub month: String,
    pub posts: u64,
    /// X refused for the cap until then (epoch seconds).
    pub capped_until: Option<i64>,
}

impl Usage {
    pub async fn read(&self, month: &str) -> Result<UsageRecord, HandlerError> {
        let get = |sk: String| {
            self.client
                .get_item()
                .table_name(&self.table)
                .key("PK", AttributeValue::S(USAGE_PK.into()))
                .key("SK", AttributeValue::S(sk))
                .consistent_read(true)
                .send()
        };
        let n = |out: &aws_sdk_dynamodb::operation::get_item::GetItemOutput, k: &str| {
            out.item()
                .and_then(|i| i.get(k))
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<i64>().ok())
        };
        let posts = get(format!("posts#{month}"))
            .await
            .map_err(|e| HandlerError::from_sdk("reading the X usage", e))?;
        let cap = get("cap".into())
            .await
            .map_err(|e| HandlerError::from_sdk("reading the X usage cap", e))?;
        Ok(UsageRecord {
            month: month.to_string(),
            posts: n(&posts, "Posts").unwrap_or(0).max(0) as u64,
            capped_until: n(&cap, "Until"),
        })
    }

    /// Adds posts read this month.
    pub async fn add(&self, month: &str, posts: u64) -> Result<(), HandlerError> {
        if posts == 0 {
            return Ok(());
        }
        self.client
            .update_item()
            .table_name(&self.table)
            .key("PK", AttributeValue::S(USAGE_PK.into()))
            .key("SK", AttributeValue::S(format!("posts#{month}")))
            .update_expression("ADD Posts :n")
            .expression_attribute_values(":n", AttributeValue::N(posts.to_string()))
            .send()
            .await
            .map_err(|e| HandlerError::from_sdk("counting the X usage", e))?;
        Ok(())
    }

    /// Records that X refused for the usage cap until `until` (epoch seconds).
    pub async fn capped(&self, until: i64) -> Result<(), HandlerError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("PK", AttributeValue::S(USAGE_PK.into()))
            .item("SK", AttributeValue::S("cap".into()))
            .item("Until", AttributeValue::N(until.to_string()))
            .item("ExpiresAt", AttributeValue::N((until + 86_400).to_string()))
            .send()
            .await
            .map_err(|e| HandlerError::from_sdk("recording the X usage cap", e))?;
        Ok(())
    }

    /// How far a backfill got: the windows done of the backfill `id`, and in
    /// the next window the queries done and a held pagination.
    pub async fn backfill_position(&self, id: &str) -> Result<BackfillPosition, HandlerError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", AttributeValue::S("backfill".into()))
            .key("SK", AttributeValue::S(id.into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| HandlerError::from_sdk("reading a backfill checkpoint", e))?;
        let item = out.item();
        let n = |k: &str| {
            item.and_then(|i| i.get(k))
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        Ok(BackfillPosition {
            done: n("Done"),
            queries_done: n("QueriesDone"),
            next_token: item
                .and_then(|i| i.get("NextToken"))
                .and_then(|v| v.as_s().ok())
                .cloned(),
        })
    }

    /// Checkpoints a backfill at `at` (of `total` windows).
    pub async fn backfill_checkpoint(
        &self,
        id: &str,
        at: &BackfillPosition,
        total: usize,
    ) -> Result<(), HandlerError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("PK", AttributeValue::S("backfill".into()))
            .item("SK", AttributeValue::S(id.into()))
            .item("Done", AttributeValue::N(at.done.to_string()))
            .item(
                "QueriesDone",
                AttributeValue::N(at.queries_done.to_string()),
            )
            .item("Total", AttributeValue::N(total.to_string()));
        if let Some(token) = &at.next_token {
            put = put.item("NextToken", AttributeValue::S(token.clone()));
        }
        put.send()
            .await
            .map_err(|e| HandlerError::from_sdk("checkpointing a backfill", e))?;
        Ok(())
    }
}

/// Where a backfill goes on: its first `done` windows are read whole; of the
/// next one, the first `queries_done` queries, and the next query's pagination
/// is held at `next_token` (the page not yet read).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackfillPosition {
    pub done: usize,
    pub queries_done: usize,
    pub next_token: Option<String>,
}

/// The ledger of stage 2 partitions aggregated so far: partition, the ETag of
/// the cleaned file aggregated, and the run that did it. A partition whose
/// file has the same ETag is unchanged and skipped.
pub struct Ledger {
    pub client: aws_sdk_dynamodb::Client,
    pub table: String,
}

pub const LEDGER_PK: &str = "ledger#stage2";
pub const RUNS_PK: &str = "runs";

impl Ledger {
    /// ETags recorded for these partitions (absent: never aggregated).
    pub async fn etags(
        &self,
        partitions: &[String],
    ) -> Result<std::collections::HashMap<String, String>, HandlerError> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let mut out = std::collections::HashMap::new();
        for chunk in partitions.chunks(100) {
            let keys: Vec<_> = chunk
                .iter()
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .map(|p| {
                    std::collections::HashMap::from([
                        ("PK".to_string(), AttributeValue::S(LEDGER_PK.into())),
                        ("SK".to_string(), AttributeValue::S(p.clone())),
                    ])
                })
                .collect();
            let mut request = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| HandlerError::Fatal(format!("ledger read: {e}")))?,
            );
            let mut attempt = 0;
            while let Some(keys) = request.take() {
                let got = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, keys)
                    .send()
                    .await
                    .map_err(|e| HandlerError::from_sdk("reading the partition ledger", e))?;
                for item in got
                    .responses()
                    .and_then(|r| r.get(&self.table))
                    .into_iter()
                    .flatten()
                {
                    if let (Some(AttributeValue::S(p)), Some(AttributeValue::S(etag))) =
                        (item.get("SK"), item.get("ETag"))
                    {
                        out.insert(p.clone(), etag.clone());
                    }
                }
                request = got
                    .unprocessed_keys()
                    .and_then(|u| u.get(&self.table))
                    .filter(|k| !k.keys().is_empty())
                    .cloned();
                if request.is_some() {
                    attempt += 1;
                    tokio::time::sleep(crate::serving::WRITE_BACKOFF.delay(attempt)).await;
                }
            }
        }
        Ok(out)
    }

    /// Records partitions as aggregated by `run_id` with their files' ETags.
    pub async fn record(
        &self,
        entries: &[(String, String)],
        run_id: &str,
        now: &str,
    ) -> Result<(), HandlerError> {
        let mut requests = Vec::with_capacity(entries.len());
        for (partition, etag) in entries {
            let item = std::collections::HashMap::from([
                ("PK".to_string(), AttributeValue::S(LEDGER_PK.into())),
                ("SK".to_string(), AttributeValue::S(partition.clone())),
                ("ETag".to_string(), AttributeValue::S(etag.clone())),
                ("RunId".to_string(), AttributeValue::S(run_id.into())),
                ("AggregatedAt".to_string(), AttributeValue::S(now.into())),
            ]);
            requests.push((self.table.clone(), crate::serving::put(item)?));
        }
        crate::serving::batch_write(&self.client, requests).await?;
        Ok(())
    }
}

/// One pipeline run as the API shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    pub started_at: String,
    pub ended_at: String,
    /// `succeeded`, `partial` or `failed`.
    pub status: String,
    pub partitions: u64,
    pub partitions_changed: u64,
    pub rows_in: u64,
    /// Raw lines compact could not read; each partition's are named in
    /// `raw-errors/rejected-lines/<partition>/rejects.jsonl` of the raw bucket.
    #[serde(default)]
    pub rows_rejected: u64,
    pub items_written: u64,
    pub items_deleted: u64,
    pub recent_tweets_written: u64,
    pub error: Option<String>,
}

/// Run records: `PK = runs`, `SK = <started_at>#<run_id>`, newest last; kept 90 days.
pub async fn put_run(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    run: &RunRecord,
) -> Result<(), HandlerError> {
    let n = |v: u64| AttributeValue::N(v.to_string());
    let expires = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        + 90 * 86_400;
    let mut item = std::collections::HashMap::from([
        ("PK".to_string(), AttributeValue::S(RUNS_PK.into())),
        (
            "SK".to_string(),
            AttributeValue::S(format!("{}#{}", run.started_at, run.run_id)),
        ),
        ("RunId".to_string(), AttributeValue::S(run.run_id.clone())),
        (
            "StartedAt".to_string(),
            AttributeValue::S(run.started_at.clone()),
        ),
        (
            "EndedAt".to_string(),
            AttributeValue::S(run.ended_at.clone()),
        ),
        ("Status".to_string(), AttributeValue::S(run.status.clone())),
        ("Partitions".to_string(), n(run.partitions)),
        ("PartitionsChanged".to_string(), n(run.partitions_changed)),
        ("RowsIn".to_string(), n(run.rows_in)),
        ("RowsRejected".to_string(), n(run.rows_rejected)),
        ("ItemsWritten".to_string(), n(run.items_written)),
        ("ItemsDeleted".to_string(), n(run.items_deleted)),
        (
            "RecentTweetsWritten".to_string(),
            n(run.recent_tweets_written),
        ),
        ("ExpiresAt".to_string(), n(expires)),
    ]);
    if let Some(e) = &run.error {
        item.insert("Error".into(), AttributeValue::S(e.clone()));
    }
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await
        .map_err(|e| HandlerError::from_sdk("recording the run", e))?;
    Ok(())
}

/// A run record read back from its item (written by [`put_run`]), with its sort key.
pub fn run_from_item(
    item: &std::collections::HashMap<String, AttributeValue>,
) -> Option<(String, RunRecord)> {
    let string = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
    let n = |k: &str| crate::serving::get_n::<u64>(item, k).unwrap_or(0);
    Some((
        string("SK")?,
        RunRecord {
            run_id: string("RunId")?,
            started_at: string("StartedAt").unwrap_or_default(),
            ended_at: string("EndedAt").unwrap_or_default(),
            status: string("Status").unwrap_or_default(),
            partitions: n("Partitions"),
            partitions_changed: n("PartitionsChanged"),
            rows_in: n("RowsIn"),
            rows_rejected: n("RowsRejected"),
            items_written: n("ItemsWritten"),
            items_deleted: n("ItemsDeleted"),
            recent_tweets_written: n("RecentTweetsWritten"),
            error: string("Error"),
        },
    ))
}

/// Pipeline runs, newest first, older than `before` (a sort key), with their sort
/// keys; and whether more follow.
pub async fn runs(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    limit: usize,
    before: Option<&str>,
) -> Result<(Vec<(String, RunRecord)>, bool), HandlerError> {
    let mut q = client
        .query()
        .table_name(table)
        .expression_attribute_values(":p", AttributeValue::S(RUNS_PK.into()))
        .scan_index_forward(false)
        .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX));
    q = match before {
        Some(b) => q
            .key_condition_expression("PK = :p AND SK < :b")
            .expression_attribute_values(":b", AttributeValue::S(b.into())),
        None => q.key_condition_expression("PK = :p"),
    };
    let out = q
        .send()
        .await
        .map_err(|e| HandlerError::from_sdk("reading the pipeline runs", e))?;
    let mut runs: Vec<(String, RunRecord)> = out.items().iter().filter_map(run_from_item).collect();
    let more = runs.len() > limit;
    runs.truncate(limit);
    Ok((runs, more))
}

/// Raw hour partitions that received objects since they were last processed:
/// `PK = changed#raw`, `SK = <partition>`, with a `Version` that every S3 event
/// bumps. A run clears a partition only if its version did not move meanwhile,
/// so an object that lands during a run is processed by the next one.
pub struct ChangedPartitions {
    pub client: aws_sdk_dynamodb::Client,
    pub table: String,
}

pub const CHANGED_PK: &str = "changed#raw";

impl ChangedPartitions {
    /// Records an object of a partition (idempotent for the state it leaves:
    /// the partition is pending).
    pub async fn mark(
        &self,
        partition: &str,
        key: &str,
        event_time: &str,
    ) -> Result<u64, HandlerError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", AttributeValue::S(CHANGED_PK.into()))
            .key("SK", AttributeValue::S(partition.into()))
            .update_expression("SET LastKey = :k, LastEventTime = :t ADD Version :one")
            .expression_attribute_values(":k", AttributeValue::S(key.into()))
            .expression_attribute_values(":t", AttributeValue::S(event_time.into()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| HandlerError::from_sdk("recording a changed partition", e))?;
        Ok(out
            .attributes()
            .and_then(|a| a.get("Version"))
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0))
    }

    /// Every pending partition with its version, oldest partition first.
    pub async fn pending(&self) -> Result<Vec<(String, u64)>, HandlerError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :p")
            .expression_attribute_values(":p", AttributeValue::S(CHANGED_PK.into()))
            .consistent_read(true);
        query_all(query, "reading changed partitions", |item| {
            match (item.get("SK"), item.get("Version")) {
                (Some(AttributeValue::S(p)), Some(AttributeValue::N(v))) => {
                    Some((p.clone(), v.parse().unwrap_or(0)))
                }
                _ => None,
            }
        })
        .await
    }

    /// Clears a partition processed at `version`; false if it changed meanwhile.
    pub async fn clear(&self, partition: &str, version: u64) -> Result<bool, HandlerError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("PK", AttributeValue::S(CHANGED_PK.into()))
            .key("SK", AttributeValue::S(partition.into()))
            .condition_expression("Version = :v")
            .expression_attribute_values(":v", AttributeValue::N(version.to_string()))
            .send()
            .await;
        conditional("clearing a changed partition", result)
    }
}
