//! Driving the service: the order placer and the closed- and open-loop callers.

use std::sync::Arc;
use std::time::{Duration, Instant};

/// An order's answer: `(HTTP status, latency ms)`.
pub type Placed = std::pin::Pin<Box<dyn Future<Output = (u16, f64)> + Send>>;

/// An order placer: `(index, phase letter) -> (status, latency ms)`.
pub fn order_fn(
    http: reqwest::Client,
    base: &str,
) -> impl Fn(usize, &'static str) -> Placed + Clone + Send + 'static {
    let url = format!("{base}/wx-pay/wxpay_order");
    move |i, phase| {
        let (http, url) = (http.clone(), url.clone());
        Box::pin(async move {
            let body = serde_json::json!({ "description": "bench", "out_trade_no": format!("BENCH{phase}{i:08}"), "amount": { "total": 1 } });
            let t = Instant::now();
            let r = http
                .post(url)
                .header("x-wx-openid", format!("oBenchUser{:018}", i % 1000))
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let text = r.text().await.unwrap_or_default();
            assert!(
                status == 200 || status == 503,
                "order failed: {status} {text}"
            );
            (status, t.elapsed().as_secs_f64() * 1000.0)
        })
    }
}

/// `concurrency` callers, each sending its next order when the last one is answered.
pub async fn closed_loop<F, Fut>(
    n: usize,
    concurrency: usize,
    phase: &'static str,
    order: F,
) -> Vec<(u16, f64)>
where
    F: Fn(usize, &'static str) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = (u16, f64)> + Send,
{
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (next, order) = (next.clone(), order.clone());
        workers.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    break out;
                }
                out.push(order(i, phase).await);
            }
        }));
    }
    let mut out = Vec::new();
    for w in workers {
        out.extend(w.await.unwrap());
    }
    out
}

/// Orders arriving at `rate` per second, at most `concurrency` in flight.
pub async fn open_loop<F, Fut>(
    n: usize,
    concurrency: usize,
    rate: f64,
    phase: &'static str,
    order: F,
) -> Vec<(u16, f64)>
where
    F: Fn(usize, &'static str) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = (u16, f64)> + Send + 'static,
{
    let permits = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        ticker.tick().await;
        let permit = permits.clone().acquire_owned().await.unwrap();
        let order = order.clone();
        tasks.push(tokio::spawn(async move {
            let r = order(i, phase).await;
            drop(permit);
            r
        }));
    }
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}
