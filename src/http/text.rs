//! Control characters in a caller's JSON. A NUL is valid JSON and passes every length rule, but
//! PostgreSQL refuses it in text (a 500 "please retry" that anonymous callers could raise at
//! will), and neither WeChat nor a person reading the ledger has any use for the other C0
//! controls. Every string and key of every route body is checked once, here at the edge, so the
//! refusal is the same 400 naming the field on every backend.

use serde_json::Value;

use crate::pay::types::FieldError;

/// The rule, as the message catalogue knows it.
pub const RULE: &str = "must not contain control characters (such as NUL)";

/// C0 controls and DEL, except tab, line feed and carriage return.
fn is_refused(c: char) -> bool {
    (c.is_control() && (c as u32) < 0x80 && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{7f}'
}

/// The first string (or key) holding a refused character, named by its path
/// (`scene_info.h5_info.type`, `goods[2].name`).
pub fn check(body: &Value) -> Result<(), FieldError> {
    walk(body, &mut String::new())
}

fn walk(v: &Value, path: &mut String) -> Result<(), FieldError> {
    match v {
        Value::String(s) if s.chars().any(is_refused) => Err(FieldError::new(path.clone(), RULE)),
        Value::Object(map) => {
            for (k, child) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                if k.chars().any(is_refused) {
                    path.push_str(&k.escape_debug().to_string());
                    return Err(FieldError::new(path.clone(), RULE));
                }
                path.push_str(k);
                walk(child, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk(child, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn control_characters_are_named_by_their_field() {
        let field = |v: Value| check(&v).unwrap_err().field;
        assert_eq!(field(json!({ "description": "a\u{0}b" })), "description");
        assert_eq!(
            field(json!({ "scene_info": { "h5_info": { "type": "\u{1b}[31m" } } })),
            "scene_info.h5_info.type"
        );
        assert_eq!(
            field(json!({ "goods": [{ "name": "ok" }, { "name": "x\u{7f}" }] })),
            "goods[1].name"
        );
        assert_eq!(field(json!({ "a\u{0}": 1 })), "a\\0");
    }

    #[test]
    fn ordinary_text_passes() {
        let body = json!({ "description": "商品\t描述\n第二行", "amount": { "total": 1 }, "tags": ["é", "😀"] });
        assert_eq!(check(&body), Ok(()));
    }
}
