//! TickerPulse domain types that every function shares. Pure: no AWS, no I/O.

pub mod alerts;
pub mod civil;
pub mod config;
pub mod csv;
pub mod forget;
pub mod hash;
pub mod partition;
pub mod prices;
pub mod retry;
pub mod source;
pub mod tickers;
pub mod tweet;
pub mod watchlist;
pub mod window;

pub use partition::{HourPartition, PartitionError};
