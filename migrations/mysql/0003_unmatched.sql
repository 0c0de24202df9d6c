-- Unmatched money: a verified payment, refund or transfer notice that matches nothing the
-- ledger holds (an unknown order, an order already closed, a refund or transfer never made).
-- One row per WeChat object (kind, wechat_no), so a redelivered notice records nothing new.
-- `state` is OPEN until an admin resolves it: REFUNDING then REFUNDED (or OPEN again when
-- WeChat does not refund), ATTACHED or DISMISSED. `out_refund_no` links the refund that gives
-- a payment back (a row in pay_refunds with no order reservation behind it).
CREATE TABLE IF NOT EXISTS pay_unmatched (
    seq           BIGINT AUTO_INCREMENT PRIMARY KEY,
    id            VARCHAR(32) NOT NULL UNIQUE,
    kind          VARCHAR(16) NOT NULL,
    reason        VARCHAR(24) NOT NULL,
    out_no        VARCHAR(64) NOT NULL,
    wechat_no     VARCHAR(64) NOT NULL,
    amount        BIGINT NOT NULL,
    openid        VARCHAR(128),
    payload       TEXT NOT NULL,
    state         VARCHAR(16) NOT NULL,
    note          TEXT,
    out_refund_no VARCHAR(64) UNIQUE,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    resolved_at   BIGINT,
    UNIQUE KEY pay_unmatched_object (kind, wechat_no),
    INDEX pay_unmatched_state (state, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
