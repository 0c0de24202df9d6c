//! pay-common: the WeChat Pay v3 backend that CloudBase users deploy as an HTTP cloud function.
//!
//! Layers, outermost first: `http` (routes, envelope, identity, callbacks) → `pay` (the money
//! rules and orchestration, no HTTP types) → `wechatpay` (protocol and client) and `store`
//! (the ledger). `simulator` is a local WeChat Pay that shares the protocol code only.

pub mod config;
pub mod demo;
pub mod http;
pub mod pay;
pub mod periodic;
pub mod report;
pub mod startup;
pub mod store;
pub mod telemetry;

/// The WeChat Pay v3 client (member crate `crates/wechatpay`).
pub use wechatpay;
/// The local WeChat Pay simulator (member crate `crates/simulator`).
pub use wechatpay_simulator as simulator;
