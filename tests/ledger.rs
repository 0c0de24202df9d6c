//! The storage-port conformance suite: every case drives the money use cases (`pay::book::Book`)
//! over an implementation of `pay::port::LedgerStore` and runs unchanged against every one that
//! ships. Today that is the SQL ledger (`store::Ledger`) on SQLite (a temp file), PostgreSQL
//! (`postgres://postgres@127.0.0.1:5432`) and MariaDB/MySQL (`mysql://root@127.0.0.1:3306`),
//! each on a database of its own that is dropped afterwards. An unreachable server prints
//! `SKIPPED: …` and skips, unless `CI=true`, where it fails.

#[path = "ledger/allowances.rs"]
mod allowances;
#[path = "ledger/concurrency.rs"]
mod concurrency;
#[path = "ledger/dispatch.rs"]
mod dispatch;
#[path = "ledger/fake.rs"]
mod fake;
#[path = "ledger/fixtures.rs"]
mod fixtures;
#[path = "ledger/orders.rs"]
mod orders;
#[path = "ledger/reconcile.rs"]
mod reconcile;
#[path = "ledger/refunds.rs"]
mod refunds;
#[path = "ledger/support.rs"]
mod support;
#[path = "ledger/transfers.rs"]
mod transfers;
#[path = "ledger/unmatched.rs"]
mod unmatched;

/// One `#[tokio::test]` per case per backend: `sqlite::case`, `postgres::case`, `mysql::case`.
macro_rules! conformance {
    ($($module:ident :: $case:ident),* $(,)?) => {
        conformance!(@backend sqlite, Sqlite, $($module::$case),*);
        conformance!(@backend postgres, Postgres, $($module::$case),*);
        conformance!(@backend mysql, MySql, $($module::$case),*);
    };
    (@backend $name:ident, $kind:ident, $($module:ident :: $case:ident),*) => {
        mod $name {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    crate::support::run(crate::support::Kind::$kind, crate::$module::$case).await;
                }
            )*
        }
    };
}

conformance!(
    orders::repeating_an_order_returns_the_stored_body_and_prepay,
    orders::reusing_an_order_number_for_other_content_is_refused,
    orders::a_matching_payment_marks_the_order_paid_once_with_one_event,
    orders::a_payment_that_does_not_match_is_held_with_an_alert_event,
    orders::a_payment_for_an_unknown_order_is_reported_unknown,
    orders::userpaying_then_success_both_apply_without_extra_events,
    orders::closing_changes_only_pending_orders,
    orders::orders_are_found_by_transaction_id,
    refunds::a_refund_without_amount_reserves_everything_left,
    refunds::a_user_may_refund_only_their_own_order,
    refunds::a_repeated_refund_number_returns_the_reservation_and_other_content_is_refused,
    refunds::unpaid_orders_excess_amounts_and_wrong_totals_are_refused,
    refunds::successful_refunds_move_money_and_a_full_refund_marks_the_order_refunded,
    refunds::a_closed_refund_releases_its_reservation,
    refunds::an_abnormal_refund_stays_reserved_and_may_still_succeed,
    refunds::a_rejected_refund_releases_its_reservation_once,
    refunds::a_refund_result_that_does_not_match_changes_nothing,
    transfers::transfers_are_recorded_once_and_reused_numbers_are_refused,
    transfers::a_transfer_follows_wechat_to_success_once,
    transfers::failed_and_cancelled_transfers_emit_transfer_failed,
    transfers::rejected_mismatched_and_unknown_transfers_change_nothing,
    concurrency::a_hundred_identical_pay_notices_make_one_paid_and_one_event,
    concurrency::twenty_concurrent_refunds_never_exceed_the_paid_total,
    concurrency::migrations_are_idempotent_when_instances_start_together,
    concurrency::payments_abandoned_at_any_point_are_all_or_nothing,
    reconcile::reconciliation_pays_closes_and_settles_what_callbacks_missed,
    reconcile::two_reconcilers_never_process_the_same_row_twice,
    reconcile::the_background_reconciler_runs_until_shutdown,
    reconcile::a_hanging_wechat_is_queried_a_few_rows_at_a_time,
    reconcile::a_pass_out_of_time_leaves_the_rest_to_the_next_pass,
    dispatch::the_dispatcher_signs_retries_after_a_500_and_delivers_once,
    dispatch::two_dispatchers_deliver_each_event_once,
    allowances::a_grant_is_stored_once_per_grant_no_with_one_event,
    allowances::claims_spend_with_a_guard_and_record_the_bill_in_the_same_step,
    allowances::twenty_concurrent_claims_never_exceed_the_allowance,
    allowances::a_bill_that_fails_is_cancelled_or_is_rejected_gives_back_once,
    allowances::revoked_and_expired_allowances_cannot_be_claimed_and_list_by_state,
    unmatched::money_for_an_unknown_order_is_recorded_once_with_one_event,
    unmatched::a_payment_after_close_is_recorded_and_the_order_stays_closed,
    unmatched::refunds_and_transfers_we_never_made_are_recorded_when_money_moved,
    unmatched::each_record_is_resolved_exactly_once,
    unmatched::a_refund_of_unmatched_money_settles_without_touching_any_order,
    unmatched::a_refund_wechat_refuses_or_closes_opens_the_record_again,
    unmatched::reconciliation_that_finds_a_closed_order_paid_records_it,
);
