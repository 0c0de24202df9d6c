//! End-to-end tests: the real server against the simulator, over HTTP.

mod callbacks;
mod config_values;
mod errors;
mod hooks;
mod identity;
mod ledger_loop;
mod messages;
mod money;
mod orders;
mod support;
