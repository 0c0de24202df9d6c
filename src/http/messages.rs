//! The message catalogue: `msg` reaches end users (`wx.showToast`, dialogs), so it is Chinese by
//! default (`messageLanguage=en` keeps the English texts). `error` is never translated: it is the
//! stable machine code. A Chinese message says what to do and keeps the English detail (which
//! names the field, the variable or WeChat's answer) in brackets.

use super::envelope::ApiError;

/// `messageLanguage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    /// Chinese (default).
    #[default]
    Zh,
    /// English.
    En,
}

/// Field rules and their Chinese, longest first where one is a prefix of another.
const RULES: &[(&str, &str)] = &[
    ("is required (the payee)", "为必填项（收款用户）"),
    ("is required (fen)", "为必填项（单位：分）"),
    (
        "is required when ordering with the admin credential",
        "在使用管理员凭证下单时为必填项",
    ),
    (
        "is required to attach (name the business order)",
        "为必填项：关联时请写明对应的业务订单",
    ),
    (
        "is required to dismiss (say why)",
        "为必填项：忽略时请写明原因",
    ),
    ("is required", "为必填项"),
    (
        "must be refund, attach or dismiss",
        "只能是 refund（原路退款）、attach（关联业务订单）或 dismiss（忽略）",
    ),
    (
        "must be a positive integer (fen)",
        "必须为正整数（单位：分）",
    ),
    ("must be a string", "必须为字符串"),
    ("must be true or false", "必须为 true 或 false"),
    ("must be an object or array", "必须为对象或数组"),
    ("must be a JSON object", "必须为 JSON 对象"),
    ("must be CNY", "必须为 CNY"),
    (super::text::RULE, "不能包含控制字符（如 NUL）"),
];

fn field_zh(field: &str, rule: &str) -> String {
    let gloss = match field {
        "amount.total" => "（订单金额）",
        "description" => "（商品描述）",
        "out_trade_no" => "（商户订单号）",
        "out_refund_no" => "（商户退款单号）",
        "out_bill_no" => "（商户转账单号）",
        "transfer_amount" => "（转账金额）",
        "openid" | "payer.openid" => "（用户 openid）",
        "amount" => "（金额，单位：分）",
        "allowance_id" => "（转账额度编号）",
        "grant_no" => "（额度发放单号）",
        "expires_at" => "（额度过期时间）",
        "transfer_remark" => "（转账备注）",
        "id" => "（未匹配款项编号）",
        "action" => "（处理方式）",
        "note" => "（处理说明）",
        _ => "",
    };
    match RULES.iter().find(|(en, _)| rule == *en) {
        Some((_, zh)) => format!("{field}{gloss}{zh}"),
        None => format!("{field}{gloss}参数不符合要求（{field} {rule}）"),
    }
}

/// The Chinese sentence of an error code, without detail; `None` = use the generic form.
fn code_zh(code: &str, detail: &str) -> Option<String> {
    let s = match code {
        "UNAUTHENTICATED" => {
            "缺少用户身份。可用的身份方式：通过 wx.cloud.callHTTPFunction / callContainer 调用（平台注入 x-wx-openid）；通过 HTTP 云 API 调用并携带 CloudBase 登录的 Authorization: Bearer 访问令牌；网页订单传入下单时返回的 order_token；或在服务端使用管理员凭证"
        }
        "INVALID_TOKEN" => "登录令牌（Authorization: Bearer）无效，请重新登录获取新的访问令牌",
        "IDENTITY_CONFLICT" => "登录令牌与 x-wx-openid 请求头不是同一个用户，请只使用一种身份调用",
        "INVALID_ADMIN_TOKEN" => "管理员凭证不正确，请检查 PAY_COMMON_ADMIN_TOKEN",
        "ADMIN_REQUIRED" if detail.starts_with("refunding") => {
            "退款需要服务端的管理员凭证（x-pay-common-admin-token，请从你的服务器调用），或配置 refundPolicy=owner-full 允许用户全额退款自己已支付的订单"
        }
        "ADMIN_REQUIRED" => {
            "该操作需要服务端的管理员凭证（x-pay-common-admin-token），请从你的服务器调用，不要把凭证放进小程序"
        }
        "NOT_OWNER" => "该记录属于其他用户，只能查看或操作自己的订单和转账",
        "NOT_FOUND" => "未找到该记录，请检查单号",
        "INVALID_ORDER_TOKEN" => "order_token 与该订单不匹配，请使用下单时返回的 order_token",
        "MISSING_CREDENTIALS" => {
            "微信支付配置缺失或无效，暂时无法支付；请按 GET /healthz 列出的变量修正配置"
        }
        "INVALID_JSON" => "请求体必须是 JSON 对象",
        "INVALID_BODY" => "请求体无法读取或过大",
        "UNSUPPORTED_ACTION" => "不支持的接口名称",
        "UPSTREAM_TIMEOUT" => "微信支付响应超时，可使用相同单号安全重试",
        "UPSTREAM_UNREACHABLE" => "暂时无法连接微信支付，可使用相同单号安全重试",
        "UPSTREAM_UNVERIFIED" => "微信支付的应答未通过签名验证，未做任何处理",
        "UPSTREAM_BAD_RESPONSE" => "无法解析微信支付的应答",
        "INTERNAL" => "服务内部错误，已记录日志，请稍后重试",
        "BUSY" => "服务繁忙，请稍后重试",
        "STORE_UNAVAILABLE" => "订单数据库暂时不可用，请稍后使用相同单号重试",
        "BODY_TIMEOUT" => "请求体未在规定时间内传完，请检查网络后重试",
        "METHOD_NOT_ALLOWED" => "请求方法不被支持，请使用 Allow 响应头列出的方法",
        "DUPLICATE_HEADER" => "请求头重复，身份相关的请求头只能出现一次",
        "ORDERPAID" => "订单已支付",
        "ORDER_CLOSED" => "订单已关闭，请使用新的商户订单号重新下单",
        "NO_ALLOWANCE" => {
            "当前用户没有可领取的转账额度：商家需先在服务端用管理员凭证调用 POST /wx-pay/admin/payout_grant 为该用户发放额度；已撤销、已过期或已领完的额度不能再领取"
        }
        "ALLOWANCE_EXCEEDED" => {
            "领取金额超过了剩余额度，请减小 transfer_amount，或不传该字段以领取全部剩余额度"
        }
        "GRANT_NO_USED" => "grant_no 已用于另一笔内容不同的额度发放，请换一个新的 grant_no",
        "OUT_BILL_NO_USED" => "商户转账单号 out_bill_no 已被使用，请换一个新的单号",
        "OUT_REFUND_NO_USED" => "商户退款单号 out_refund_no 已被使用，请换一个新的单号",
        "UNMATCHED_RESOLVED" => "该笔未匹配款项已经处理过（不是 OPEN 状态），不能重复处理",
        "UNMATCHED_NOT_REFUNDABLE" => {
            "只有收到的付款才能原路退款；未匹配的退款或转账请使用 attach（关联）或 dismiss（忽略）处理"
        }
        "NO_LEDGER" => {
            "该功能需要服务自带的账本数据库（DATABASE_URL），当前服务使用的是自定义订单服务"
        }
        "STORAGE_ERROR" => "账本数据库暂时不可用，已记录日志，请稍后重试",
        _ => return None,
    };
    Some(s.to_string())
}

/// Rewrites `msg` into `lang`.
pub fn localize(mut e: ApiError, lang: Language) -> ApiError {
    if lang == Language::En {
        return e;
    }
    e.msg = match (e.field.as_deref(), code_zh(&e.error, &e.msg)) {
        (Some((field, rule)), _) => field_zh(field, rule),
        (None, Some(zh)) => format!("{zh}（{}）", e.msg),
        (None, None) if e.data.is_null() => format!("请求被拒绝（{}）：{}", e.error, e.msg),
        (None, None) => format!("微信支付拒绝了请求（{}）：{}", e.error, e.msg),
    };
    e
}

/// The `msg` of a reconcile trigger that came too soon after the last run.
pub fn reconcile_skipped(secs_ago: u64, lang: Language) -> String {
    let en = format!("skipped: ran {secs_ago}s ago");
    match lang {
        Language::En => en,
        Language::Zh => format!("已跳过：{secs_ago} 秒前刚运行过对账（{en}）"),
    }
}

/// The `message` of a callback's FAIL answer: what happened by status class, with the English
/// detail in brackets (WeChat retries every FAIL; 4xx means the content itself was refused).
pub fn callback_message(status: u16, detail: &str, lang: Language) -> String {
    if lang == Language::En {
        return detail.to_string();
    }
    let zh = match status {
        401 => "通知未通过签名验证或无法解密，未做任何处理",
        400..=499 => "通知内容无法处理，未做任何处理",
        _ => "暂时无法处理该通知，请稍后重试",
    };
    format!("{zh}（{detail}）")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pay::types::FieldError;
    use axum::http::StatusCode;

    #[test]
    fn field_errors_are_chinese_and_name_the_field() {
        let e: ApiError =
            FieldError::new("amount.total", "must be a positive integer (fen)").into();
        let zh = localize(e.clone(), Language::Zh);
        assert_eq!(zh.msg, "amount.total（订单金额）必须为正整数（单位：分）");
        assert_eq!(zh.error, "INVALID_PARAMETER");
        assert_eq!(
            localize(e, Language::En).msg,
            "amount.total must be a positive integer (fen)"
        );
        let odd: ApiError = FieldError::new("x", "must be odd").into();
        assert!(localize(odd, Language::Zh).msg.contains("x must be odd"));
    }

    #[test]
    fn refusals_say_what_to_do_and_keep_the_detail() {
        let e = ApiError::new(
            StatusCode::FORBIDDEN,
            "ADMIN_REQUIRED",
            "refunding needs the admin credential",
        );
        let zh = localize(e, Language::Zh).msg;
        assert!(
            zh.contains("refundPolicy=owner-full") && zh.contains("refunding needs"),
            "{zh}"
        );
        let e = ApiError::new(StatusCode::FORBIDDEN, "NO_ALLOWANCE", "no payout allowance");
        let zh = localize(e, Language::Zh).msg;
        assert!(
            zh.contains("admin/payout_grant") && zh.contains("（no payout allowance）"),
            "{zh}"
        );
        let e = ApiError::new(StatusCode::CONFLICT, "SOMETHING_NEW", "detail");
        assert_eq!(
            localize(e, Language::Zh).msg,
            "请求被拒绝（SOMETHING_NEW）：detail"
        );
    }

    #[test]
    fn callback_failures_and_skipped_runs_are_chinese_by_default() {
        let zh = callback_message(401, "signature does not verify", Language::Zh);
        assert_eq!(
            zh,
            "通知未通过签名验证或无法解密，未做任何处理（signature does not verify）"
        );
        assert!(callback_message(500, "x", Language::Zh).starts_with("暂时无法处理"));
        assert_eq!(callback_message(400, "bad", Language::En), "bad");
        assert!(reconcile_skipped(3, Language::Zh).contains("3 秒前"));
        assert_eq!(reconcile_skipped(3, Language::En), "skipped: ran 3s ago");
    }
}
