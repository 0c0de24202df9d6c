//! End-to-end tests: the real server against the simulator, over HTTP.

mod callbacks;
mod cert_recovery;
mod config_values;
mod databases;
mod errors;
mod forwards;
mod hooks;
mod identity;
mod ledger_loop;
mod lockout;
mod messages;
mod money;
mod orders;
mod parsers;
mod payouts;
mod refusals;
mod store_faults;
mod support;
mod unmatched;
