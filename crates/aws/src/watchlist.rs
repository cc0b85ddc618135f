//! Loads the watch list named by `WATCHLIST_URI`: `bundled` (the S&P 500 list in
//! the binary) or `s3://bucket/key` of a CSV with symbol and name columns.

use crate::{sdk, HandlerError};
use tickerpulse_core::config::{self, Env};
use tickerpulse_core::watchlist::Watchlist;

pub const WATCHLIST_URI: &str = "WATCHLIST_URI";

/// Splits `s3://bucket/key`.
pub fn parse_s3_uri(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("s3://")?;
    let (bucket, key) = rest.split_once('/')?;
    (!bucket.is_empty() && !key.is_empty()).then_some((bucket, key))
}

pub async fn load(env: &dyn Env) -> Result<Watchlist, HandlerError> {
    let uri = config::optional(env, WATCHLIST_URI, "bundled");
    if uri == "bundled" {
        return Ok(Watchlist::bundled());
    }
    let (bucket, key) = parse_s3_uri(&uri).ok_or_else(|| {
        HandlerError::Config(config::ConfigError::Invalid {
            name: WATCHLIST_URI,
            value: uri.clone(),
            reason: "want `bundled` or s3://bucket/key".into(),
        })
    })?;
    let conf = sdk::load(env).await;
    let bytes = crate::lake::get_bytes(&sdk::s3_client(&conf), bucket, key).await?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|e| HandlerError::Fatal(format!("the watch list {uri} is not UTF-8: {e}")))?;
    Watchlist::from_csv(text).map_err(|e| HandlerError::Fatal(format!("the watch list {uri}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_uris() {
        assert_eq!(parse_s3_uri("s3://b/k/x.csv"), Some(("b", "k/x.csv")));
        assert_eq!(parse_s3_uri("s3://b/"), None);
        assert_eq!(parse_s3_uri("https://b/k"), None);
    }
}
