//! The money rules and the orchestration between our callers, the ledger and WeChat Pay.
//! No HTTP types here: handlers parse, this layer decides.

pub mod memory;
pub mod rules;
pub mod service;
pub mod types;
