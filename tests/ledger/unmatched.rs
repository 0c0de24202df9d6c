//! Unmatched money: verified notices that match nothing are recorded once with their event, an
//! admin resolves each record exactly once, and a refund of such money settles through the
//! refund use case without touching any order's totals.

use std::sync::Arc;

use crate::fake::FakeWechat;
use crate::fixtures::*;
use crate::support::*;
use pay_common::pay::reconcile::{ReconcileSettings, Reconciler};
use pay_common::pay::service::*;
use pay_common::pay::states::{UnmatchedKind, UnmatchedReason, UnmatchedState};
use pay_common::pay::types::OutRefundNo;
use pay_common::pay::unmatched::{UnmatchedAction, UnmatchedFilter, UnmatchedRecord};
use pay_common::wechatpay::model::{Payer, Refund};

fn all() -> UnmatchedFilter {
    UnmatchedFilter {
        state: None,
        kind: None,
        limit: 100,
    }
}

async fn records(db: &TestDb) -> Vec<UnmatchedRecord> {
    db.book.unmatched(&all()).await.unwrap()
}

fn refund_no(s: &str) -> OutRefundNo {
    OutRefundNo::parse(s).unwrap()
}

/// A payment for `no` that the ledger cannot match, recorded as one OPEN record.
async fn unmatched_payment(db: &TestDb, no: &str, amount: i64) -> UnmatchedRecord {
    let outcome = db
        .book
        .payment_notified(&notice(Some(&format!("n-{no}")), paid(no, amount)))
        .await;
    assert_eq!(outcome, Ok(NoticeOutcome::Unmatched));
    records(db)
        .await
        .into_iter()
        .find(|r| r.out_no == no)
        .expect("recorded")
}

pub async fn money_for_an_unknown_order_is_recorded_once_with_one_event(db: TestDb) {
    let mut tx = paid("ORDER_GONE1", 30);
    tx.payer = Some(Payer {
        openid: ALICE.into(),
    });
    let first = notice(Some("n-1"), tx.clone());
    assert_eq!(
        db.book.payment_notified(&first).await,
        Ok(NoticeOutcome::Unmatched)
    );
    // The same notice again, and the same transaction by another way (a query): nothing new.
    assert_eq!(
        db.book.payment_notified(&first).await,
        Ok(NoticeOutcome::Duplicate)
    );
    assert_eq!(
        db.book.payment_notified(&notice(None, tx)).await,
        Ok(NoticeOutcome::Duplicate)
    );
    let list = records(&db).await;
    assert_eq!(list.len(), 1, "{list:?}");
    let r = &list[0];
    assert_eq!(
        (r.kind, r.reason, r.state, r.amount),
        (
            UnmatchedKind::Payment,
            UnmatchedReason::UnknownOrder,
            UnmatchedState::Open,
            30
        )
    );
    assert_eq!(
        (r.out_no.as_str(), r.wechat_no.as_str(), r.openid.as_deref()),
        ("ORDER_GONE1", "4200ORDER_GONE1", Some(ALICE))
    );
    assert_eq!(r.object["trade_state"], "SUCCESS");
    assert_eq!(r.created_at, T0);
    let events = db.events("payment.unmatched").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].data["unmatched"]["id"], r.id.as_str());
    assert!(
        db.book
            .find_order(&no("ORDER_GONE1"))
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn a_payment_after_close_is_recorded_and_the_order_stays_closed(db: TestDb) {
    db.book
        .record_order(&order("ORDER_LATE1", ALICE, 20, "Tea"))
        .await
        .unwrap();
    assert!(db.book.order_closed(&no("ORDER_LATE1")).await.unwrap());
    // A closed order's own CLOSED answer is no money.
    let mut closed = paid("ORDER_LATE1", 20);
    closed.trade_state = "CLOSED".into();
    assert_eq!(
        db.book.payment_notified(&notice(None, closed)).await,
        Ok(NoticeOutcome::Duplicate)
    );
    let late = unmatched_payment(&db, "ORDER_LATE1", 20).await;
    assert_eq!(late.reason, UnmatchedReason::PaidAfterClose);
    let view = order_view(&db, "ORDER_LATE1").await;
    assert_eq!(
        (view.state, view.transaction_id, view.refunded),
        (OrderState::Closed, None, 0)
    );
    let events = db.events("order.paid_after_close").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].data["order"]["state"], "CLOSED");
    assert_eq!(events[0].data["unmatched"]["reason"], "PAID_AFTER_CLOSE");
    assert!(db.events("order.paid").await.is_empty());
}

pub async fn refunds_and_transfers_we_never_made_are_recorded_when_money_moved(db: TestDb) {
    let done = refund("RF_NEVER_1", "ORDER_ELSE", 15, "SUCCESS");
    assert_eq!(
        db.book.refund_notified(&notice(Some("rn-1"), done)).await,
        Ok(NoticeOutcome::Unmatched)
    );
    let closed = refund("RF_NEVER_2", "ORDER_ELSE", 15, "CLOSED");
    assert_eq!(
        db.book.refund_notified(&notice(Some("rn-2"), closed)).await,
        Ok(NoticeOutcome::Unknown)
    );
    let paid_out = bill("BILLNEVER1", "SUCCESS", 500);
    assert_eq!(
        db.book
            .transfer_notified(&notice(Some("tn-1"), paid_out.clone()))
            .await,
        Ok(NoticeOutcome::Unmatched)
    );
    assert_eq!(
        db.book.transfer_notified(&notice(None, paid_out)).await,
        Ok(NoticeOutcome::Duplicate)
    );
    let failed = bill("BILLNEVER2", "FAIL", 500);
    assert_eq!(
        db.book
            .transfer_notified(&notice(Some("tn-2"), failed))
            .await,
        Ok(NoticeOutcome::Unknown)
    );
    let transfers = db
        .book
        .unmatched(&UnmatchedFilter {
            kind: Some(UnmatchedKind::Transfer),
            ..all()
        })
        .await
        .unwrap();
    assert_eq!(transfers.len(), 1);
    assert_eq!(
        (transfers[0].reason, transfers[0].wechat_no.as_str()),
        (UnmatchedReason::UnknownTransfer, "1330BILLNEVER1")
    );
    assert_eq!(records(&db).await.len(), 2);
    assert_eq!(db.events("refund.unmatched").await.len(), 1);
    assert_eq!(db.events("transfer.unmatched").await.len(), 1);
}

pub async fn each_record_is_resolved_exactly_once(db: TestDb) {
    let a = unmatched_payment(&db, "ORDER_RES01", 10).await;
    let b = unmatched_payment(&db, "ORDER_RES02", 10).await;
    // Twenty admins at once: one wins.
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (book, id) = (db.book.clone(), a.id.clone());
            let action = if i % 2 == 0 {
                UnmatchedAction::Attach
            } else {
                UnmatchedAction::Dismiss
            };
            let rno = refund_no(&format!("UMX{i}"));
            tokio::spawn(async move {
                book.resolve_unmatched(&id, action, Some(format!("note {i}")), &rno)
                    .await
            })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => won += 1,
            Err(e) => assert_eq!(
                (e.kind, e.code),
                (ServiceErrorKind::Conflict, "UNMATCHED_RESOLVED")
            ),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(db.events("unmatched.resolved").await.len(), 1);
    let (rec, refund) = db
        .book
        .resolve_unmatched(
            &b.id,
            UnmatchedAction::Attach,
            Some("BIZ-42".into()),
            &refund_no("UNUSED1"),
        )
        .await
        .unwrap();
    assert_eq!(
        (rec.state, rec.note.as_deref(), refund, rec.resolved_at),
        (UnmatchedState::Attached, Some("BIZ-42"), None, Some(T0))
    );
    let open = db
        .book
        .unmatched(&UnmatchedFilter {
            state: Some(UnmatchedState::Open),
            ..all()
        })
        .await
        .unwrap();
    assert!(open.is_empty(), "{open:?}");
    let missing = db
        .book
        .resolve_unmatched(
            "um_none",
            UnmatchedAction::Dismiss,
            Some("x".into()),
            &refund_no("UNUSED2"),
        )
        .await
        .unwrap_err();
    assert_eq!(missing.kind, ServiceErrorKind::NotFound);
}

pub async fn a_refund_of_unmatched_money_settles_without_touching_any_order(db: TestDb) {
    db.book
        .record_order(&order("ORDER_LATE2", ALICE, 20, "Tea"))
        .await
        .unwrap();
    db.book.order_closed(&no("ORDER_LATE2")).await.unwrap();
    let late = unmatched_payment(&db, "ORDER_LATE2", 20).await;
    // Only a payment can be refunded.
    let done = refund("RF_NEVER_3", "ORDER_ELSE", 15, "SUCCESS");
    db.book
        .refund_notified(&notice(Some("rn-3"), done))
        .await
        .unwrap();
    let foreign = records(&db)
        .await
        .into_iter()
        .find(|r| r.kind == UnmatchedKind::Refund)
        .unwrap();
    let err = db
        .book
        .resolve_unmatched(
            &foreign.id,
            UnmatchedAction::Refund,
            None,
            &refund_no("UMRF0"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, "UNMATCHED_NOT_REFUNDABLE");
    // A refund number already used by the ledger is refused and changes nothing.
    paid_order(&db, "ORDER_OWN01", BOB, 50).await;
    db.book
        .reserve_refund(&refund_draft(
            "UMRF_TAKEN",
            "ORDER_OWN01",
            None,
            Actor::Admin,
        ))
        .await
        .unwrap();
    let taken = db
        .book
        .resolve_unmatched(
            &late.id,
            UnmatchedAction::Refund,
            None,
            &refund_no("UMRF_TAKEN"),
        )
        .await
        .unwrap_err();
    assert_eq!(
        (taken.kind, taken.code),
        (ServiceErrorKind::Conflict, "OUT_REFUND_NO_USED")
    );
    // The refund: reserved with the resolution, linked to the record, on WeChat's transaction.
    let (rec, refund) = db
        .book
        .resolve_unmatched(
            &late.id,
            UnmatchedAction::Refund,
            Some("customer asked".into()),
            &refund_no("UMRF1"),
        )
        .await
        .unwrap();
    let refund = refund.expect("a refund to send");
    assert_eq!(
        (rec.state, rec.out_refund_no.as_deref()),
        (UnmatchedState::Refunding, Some("UMRF1"))
    );
    assert_eq!(
        (
            refund.amount,
            refund.order_total,
            refund.transaction_id.as_deref()
        ),
        (20, 20, Some("4200ORDER_LATE2"))
    );
    let stored = db.book.find_refund(&refund_no("UMRF1")).await.unwrap();
    assert_eq!(
        stored.map(|r| (r.state, r.unmatched_id)),
        Some((RefundState::Reserved, Some(late.id.clone())))
    );
    // WeChat accepts, then its callback says SUCCESS: the record is REFUNDED.
    let mut accepted = refund_result("UMRF1", "ORDER_LATE2", 20, "PROCESSING");
    db.book.refund_accepted(&accepted).await.unwrap();
    accepted.status = "SUCCESS".into();
    assert_eq!(
        db.book
            .refund_notified(&notice(Some("rn-ok"), accepted))
            .await,
        Ok(NoticeOutcome::Applied)
    );
    let rec = db.book.find_unmatched(&late.id).await.unwrap().unwrap();
    assert_eq!(rec.state, UnmatchedState::Refunded);
    let view = order_view(&db, "ORDER_LATE2").await;
    assert_eq!(
        (view.state, view.refunded, view.refund_pending),
        (OrderState::Closed, 0, 0)
    );
    let settled = db.events("refund.succeeded").await;
    assert_eq!(settled.len(), 1);
    assert_eq!(settled[0].data["unmatched"]["state"], "REFUNDED");
    assert_eq!(db.events("unmatched.refunded").await.len(), 1);
    // The ledger's own refund of another order is untouched.
    assert_eq!(order_view(&db, "ORDER_OWN01").await.refund_pending, 50);
}

pub async fn a_refund_wechat_refuses_or_closes_opens_the_record_again(db: TestDb) {
    let gone = unmatched_payment(&db, "ORDER_GONE2", 40).await;
    db.book
        .resolve_unmatched(&gone.id, UnmatchedAction::Refund, None, &refund_no("UMRF2"))
        .await
        .unwrap();
    db.book
        .refund_rejected(&refund_no("UMRF2"), "NOT_ENOUGH")
        .await
        .unwrap();
    let rec = db.book.find_unmatched(&gone.id).await.unwrap().unwrap();
    assert_eq!((rec.state, rec.resolved_at), (UnmatchedState::Open, None));
    assert_eq!(db.events("unmatched.reopened").await.len(), 1);
    // Resolved again with a new refund number; WeChat closes that refund: OPEN again.
    db.book
        .resolve_unmatched(&gone.id, UnmatchedAction::Refund, None, &refund_no("UMRF3"))
        .await
        .unwrap();
    let closed = refund_result("UMRF3", "ORDER_GONE2", 40, "CLOSED");
    assert_eq!(
        db.book
            .refund_notified(&notice(Some("rn-closed"), closed))
            .await,
        Ok(NoticeOutcome::Applied)
    );
    let rec = db.book.find_unmatched(&gone.id).await.unwrap().unwrap();
    assert_eq!(rec.state, UnmatchedState::Open);
    assert_eq!(db.events("unmatched.reopened").await.len(), 2);
    assert_eq!(db.events("refund.failed").await.len(), 1);
    // An admin may still dismiss it.
    let (rec, _) = db
        .book
        .resolve_unmatched(
            &gone.id,
            UnmatchedAction::Dismiss,
            Some("paid back in cash".into()),
            &refund_no("UNUSED3"),
        )
        .await
        .unwrap();
    assert_eq!(rec.state, UnmatchedState::Dismissed);
}

pub async fn reconciliation_that_finds_a_closed_order_paid_records_it(db: TestDb) {
    // Reconciliation leases the pending order, and while WeChat's answer is on its way the
    // close route closes it: WeChat then says SUCCESS (the close/pay race).
    db.book
        .record_order(&order("ORDER_RACE1", ALICE, 20, "Tea"))
        .await
        .unwrap();
    let wx = Arc::new(FakeWechat::default());
    wx.orders
        .lock()
        .unwrap()
        .insert("ORDER_RACE1".into(), paid("ORDER_RACE1", 20));
    db.set_now(T0 + 120);
    let gate = wx.hang();
    let (book, fake, now) = (db.book.clone(), wx.clone(), db.now());
    let pass = tokio::spawn(async move {
        Reconciler::run_once(&book, fake.as_ref(), now, &ReconcileSettings::default()).await
    });
    tokio::time::timeout(std::time::Duration::from_secs(30), async {
        loop {
            let arrived = wx.arrived.notified();
            if wx.in_flight.load(std::sync::atomic::Ordering::SeqCst) >= 1 {
                break;
            }
            arrived.await;
        }
    })
    .await
    .expect("the order query is under way");
    assert!(db.book.order_closed(&no("ORDER_RACE1")).await.unwrap());
    gate.add_permits(1);
    let summary = pass.await.unwrap();
    assert_eq!((summary.orders_checked, summary.orders_paid), (1, 0));
    let list = records(&db).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0].reason, UnmatchedReason::PaidAfterClose);
    assert_eq!(
        order_view(&db, "ORDER_RACE1").await.state,
        OrderState::Closed
    );
    assert_eq!(db.events("order.paid_after_close").await.len(), 1);
}

/// WeChat's refund answer or notice for a refund of unmatched money.
fn refund_result(no: &str, order_no: &str, amount: i64, status: &str) -> Refund {
    let mut r = refund(no, order_no, amount, status);
    r.transaction_id = format!("4200{order_no}");
    r
}
