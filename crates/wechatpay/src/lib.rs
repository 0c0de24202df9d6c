//! The WeChat Pay API v3 protocol: key material, request signing, response and callback
//! verification, AES-GCM resources, RSA-OAEP sensitive fields, invoke parameters, and the
//! HTTP client with one request type per endpoint. Shared by the service and the simulator;
//! nothing here knows about our routes or the ledger.

pub mod aead;
pub mod api;
pub mod certs;
pub mod client;
pub mod clock;
pub mod crypto;
pub mod error;
pub mod invoke;
pub mod keyring;
pub mod keys;
pub mod model;
pub mod notify;
pub mod x509;
