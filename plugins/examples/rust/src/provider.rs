//! The runq provider: each operation reads its request (a JSON Value),
//! talks to runq's REST API through the host and answers a Value.

use crate::error::{code_for_status, Error};
use crate::host::{path_escape, send, Request};
use crate::json::{self, Value};

/// The describe answer (ABI §3), written once as text.
pub const DESCRIBE: &str = r#"{
  "name": "runq",
  "version": "0.1.0",
  "abi_version": "1.4",
  "title": "runq (Rust example)",
  "description": "Jobs on runq, a tiny job runner; an example provider written in Rust.",
  "config_schema": {
    "type": "object",
    "required": ["endpoint", "token"],
    "properties": {
      "endpoint": {"type": "string", "title": "API URL", "x-endpoint": true},
      "token": {"type": "string", "title": "API token", "x-secret": true}
    },
    "additionalProperties": false
  },
  "spec_schema": {
    "type": "object",
    "required": ["name", "image"],
    "properties": {
      "name": {"type": "string", "title": "Name", "pattern": "^[a-z][a-z0-9-]{0,62}$"},
      "image": {"type": "string", "title": "Image", "minLength": 1},
      "replicas": {"type": "integer", "title": "Replicas", "minimum": 0, "maximum": 10, "default": 1},
      "env": {"type": "object", "title": "Environment", "additionalProperties": {"type": "string"}}
    },
    "additionalProperties": false
  },
  "operations": ["create", "get", "update", "delete", "list", "logs", "lifecycle"],
  "actions": [
    {"name": "scale", "title": "Scale", "params_schema": {"type": "object", "required": ["replicas"], "properties": {"replicas": {"type": "integer", "minimum": 0, "maximum": 10}}}},
    {"name": "stop", "title": "Stop", "dangerous": true},
    {"name": "start", "title": "Start"}
  ],
  "list_filters": ["name"],
  "logs": {"tail": true, "timestamps": true, "poll_interval_ms": 500}
}"#;

/// The spec members the plugin models; a job's other members are runq's
/// or set with runq's own tools, and an update leaves them alone.
const MODELED: [&str; 4] = ["name", "image", "replicas", "env"];

/// Sends r and answers the JSON body of a 2xx answer (Null when empty);
/// any other status is an error with the code of its status.
fn fetch(r: &Request) -> Result<Value, Error> {
    let resp = send(r)?;
    if !(200..300).contains(&resp.status) {
        return Err(status_error(r, resp.status, &resp.body));
    }
    if resp.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    json::parse(&resp.body).map_err(|e| Error::internal(format!("{} {}: the answer is not JSON: {}", r.method, r.path, e)))
}

/// The error of a non-2xx answer: runq's message, its field for invalid
/// input, the status and body in detail.
fn status_error(r: &Request, status: i64, body: &[u8]) -> Error {
    let parsed = json::parse(body).unwrap_or(Value::Null);
    let mut msg = parsed.str_of("message").to_string();
    if msg.is_empty() {
        msg = format!("{} {} answered {}", r.method, r.path, status);
    }
    let mut e = Error::new(code_for_status(status), msg);
    if e.code == "invalid" {
        e.field = parsed.str_of("field").to_string();
    }
    let text: String = String::from_utf8_lossy(&body[..body.len().min(2048)]).trim().to_string();
    e.detail = Some(Value::obj().with("status", status.into()).with("body", Value::Str(text)));
    e
}

fn job_path(id: &str) -> Result<String, Error> {
    if id.is_empty() {
        return Err(Error::invalid("/id", "the service id is missing".to_string()));
    }
    Ok(format!("/v1/jobs/{}", path_escape(id)))
}

/// The normalized Service (ABI §4) of a runq job.
fn service(job: &Value) -> Value {
    let state = job.str_of("state");
    let status = match state {
        "running" => "running",
        "stopped" => "stopped",
        _ => "unknown",
    };
    let replicas = job.get("replicas").and_then(Value::as_int).unwrap_or(1);
    let running = if state == "running" { replicas } else { 0 };
    let mut spec = Value::obj();
    for k in MODELED {
        if let Some(v) = job.get(k) {
            spec.set(k, v.clone());
        }
    }
    let version = job.get("revision").and_then(Value::as_int).map(|r| r.to_string()).unwrap_or_default();
    let mut svc = Value::obj()
        .with("id", Value::str(job.str_of("id")))
        .with("name", Value::str(job.str_of("name")))
        .with("status", Value::str(status))
        .with("native_status", Value::str(state))
        .with("desired", replicas.into())
        .with("running", running.into())
        .with("image", Value::str(job.str_of("image")))
        .with("version", Value::Str(version))
        .with("spec", spec)
        .with("raw", job.clone());
    // Times are RFC 3339 or absent: the host reads "" as a bad time.
    for k in ["created_at", "updated_at"] {
        if !job.str_of(k).is_empty() {
            svc.set(k, Value::str(job.str_of(k)));
        }
    }
    svc
}

fn answer_service(job: &Value) -> Value {
    Value::obj().with("service", service(job))
}

/// Checks a spec the way the schema says (the host has already, but a
/// plugin never trusts its input) and returns its modeled members.
fn check_spec(spec: Option<&Value>) -> Result<Value, Error> {
    let members = match spec.and_then(Value::as_obj) {
        Some(m) => m,
        None => return Err(Error::invalid("/spec", "the spec must be an object".to_string())),
    };
    for (k, v) in members {
        match k.as_str() {
            "name" => {
                let ok = v.as_str().map_or(false, valid_name);
                if !ok {
                    return Err(Error::invalid("/name", "name must be a lowercase letter, then letters, digits or dashes (at most 63)".to_string()));
                }
            }
            "image" => {
                if v.as_str().map_or(true, str::is_empty) {
                    return Err(Error::invalid("/image", "image must be a non-empty string".to_string()));
                }
            }
            "replicas" => check_replicas(v, "/replicas")?,
            "env" => {
                let env = v.as_obj().ok_or_else(|| Error::invalid("/env", "env must be an object of strings".to_string()))?;
                for (name, val) in env {
                    if val.as_str().is_none() {
                        return Err(Error::invalid(&format!("/env/{}", pointer_token(name)), format!("env {} must be a string", name)));
                    }
                }
            }
            other => return Err(Error::invalid(&format!("/{}", pointer_token(other)), format!("runq has no setting {:?}", other))),
        }
    }
    let spec = Value::Obj(members.to_vec());
    for k in ["name", "image"] {
        if spec.get(k).is_none() {
            return Err(Error::invalid(&format!("/{}", k), format!("{} is required", k)));
        }
    }
    Ok(spec)
}

fn check_replicas(v: &Value, field: &str) -> Result<(), Error> {
    match v.as_int() {
        Some(n) if (0..=10).contains(&n) => Ok(()),
        _ => Err(Error::invalid(field, "replicas must be an integer from 0 to 10".to_string())),
    }
}

fn valid_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty() && b.len() <= 63 && b[0].is_ascii_lowercase() && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// Escapes a JSON Pointer reference token (RFC 6901).
fn pointer_token(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

pub fn create(req: &Value) -> Result<Value, Error> {
    let spec = check_spec(req.get("spec"))?;
    let mut r = Request::new("POST", "/v1/jobs".to_string());
    r.json = Some(spec);
    Ok(answer_service(&fetch(&r)?))
}

pub fn get(req: &Value) -> Result<Value, Error> {
    let job = fetch(&Request::new("GET", job_path(req.str_of("id"))?))?;
    Ok(answer_service(&job))
}

pub fn list(req: &Value) -> Result<Value, Error> {
    let mut r = Request::new("GET", "/v1/jobs".to_string());
    if let Some(filters) = req.get("filters").and_then(Value::as_obj) {
        for (k, vals) in filters {
            if k != "name" {
                return Err(Error::invalid(&format!("/filters/{}", pointer_token(k)), format!("runq cannot filter by {:?}", k)));
            }
            for v in vals.as_arr().unwrap_or(&[]) {
                r.query.push(("name", v.as_str().unwrap_or("").to_string()));
            }
        }
    }
    if let Some(n) = req.get("page_size").and_then(Value::as_int) {
        if n > 0 {
            r.query.push(("page_size", n.min(500).to_string()));
        }
    }
    let token = req.str_of("page_token");
    if !token.is_empty() {
        // runq's own token, passed through; runq refuses one it did not make.
        r.query.push(("page_token", token.to_string()));
    }
    let page = fetch(&r)?;
    let jobs = page.get("jobs").and_then(Value::as_arr).ok_or_else(|| Error::internal("GET /v1/jobs: no jobs in the answer".to_string()))?;
    let services = jobs.iter().map(service).collect();
    Ok(Value::obj().with("services", Value::Arr(services)).with("next_page_token", Value::str(page.str_of("next_page_token"))))
}

/// Update sends runq only the modeled members that differ from the job as
/// it is, so what the plugin does not model stays untouched, and sends
/// nothing at all when nothing differs (no new revision).
pub fn update(req: &Value) -> Result<Value, Error> {
    let spec = check_spec(req.get("spec"))?;
    let path = job_path(req.str_of("id"))?;
    let job = fetch(&Request::new("GET", path.clone()))?;
    let current = job.get("revision").and_then(Value::as_int).map(|r| r.to_string()).unwrap_or_default();
    let version = req.str_of("version");
    if !version.is_empty() && version != current {
        return Err(Error::new("conflict", format!("job {} is at revision {}, not {}", req.str_of("id"), current, version)));
    }
    let mut patch = Value::obj();
    for k in MODELED {
        let want = match (spec.get(k), k) {
            (Some(v), _) => v.clone(),
            (None, "replicas") => Value::from(1), // the schema's default
            (None, _) => Value::Null,             // null removes the member
        };
        let have = job.get(k).cloned().unwrap_or(Value::Null);
        if want != have {
            patch.set(k, want);
        }
    }
    if patch.as_obj().map_or(true, <[_]>::is_empty) {
        return Ok(answer_service(&job));
    }
    let mut r = Request::new("PATCH", path);
    // The revision just read: runq answers 412 (conflict) if the job moved since.
    r.headers.push(("If-Match", current));
    r.json = Some(patch);
    Ok(answer_service(&fetch(&r)?))
}

pub fn delete(req: &Value) -> Result<Value, Error> {
    fetch(&Request::new("DELETE", job_path(req.str_of("id"))?))?;
    Ok(Value::obj())
}

pub fn lifecycle(req: &Value) -> Result<Value, Error> {
    let path = job_path(req.str_of("id"))?;
    let action = req.str_of("action");
    let r = match action {
        "scale" => {
            let n = req.get("params").and_then(|p| p.get("replicas")).unwrap_or(&Value::Null);
            check_replicas(n, "/params/replicas")?;
            let mut r = Request::new("PATCH", path);
            r.json = Some(Value::obj().with("replicas", n.clone()));
            r
        }
        "stop" | "start" => Request::new("POST", format!("{}/{}", path, action)),
        _ => return Err(Error::new("not_found", format!("runq has no action {:?}", action))),
    };
    Ok(answer_service(&fetch(&r)?))
}

/// Logs never wait (ABI §6): one request for the lines after the cursor
/// (runq's line number), or for the last `tail` lines; the answer's cursor
/// is the last line returned, so a follow neither loses nor repeats one.
pub fn logs(req: &Value) -> Result<Value, Error> {
    let mut r = Request::new("GET", format!("{}/logs", job_path(req.str_of("id"))?));
    let limit = req.get("limit").and_then(Value::as_int).filter(|n| *n > 0).unwrap_or(1000).min(1000);
    r.query.push(("limit", limit.to_string()));
    let cursor = req.str_of("cursor");
    let mut last: u64 = 0;
    if !cursor.is_empty() {
        last = cursor.parse().map_err(|_| Error::invalid("/cursor", format!("cursor {:?} was not made by this plugin", cursor)))?;
        r.query.push(("after", last.to_string()));
    } else if let Some(tail) = req.get("tail").and_then(Value::as_int).filter(|n| *n > 0) {
        r.query.push(("tail", tail.to_string()));
    }
    let page = fetch(&r)?;
    let lines = page.get("lines").and_then(Value::as_arr).ok_or_else(|| Error::internal(format!("GET {}: no lines in the answer", r.path)))?;
    let mut entries = Vec::with_capacity(lines.len());
    for line in lines {
        let seq = line.get("seq").and_then(Value::as_int).filter(|n| *n > 0);
        last = seq.ok_or_else(|| Error::internal(format!("GET {}: a line without seq", r.path)))? as u64;
        entries.push(
            Value::obj()
                .with("time", Value::str(line.str_of("time")))
                .with("stream", Value::str("stdout"))
                .with("message", Value::str(line.str_of("text"))),
        );
    }
    let more = matches!(page.get("more"), Some(Value::Bool(true)));
    Ok(Value::obj().with("entries", Value::Arr(entries)).with("cursor", Value::Str(last.to_string())).with("more", more.into()))
}
