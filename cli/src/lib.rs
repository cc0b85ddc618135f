//! The TickerPulse developer CLI as a library, so end-to-end tests drive the same
//! code paths as `tickerpulse`.

pub mod demo;
pub mod fakex;
pub mod firehose;
pub mod functions;
pub mod local;
pub mod pipeline;
pub mod proxy;
pub mod score;
pub mod serve;
pub mod taborda;
pub mod template;
