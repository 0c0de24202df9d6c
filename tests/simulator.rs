//! The simulator against a merchant that signs like the SDKs: request verification, response
//! signatures, callbacks in both modes, the state machines, retries and faults. One binary;
//! the cases live in `tests/simulator/`. Loopback only, no real WeChat schedule is waited on.

#[path = "simulator/support.rs"]
mod support;

#[path = "simulator/auth.rs"]
mod auth;
#[path = "simulator/callbacks.rs"]
mod callbacks;
#[path = "simulator/faults.rs"]
mod faults;
#[path = "simulator/orders.rs"]
mod orders;
#[path = "simulator/refunds_transfers.rs"]
mod refunds_transfers;
