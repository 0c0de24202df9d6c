-- pay-common ledger, MySQL / MariaDB (InnoDB, utf8mb4_bin so keys compare byte for byte). Times are Unix seconds, money is integer fen.
CREATE TABLE IF NOT EXISTS pay_orders (
    out_trade_no      VARCHAR(32) PRIMARY KEY,
    owner             VARCHAR(128),
    appid             VARCHAR(64) NOT NULL,
    mchid             VARCHAR(32) NOT NULL,
    trade_type        VARCHAR(16) NOT NULL,
    amount            BIGINT NOT NULL,
    currency          VARCHAR(8) NOT NULL,
    description       VARCHAR(512) NOT NULL,
    fingerprint       VARCHAR(64) NOT NULL,
    request_body      TEXT NOT NULL,
    state             VARCHAR(24) NOT NULL,
    transaction_id    VARCHAR(64),
    prepay_id         VARCHAR(128),
    code_url          TEXT,
    h5_url            TEXT,
    prepay_created_at BIGINT,
    refunded          BIGINT NOT NULL DEFAULT 0,
    refund_pending    BIGINT NOT NULL DEFAULT 0,
    mismatch          TEXT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    paid_at           BIGINT,
    expires_at        BIGINT NOT NULL,
    claimed_by        VARCHAR(64),
    claim_until       BIGINT,
    INDEX pay_orders_transaction_id (transaction_id),
    INDEX pay_orders_state (state, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS pay_refunds (
    out_refund_no   VARCHAR(64) PRIMARY KEY,
    out_trade_no    VARCHAR(32) NOT NULL,
    transaction_id  VARCHAR(64),
    amount          BIGINT NOT NULL,
    order_total     BIGINT NOT NULL,
    state           VARCHAR(24) NOT NULL,
    refund_id       VARCHAR(64),
    reason          TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    claimed_by      VARCHAR(64),
    claim_until     BIGINT,
    INDEX pay_refunds_order (out_trade_no),
    INDEX pay_refunds_state (state, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS pay_transfers (
    out_bill_no      VARCHAR(32) PRIMARY KEY,
    appid            VARCHAR(64) NOT NULL,
    openid           VARCHAR(128) NOT NULL,
    amount           BIGINT NOT NULL,
    fingerprint      VARCHAR(64) NOT NULL,
    request_body     TEXT NOT NULL,
    state            VARCHAR(24) NOT NULL,
    transfer_bill_no VARCHAR(64),
    fail_reason      TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    claimed_by       VARCHAR(64),
    claim_until      BIGINT,
    INDEX pay_transfers_state (state, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS pay_notifications (
    notification_id VARCHAR(128) PRIMARY KEY,
    event_type      VARCHAR(64) NOT NULL,
    received_at     BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS pay_events (
    seq             BIGINT AUTO_INCREMENT PRIMARY KEY,
    id              VARCHAR(64) NOT NULL UNIQUE,
    event_type      VARCHAR(64) NOT NULL,
    created_at      BIGINT NOT NULL,
    payload         TEXT NOT NULL,
    delivered_at    BIGINT,
    attempts        BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at BIGINT NOT NULL,
    claimed_by      VARCHAR(64),
    claim_until     BIGINT,
    INDEX pay_events_due (delivered_at, next_attempt_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
