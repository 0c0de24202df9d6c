-- Payout allowances: money the business authorised a payee to claim with wxpay_transfer.
-- `state` is ACTIVE or REVOKED as stored, EXHAUSTED and EXPIRED are derived when read.
CREATE TABLE IF NOT EXISTS pay_allowances (
    seq               BIGINT AUTO_INCREMENT PRIMARY KEY,
    id                VARCHAR(32) NOT NULL UNIQUE,
    grant_no          VARCHAR(64) UNIQUE,
    openid            VARCHAR(128) NOT NULL,
    amount            BIGINT NOT NULL,
    claimed           BIGINT NOT NULL DEFAULT 0,
    state             VARCHAR(16) NOT NULL,
    transfer_scene_id VARCHAR(36) NOT NULL,
    transfer_remark   VARCHAR(128) NOT NULL,
    report_infos      TEXT NOT NULL,
    expires_at        BIGINT,
    fingerprint       VARCHAR(64) NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    INDEX pay_allowances_openid (openid, state)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- One row per transfer bill created by a claim: the link that restores the amount exactly once
-- (restored_at is set in the same transaction as the restore) when the bill ends FAIL,
-- CANCELLED or REJECTED.
CREATE TABLE IF NOT EXISTS pay_allowance_claims (
    out_bill_no  VARCHAR(32) PRIMARY KEY,
    allowance_id VARCHAR(32) NOT NULL,
    amount       BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    restored_at  BIGINT,
    INDEX pay_allowance_claims_allowance (allowance_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
