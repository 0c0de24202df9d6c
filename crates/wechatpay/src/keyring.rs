//! The verification keys, looked up by `Wechatpay-Serial`: the WeChat Pay public key under its
//! `PUB_KEY_ID_…` and any downloaded platform certificates under their serials. Both may be
//! live at once while a merchant migrates, so lookups try the one map.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::keys::PublicKey;

/// A platform certificate's key with its validity (Unix seconds).
#[derive(Debug, Clone)]
pub struct CertKey {
    /// The certificate's key.
    pub key: Arc<PublicKey>,
    /// Not valid before.
    pub effective: i64,
    /// Not valid after.
    pub expires: i64,
}

#[derive(Debug, Default)]
struct Inner {
    public_key: Option<(String, Arc<PublicKey>)>,
    certs: HashMap<String, CertKey>,
}

/// Serial → key map shared by the client, the callback verifier and the certificate refresher.
#[derive(Debug, Default)]
pub struct KeyRing {
    inner: RwLock<Inner>,
}

impl KeyRing {
    /// A ring holding only the WeChat Pay public key (public-key mode), or nothing yet.
    pub fn new(public_key: Option<(String, PublicKey)>) -> Self {
        let inner = Inner {
            public_key: public_key.map(|(id, k)| (id, Arc::new(k))),
            certs: HashMap::new(),
        };
        Self {
            inner: RwLock::new(inner),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The key for a serial, if we hold it.
    pub fn get(&self, serial: &str) -> Option<Arc<PublicKey>> {
        let inner = self.read();
        match &inner.public_key {
            Some((id, key)) if id == serial => Some(key.clone()),
            _ => inner.certs.get(serial).map(|c| c.key.clone()),
        }
    }

    /// Replaces the platform certificates (after a download).
    pub fn set_certificates(&self, certs: HashMap<String, CertKey>) {
        self.inner.write().unwrap_or_else(|p| p.into_inner()).certs = certs;
    }

    /// Number of platform certificates held.
    pub fn certificate_count(&self) -> usize {
        self.read().certs.len()
    }

    /// Is this ring in public-key mode?
    pub fn has_public_key(&self) -> bool {
        self.read().public_key.is_some()
    }

    /// The key to name in `Wechatpay-Serial` and to encrypt sensitive fields with: the public
    /// key when configured, else the platform certificate valid longest.
    pub fn preferred(&self) -> Option<(String, Arc<PublicKey>)> {
        let inner = self.read();
        if let Some((id, key)) = &inner.public_key {
            return Some((id.clone(), key.clone()));
        }
        inner
            .certs
            .iter()
            .max_by_key(|(_, c)| (c.expires, c.effective))
            .map(|(serial, c)| (serial.clone(), c.key.clone()))
    }
}
