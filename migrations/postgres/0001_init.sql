-- pay-common ledger, PostgreSQL. Times are Unix seconds, money is integer fen.
CREATE TABLE IF NOT EXISTS pay_orders (
    out_trade_no      TEXT PRIMARY KEY,
    owner             TEXT,
    appid             TEXT NOT NULL,
    mchid             TEXT NOT NULL,
    trade_type        TEXT NOT NULL,
    amount            BIGINT NOT NULL,
    currency          TEXT NOT NULL,
    description       TEXT NOT NULL,
    fingerprint       TEXT NOT NULL,
    request_body      TEXT NOT NULL,
    state             TEXT NOT NULL,
    transaction_id    TEXT,
    prepay_id         TEXT,
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
    claimed_by        TEXT,
    claim_until       BIGINT
);
CREATE INDEX IF NOT EXISTS pay_orders_transaction_id ON pay_orders (transaction_id);
CREATE INDEX IF NOT EXISTS pay_orders_state ON pay_orders (state, created_at);
CREATE TABLE IF NOT EXISTS pay_refunds (
    out_refund_no   TEXT PRIMARY KEY,
    out_trade_no    TEXT NOT NULL,
    transaction_id  TEXT,
    amount          BIGINT NOT NULL,
    order_total     BIGINT NOT NULL,
    state           TEXT NOT NULL,
    refund_id       TEXT,
    reason          TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    claimed_by      TEXT,
    claim_until     BIGINT
);
CREATE INDEX IF NOT EXISTS pay_refunds_order ON pay_refunds (out_trade_no);
CREATE INDEX IF NOT EXISTS pay_refunds_state ON pay_refunds (state, created_at);
CREATE TABLE IF NOT EXISTS pay_transfers (
    out_bill_no      TEXT PRIMARY KEY,
    appid            TEXT NOT NULL,
    openid           TEXT NOT NULL,
    amount           BIGINT NOT NULL,
    fingerprint      TEXT NOT NULL,
    request_body     TEXT NOT NULL,
    state            TEXT NOT NULL,
    transfer_bill_no TEXT,
    fail_reason      TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    claimed_by       TEXT,
    claim_until      BIGINT
);
CREATE INDEX IF NOT EXISTS pay_transfers_state ON pay_transfers (state, created_at);
CREATE TABLE IF NOT EXISTS pay_notifications (
    notification_id TEXT PRIMARY KEY,
    event_type      TEXT NOT NULL,
    received_at     BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS pay_events (
    seq             BIGSERIAL PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    event_type      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    payload         TEXT NOT NULL,
    delivered_at    BIGINT,
    attempts        BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at BIGINT NOT NULL,
    claimed_by      TEXT,
    claim_until     BIGINT
);
CREATE INDEX IF NOT EXISTS pay_events_due ON pay_events (delivered_at, next_attempt_at);
