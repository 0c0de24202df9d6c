//! End-to-end tests: the real server against the simulator, over HTTP.

mod callbacks;
mod cert_recovery;
mod config_values;
mod errors;
mod identity;
mod ledger_loop;
mod messages;
mod money;
mod orders;
mod support;
