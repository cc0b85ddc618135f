//! S3 lifecycle expiry on the local stack. moto stores a bucket's lifecycle
//! configuration and never applies it; S3 applies it once a day. [`run`] is
//! one such daily pass at a given instant, over the configuration moto holds,
//! with S3's rules (S3 user guide: "Lifecycle configuration elements",
//! "Expiring objects", and how S3 works out when a version became
//! noncurrent):
//!
//! - a current version expires once `ExpirationInDays` have passed since it
//!   was written, the time rounded up to the next midnight UTC; in a
//!   versioned bucket expiring adds a delete marker (the version becomes
//!   noncurrent), in another it deletes the object;
//! - a noncurrent version is deleted once `NoncurrentDays` have passed since
//!   it became noncurrent (when its successor was written), rounded the same
//!   way;
//! - `ExpiredObjectDeleteMarker` removes a delete marker that is an object's
//!   only version left.
//!
//! A pass acts on what it listed at its start, so a version one pass makes
//! noncurrent is counted from then, as S3's daily passes count it.
//! Transitions and multipart clean-up change no content and are left out.

use crate::template::LifecycleRule;
use anyhow::{anyhow, Result};
use std::collections::BTreeMap;
use tickerpulse_aws::lake::{versions, ObjectVersion};

const DAY_MS: i64 = 86_400_000;

/// When a version written (or made noncurrent) at `since_ms` expires under a
/// rule of `days`: `days` later, rounded up to the next midnight UTC.
pub fn expires_at(since_ms: i64, days: i32) -> i64 {
    let t = since_ms + i64::from(days) * DAY_MS;
    (t.div_euclid(DAY_MS) + 1) * DAY_MS
}

/// Puts the template's rules into moto, as CloudFormation does.
pub async fn configure(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    rules: &[LifecycleRule],
) -> Result<()> {
    use aws_sdk_s3::types::{
        BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule as Rule,
        LifecycleRuleFilter, NoncurrentVersionExpiration,
    };
    let mut config = BucketLifecycleConfiguration::builder();
    for r in rules {
        let mut rule = Rule::builder()
            .id(&r.id)
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix(&r.prefix).build());
        if let Some(days) = r.expiration_days {
            rule = rule.expiration(LifecycleExpiration::builder().days(days).build());
        } else if r.expired_object_delete_marker {
            rule = rule.expiration(
                LifecycleExpiration::builder()
                    .expired_object_delete_marker(true)
                    .build(),
            );
        }
        if let Some(days) = r.noncurrent_days {
            rule = rule.noncurrent_version_expiration(
                NoncurrentVersionExpiration::builder()
                    .noncurrent_days(days)
                    .build(),
            );
        }
        config = config.rules(rule.build()?);
    }
    s3.put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(config.build()?)
        .send()
        .await
        .map_err(|e| anyhow!("{}", tickerpulse_aws::sdk::describe(&e)))?;
    Ok(())
}

/// The bucket's enabled rules as moto holds them.
pub async fn rules(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<Vec<LifecycleRule>> {
    let got = match s3
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(got) => got,
        Err(e) if tickerpulse_aws::sdk::describe(&e).contains("NoSuchLifecycleConfiguration") => {
            return Ok(Vec::new())
        }
        Err(e) => return Err(anyhow!("{}", tickerpulse_aws::sdk::describe(&e))),
    };
    Ok(got
        .rules()
        .iter()
        .filter(|r| r.status().as_str() == "Enabled")
        .map(|r| {
            #[allow(deprecated)] // the rule-level `Prefix` of older configurations
            let prefix = r
                .filter()
                .and_then(|f| f.prefix())
                .or(r.prefix())
                .unwrap_or_default();
            LifecycleRule {
                id: r.id().unwrap_or_default().to_string(),
                prefix: prefix.to_string(),
                expiration_days: r.expiration().and_then(|e| e.days()),
                noncurrent_days: r
                    .noncurrent_version_expiration()
                    .and_then(|n| n.noncurrent_days()),
                expired_object_delete_marker: r
                    .expiration()
                    .and_then(|e| e.expired_object_delete_marker())
                    == Some(true),
            }
        })
        .collect())
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Expired {
    /// Current versions expired (a delete marker added, or deleted).
    pub current: u64,
    /// Noncurrent versions deleted.
    pub noncurrent: u64,
    /// Lone delete markers removed.
    pub markers: u64,
}

/// What a pass at `now_ms` does to one object's versions (newest first).
fn due(rule: &LifecycleRule, versions: &[&ObjectVersion], now_ms: i64) -> Vec<Action> {
    let mut out = Vec::new();
    let Some(current) = versions.first() else {
        return out;
    };
    if let Some(days) = rule.expiration_days {
        if current.latest
            && !current.delete_marker
            && now_ms >= expires_at(current.last_modified_ms, days)
        {
            out.push(Action::Expire);
        }
    }
    if let Some(days) = rule.noncurrent_days {
        for pair in versions.windows(2) {
            let (newer, older) = (pair[0], pair[1]);
            if now_ms >= expires_at(newer.last_modified_ms, days) {
                out.push(Action::Delete(older.id.clone(), older.delete_marker));
            }
        }
    }
    if rule.expired_object_delete_marker && versions.len() == 1 && current.delete_marker {
        out.push(Action::Delete(current.id.clone(), true));
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Action {
    /// The current version expires.
    Expire,
    /// This version (or delete marker, when true) is deleted.
    Delete(String, bool),
}

/// One daily pass of the bucket's lifecycle rules, as at `now_ms`.
pub async fn run(s3: &aws_sdk_s3::Client, bucket: &str, now_ms: i64) -> Result<Expired> {
    let rules = rules(s3, bucket).await?;
    let mut done = Expired::default();
    if rules.is_empty() {
        return Ok(done);
    }
    let listed = versions(s3, bucket, "").await?;
    let mut by_key: BTreeMap<&str, Vec<&ObjectVersion>> = BTreeMap::new();
    for v in &listed {
        by_key.entry(&v.key).or_default().push(v);
    }
    for (key, mut vs) in by_key {
        // Newest first: the current one, then by when they were written.
        vs.sort_by_key(|v| (!v.latest, std::cmp::Reverse(v.last_modified_ms)));
        let mut actions: Vec<Action> = rules
            .iter()
            .filter(|r| key.starts_with(&r.prefix))
            .flat_map(|r| due(r, &vs, now_ms))
            .collect();
        actions.sort_by_key(|a| format!("{a:?}"));
        actions.dedup();
        for action in actions {
            let delete = s3.delete_object().bucket(bucket).key(key);
            let delete = match &action {
                Action::Expire => {
                    done.current += 1;
                    delete
                }
                Action::Delete(id, marker) => {
                    if *marker && vs.len() == 1 {
                        done.markers += 1;
                    } else {
                        done.noncurrent += 1;
                    }
                    delete.version_id(id)
                }
            };
            delete.send().await.map_err(|e| {
                anyhow!(
                    "s3://{bucket}/{key}: {}",
                    tickerpulse_aws::sdk::describe(&e)
                )
            })?;
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(rfc3339: &str) -> i64 {
        let t =
            time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
                .unwrap();
        (t.unix_timestamp_nanos() / 1_000_000) as i64
    }

    #[test]
    fn expiry_is_rounded_up_to_the_next_midnight_utc() {
        // AWS's own example: noncurrent from 2 January 11:30 UTC under a
        // one-day rule, deleted at 4 January 00:00 UTC.
        assert_eq!(
            expires_at(ms("2020-01-02T11:30:00Z"), 1),
            ms("2020-01-04T00:00:00Z")
        );
        // Written a second before midnight: still the next midnight after.
        assert_eq!(
            expires_at(ms("2020-01-01T23:59:59Z"), 30),
            ms("2020-02-01T00:00:00Z")
        );
    }

    fn version(id: &str, latest: bool, marker: bool, at: &str) -> ObjectVersion {
        ObjectVersion {
            key: "k".into(),
            id: id.into(),
            latest,
            delete_marker: marker,
            last_modified_ms: ms(at),
        }
    }

    #[test]
    fn a_pass_expires_the_current_version_and_the_versions_noncurrent_long_enough() {
        let rule = LifecycleRule {
            id: "r".into(),
            prefix: String::new(),
            expiration_days: Some(10),
            noncurrent_days: Some(7),
            expired_object_delete_marker: false,
        };
        let (v3, v2, v1) = (
            version("3", true, false, "2026-01-20T12:00:00Z"),
            version("2", false, false, "2026-01-05T12:00:00Z"),
            version("1", false, false, "2026-01-01T12:00:00Z"),
        );
        let vs = [&v3, &v2, &v1];
        // 13 January: v1 (noncurrent since 5 January) has had its 7 days.
        let at = |s| due(&rule, &vs, ms(s));
        assert_eq!(at("2026-01-12T23:59:59Z"), []);
        assert_eq!(
            at("2026-01-13T00:00:00Z"),
            [Action::Delete("1".into(), false)]
        );
        // 28 January: v2 (noncurrent since 20 January) goes too; v3 expires
        // on 31 January.
        assert_eq!(at("2026-01-28T00:00:00Z").len(), 2);
        assert_eq!(at("2026-01-31T00:00:00Z").first(), Some(&Action::Expire));
    }

    #[test]
    fn a_lone_delete_marker_goes_only_under_its_own_action() {
        let marker = version("m", true, true, "2026-01-01T00:00:00Z");
        let mut rule = LifecycleRule {
            id: "r".into(),
            prefix: String::new(),
            expiration_days: Some(1),
            noncurrent_days: None,
            expired_object_delete_marker: false,
        };
        let now = ms("2027-01-01T00:00:00Z");
        assert_eq!(due(&rule, &[&marker], now), []);
        rule.expired_object_delete_marker = true;
        assert_eq!(
            due(&rule, &[&marker], now),
            [Action::Delete("m".into(), true)]
        );
    }
}
