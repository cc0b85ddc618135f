//! The demo's input: the 5,000 real stock tweets of taborda-2020 (CC BY 4.0,
//! credit in data/README.md), read in place from the data root
//! (`tickerpulse-dataroot`, never compiled in), as X API v2 tweet objects that keep their
//! `created_at`. The dataset has no tweet ids or authors: ids are snowflakes
//! made from the time and the row (so they sort by time, as X's do), authors are
//! drawn from 1,500 accounts by a hash of the row, and entities (cashtags) come
//! from the text as X would give them.

use serde_json::{json, Value};

/// Why a row of the file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum TabordaError {
    #[error(transparent)]
    Data(#[from] tickerpulse_dataroot::DataError),
    #[error("parsing taborda-2020.csv: {0}")]
    Csv(#[from] tickerpulse_core::csv::CsvError),
    #[error("taborda-2020.csv row {row}: {what}")]
    Row { row: usize, what: String },
}

/// X's snowflake epoch (2010-11-04T01:42:54.657Z) in milliseconds.
const TWITTER_EPOCH_MS: i64 = 1_288_834_974_657;
const AUTHORS: u64 = 1_500;

fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// `2020-04-15 01:03:46+00:00` -> milliseconds since the epoch.
fn parse_time(s: &str) -> Option<i64> {
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]"
    );
    let t = time::OffsetDateTime::parse(s, &fmt).ok()?;
    Some((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// Every row as an X API v2 tweet object with an `author` (as ingest merges it),
/// read from the data root.
pub fn tweets() -> Result<Vec<Value>, TabordaError> {
    let csv = tickerpulse_dataroot::read_str(tickerpulse_dataroot::TABORDA)?;
    let rows = tickerpulse_core::csv::parse(csv, b';')?;
    let mut out = Vec::with_capacity(rows.len());
    for (n, row) in rows.iter().enumerate().skip(1) {
        let bad = |what: String| TabordaError::Row { row: n, what };
        let [id, created, text, ..] = row.as_slice() else {
            return Err(bad(format!("{} fields", row.len())));
        };
        let row_id: u64 = id.parse().map_err(|_| bad(format!("id {id:?}")))?;
        let ms = parse_time(created).ok_or_else(|| bad(format!("created_at {created:?}")))?;
        let tweet_id = ((ms - TWITTER_EPOCH_MS) as u64) << 22 | (row_id & 0x3F_FFFF);
        let when = time::OffsetDateTime::from_unix_timestamp(ms / 1000)
            .map_err(|e| bad(format!("created_at {created:?}: {e}")))?;
        let created_at = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000Z",
            when.year(),
            u8::from(when.month()),
            when.day(),
            when.hour(),
            when.minute(),
            when.second()
        );
        let author = mix(row_id) % AUTHORS;
        let cashtags: Vec<Value> = tickerpulse_core::watchlist::cashtags_in_text(text)
            .into_iter()
            .map(|t| json!({"tag": t}))
            .collect();
        out.push(json!({
            "id": tweet_id.to_string(),
            "text": text,
            "created_at": created_at,
            "author_id": format!("{}", 9_000_000 + author),
            "lang": "en",
            "entities": {"cashtags": cashtags},
            "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": mix(row_id ^ 7) % 20, "quote_count": 0},
            "author": {
                "id": format!("{}", 9_000_000 + author),
                "username": format!("investor{author}"),
                "verified": false,
                "created_at": "2014-03-01T00:00:00.000Z",
                "public_metrics": {"followers_count": 50 + mix(author) % 5_000},
            },
        }));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_thousand_tweets_with_unique_time_ordered_ids() {
        let t = tweets().unwrap();
        assert_eq!(t.len(), 5_000);
        let mut ids: Vec<u64> = t
            .iter()
            .map(|v| v["id"].as_str().unwrap().parse().unwrap())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 5_000, "ids are unique");
        let first = t
            .iter()
            .find(|v| {
                v["text"]
                    .as_str()
                    .unwrap()
                    .starts_with("RT @RobertBeadles: Yo")
            })
            .unwrap();
        assert_eq!(first["created_at"], "2020-04-15T01:03:46.000Z");
        // Later tweets have larger ids.
        let (a, b) = (&t[0], &t[1]);
        let order = a["created_at"].as_str() < b["created_at"].as_str();
        let ids_order = a["id"].as_str().unwrap().parse::<u64>().unwrap()
            < b["id"].as_str().unwrap().parse::<u64>().unwrap();
        assert_eq!(order, ids_order);
    }
}
