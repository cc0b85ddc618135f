//! The TickerPulse developer CLI as a library, so end-to-end tests drive the same
//! code paths as `tickerpulse`. The local AWS stack itself is `tickerpulse_local`;
//! this crate wires it to the functions ([`functions`]) and into commands.

pub mod comply;
pub mod demo;
pub mod expected;
pub mod forget;
pub mod functions;
pub mod pipeline;
pub mod score;
pub mod serve;
pub mod smoke;
