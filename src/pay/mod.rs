//! The money rules and the orchestration between our callers, the ledger and WeChat Pay.
//! No HTTP types here: handlers parse nothing but the envelope; this layer decides.

pub mod allowance;
pub mod book;
pub mod callbacks;
pub mod error;
pub mod forward_budget;
pub mod hooks;
pub mod input;
pub mod model;
pub mod order_token;
pub mod orders;
pub mod payments;
pub mod payout_grant;
pub mod payouts;
pub mod port;
pub mod queries;
pub mod reconcile;
pub mod refunds;
pub mod requests;
pub mod rules;
pub mod service;
pub mod states;
pub mod transfer_requests;
pub mod transfers;
pub mod types;
pub mod unmatched;
pub mod unmatched_admin;
