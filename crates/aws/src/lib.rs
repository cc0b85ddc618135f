//! AWS adapters of TickerPulse and the glue every Lambda shares.
//!
//! The domain crates know nothing of AWS; this crate turns their needs into SDK
//! calls. Clients are configured the standard way (`AWS_REGION`, credentials chain,
//! `AWS_ENDPOINT_URL`), so the same code talks to AWS or to the local emulator.

pub mod alerts;
pub mod apikeys;
pub mod compliance;
pub mod dynamo;
pub mod firehose;
pub mod forget;
pub mod lake;
pub mod lambda;
pub mod lease;
pub mod prices;
pub mod pulse;
pub mod reads;
pub mod sdk;
pub mod secrets;
pub mod serving;
pub mod social;
pub mod state;
pub mod watchlist;

pub use lambda::HandlerError;
