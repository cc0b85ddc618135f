//! Where a post comes from. X is the default: records without a `source`
//! (every record written before there were other sources) are X's.
//!
//! Each source's ids have a shape of their own, so that ids never collide
//! across sources and the lake's dedup by id stays exact: X ids are numbers,
//! Bluesky ids are `at://` URIs, Reddit ids are fullnames (`t3_` posts,
//! `t1_` comments).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    X,
    Bluesky,
    Reddit,
}

impl Source {
    pub const ALL: [Source; 3] = [Source::X, Source::Bluesky, Source::Reddit];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::X => "x",
            Source::Bluesky => "bluesky",
            Source::Reddit => "reddit",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether an id has this source's shape.
    pub fn owns_id(self, id: &str) -> bool {
        match self {
            Source::X => !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()),
            Source::Bluesky => id.starts_with("at://") && id.len() > 5,
            Source::Reddit => {
                (id.starts_with("t3_") || id.starts_with("t1_"))
                    && id.len() > 3
                    && id[3..].bytes().all(|b| b.is_ascii_alphanumeric())
            }
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a query stands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cursor {
    /// The time (RFC 3339) reads of the query go back to, less the poll's
    /// overlap: the newest post of the last read that reached the cursor before
    /// it (or a backfill's `since`). Everything after it has been read, unless
    /// `resume` says a read stopped.
    pub newest: String,
    /// A read that stopped before it reached `newest` (a budget, the page cap, a
    /// rate limit): the older page to go on from, and the newest post that read
    /// saw, which becomes `newest` once the stretch between is read.
    pub resume: Option<Resume>,
}

/// Where a stopped read goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resume {
    /// The source's token of the next older page (Reddit's `after`, Bluesky's `cursor`).
    pub page: String,
    /// RFC 3339: the newest post the stopped read saw.
    pub top: String,
}

impl Cursor {
    pub fn at(newest: &str) -> Self {
        Self {
            newest: newest.to_string(),
            resume: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_ids_are_disjoint() {
        for s in Source::ALL {
            assert_eq!(Source::parse(s.as_str()), Some(s));
        }
        assert_eq!(Source::parse("X"), None);
        let ids = [
            "1252",
            "at://did:plc:abc/app.bsky.feed.post/3k",
            "t3_fcn10m",
            "t1_fjbr7ul",
        ];
        for id in ids {
            let owners: Vec<Source> = Source::ALL.into_iter().filter(|s| s.owns_id(id)).collect();
            assert_eq!(owners.len(), 1, "{id}: {owners:?}");
        }
        assert!(!Source::Reddit.owns_id("t3_"));
        assert!(!Source::Reddit.owns_id("t3_a/b"));
        assert!(!Source::X.owns_id(""));
    }
}
