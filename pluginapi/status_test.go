package pluginapi

import "testing"

func TestStatusForCodeAndBack(t *testing.T) {
	want := map[Code]int{CodeInvalid: 400, CodeUnauthorized: 401, CodeForbidden: 403, CodeNotFound: 404,
		CodeConflict: 409, CodeUnsupported: 501, CodeUnavailable: 503, CodeTimeout: 504, CodeInternal: 500}
	for _, c := range Codes {
		if got := StatusForCode(c); got != want[c] {
			t.Errorf("StatusForCode(%s) = %d, want %d", c, got, want[c])
		}
		if c != CodeInternal && CodeForStatus(StatusForCode(c)) != c {
			t.Errorf("%s does not survive the round trip: %s", c, CodeForStatus(StatusForCode(c)))
		}
	}
	if StatusForCode("made_up") != 500 {
		t.Error("an unknown code is not a 500")
	}
}

func TestCodeForStatus(t *testing.T) {
	for status, want := range map[int]Code{
		400: CodeInvalid, 413: CodeInvalid, 422: CodeInvalid, 418: CodeInvalid, 401: CodeUnauthorized,
		403: CodeForbidden, 421: CodeForbidden, 404: CodeNotFound, 410: CodeNotFound, 405: CodeUnsupported,
		501: CodeUnsupported, 409: CodeConflict, 412: CodeConflict, 408: CodeTimeout, 504: CodeTimeout,
		429: CodeUnavailable, 500: CodeUnavailable, 502: CodeUnavailable, 503: CodeUnavailable, 599: CodeUnavailable,
		200: CodeInternal, 302: CodeInternal, 0: CodeInternal, 600: CodeInternal,
	} {
		if got := CodeForStatus(status); got != want {
			t.Errorf("CodeForStatus(%d) = %s, want %s", status, got, want)
		}
	}
}

func TestTooManyRequestsIsRetryable(t *testing.T) {
	e := ErrorForStatus(429, "")
	if e.Code != CodeUnavailable || !e.Retryable || e.Message != "the platform answered HTTP 429" {
		t.Fatalf("429: %+v", e)
	}
	if e := ErrorForStatus(400, "bad"); e.Retryable || e.Code != CodeInvalid || e.Message != "bad" {
		t.Fatalf("400: %+v", e)
	}
	for _, c := range Codes {
		if RetryableCode(c) != (c == CodeUnavailable || c == CodeTimeout) || Errorf(c, "x").Retryable != RetryableCode(c) {
			t.Errorf("retryable %s", c)
		}
	}
}
