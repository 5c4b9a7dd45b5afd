//! The host ABI, imported directly (no PDK): Extism's memory blocks, input
//! and output from "extism:host/env", and Wharf's wharf_http, wharf_load and
//! wharf_store from "extism:host/user" (ABI §5).
//!
//! Extism memory is the host's, not ours: a block is an offset (u64) into it.
//! Bytes move between it and our own linear memory with one wharf_load or
//! wharf_store per block, instead of Extism's load_u64 per 8 bytes.

use crate::error::Error;
use crate::json::Value;

#[link(wasm_import_module = "extism:host/env")]
extern "C" {
    #[link_name = "input_length"]
    fn extism_input_length() -> u64;
    #[link_name = "input_offset"]
    fn extism_input_offset() -> u64;
    #[link_name = "alloc"]
    fn extism_alloc(n: u64) -> u64;
    #[link_name = "free"]
    fn extism_free(block: u64);
    #[link_name = "length"]
    fn extism_length(block: u64) -> u64;
    #[link_name = "output_set"]
    fn extism_output_set(block: u64, n: u64);
    #[link_name = "log_error"]
    fn extism_log_error(block: u64);
}

#[link(wasm_import_module = "extism:host/user")]
extern "C" {
    fn wharf_http(request: u64) -> u64;
    fn wharf_load(block: u64, dst: *mut u8, n: u32);
    fn wharf_store(block: u64, src: *const u8, n: u32);
}

/// Copies a whole block into a new Vec.
fn load(block: u64, n: u64) -> Vec<u8> {
    let mut b = vec![0u8; n as usize];
    if n > 0 {
        unsafe { wharf_load(block, b.as_mut_ptr(), n as u32) };
    }
    b
}

/// Copies b into a new block (0 when the host has no room for it).
fn store(b: &[u8]) -> u64 {
    let block = unsafe { extism_alloc(b.len() as u64) };
    if block != 0 && !b.is_empty() {
        unsafe { wharf_store(block, b.as_ptr(), b.len() as u32) };
    }
    block
}

/// The call's input.
pub fn input() -> Vec<u8> {
    unsafe { load(extism_input_offset(), extism_input_length()) }
}

/// Sets the call's output.
pub fn output(b: &[u8]) {
    let block = store(b);
    unsafe { extism_output_set(block, if block == 0 { 0 } else { b.len() as u64 }) };
}

/// Writes a line to the host's log at error level (the panic hook uses it).
pub fn log_error(msg: &str) {
    let block = store(msg.as_bytes());
    if block != 0 {
        unsafe { extism_log_error(block) }; // the host frees it
    }
}

/// What the plugin asks the host to send: a path on the connection's
/// "endpoint", with its "token" secret as a bearer token.
pub struct Request {
    pub method: &'static str,
    pub path: String,
    pub query: Vec<(&'static str, String)>,
    pub headers: Vec<(&'static str, String)>,
    pub json: Option<Value>,
}

impl Request {
    pub fn new(method: &'static str, path: String) -> Request {
        Request { method, path, query: Vec::new(), headers: Vec::new(), json: None }
    }
}

/// An answer that arrived, whatever its status.
pub struct Response {
    pub status: i64,
    pub body: Vec<u8>,
}

/// Each request may take 10 s and answer 4 MiB; the host may lower both.
const TIMEOUT_MS: i64 = 10_000;
const MAX_BODY_BYTES: i64 = 4 << 20;

/// Sends r through wharf_http. Only a failure to get any answer is an
/// error: `unavailable` (retryable) unless the host said more.
pub fn send(r: &Request) -> Result<Response, Error> {
    let mut headers = Value::obj().with("Accept", Value::str("application/json"));
    for (k, v) in &r.headers {
        headers.set(k, Value::Str(v.clone()));
    }
    let mut req = Value::obj()
        .with("method", Value::str(r.method))
        .with("endpoint", Value::str("endpoint"))
        .with("path", Value::Str(r.path.clone()))
        .with("auth", Value::obj().with("scheme", Value::str("bearer")).with("secret", Value::str("token")))
        .with("timeout_ms", TIMEOUT_MS.into())
        .with("max_body_bytes", MAX_BODY_BYTES.into())
        .with("answer_body", Value::str("block"));
    if !r.query.is_empty() {
        let mut q = Value::obj();
        for (k, v) in &r.query {
            let mut vals = match q.get(k) {
                Some(Value::Arr(a)) => a.clone(),
                _ => Vec::new(),
            };
            vals.push(Value::Str(v.clone()));
            q.set(k, Value::Arr(vals));
        }
        req.set("query", q);
    }
    // The body goes raw in a block of its own (ABI 1.1), not base64.
    let mut body_block = 0;
    if let Some(j) = &r.json {
        headers.set("Content-Type", Value::str("application/json"));
        body_block = store(j.to_json().as_bytes());
        if body_block == 0 {
            return Err(Error::internal("no room in the host's memory for the request body".to_string()));
        }
        req.set("body_block", (body_block as i64).into());
    }
    req.set("headers", headers);
    let req_block = store(req.to_json().as_bytes());
    if req_block == 0 {
        unsafe { extism_free(body_block) };
        return Err(Error::internal("no room in the host's memory for the request".to_string()));
    }
    let answer_block = unsafe { wharf_http(req_block) };
    unsafe {
        extism_free(req_block);
        extism_free(body_block);
    }
    let answer = unsafe { load(answer_block, extism_length(answer_block)) };
    unsafe { extism_free(answer_block) };
    let answer = crate::json::parse(&answer).map_err(|e| Error::internal(format!("the host's HTTP answer is not JSON: {}", e)))?;
    if let Some(e) = answer.get("error") {
        let mut e = Error::from_value(e);
        if e.code == "internal" {
            e.code = "unavailable";
            e.retryable = true;
        }
        e.message = format!("{} {}: {}", r.method, r.path, e.message);
        return Err(e);
    }
    let status = answer.get("status").and_then(Value::as_int).unwrap_or(0);
    let body = match answer.get("body_block").and_then(Value::as_int) {
        Some(b) if b > 0 => {
            let b = b as u64;
            let body = unsafe { load(b, extism_length(b)) };
            unsafe { extism_free(b) };
            body
        }
        _ => Vec::new(),
    };
    if let Some(Value::Bool(true)) = answer.get("truncated") {
        return Err(Error::internal(format!("{} {}: the answer is larger than {} bytes", r.method, r.path, MAX_BODY_BYTES)));
    }
    Ok(Response { status, body })
}

/// Percent-encodes s for one path segment.
pub fn path_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{:02X}", b));
        }
    }
    out
}
