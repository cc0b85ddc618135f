//! `POST /forget`: an operator asks that posts (by id) or authors (by id or
//! user name) be forgotten. The request is queued in the state table; the
//! comply function carries it out on its next run (hourly by default) and
//! the pipeline's next run recomputes the figures without the posts
//! (docs/privacy.md). Only the operators group may ask (403 otherwise).

use crate::access::{Caller, OPERATORS_GROUP};
use crate::params::ApiError;
use crate::respond::{Answer, Failure};
use serde::Deserialize;
use serde_json::json;
use tickerpulse_aws::compliance::ComplyState;

/// Bodies larger than this are refused before parsing (1,000 ids each of
/// posts and authors, at most 100 characters, fit).
pub const MAX_BODY: usize = 256 * 1024;
/// Ids in one request, of each kind.
pub const MAX_IDS: usize = 1000;
const MAX_ID_CHARS: usize = 100;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewRequest {
    #[serde(default)]
    posts: Vec<String>,
    #[serde(default)]
    authors: Vec<String>,
}

fn bad(message: String) -> Failure {
    ApiError::bad("bad_body", message).into()
}

fn check(kind: &str, ids: &[String]) -> Result<(), Failure> {
    if ids.len() > MAX_IDS {
        return Err(bad(format!("{} {kind}: {MAX_IDS} is the most", ids.len())));
    }
    for id in ids {
        let printable = id.bytes().all(|b| (0x21..=0x7e).contains(&b));
        if id.is_empty() || id.len() > MAX_ID_CHARS || !printable {
            return Err(bad(format!(
                "{kind}: {id:?} is not an id (1 to {MAX_ID_CHARS} printable ASCII characters, no spaces)"
            )));
        }
    }
    Ok(())
}

pub(crate) async fn request(
    state: &ComplyState,
    caller: &Caller,
    body: &[u8],
    request_id: &str,
) -> Answer {
    if !caller.is_operator() {
        return Err(Failure::Refused(ApiError {
            status: 403,
            code: "forbidden",
            message: format!(
                "{} is not in the {OPERATORS_GROUP} group, which forget requests need",
                caller.username
            ),
        }));
    }
    if body.len() > MAX_BODY {
        return Err(bad(format!("the body is over {MAX_BODY} bytes")));
    }
    let new: NewRequest =
        serde_json::from_slice(body).map_err(|e| bad(format!("not a forget request: {e}")))?;
    check("posts", &new.posts)?;
    check("authors", &new.authors)?;
    if new.posts.is_empty() && new.authors.is_empty() {
        return Err(bad("name at least one post or author".into()));
    }
    let now_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    let key = state
        .request(
            now_ms,
            request_id,
            &new.posts,
            &new.authors,
            &caller.username,
        )
        .await?;
    tracing::info!(
        sub = %caller.sub,
        posts = new.posts.len(),
        authors = new.authors.len(),
        "forget requested"
    );
    Ok(json!({
        "request": key, "status": "queued",
        "posts": new.posts.len(), "authors": new.authors.len(),
    }))
}
