//! Search queries for a watch list, and the stable key of a query's cursor.

/// The search queries for a watch list: `($A OR $B ...) -is:retweet lang:en`, each
/// within `max_len` characters (512 for the recent search on every access level,
/// docs.x.com/x-api/posts/search/integrate/build-a-query). Class shares (`BRK.B`)
/// are searched by their cashtag (`$BRK`), which is how X tags them.
pub fn build_queries(
    symbols: &[&str],
    max_len: usize,
    exclude_retweets: bool,
    lang: Option<&str>,
) -> Vec<String> {
    let mut suffix = String::new();
    if exclude_retweets {
        suffix.push_str(" -is:retweet");
    }
    if let Some(l) = lang.filter(|l| !l.is_empty()) {
        suffix.push_str(&format!(" lang:{l}"));
    }
    let mut tags: Vec<String> = Vec::new();
    for s in symbols {
        let tag = format!("${}", s.split('.').next().unwrap_or(s));
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    let mut queries = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let fits = |terms: &[&str], extra: &str| {
        let body: usize =
            terms.iter().map(|t| t.len()).sum::<usize>() + 4 * terms.len().saturating_sub(1);
        let body = body + extra.len() + if terms.is_empty() { 0 } else { 4 };
        body + 2 + suffix.len() <= max_len
    };
    for tag in &tags {
        if !current.is_empty() && !fits(&current, tag) {
            queries.push(format!("({}){suffix}", current.join(" OR ")));
            current.clear();
        }
        current.push(tag);
    }
    if !current.is_empty() {
        queries.push(format!("({}){suffix}", current.join(" OR ")));
    }
    queries
}

/// A stable key for a query's cursor: the query's [`tickerpulse_core::hash::stable`]
/// hash in hex. Stored in the state table, so it must never change between releases.
pub fn query_key(query: &str) -> String {
    format!("{:016x}", tickerpulse_core::hash::stable(query.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_fit_the_limit_and_cover_the_list() {
        let w = tickerpulse_core::watchlist::Watchlist::bundled();
        let symbols = w.symbols();
        let qs = build_queries(&symbols, 512, true, Some("en"));
        assert!(
            qs.iter().all(|q| q.len() <= 512),
            "{:?}",
            qs.iter().map(|q| q.len()).max()
        );
        assert!(qs.iter().all(|q| q.ends_with(") -is:retweet lang:en")));
        for s in &symbols {
            let tag = format!("${} ", s.split('.').next().unwrap());
            let tag_end = format!("${})", s.split('.').next().unwrap());
            assert!(
                qs.iter().any(|q| q.contains(&tag) || q.contains(&tag_end)),
                "{s} missing"
            );
        }
        assert!(
            qs.len() >= 7,
            "503 symbols need several queries, got {}",
            qs.len()
        );
        assert_eq!(
            build_queries(&["BRK.B", "BRK.A", "TSLA"], 512, false, None),
            ["($BRK OR $TSLA)"]
        );
    }

    #[test]
    fn query_keys_are_stable_across_releases() {
        // Cursors already stored in deployed state tables are keyed by these.
        assert_eq!(query_key(""), "cbf29ce484222325");
        assert_eq!(query_key("($TSLA) -is:retweet lang:en").len(), 16);
        assert_ne!(query_key("($A)"), query_key("($B)"));
    }
}
