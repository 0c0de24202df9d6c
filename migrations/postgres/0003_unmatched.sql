-- Unmatched money: a verified payment, refund or transfer notice that matches nothing the
-- ledger holds (an unknown order, an order already closed, a refund or transfer never made).
-- One row per WeChat object (kind, wechat_no), so a redelivered notice records nothing new.
-- `state` is OPEN until an admin resolves it: REFUNDING then REFUNDED (or OPEN again when
-- WeChat does not refund), ATTACHED or DISMISSED. `out_refund_no` links the refund that gives
-- a payment back (a row in pay_refunds with no order reservation behind it).
CREATE TABLE IF NOT EXISTS pay_unmatched (
    seq           BIGSERIAL PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,
    reason        TEXT NOT NULL,
    out_no        TEXT NOT NULL,
    wechat_no     TEXT NOT NULL,
    amount        BIGINT NOT NULL,
    openid        TEXT,
    payload       TEXT NOT NULL,
    state         TEXT NOT NULL,
    note          TEXT,
    out_refund_no TEXT UNIQUE,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    resolved_at   BIGINT,
    UNIQUE (kind, wechat_no)
);
CREATE INDEX IF NOT EXISTS pay_unmatched_state ON pay_unmatched (state, seq);
