//! Reading fields out of a caller's JSON body with errors that name the field and the rule.

use serde_json::{Map, Value};

use super::types::FieldError;

/// A JSON object being read field by field.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a>(pub &'a Map<String, Value>);

impl<'a> Input<'a> {
    /// The raw value at a dotted path, `None` when absent or null.
    pub fn get(&self, path: &str) -> Option<&'a Value> {
        let mut parts = path.split('.');
        let mut cur = self.0.get(parts.next()?)?;
        for p in parts {
            cur = cur.get(p)?;
        }
        (!cur.is_null()).then_some(cur)
    }

    /// An optional string of at most `max` characters.
    pub fn opt_str(&self, path: &str, max: usize) -> Result<Option<&'a str>, FieldError> {
        match self.get(path) {
            None => Ok(None),
            Some(Value::String(s)) if s.chars().count() > max => Err(FieldError::new(
                path,
                format!("must be at most {max} characters"),
            )),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(FieldError::new(path, "must be a string")),
        }
    }

    /// A required, non-empty string of at most `max` characters.
    pub fn req_str(&self, path: &str, max: usize) -> Result<&'a str, FieldError> {
        match self.opt_str(path, max)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            _ => Err(FieldError::new(path, "is required")),
        }
    }

    /// An optional boolean.
    pub fn opt_bool(&self, path: &str) -> Result<bool, FieldError> {
        match self.get(path) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(FieldError::new(path, "must be true or false")),
        }
    }

    /// A listing's optional `limit`: `default` when absent, else an integer from 1 to `max`.
    pub fn list_limit(&self, default: i64, max: i64) -> Result<i64, FieldError> {
        match self.get("limit") {
            None => Ok(default),
            Some(v) => v.as_i64().filter(|n| (1..=max).contains(n)).ok_or_else(|| {
                FieldError::new("limit", format!("must be an integer from 1 to {max}"))
            }),
        }
    }

    /// An optional object or array, passed through as JSON.
    pub fn opt_json(&self, path: &str) -> Result<Option<&'a Value>, FieldError> {
        match self.get(path) {
            None => Ok(None),
            Some(v @ (Value::Object(_) | Value::Array(_))) => Ok(Some(v)),
            Some(_) => Err(FieldError::new(path, "must be an object or array")),
        }
    }

    /// A field the caller may repeat only with the server's own value.
    pub fn must_equal_if_present(
        &self,
        path: &str,
        expected: &str,
        why: &str,
    ) -> Result<(), FieldError> {
        match self.get(path) {
            None => Ok(()),
            Some(Value::String(s)) if s == expected => Ok(()),
            Some(_) => Err(FieldError::new(
                path,
                format!("must not be set by the caller ({why})"),
            )),
        }
    }
}

/// Reads the caller's body as an object.
pub fn object(body: &Value) -> Result<Input<'_>, FieldError> {
    body.as_object()
        .map(Input)
        .ok_or_else(|| FieldError::new("body", "must be a JSON object"))
}
