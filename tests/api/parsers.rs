//! Property tests (proptest): any byte string, and any JSON built from the fields the parsers
//! look for, sent to any route, the legacy dispatch or a callback endpoint, is answered with a
//! 4xx in the caller's format or a valid result — never a 5xx, never a panic (a panic would be a
//! 500 from the catch-panic layer, or a dropped connection). The notification parsers are also
//! driven directly with arbitrary bytes and headers.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value};

use crate::support::*;

const KEYS: &[&str] = &[
    "description",
    "out_trade_no",
    "amount",
    "total",
    "currency",
    "refund",
    "payer",
    "openid",
    "out_refund_no",
    "reason",
    "out_bill_no",
    "transfer_amount",
    "transfer_remark",
    "transfer_scene_id",
    "transaction_id",
    "transfer_bill_no",
    "_action",
    "path",
    "method",
    "attach",
    "goods_tag",
    "time_expire",
    "scene_info",
    "payer_client_ip",
    "h5_info",
    "type",
    "detail",
    "user_name",
    "user_recv_perception",
    "transfer_scene_report_infos",
    "order_token",
    "useServiceAccount",
    "appid",
    "mchid",
    "notify_url",
    "limit",
    "event_type",
    "undelivered_only",
    "Type",
    "ParsedContent",
    "ParsedNotify",
    "rawData",
    "resource",
    "ciphertext",
    "nonce",
    "associated_data",
    "algorithm",
    "trade_state",
    "id",
    "allowance_id",
];

const WORDS: &[&str] = &[
    "wxpay_order",
    "wxpay_order_h5",
    "wxpay_refund",
    "wxpay_transfer",
    "unifiedOrderTrigger",
    "/wx-pay/wxpay_close_order",
    "TRANSACTION.SUCCESS",
    "REFUND.SUCCESS",
    "MCHTRANSFER.BILL.FINISHED",
    "AEAD_AES_256_GCM",
    "ORDER_PROP_000001",
    "R1",
    "BILL1",
    "1000",
    "CNY",
    "USD",
    "Timer",
    "2099-01-01T00:00:00+08:00",
    ALICE,
    APPID,
    MCHID,
    "",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(WORDS).prop_map(str::to_string),
        ".{0,40}",
        "[\\x00-\\x1f\\x7f a-zA-Z0-9_|*@-]{0,40}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        prop_oneof![
            Just(0i64),
            Just(1),
            Just(-1),
            Just(i64::MAX),
            Just(i64::MIN),
            any::<i64>()
        ]
        .prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|kv| {
                Value::Object(
                    kv.into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

/// A body: raw bytes, or JSON (usually an object) over the parsers' own field names.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        prop::collection::vec((prop::sample::select(KEYS), json_value()), 0..8).prop_map(|kv| {
            let map: Map<String, Value> = kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            Value::Object(map).to_string().into_bytes()
        }),
    ]
}

fn path() -> impl Strategy<Value = String> {
    let mut paths: Vec<String> = pay_common::http::routes::ROUTES
        .iter()
        .chain(pay_common::http::routes::TRIGGERS)
        .map(|r| format!("/wx-pay/{r}"))
        .collect();
    paths.extend(
        [
            "/",
            "/api/legacy",
            "/wechatpay/order",
            "/wechatpay/refund",
            "/wechatpay/transfer",
            "/wx-pay/admin/events",
        ]
        .map(String::from),
    );
    prop::sample::select(paths)
}

fn who() -> impl Strategy<Value = u8> {
    0u8..3
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: 300,
        failure_persistence: None,
        ..Config::default()
    })
}

async fn send(
    app: &TestApp,
    path: &str,
    who: u8,
    body: Vec<u8>,
    signed: Option<[String; 4]>,
) -> (u16, Value) {
    let mut req = app.http.post(format!("{}{path}", app.base)).body(body);
    req = match who {
        0 => req.header("x-wx-openid", ALICE),
        1 => req.header("x-pay-common-admin-token", ADMIN_TOKEN),
        _ => req,
    };
    if let Some([ts, nonce, sig, serial]) = signed {
        req = req
            .header("Wechatpay-Timestamp", ts)
            .header("Wechatpay-Nonce", nonce)
            .header("Wechatpay-Signature", sig)
            .header("Wechatpay-Serial", serial);
    }
    let resp = req.send().await.expect("answered, not dropped");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The answer is a 2xx or 4xx, in the caller's format.
fn well_formed(path: &str, status: u16, body: &Value) -> Result<(), TestCaseError> {
    prop_assert!(
        (200..300).contains(&status) || (400..500).contains(&status),
        "{path}: {status} {body}"
    );
    match body["code"].clone() {
        Value::String(c) => prop_assert!(
            c == "SUCCESS" || (c == "FAIL" && status >= 400),
            "{path}: {status} {body}"
        ),
        Value::Number(n) if status < 300 => {
            prop_assert_eq!(n.as_i64(), Some(0), "{}: {}", path, body)
        }
        Value::Number(n) => {
            prop_assert_eq!(n.as_i64(), Some(-1), "{}: {}", path, body);
            prop_assert!(
                body["error"].as_str().is_some_and(|e| !e.is_empty()),
                "{path}: {body}"
            );
        }
        _ => prop_assert!(false, "{path}: not in an envelope: {status} {body}"),
    }
    Ok(())
}

fn opts() -> Opts {
    Opts {
        extra: vec![("gatewayQueryBudgetPerMinute", "100000".into())],
        ..Default::default()
    }
}

#[test]
fn any_body_to_any_route_is_a_4xx_or_a_result_never_a_5xx() {
    let rt = runtime();
    let app = rt.block_on(spawn(opts()));
    runner()
        .run(&(path(), who(), body()), |(path, who, body)| {
            let (status, answer) = rt.block_on(send(&app, &path, who, body, None));
            well_formed(&path, status, &answer)
        })
        .unwrap();
    drop(app);
}

#[test]
fn any_signed_looking_notification_is_refused_with_a_4xx_fail() {
    let rt = runtime();
    let app = rt.block_on(spawn(Opts {
        mode: pay_common::simulator::CallbackMode::Sdk,
        ..opts()
    }));
    let header = "[ -~]{0,64}";
    let signed = (header, header, header, header).prop_map(|(a, b, c, d)| [a, b, c, d]);
    let paths = prop::sample::select(vec![
        "/wx-pay/unifiedOrderTrigger",
        "/wx-pay/refundTrigger",
        "/",
    ]);
    runner()
        .run(&(paths, body(), signed), |(path, body, signed)| {
            let (status, answer) = rt.block_on(send(&app, path, 2, body, Some(signed)));
            prop_assert!((400..500).contains(&status), "{path}: {status} {answer}");
            prop_assert_eq!(
                answer["code"].as_str(),
                Some("FAIL"),
                "{}: {}",
                path,
                answer
            );
            Ok(())
        })
        .unwrap();
    drop(app);
}

#[test]
fn the_notification_parsers_take_any_bytes_without_panicking() {
    use pay_common::wechatpay::crypto::SignedHeaders;
    use pay_common::wechatpay::notify::{GatewayForward, open_signed};
    let key = merchant_public_key();
    let header = "[ -~]{0,48}";
    let strategy = (
        prop::collection::vec(any::<u8>(), 0..512),
        (header, header, header, header),
        any::<i64>(),
    );
    runner()
        .run(
            &strategy,
            |(body, (timestamp, nonce, signature, serial), now)| {
                let signed = SignedHeaders {
                    timestamp,
                    nonce,
                    signature,
                    serial,
                };
                prop_assert!(
                    open_signed(&signed, &body, now, Some(&key), API_V3_KEY.as_bytes()).is_err()
                );
                if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                    let _ = GatewayForward::parse(&v).authenticated_content(API_V3_KEY.as_bytes());
                }
                Ok(())
            },
        )
        .unwrap();
    runner()
        .run(&json_value(), |v| {
            let fwd = GatewayForward::parse(&v);
            let _ = (fwd.event_type(), fwd.notification_id());
            let _ = fwd.authenticated_content(API_V3_KEY.as_bytes());
            Ok(())
        })
        .unwrap();
}
