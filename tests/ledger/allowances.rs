//! Payout allowances: idempotent grants, the guarded spend that records the bill in the same
//! transaction, the give-back of a failed bill exactly once, revocation, expiry and listing.

use crate::fixtures::*;
use crate::support::*;
use pay_common::pay::allowance::*;
use pay_common::pay::rules::sha256_hex;
use pay_common::pay::service::*;
use pay_common::pay::types::{OpenId, OutBillNo};
use serde_json::json;

const BOB: &str = "oUpF8uBobBobBobBobBobBobBob1";

fn grant(id: &str, openid: &str, amount: i64, grant_no: Option<&str>) -> GrantDraft {
    GrantDraft {
        allowance_id: id.into(),
        grant_no: grant_no.map(str::to_string),
        openid: OpenId::parse(openid).unwrap(),
        amount: fen(amount),
        transfer_scene_id: "1000".into(),
        transfer_remark: "prize".into(),
        transfer_scene_report_infos: json!([{ "info_type": "活动名称", "info_content": "x" }]),
        expires_at: None,
        fingerprint: sha256_hex(format!("{openid}|{amount}").as_bytes()),
    }
}

/// A claim's bill for `openid`.
fn bill_for(no: &str, openid: &str, amount: i64) -> TransferDraft {
    TransferDraft {
        openid: OpenId::parse(openid).unwrap(),
        actor: Actor::User(OpenId::parse(openid).unwrap()),
        ..transfer(no, amount, "claim")
    }
}

async fn claimed(db: &TestDb, id: &str) -> i64 {
    db.ledger.allowance(id).await.unwrap().unwrap().claimed
}

fn admitted_new(a: &ClaimAdmission) -> bool {
    *a == ClaimAdmission::Admitted(TransferAdmission::New)
}

pub async fn a_grant_is_stored_once_per_grant_no_with_one_event(db: TestDb) {
    let Granted::New(first) = db
        .ledger
        .grant(&grant("pa_g1", ALICE, 100, Some("G-1")))
        .await
        .unwrap()
    else {
        panic!("a new grant_no stores a new allowance")
    };
    assert_eq!(
        (first.allowance_id.as_str(), first.amount, first.claimed),
        ("pa_g1", 100, 0)
    );
    assert_eq!(first.state_at(db.now()), AllowanceState::Active);
    let same = grant("pa_g2", ALICE, 100, Some("G-1"));
    let Granted::Existing {
        allowance,
        fingerprint,
    } = db.ledger.grant(&same).await.unwrap()
    else {
        panic!("a used grant_no stores nothing")
    };
    assert_eq!(
        allowance.allowance_id, "pa_g1",
        "same grant_no: the stored one"
    );
    assert_eq!(
        fingerprint, same.fingerprint,
        "same content, same fingerprint"
    );
    let changed = grant("pa_g3", ALICE, 101, Some("G-1"));
    let Granted::Existing { fingerprint, .. } = db.ledger.grant(&changed).await.unwrap() else {
        panic!("a used grant_no stores nothing")
    };
    assert_ne!(
        fingerprint, changed.fingerprint,
        "pay refuses this one (GRANT_NO_USED)"
    );
    let Granted::New(other) = db
        .ledger
        .grant(&grant("pa_g4", ALICE, 100, None))
        .await
        .unwrap()
    else {
        panic!("no grant_no: a new allowance")
    };
    assert_eq!(other.allowance_id, "pa_g4", "no grant_no: a new allowance");
    let events = db.events("payout.granted").await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].data["allowance_id"], "pa_g1");
    assert_eq!(events[0].data["remaining"], 100);
}

pub async fn claims_spend_with_a_guard_and_record_the_bill_in_the_same_step(db: TestDb) {
    db.ledger
        .grant(&grant("pa_c1", ALICE, 100, None))
        .await
        .unwrap();
    let first = db
        .ledger
        .claim("pa_c1", &bill_for("BILLC1", ALICE, 60))
        .await;
    assert!(admitted_new(&first.unwrap()));
    let over = db
        .ledger
        .claim("pa_c1", &bill_for("BILLC2", ALICE, 50))
        .await
        .unwrap();
    let ClaimAdmission::NotClaimable(Some(now)) = over else {
        panic!("50 of 40 left must be refused: {over:?}")
    };
    assert_eq!(now.remaining(), 40);
    assert_eq!(
        db.ledger.find_transfer("BILLC2").await.unwrap(),
        None,
        "a refused claim records no bill"
    );
    let repeat = db
        .ledger
        .claim("pa_c1", &bill_for("BILLC1", ALICE, 60))
        .await
        .unwrap();
    let first_claim = bill_for("BILLC1", ALICE, 60);
    let ClaimAdmission::Recorded {
        fingerprint, link, ..
    } = repeat
    else {
        panic!("the same claim again spends nothing: {repeat:?}")
    };
    assert_eq!(fingerprint, first_claim.fingerprint, "pay resends this one");
    assert!(link.is_some_and(|l| l.allowance_id == "pa_c1" && !l.restored));
    let reuse = db
        .ledger
        .claim("pa_c1", &bill_for("BILLC1", ALICE, 10))
        .await
        .unwrap();
    let ClaimAdmission::Recorded { fingerprint, .. } = reuse else {
        panic!("a reused number spends nothing: {reuse:?}")
    };
    assert_ne!(
        fingerprint,
        bill_for("BILLC1", ALICE, 10).fingerprint,
        "pay refuses this one"
    );
    assert_eq!(
        claimed(&db, "pa_c1").await,
        60,
        "neither repeat spent anything"
    );
    let bob = db
        .ledger
        .claim("pa_c1", &bill_for("BILLC3", BOB, 10))
        .await
        .unwrap();
    assert_eq!(
        bob,
        ClaimAdmission::NotClaimable(None),
        "another payee sees nothing"
    );
    assert!(admitted_new(
        &db.ledger
            .claim("pa_c1", &bill_for("BILLC4", ALICE, 40))
            .await
            .unwrap()
    ));
    let a = db.ledger.allowance("pa_c1").await.unwrap().unwrap();
    assert_eq!(
        (a.claimed, a.state_at(db.now())),
        (100, AllowanceState::Exhausted)
    );
    let link = db
        .ledger
        .claim_of(&OutBillNo::parse("BILLC4").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((link.allowance_id.as_str(), link.amount), ("pa_c1", 40));
    let t = db.ledger.find_transfer("BILLC4").await.unwrap().unwrap();
    assert_eq!((t.state.as_str(), t.openid.as_str()), ("RECORDED", ALICE));
    let events = db.events("payout.claimed").await;
    assert_eq!(events.len(), 2);
    assert_eq!(
        (
            events[1].data["out_bill_no"].as_str(),
            events[1].data["transfer_amount"].as_i64(),
            events[1].data["remaining"].as_i64()
        ),
        (Some("BILLC4"), Some(40), Some(0))
    );
}

pub async fn twenty_concurrent_claims_never_exceed_the_allowance(db: TestDb) {
    db.ledger
        .grant(&grant("pa_race", ALICE, 100, None))
        .await
        .unwrap();
    let other = db.another_instance().await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let ledger = if i % 2 == 0 {
            db.ledger.clone()
        } else {
            other.clone()
        };
        tasks.push(tokio::spawn(async move {
            let bill = bill_for(&format!("BILLRACE{i}"), ALICE, 15);
            ledger.claim("pa_race", &bill).await
        }));
    }
    let mut admitted = 0;
    for t in tasks {
        match t.await.unwrap().unwrap() {
            ClaimAdmission::Admitted(TransferAdmission::New) => admitted += 1,
            ClaimAdmission::NotClaimable(Some(_)) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(admitted, 6, "6 × 15 fit in 100, a 7th does not");
    assert_eq!(claimed(&db, "pa_race").await, 90);
    assert_eq!(db.events("payout.claimed").await.len(), 6);
    let mut recorded = 0;
    for i in 0..20 {
        if db
            .ledger
            .find_transfer(&format!("BILLRACE{i}"))
            .await
            .unwrap()
            .is_some()
        {
            recorded += 1;
        }
    }
    assert_eq!(recorded, 6, "a bill exists exactly for each spend");
    other.close().await;
}

pub async fn a_bill_that_fails_is_cancelled_or_is_rejected_gives_back_once(db: TestDb) {
    db.ledger
        .grant(&grant("pa_r1", ALICE, 100, None))
        .await
        .unwrap();
    for (no, amount) in [
        ("BILLF1", 30),
        ("BILLX1", 20),
        ("BILLR1", 10),
        ("BILLS1", 5),
    ] {
        let c = db
            .ledger
            .claim("pa_r1", &bill_for(no, ALICE, amount))
            .await
            .unwrap();
        assert!(admitted_new(&c));
    }
    for no in ["BILLF1", "BILLX1", "BILLS1"] {
        let amount = db.ledger.find_transfer(no).await.unwrap().unwrap().amount;
        db.book
            .transfer_accepted(&bill(no, "WAIT_USER_CONFIRM", amount))
            .await
            .unwrap();
    }
    assert_eq!(claimed(&db, "pa_r1").await, 65);
    let fail = notice(Some("tn-f1"), bill("BILLF1", "FAIL", 30));
    assert_eq!(
        db.book.transfer_notified(&fail).await,
        Ok(NoticeOutcome::Applied)
    );
    assert_eq!(claimed(&db, "pa_r1").await, 35);
    let replay = notice(Some("tn-f2"), bill("BILLF1", "FAIL", 30));
    db.book.transfer_notified(&fail).await.unwrap();
    db.book.transfer_notified(&replay).await.unwrap();
    assert_eq!(
        claimed(&db, "pa_r1").await,
        35,
        "a replay gives nothing back"
    );
    let cancelled = notice(None, bill("BILLX1", "CANCELLED", 20));
    db.book.transfer_notified(&cancelled).await.unwrap();
    assert_eq!(claimed(&db, "pa_r1").await, 15);
    let rejected = OutBillNo::parse("BILLR1").unwrap();
    db.book
        .transfer_rejected(&rejected, "NO_AUTH")
        .await
        .unwrap();
    db.book
        .transfer_rejected(&rejected, "NO_AUTH")
        .await
        .unwrap();
    assert_eq!(claimed(&db, "pa_r1").await, 5);
    // A bill we saw refused and later see FAIL (a reconciliation query) gives nothing more.
    db.book
        .transfer_notified(&notice(None, bill("BILLR1", "FAIL", 10)))
        .await
        .unwrap();
    assert_eq!(
        claimed(&db, "pa_r1").await,
        5,
        "the claim row restores once"
    );
    let success = notice(Some("tn-s1"), bill("BILLS1", "SUCCESS", 5));
    db.book.transfer_notified(&success).await.unwrap();
    assert_eq!(claimed(&db, "pa_r1").await, 5, "a paid bill stays spent");
    // A bill the admin sent (no allowance) fails without touching any allowance.
    db.book
        .record_transfer(&transfer("BILLADMIN1", 7, "admin"))
        .await
        .unwrap();
    db.book
        .transfer_notified(&notice(Some("tn-a1"), bill("BILLADMIN1", "FAIL", 7)))
        .await
        .unwrap();
    let restored = db.events("payout.restored").await;
    let bills: Vec<_> = restored
        .iter()
        .map(|e| e.data["out_bill_no"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(bills, ["BILLF1", "BILLX1", "BILLR1"]);
    let link = db
        .ledger
        .claim_of(&OutBillNo::parse("BILLF1").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(link.restored);
    let retry = db
        .ledger
        .claim("pa_r1", &bill_for("BILLF1", ALICE, 30))
        .await
        .unwrap();
    let ClaimAdmission::Recorded { link, .. } = retry else {
        panic!("a recorded bill number spends nothing: {retry:?}")
    };
    assert!(
        link.is_some_and(|l| l.restored),
        "pay sees the bill gave its amount back and refuses to resend it"
    );
}

pub async fn revoked_and_expired_allowances_cannot_be_claimed_and_list_by_state(db: TestDb) {
    let mut expiring = grant("pa_e1", ALICE, 100, None);
    expiring.expires_at = Some(T0 + 100);
    db.ledger.grant(&expiring).await.unwrap();
    db.ledger
        .grant(&grant("pa_v1", ALICE, 100, None))
        .await
        .unwrap();
    db.ledger
        .grant(&grant("pa_b1", BOB, 10, None))
        .await
        .unwrap();
    let alice = OpenId::parse(ALICE).unwrap();
    let first = db.ledger.claimable(&alice, db.now()).await.unwrap();
    assert_eq!(
        first.unwrap().allowance_id,
        "pa_e1",
        "granted first, claimed first"
    );
    let revoked = db.ledger.revoke("pa_v1").await.unwrap().unwrap();
    assert_eq!(revoked.state_at(db.now()), AllowanceState::Revoked);
    db.ledger.revoke("pa_v1").await.unwrap();
    assert_eq!(db.events("payout.revoked").await.len(), 1, "revoked once");
    assert_eq!(db.ledger.revoke("pa_nothing").await.unwrap(), None);
    let refused = db
        .ledger
        .claim("pa_v1", &bill_for("BILLV1", ALICE, 1))
        .await
        .unwrap();
    assert!(matches!(refused, ClaimAdmission::NotClaimable(Some(a)) if a.revoked));
    db.set_now(T0 + 100);
    let refused = db
        .ledger
        .claim("pa_e1", &bill_for("BILLE1", ALICE, 1))
        .await
        .unwrap();
    assert!(matches!(refused, ClaimAdmission::NotClaimable(Some(_))));
    assert_eq!(db.ledger.claimable(&alice, db.now()).await.unwrap(), None);
    let bob = db.ledger.claim("pa_b1", &bill_for("BILLB1", BOB, 10)).await;
    assert!(admitted_new(&bob.unwrap()));
    let list = |openid: Option<&str>, state: Option<AllowanceState>| AllowanceFilter {
        openid: openid.map(str::to_string),
        state,
        limit: 10,
        now: db.now(),
    };
    let ids =
        |v: Vec<Allowance>| -> Vec<String> { v.into_iter().map(|a| a.allowance_id).collect() };
    let all = db.ledger.allowances(&list(None, None)).await.unwrap();
    assert_eq!(ids(all), ["pa_b1", "pa_v1", "pa_e1"], "newest first");
    for (state, want) in [
        (AllowanceState::Expired, vec!["pa_e1"]),
        (AllowanceState::Revoked, vec!["pa_v1"]),
        (AllowanceState::Exhausted, vec!["pa_b1"]),
        (AllowanceState::Active, vec![]),
    ] {
        let got = db
            .ledger
            .allowances(&list(None, Some(state)))
            .await
            .unwrap();
        for a in &got {
            assert_eq!(
                a.state_at(db.now()),
                state,
                "the filter agrees with state_at"
            );
        }
        assert_eq!(ids(got), want, "{state:?}");
    }
    let mine = db
        .ledger
        .allowances(&list(Some(ALICE), None))
        .await
        .unwrap();
    assert_eq!(ids(mine), ["pa_v1", "pa_e1"]);
    let one = AllowanceFilter {
        limit: 1,
        ..list(None, None)
    };
    assert_eq!(ids(db.ledger.allowances(&one).await.unwrap()), ["pa_b1"]);
}
