//! Forgetting posts: which lines of the raw zone are a post to forget (by its
//! id, or its author's id or user name), and an object's lines without them.
//! Pure: `crates/aws/src/forget.rs` runs it over the raw zone, and the
//! pipeline recomputes every copy made from the raw zone.

use crate::tweet::EnrichedTweet;
use std::collections::BTreeSet;

/// What to forget.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Forget {
    /// Post ids (`tweet_id`, whatever the source).
    pub posts: BTreeSet<String>,
    /// Authors as given: each is matched exactly against a post's author id,
    /// and, without case or a leading `@`, against its user name (ids are
    /// never case-folded: `Ab1` and `ab1` may be two accounts).
    pub authors: BTreeSet<String>,
    /// `authors` as user names are compared.
    usernames: BTreeSet<String>,
}

/// One post taken out of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    pub tweet_id: String,
    pub author_username: Option<String>,
}

/// An object's JSON lines without the forgotten posts.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stripped {
    /// The lines kept, each with its newline.
    pub kept: Vec<u8>,
    pub removed: Vec<Removed>,
    /// Lines that are no enriched record: kept as they were (compaction reports
    /// them), unless they name a post or author to forget as a JSON field.
    pub unreadable: u64,
}

fn username_key(name: &str) -> String {
    name.trim_start_matches('@').to_lowercase()
}

impl Forget {
    pub fn new(
        posts: impl IntoIterator<Item = String>,
        authors: impl IntoIterator<Item = String>,
    ) -> Self {
        let authors: BTreeSet<String> = authors.into_iter().collect();
        Self {
            posts: posts.into_iter().collect(),
            usernames: authors.iter().map(|a| username_key(a)).collect(),
            authors,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.posts.is_empty() && self.authors.is_empty()
    }

    fn names(&self, id: Option<&str>, author_id: Option<&str>, username: Option<&str>) -> bool {
        id.is_some_and(|i| self.posts.contains(i))
            || author_id.is_some_and(|a| self.authors.contains(a))
            || username.is_some_and(|u| self.usernames.contains(&username_key(u)))
    }

    /// `jsonl` without the lines of posts to forget.
    pub fn strip(&self, jsonl: &[u8]) -> Stripped {
        let mut out = Stripped::default();
        for line in jsonl.split_inclusive(|&b| b == b'\n') {
            let body = line.strip_suffix(b"\n").unwrap_or(line);
            if body.iter().all(u8::is_ascii_whitespace) {
                out.kept.extend_from_slice(line);
                continue;
            }
            let forget = match serde_json::from_slice::<EnrichedTweet>(body) {
                Ok(t) => {
                    let hit = self.names(
                        Some(&t.tweet_id),
                        t.author_id.as_deref(),
                        t.author_username.as_deref(),
                    );
                    if hit {
                        out.removed.push(Removed {
                            tweet_id: t.tweet_id.to_string(),
                            author_username: t.author_username.map(|u| u.to_string()),
                        });
                    }
                    hit
                }
                Err(_) => {
                    // Not an enriched record (an older schema, a broken line):
                    // its fields, if it has any, decide.
                    out.unreadable += 1;
                    let v: serde_json::Value =
                        serde_json::from_slice(body).unwrap_or(serde_json::Value::Null);
                    let field = |k: &str| v.get(k).and_then(serde_json::Value::as_str);
                    let hit = self.names(
                        field("tweet_id").or(field("id")),
                        field("author_id"),
                        field("author_username").or(field("username")),
                    );
                    if hit {
                        out.removed.push(Removed {
                            tweet_id: field("tweet_id").or(field("id")).unwrap_or("").into(),
                            author_username: field("author_username").map(String::from),
                        });
                    }
                    hit
                }
            };
            if !forget {
                out.kept.extend_from_slice(line);
            }
        }
        out
    }
}

/// The ids of one source's posts among an object's JSON lines: what that
/// platform is asked about (X's batch compliance, Reddit's `/api/info`,
/// Bluesky's `getPosts`).
pub fn post_ids(jsonl: &[u8], source: crate::source::Source) -> Vec<String> {
    jsonl
        .split(|&b| b == b'\n')
        .filter_map(|line| serde_json::from_slice::<EnrichedTweet>(line).ok())
        .filter(|t| t.source() == source)
        .map(|t| t.tweet_id.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: &str, author: &str, name: &str) -> String {
        let t = serde_json::json!({
            "schema_version": 2, "tweet_id": id, "created_at": "2026-12-07T10:00:00.000Z",
            "author_id": author, "author_username": name, "author_verified": null,
            "author_followers": null, "author_created_at": null, "text": format!("post {id} $TSLA"),
            "lang": "en", "tickers": ["TSLA"], "watched_tickers": ["TSLA"], "hashtags": [],
            "mentions": [], "urls": [], "retweet_count": null, "reply_count": null,
            "like_count": null, "quote_count": null, "is_retweet": false, "is_reply": false,
            "is_quote": false,
            "sentiment": {"mode": "vader", "scorer": "vader", "compound": 0.0, "pos": 0.0, "neu": 1.0, "neg": 0.0, "label": "neutral"},
            "arrival_ms": null
        });
        format!("{t}\n")
    }

    #[test]
    fn posts_go_by_id_author_id_or_user_name_and_nothing_else_changes() {
        let object = [
            line("1", "a1", "Alice"),
            line("2", "b1", "bob"),
            "not json at all\n".to_string(),
            line("3", "c1", "carol"),
            "{\"tweet_id\": \"4\", \"old\": true}\n".to_string(),
            line("5", "a1", "alice"),
        ]
        .concat();
        let f = Forget::new(["3".to_string(), "4".into()], ["@ALICE".to_string()]);
        let s = f.strip(object.as_bytes());
        let ids: Vec<&str> = s.removed.iter().map(|r| r.tweet_id.as_str()).collect();
        assert_eq!(ids, ["1", "3", "4", "5"]);
        assert_eq!(
            String::from_utf8(s.kept).unwrap(),
            [line("2", "b1", "bob"), "not json at all\n".to_string()].concat()
        );
        assert_eq!(s.unreadable, 2);
        // By author id too; an empty request keeps every byte.
        let by_id = Forget::new([], ["b1".to_string()]).strip(object.as_bytes());
        assert_eq!(by_id.removed.len(), 1);
        // An author id is exact: `A1` is not `a1`.
        let other_case = Forget::new([], ["A1".to_string()]).strip(object.as_bytes());
        assert!(other_case.removed.is_empty());
        assert_eq!(
            post_ids(object.as_bytes(), crate::source::Source::X),
            ["1", "2", "3", "5"]
        );
        assert!(post_ids(object.as_bytes(), crate::source::Source::Reddit).is_empty());
        let none = Forget::default().strip(object.as_bytes());
        assert_eq!(none.kept, object.as_bytes());
        assert!(Forget::default().is_empty());
    }

    #[test]
    fn a_last_line_without_a_newline_is_kept_as_it_was() {
        let object = format!("{}{}", line("1", "a", "a"), line("2", "b", "b").trim_end());
        let s = Forget::new(["1".to_string()], []).strip(object.as_bytes());
        assert_eq!(s.kept, line("2", "b", "b").trim_end().as_bytes());
    }
}
