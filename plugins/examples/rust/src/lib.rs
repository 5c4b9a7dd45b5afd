//! runq: a Wharf provider plugin written in Rust with no crates, built with
//! plain rustc for wasm32-unknown-unknown (see ../README.md).
//!
//! Every export takes the call's JSON input and sets its JSON output
//! (ABI §2), answering {"error": …} on failure; it returns 0, "the call ran".

mod error;
mod host;
mod json;
mod provider;

use error::Error;
use json::Value;

/// Runs one operation on the call's input and sets its output.
fn serve(op: fn(&Value) -> Result<Value, Error>) -> i32 {
    install_panic_hook();
    let answer = match json::parse(&host::input()) {
        Ok(req) => op(&req).unwrap_or_else(|e| e.to_answer()),
        Err(e) => Error::invalid("", format!("the request is not JSON: {}", e)).to_answer(),
    };
    host::output(answer.to_json().as_bytes());
    0
}

/// A panic traps the call (wasm32-unknown-unknown aborts) and the host
/// discards the instance; the hook first sends the message to the host's
/// log, as there is no stderr on this target.
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| host::log_error(&format!("runq plugin panicked: {}", info))));
    });
}

#[no_mangle]
pub extern "C" fn describe() -> i32 {
    host::output(provider::DESCRIBE.as_bytes());
    0
}

#[no_mangle]
pub extern "C" fn create() -> i32 {
    serve(provider::create)
}

#[no_mangle]
pub extern "C" fn get() -> i32 {
    serve(provider::get)
}

#[no_mangle]
pub extern "C" fn update() -> i32 {
    serve(provider::update)
}

#[no_mangle]
pub extern "C" fn delete() -> i32 {
    serve(provider::delete)
}

#[no_mangle]
pub extern "C" fn list() -> i32 {
    serve(provider::list)
}

#[no_mangle]
pub extern "C" fn logs() -> i32 {
    serve(provider::logs)
}

#[no_mangle]
pub extern "C" fn lifecycle() -> i32 {
    serve(provider::lifecycle)
}
