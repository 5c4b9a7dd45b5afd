package pluginapi

import "strconv"

// The one mapping between error codes and HTTP statuses. The host's REST
// API and portal answer StatusForCode; plugins, the Go client and the host
// classify an HTTP error answer that carries no Wharf error with
// CodeForStatus. Keep both here: written twice, they drift apart (429 once
// became a non-retryable invalid in two plugins).

// StatusForCode returns the HTTP status the host answers for an error code;
// an unknown code is a 500.
func StatusForCode(code Code) int {
	switch code {
	case CodeInvalid:
		return 400
	case CodeUnauthorized:
		return 401
	case CodeForbidden:
		return 403
	case CodeNotFound:
		return 404
	case CodeConflict:
		return 409
	case CodeUnsupported:
		return 501
	case CodeUnavailable:
		return 503
	case CodeTimeout:
		return 504
	}
	return 500
}

// CodeForStatus classifies an HTTP error status: a platform's answer to a
// plugin, or a proxy's to a client. 429 (rate limited) and the 5xx are
// unavailable, 408 and 504 timeout: both retryable (RetryableCode). A 4xx
// not named below is invalid; a status that is no error (1xx-3xx) is
// internal, an unexpected answer. For every code but internal,
// CodeForStatus(StatusForCode(c)) == c; a bare 500 reads back as
// unavailable, since a platform's 500 is worth retrying.
func CodeForStatus(status int) Code {
	switch status {
	case 401:
		return CodeUnauthorized
	case 403, 421: // 421: the server does not answer for this host name
		return CodeForbidden
	case 404, 410:
		return CodeNotFound
	case 405, 501:
		return CodeUnsupported
	case 409, 412: // 412: a stale version (If-Match)
		return CodeConflict
	case 408, 504:
		return CodeTimeout
	case 429:
		return CodeUnavailable
	}
	switch {
	case status >= 500 && status <= 599:
		return CodeUnavailable
	case status >= 400 && status <= 499:
		return CodeInvalid
	}
	return CodeInternal
}

// RetryableCode reports whether an error of this code may succeed later
// unchanged: unavailable and timeout.
func RetryableCode(code Code) bool { return code == CodeUnavailable || code == CodeTimeout }

// ErrorForStatus builds the Error of an HTTP error status, Retryable set by
// its code; an empty message says which status it was.
func ErrorForStatus(status int, message string) *Error {
	code := CodeForStatus(status)
	if message == "" {
		message = "the platform answered HTTP " + strconv.Itoa(status)
	}
	return &Error{Code: code, Message: message, Retryable: RetryableCode(code)}
}
