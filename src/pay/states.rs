//! The lifecycles the ledger records, as enums: orders, refunds and transfers. Each stores and
//! serializes as WeChat's (or our) upper-case name, so events, views and rows keep their text.

use serde::{Serialize, Serializer};

macro_rules! named_states {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// Every state.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)*];

            /// The stored (and WeChat's) name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)*
                }
            }

            /// Parses a stored or WeChat name.
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|st| st.as_str() == s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }
    };
}

named_states!(
    /// The order lifecycle as the ledger sees it.
    OrderState {
        /// Recorded; WeChat not yet answered or not yet paid.
        Notpay => "NOTPAY",
        /// The user is entering a password.
        Userpaying => "USERPAYING",
        /// Paid in full.
        Paid => "PAID",
        /// Fully refunded.
        Refunded => "REFUNDED",
        /// Closed unpaid.
        Closed => "CLOSED",
        /// Payment failed.
        Payerror => "PAYERROR",
        /// A payment arrived whose amount/appid/mchid did not match: held for a person.
        AmountMismatch => "AMOUNT_MISMATCH",
    }
);

impl OrderState {
    /// Still waiting for the user: a pay notice may move it to PAID.
    pub fn is_pending(self) -> bool {
        matches!(self, Self::Notpay | Self::Userpaying)
    }
}

named_states!(
    /// A refund: RESERVED → PROCESSING → SUCCESS | CLOSED, RESERVED → REJECTED, and ABNORMAL,
    /// which keeps the money reserved (a person must act; it may still end in SUCCESS or CLOSED).
    RefundState {
        /// Amount reserved in the ledger; WeChat not yet answered.
        Reserved => "RESERVED",
        /// WeChat accepted it.
        Processing => "PROCESSING",
        /// The money went back.
        Success => "SUCCESS",
        /// WeChat closed it; nothing went back.
        Closed => "CLOSED",
        /// WeChat could not pay it back; held for a person.
        Abnormal => "ABNORMAL",
        /// WeChat refused the request; the number cannot be used again.
        Rejected => "REJECTED",
    }
);

impl RefundState {
    /// A result WeChat reports that settles (or holds) the money.
    pub fn is_result(self) -> bool {
        matches!(self, Self::Success | Self::Closed | Self::Abnormal)
    }
    /// Nothing changes after these.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Success | Self::Closed | Self::Rejected)
    }
}

named_states!(
    /// A merchant transfer: RECORDED → (ACCEPTED, PROCESSING, WAIT_USER_CONFIRM, TRANSFERING,
    /// CANCELING) → SUCCESS | FAIL | CANCELLED; RECORDED → REJECTED when WeChat refused the call.
    TransferState {
        /// Recorded in the ledger; WeChat not yet answered.
        Recorded => "RECORDED",
        /// WeChat refused the request.
        Rejected => "REJECTED",
        /// WeChat accepted the bill.
        Accepted => "ACCEPTED",
        /// WeChat is processing it.
        Processing => "PROCESSING",
        /// Waiting for the payee to confirm in WeChat.
        WaitUserConfirm => "WAIT_USER_CONFIRM",
        /// Being paid out.
        Transfering => "TRANSFERING",
        /// Paid.
        Success => "SUCCESS",
        /// Failed; nothing was paid.
        Fail => "FAIL",
        /// Being cancelled.
        Canceling => "CANCELING",
        /// Cancelled; nothing was paid.
        Cancelled => "CANCELLED",
    }
);

impl TransferState {
    /// Nothing changes after these (REJECTED is ours: WeChat never held the bill).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Success | Self::Fail | Self::Cancelled | Self::Rejected
        )
    }
}

named_states!(
    /// What kind of money an unmatched record holds.
    UnmatchedKind {
        /// A payment (`TRANSACTION.SUCCESS`, or a paid query answer).
        Payment => "payment",
        /// A refund result.
        Refund => "refund",
        /// A transfer result.
        Transfer => "transfer",
    }
);

named_states!(
    /// Why the ledger could not match money WeChat reported.
    UnmatchedReason {
        /// A payment for an order number the ledger never recorded.
        UnknownOrder => "UNKNOWN_ORDER",
        /// A payment for an order the ledger had already closed (a close/pay race at WeChat).
        PaidAfterClose => "PAID_AFTER_CLOSE",
        /// A refund the ledger never made.
        UnknownRefund => "UNKNOWN_REFUND",
        /// A transfer the ledger never made.
        UnknownTransfer => "UNKNOWN_TRANSFER",
    }
);

named_states!(
    /// An unmatched record: OPEN until an admin resolves it, once: REFUNDING (a refund of the
    /// whole payment is under way; it ends REFUNDED, or OPEN again when WeChat does not refund),
    /// ATTACHED (tied to a business order, no money moves) or DISMISSED (with a note).
    UnmatchedState {
        /// Waiting for an admin.
        Open => "OPEN",
        /// A full refund was sent to WeChat; its result is pending.
        Refunding => "REFUNDING",
        /// The money went back to the payer.
        Refunded => "REFUNDED",
        /// Tied to a business order or note; the money stays.
        Attached => "ATTACHED",
        /// Closed by an admin with a note.
        Dismissed => "DISMISSED",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_serialize_as_text() {
        for s in RefundState::ALL {
            assert_eq!(RefundState::parse(s.as_str()), Some(*s));
        }
        for s in TransferState::ALL {
            assert_eq!(TransferState::parse(s.as_str()), Some(*s));
        }
        assert_eq!(
            serde_json::to_value(OrderState::AmountMismatch).unwrap(),
            "AMOUNT_MISMATCH"
        );
        assert_eq!(
            TransferState::parse("WAIT_USER_CONFIRM"),
            Some(TransferState::WaitUserConfirm)
        );
        assert_eq!(RefundState::parse("success"), None);
        assert_eq!(
            UnmatchedReason::parse("PAID_AFTER_CLOSE"),
            Some(UnmatchedReason::PaidAfterClose)
        );
        assert_eq!(
            serde_json::to_value(UnmatchedKind::Payment).unwrap(),
            "payment"
        );
        assert!(TransferState::Cancelled.is_final() && !TransferState::Canceling.is_final());
    }
}
