-- Payout allowances: money the business authorised a payee to claim with wxpay_transfer.
-- `state` is ACTIVE or REVOKED as stored, EXHAUSTED and EXPIRED are derived when read.
CREATE TABLE IF NOT EXISTS pay_allowances (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    id                TEXT NOT NULL UNIQUE,
    grant_no          TEXT UNIQUE,
    openid            TEXT NOT NULL,
    amount            INTEGER NOT NULL,
    claimed           INTEGER NOT NULL DEFAULT 0,
    state             TEXT NOT NULL,
    transfer_scene_id TEXT NOT NULL,
    transfer_remark   TEXT NOT NULL,
    report_infos      TEXT NOT NULL,
    expires_at        INTEGER,
    fingerprint       TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS pay_allowances_openid ON pay_allowances (openid, state);
-- One row per transfer bill created by a claim: the link that restores the amount exactly once
-- (restored_at is set in the same transaction as the restore) when the bill ends FAIL,
-- CANCELLED or REJECTED.
CREATE TABLE IF NOT EXISTS pay_allowance_claims (
    out_bill_no  TEXT PRIMARY KEY,
    allowance_id TEXT NOT NULL,
    amount       INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    restored_at  INTEGER
);
CREATE INDEX IF NOT EXISTS pay_allowance_claims_allowance ON pay_allowance_claims (allowance_id);
