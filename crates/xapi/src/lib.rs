//! The X API v2 recent search as TickerPulse uses it: the client and its wire
//! types, the watch list's queries, backfill windows and the budgeted retry of one
//! search. No AWS. With the `fake` feature, the fake X API that the local stack
//! serves (its state, faults and answers).

pub mod client;
pub mod compliance;
pub mod query;
pub mod search;
pub mod window;

#[cfg(feature = "fake")]
pub mod fake;
#[cfg(feature = "fake")]
pub mod fake_compliance;

pub use client::{parse_page, Endpoint, Page, SearchParams, XApi, XApiError, FIELDS};
pub use query::{build_queries, query_key};
pub use search::{search_within, Budget, Stop};
pub use window::{parse_window, windows, WindowError};
