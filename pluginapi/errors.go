package pluginapi

import (
	"errors"
	"fmt"
)

// Code classifies a failure. The host maps each code to one HTTP status
// (StatusForCode, status.go).
type Code string

// The error codes of ABI v1.
const (
	CodeInvalid      Code = "invalid"      // the request or spec is wrong; Field names where
	CodeNotFound     Code = "not_found"    // the service (or instance, deployment) does not exist
	CodeConflict     Code = "conflict"     // name taken, stale version, wrong state for the action
	CodeUnauthorized Code = "unauthorized" // the platform rejected the credentials
	CodeForbidden    Code = "forbidden"    // credentials are fine but not allowed to do this
	CodeUnavailable  Code = "unavailable"  // the platform cannot be reached or is not ready
	CodeUnsupported  Code = "unsupported"  // the plugin or platform does not offer this
	CodeTimeout      Code = "timeout"      // the call or the platform took too long
	CodeInternal     Code = "internal"     // a bug or an unexpected answer
)

// Codes lists every code, in a stable order.
var Codes = []Code{CodeInvalid, CodeNotFound, CodeConflict, CodeUnauthorized, CodeForbidden,
	CodeUnavailable, CodeUnsupported, CodeTimeout, CodeInternal}

// Error is a structured failure. Plugins return it inside any response as
// {"error": {...}}; the host passes it on unchanged to the REST body, the web
// page and the audit log.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
	// Field is the path of the offending input for CodeInvalid, as a JSON
	// Pointer into the request's spec or config (for example "/env/0").
	Field string `json:"field,omitempty"`
	// Retryable says whether the same request may succeed later unchanged.
	Retryable bool `json:"retryable,omitempty"`
	// Detail carries platform specifics (the platform's own error type, status
	// code or body) for people debugging; never secrets.
	Detail map[string]any `json:"detail,omitempty"`
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (at %s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Is lets errors.Is match on the code: errors.Is(err, &Error{Code: CodeNotFound}).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && (t.Message == "" || t.Message == e.Message)
}

// Errorf builds an Error with the given code.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Retryable: RetryableCode(code)}
}

// Invalid builds a CodeInvalid error naming the field (a JSON Pointer).
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// NotFound builds a CodeNotFound error.
func NotFound(format string, args ...any) *Error { return Errorf(CodeNotFound, format, args...) }

// Unsupported builds a CodeUnsupported error.
func Unsupported(format string, args ...any) *Error { return Errorf(CodeUnsupported, format, args...) }

// AsError returns err as an *Error, wrapping foreign errors as CodeInternal.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeInternal, Message: err.Error()}
}

// CodeOf returns the code of err, or "" for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	return AsError(err).Code
}
