//! Structured errors (ABI §7): every failed call answers
//! {"error": {"code", "message", "field", "retryable", "detail"}}.

use crate::json::Value;

#[derive(Debug)]
pub struct Error {
    pub code: &'static str,
    pub message: String,
    /// A JSON Pointer into the request for `invalid`, or "".
    pub field: String,
    pub retryable: bool,
    pub detail: Option<Value>,
}

impl Error {
    pub fn new(code: &'static str, message: String) -> Error {
        let retryable = code == "unavailable" || code == "timeout";
        Error { code, message, field: String::new(), retryable, detail: None }
    }

    /// Bad input at field (a JSON Pointer).
    pub fn invalid(field: &str, message: String) -> Error {
        let mut e = Error::new("invalid", message);
        e.field = field.to_string();
        e
    }

    pub fn internal(message: String) -> Error {
        Error::new("internal", message)
    }

    /// The answer of a failed call.
    pub fn to_answer(&self) -> Value {
        let mut e = Value::obj().with("code", Value::str(self.code)).with("message", Value::Str(self.message.clone()));
        if !self.field.is_empty() {
            e.set("field", Value::Str(self.field.clone()));
        }
        if self.retryable {
            e.set("retryable", Value::Bool(true));
        }
        if let Some(d) = &self.detail {
            e.set("detail", d.clone());
        }
        Value::obj().with("error", e)
    }

    /// Reads the "error" member of an answer (an HTTP answer from the host).
    pub fn from_value(v: &Value) -> Error {
        let mut e = Error::new(known_code(v.str_of("code")), v.str_of("message").to_string());
        e.field = v.str_of("field").to_string();
        if let Some(Value::Bool(r)) = v.get("retryable") {
            e.retryable = *r;
        }
        e
    }
}

/// The ABI's codes; an unknown one is `internal` (ABI §8).
fn known_code(code: &str) -> &'static str {
    const CODES: [&str; 9] =
        ["invalid", "unauthorized", "forbidden", "not_found", "conflict", "unsupported", "unavailable", "timeout", "internal"];
    CODES.iter().find(|c| **c == code).copied().unwrap_or("internal")
}

/// The code of an HTTP error status, the one mapping every Wharf plugin
/// uses (pluginapi.CodeForStatus).
pub fn code_for_status(status: i64) -> &'static str {
    match status {
        401 => "unauthorized",
        403 | 421 => "forbidden",
        404 | 410 => "not_found",
        405 | 501 => "unsupported",
        409 | 412 => "conflict",
        408 | 504 => "timeout",
        429 => "unavailable",
        500..=599 => "unavailable",
        400..=499 => "invalid",
        _ => "internal",
    }
}
