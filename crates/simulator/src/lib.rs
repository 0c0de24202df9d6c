//! A local WeChat Pay v3 simulator. WeChat Pay has no sandbox, so this module plays both the
//! merchant API (`api.mch.weixin.qq.com`) and the Integration Center callback forwarder: it
//! verifies every signed request like WeChat, signs every 2xx answer, keeps real order, refund
//! and transfer state machines, delivers callbacks on WeChat's retry schedule and injects
//! faults on demand. It shares the protocol code in [`wechatpay`] and nothing of the
//! service. See `docs/simulator.md` for the routes and the control API.

mod api;
mod callbacks;
mod certificate;
pub mod cli;
mod config;
mod control;
mod faults;
mod handle;
mod ids;
mod log;
mod order_routes;
mod orders;
mod records;
mod refunds;
mod server;
mod state;
mod transfers;
mod verify;

pub use api::SimError;
pub use config::{CallbackMode, SimulatorConfig, generate_api_v3_key, generate_public_key_id};
pub use faults::{Fault, FaultRule};
pub use handle::{Simulator, SimulatorHandle};
pub use log::{Delivery, DeliveryKind, RequestRecord};
pub use records::RefundView;
