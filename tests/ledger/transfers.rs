//! Transfers: recorded before the call, followed to a final state once.

use crate::fixtures::*;
use crate::support::*;
use pay_common::pay::service::*;
use pay_common::pay::types::OutBillNo;

fn bill_no(s: &str) -> OutBillNo {
    OutBillNo::parse(s).unwrap()
}

pub async fn transfers_are_recorded_once_and_reused_numbers_are_refused(db: TestDb) {
    let d = transfer("BILL0001", 500, "prize");
    assert_eq!(
        db.book.record_transfer(&d).await,
        Ok(TransferAdmission::New)
    );
    let again = db.book.record_transfer(&d).await.unwrap();
    assert_eq!(
        again,
        TransferAdmission::Existing {
            request_body: d.request_body.clone()
        }
    );
    let err = db
        .book
        .record_transfer(&transfer("BILL0001", 501, "prize"))
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind, err.code),
        (ServiceErrorKind::Conflict, "OUT_BILL_NO_USED")
    );
    let payee = db.book.transfer_payee(&bill_no("BILL0001")).await.unwrap();
    assert_eq!(payee.as_deref(), Some(ALICE));
    assert_eq!(db.book.transfer_payee(&bill_no("BILL9999")).await, Ok(None));
}

pub async fn a_transfer_follows_wechat_to_success_once(db: TestDb) {
    db.book
        .record_transfer(&transfer("BILL0002", 500, "prize"))
        .await
        .unwrap();
    db.book
        .transfer_accepted(&bill("BILL0002", "WAIT_USER_CONFIRM", 500))
        .await
        .unwrap();
    let t = db.ledger.find_transfer("BILL0002").await.unwrap().unwrap();
    assert_eq!(
        (t.state.as_str(), t.transfer_bill_no.as_deref()),
        ("WAIT_USER_CONFIRM", Some("1330BILL0002"))
    );
    let n = notice(Some("tn-1"), bill("BILL0002", "SUCCESS", 500));
    assert_eq!(
        db.book.transfer_notified(&n).await,
        Ok(NoticeOutcome::Applied)
    );
    assert_eq!(
        db.book.transfer_notified(&n).await,
        Ok(NoticeOutcome::Duplicate)
    );
    let late = notice(Some("tn-2"), bill("BILL0002", "FAIL", 500));
    assert_eq!(
        db.book.transfer_notified(&late).await,
        Ok(NoticeOutcome::Duplicate),
        "SUCCESS is final"
    );
    let events = db.events("transfer.succeeded").await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        (
            events[0].data["state"].as_str(),
            events[0].data["amount"].as_i64()
        ),
        (Some("SUCCESS"), Some(500))
    );
    assert!(db.events("transfer.failed").await.is_empty());
}

pub async fn failed_and_cancelled_transfers_emit_transfer_failed(db: TestDb) {
    for (no, state) in [("BILL0003", "FAIL"), ("BILL0004", "CANCELLED")] {
        db.book
            .record_transfer(&transfer(no, 500, "prize"))
            .await
            .unwrap();
        let mut b = bill(no, state, 500);
        b.fail_reason = Some("PAYEE_ACCOUNT_ABNORMAL".into());
        assert_eq!(
            db.book.transfer_notified(&notice(None, b)).await,
            Ok(NoticeOutcome::Applied)
        );
        assert_eq!(
            db.ledger.find_transfer(no).await.unwrap().unwrap().state,
            state
        );
    }
    let failed = db.events("transfer.failed").await;
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[0].data["fail_reason"], "PAYEE_ACCOUNT_ABNORMAL");
}

pub async fn rejected_mismatched_and_unknown_transfers_change_nothing(db: TestDb) {
    db.book
        .record_transfer(&transfer("BILL0005", 500, "prize"))
        .await
        .unwrap();
    db.book
        .transfer_rejected(&bill_no("BILL0005"), "NOT_ENOUGH")
        .await
        .unwrap();
    assert_eq!(
        db.ledger
            .find_transfer("BILL0005")
            .await
            .unwrap()
            .unwrap()
            .state,
        "REJECTED"
    );
    db.book
        .record_transfer(&transfer("BILL0006", 500, "prize"))
        .await
        .unwrap();
    let wrong = notice(Some("tn-w"), bill("BILL0006", "SUCCESS", 499));
    assert!(matches!(
        db.book.transfer_notified(&wrong).await,
        Ok(NoticeOutcome::Mismatch(_))
    ));
    assert_eq!(
        db.ledger
            .find_transfer("BILL0006")
            .await
            .unwrap()
            .unwrap()
            .state,
        "RECORDED"
    );
    // Unknown and no money moved (a paid-out one is recorded as unmatched: unmatched.rs).
    let unknown = notice(Some("tn-u"), bill("BILL0007", "FAIL", 500));
    assert_eq!(
        db.book.transfer_notified(&unknown).await,
        Ok(NoticeOutcome::Unknown)
    );
    let missing = db
        .book
        .transfer_accepted(&bill("BILL0007", "ACCEPTED", 500))
        .await;
    assert_eq!(missing.unwrap_err().kind, ServiceErrorKind::NotFound);
    assert!(
        db.ledger
            .events(&Default::default())
            .await
            .unwrap()
            .is_empty()
    );
}
