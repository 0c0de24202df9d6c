//! The outbox dispatcher against a tiny local webhook receiver.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lc_rs::hmac;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;

use crate::fixtures::*;
use crate::support::*;
use pay_common::store::{DispatchSummary, EventDispatcher, EventFilter};

const SECRET: &str = "whsec_test_secret";

#[derive(Clone, Default)]
struct Hook {
    got: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    fail_first: Arc<AtomicUsize>,
    arrived: Arc<tokio::sync::Notify>,
}

async fn receive(State(h): State<Hook>, headers: HeaderMap, body: String) -> StatusCode {
    h.got.lock().unwrap().push((headers, body));
    h.arrived.notify_one();
    let fail = h
        .fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
    if fail.is_ok() {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    }
}

async fn receiver(fail_first: usize) -> (Hook, String) {
    let hook = Hook::default();
    hook.fail_first.store(fail_first, Ordering::SeqCst);
    let app = axum::Router::new()
        .route("/hook", post(receive))
        .with_state(hook.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (hook, url)
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// Verifies the way a business would: HMAC-SHA256(secret, "{timestamp}.{body}").
fn signature_verifies(h: &HeaderMap, body: &str) -> bool {
    let ts = header(h, "x-paycommon-timestamp");
    let Some(hex) = header(h, "x-paycommon-signature").strip_prefix("sha256=") else {
        return false;
    };
    let Some(tag) = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()
    else {
        return false;
    };
    let key = hmac::Key::new(hmac::HMAC_SHA256, SECRET.as_bytes());
    hmac::verify(&key, format!("{ts}.{body}").as_bytes(), &tag).is_ok()
}

pub async fn the_dispatcher_signs_retries_after_a_500_and_delivers_once(db: TestDb) {
    let (hook, url) = receiver(1).await;
    paid_order(&db, "ORDER_5001", ALICE, 20).await;
    let d = EventDispatcher::new(db.ledger.clone(), url, SECRET);
    assert_eq!(
        d.run_once(T0).await.unwrap(),
        DispatchSummary {
            claimed: 1,
            delivered: 0,
            failed: 1
        }
    );
    let e = &db.events("order.paid").await[0];
    assert_eq!(
        (e.attempts, e.next_attempt_at, e.delivered_at),
        (1, T0 + 10, None)
    );
    assert!(
        e.last_error.as_deref().unwrap_or_default().contains("500"),
        "{:?}",
        e.last_error
    );
    assert_eq!(d.run_once(T0 + 9).await.unwrap().claimed, 0, "backing off");
    assert_eq!(
        d.run_once(T0 + 10).await.unwrap(),
        DispatchSummary {
            claimed: 1,
            delivered: 1,
            failed: 0
        }
    );
    assert_eq!(
        d.run_once(T0 + 100).await.unwrap().claimed,
        0,
        "delivered once"
    );
    let e = &db.events("order.paid").await[0];
    assert_eq!(
        (e.attempts, e.delivered_at, e.last_error.as_deref()),
        (2, Some(T0 + 10), None)
    );

    let got = hook.got.lock().unwrap().clone();
    assert_eq!(got.len(), 2);
    for ((headers, body), ts) in got.iter().zip([T0, T0 + 10]) {
        assert!(signature_verifies(headers, body), "signature must verify");
        assert!(
            !signature_verifies(headers, &body.replace("ORDER_5001", "ORDER_5002")),
            "tampering is detected"
        );
        assert_eq!(header(headers, "x-paycommon-timestamp"), ts.to_string());
        assert_eq!(header(headers, "x-paycommon-event-id"), e.id);
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            (json["id"].as_str(), json["type"].as_str()),
            (Some(e.id.as_str()), Some("order.paid"))
        );
        assert_eq!(
            (json["created_at"].as_i64(), &json["data"]["out_trade_no"]),
            (Some(T0), &serde_json::json!("ORDER_5001"))
        );
    }

    // The background loop delivers new events and stops on shutdown.
    paid_order(&db, "ORDER_5002", ALICE, 20).await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = d.spawn(Duration::from_millis(20), async move {
        stopped.await.ok();
    });
    let third_request = async {
        while hook.got.lock().unwrap().len() < 3 {
            hook.arrived.notified().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), third_request)
        .await
        .expect("delivered by the loop");
    stop.send(()).unwrap();
    task.await.unwrap();
    let pending = EventFilter {
        undelivered_only: true,
        ..Default::default()
    };
    let left = db.ledger.events(&pending).await.unwrap();
    assert!(left.is_empty(), "{left:?}");
}

pub async fn two_dispatchers_deliver_each_event_once(db: TestDb) {
    let (hook, url) = receiver(0).await;
    for i in 0..10 {
        paid_order(&db, &format!("ORDER_60{i:02}"), ALICE, 20).await;
    }
    let other = db.another_instance().await;
    let a = EventDispatcher::new(db.ledger.clone(), url.clone(), SECRET);
    let b = EventDispatcher::new(other.clone(), url, SECRET);
    let (ra, rb) = tokio::join!(a.run_once(T0), b.run_once(T0));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    other.close().await;
    assert_eq!(ra.delivered + rb.delivered, 10);
    let got = hook.got.lock().unwrap().clone();
    let mut ids: Vec<String> = got
        .iter()
        .map(|(h, _)| header(h, "x-paycommon-event-id").to_string())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!((got.len(), ids.len()), (10, 10));
}
