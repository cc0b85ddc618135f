//! Daily prices from the lake: `s3://<analytics bucket>/prices/daily/<SYMBOL>.csv`,
//! one file per ticker in a common export's layout (`tickerpulse_core::prices`
//! reads them). Operators drop files there; `tickerpulse demo` puts the
//! repository's real 2020 bars there.

use crate::HandlerError;
use tickerpulse_core::prices::{parse_daily, Bar};

/// The prefix of the daily files.
pub const DAILY_PREFIX: &str = "prices/daily/";

/// The key of a ticker's daily file.
pub fn daily_key(symbol: &str) -> String {
    format!("{DAILY_PREFIX}{symbol}.csv")
}

/// What a price source has for a ticker.
#[derive(Debug, Clone, PartialEq)]
pub enum Daily {
    Bars(Vec<Bar>),
    /// No file for the ticker.
    None,
    /// A file that cannot be read as prices: why, for the operator.
    Unreadable(String),
}

/// A source of daily bars: the lake's files here; a price API would be another.
pub trait PriceSource: Send + Sync {
    fn daily<'a>(
        &'a self,
        symbol: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Daily, HandlerError>> + Send + 'a>>;
}

pub struct LakePrices {
    pub client: aws_sdk_s3::Client,
    pub bucket: String,
}

impl PriceSource for LakePrices {
    fn daily<'a>(
        &'a self,
        symbol: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Daily, HandlerError>> + Send + 'a>>
    {
        Box::pin(async move {
            let key = daily_key(symbol);
            let got = self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(&key)
                .send()
                .await;
            let out = match got {
                Ok(out) => out,
                Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                    return Ok(Daily::None)
                }
                Err(e) => {
                    return Err(HandlerError::from_sdk(
                        &format!("reading s3://{}/{key}", self.bucket),
                        e,
                    ))
                }
            };
            let bytes = out
                .body
                .collect()
                .await
                .map_err(|e| HandlerError::Retryable(format!("reading {key}: {e}")))?
                .into_bytes();
            let Ok(text) = std::str::from_utf8(&bytes) else {
                return Ok(Daily::Unreadable(format!("{key} is not UTF-8 text")));
            };
            Ok(match parse_daily(text) {
                Ok(bars) => Daily::Bars(bars),
                Err(e) => Daily::Unreadable(format!("{key}: {e}")),
            })
        })
    }
}
