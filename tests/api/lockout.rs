//! No client can lock the others out: stalled bodies hold no permit and time out with 408,
//! slow headers and idle kept-alive connections are closed, and callbacks keep a share of the
//! capacity when API calls fill the rest.

use std::time::Duration;

use pay_common::simulator::{Fault, FaultRule};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

/// Bounds a wait that must end (a closed connection, an answer) so a bug fails the test
/// instead of hanging it.
const MUST_END_WITHIN: Duration = Duration::from_secs(20);

fn addr(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_string()
}

/// A connection that sent its headers and the first bytes of a 1000-byte body, then stalled.
async fn stalled(app: &TestApp, path: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr(app)).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"descr"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s
}

/// Everything the server sends until it closes the connection.
async fn until_closed(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let read = tokio::time::timeout(MUST_END_WITHIN, s.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the server never closed the connection");
    String::from_utf8_lossy(&buf).into_owned()
}

fn json_of(answer: &str) -> Value {
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(body).unwrap_or(Value::Null)
}

#[tokio::test]
async fn three_hundred_stalled_bodies_stop_neither_orders_nor_callbacks() {
    let app = spawn(Opts {
        extra: vec![("bodyReadTimeoutSeconds", "120".into())],
        ..Default::default()
    })
    .await;
    let mut held = Vec::new();
    for i in 0..300 {
        let path = if i % 2 == 0 {
            "/wx-pay/wxpay_order"
        } else {
            "/wechatpay/order"
        };
        held.push(stalled(&app, path).await);
    }
    // More stalled connections than maxInFlight (256), and yet:
    let r = app.order(ALICE, "ORDER_NOT_LOCKED1", 5).await;
    assert_eq!(r.status, 200, "{}", r.body);
    app.sim.pay("ORDER_NOT_LOCKED1").unwrap();
    app.wait_state("ORDER_NOT_LOCKED1", "PAID").await;
    let h = app.health().await;
    assert_eq!(h["ready"], true, "{h}");
    drop(held);
}

#[tokio::test]
async fn a_stalled_body_gets_408_in_each_callers_format() {
    let app = spawn(Opts {
        extra: vec![("bodyReadTimeoutSeconds", "1".into())],
        ..Default::default()
    })
    .await;
    let mut api = stalled(&app, "/wx-pay/wxpay_order").await;
    let mut callback = stalled(&app, "/wechatpay/order").await;
    let answer = until_closed(&mut api).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let body = json_of(&answer);
    assert_eq!(
        (body["code"].as_i64(), body["error"].as_str()),
        (Some(-1), Some("BODY_TIMEOUT")),
        "{answer}"
    );
    assert!(
        body["msg"]
            .as_str()
            .unwrap()
            .contains("bodyReadTimeoutSeconds"),
        "{answer}"
    );
    let answer = until_closed(&mut callback).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert_eq!(json_of(&answer)["code"], "FAIL", "{answer}");
}

#[tokio::test]
async fn slow_headers_and_idle_connections_are_closed() {
    let app = spawn(Opts {
        extra: vec![
            ("headerReadTimeoutSeconds", "1".into()),
            ("keepAliveIdleSeconds", "1".into()),
        ],
        ..Default::default()
    })
    .await;
    // Headers that never finish: closed, never answered 200.
    let mut slow = TcpStream::connect(addr(&app)).await.unwrap();
    slow.write_all(b"POST /wx-pay/wxpay_order HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let answer = until_closed(&mut slow).await;
    assert!(!answer.contains(" 200 "), "{answer}");
    // A kept-alive connection: answered, then closed once idle.
    let mut idle = TcpStream::connect(addr(&app)).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")
        .await
        .unwrap();
    let answer = until_closed(&mut idle).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(json_of(&answer)["status"], "ok", "{answer}");
}

#[tokio::test]
async fn callbacks_keep_a_share_of_the_capacity() {
    // 4 permits: 3 for anyone, 1 kept for callbacks.
    let app = spawn(Opts {
        extra: vec![("maxInFlight", "4".into())],
        ..Default::default()
    })
    .await;
    app.sim
        .inject(FaultRule::new("jsapi", Fault::Latency { ms: 1_500 }, 3));
    let mut slow = Vec::new();
    for i in 0..3 {
        let (http, base) = (app.http.clone(), app.base.clone());
        let body = json!({ "description": "slow", "out_trade_no": format!("ORDER_SLOW_RES_{i}"), "amount": { "total": 1 } });
        slow.push(tokio::spawn(async move {
            http.post(format!("{base}/wx-pay/wxpay_order"))
                .header("x-wx-openid", ALICE)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    // Once API calls are shed, the three slow orders hold the three general permits.
    let mut shed = None;
    for _ in 0..200 {
        let r = app.order(ALICE, "ORDER_SHED_RES_01", 1).await;
        if r.status == 503 {
            shed = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let shed = shed.expect("API calls are shed while the slow orders hold the permits");
    assert_eq!(shed.error(), "BUSY", "{}", shed.body);
    // A callback still gets the reserved permit: it is processed (WeChat knows no such
    // order, so the answer is a 400 FAIL), not shed with 503.
    let forward = json!({
        "ParsedContent": { "out_trade_no": "ORDER_UNKNOWN_RES1", "trade_state": "SUCCESS" },
        "ParsedNotify": { "event_type": "TRANSACTION.SUCCESS" },
    });
    let cb = app
        .post("/wechatpay/order", As::Anonymous, forward.to_string())
        .await;
    assert_eq!(
        (cb.status, cb.body["code"].as_str()),
        (400, Some("FAIL")),
        "{}",
        cb.body
    );
    assert!(
        cb.body["message"]
            .as_str()
            .unwrap()
            .contains("does not know"),
        "{}",
        cb.body
    );
    for s in slow {
        assert_eq!(s.await.unwrap(), 200);
    }
}
