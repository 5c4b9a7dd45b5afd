// Package conformance is the public conformance kit: the scenario every
// provider plugin must pass, Wharf's own five included, driven through a
// real host's REST API (pluginkit.StartHost runs one around a .wasm file): create → appears in list → get →
// update → an update of a service made outside Wharf keeps the settings the
// plugin does not model, and an update changing nothing changes nothing →
// the lifecycle actions it declares → logs → instances /
// deployments / invoke where declared → delete → gone, plus the failure
// cases (wrong credentials, unknown service, invalid spec, platform down or
// slow, paging across pages).
//
// Run runs it as subtests of a go test; RunSteps runs it anywhere and
// reports each step, as `wharf plugin test` does. A plugin's fixture
// (testdata/conformance.json, see Fixture) gives the specs to use.
package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
)

// Client calls a host's REST API.
type Client struct {
	Base string // e.g. http://127.0.0.1:8080/api/v1
	HTTP *http.Client
}

// Reply is a decoded answer.
type Reply struct {
	Status int
	Body   []byte
	Err    *pluginapi.Error
}

// Do sends a request with an optional JSON body and decodes the structured
// error of a failure.
func (c *Client) Do(t T, method, path string, body any) Reply {
	t.Helper()
	return c.DoIfMatch(t, method, path, body, "")
}

// DoIfMatch is Do with an If-Match header carrying an expected version.
func (c *Client) DoIfMatch(t T, method, path string, body any, version string) Reply {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.Base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-Wharf-Actor", "conformance")
	if version != "" {
		req.Header.Set("If-Match", version)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 2 * time.Minute}
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read: %v", method, path, err)
	}
	r := Reply{Status: resp.StatusCode, Body: b}
	if resp.StatusCode >= 400 {
		var e struct {
			Error *pluginapi.Error `json:"error"`
		}
		if err := json.Unmarshal(b, &e); err != nil || e.Error == nil {
			t.Fatalf("%s %s: status %d without a structured error: %s", method, path, resp.StatusCode, b)
		}
		r.Err = e.Error
	}
	return r
}

// OK fails the test unless the reply is a success, and decodes it into v.
func (r Reply) OK(t T, what string, v any) {
	t.Helper()
	if r.Status >= 300 {
		t.Fatalf("%s: status %d: %v", what, r.Status, r.Err)
	}
	if v != nil {
		if err := json.Unmarshal(r.Body, v); err != nil {
			t.Fatalf("%s: decode %s: %v", what, r.Body, err)
		}
	}
}

// Fails checks that the reply is a failure with the given status and code.
func (r Reply) Fails(t T, what string, status int, code pluginapi.Code) {
	t.Helper()
	if r.Status != status || r.Err == nil || r.Err.Code != code {
		t.Fatalf("%s: want %d %s, got %d %v (%s)", what, status, code, r.Status, r.Err, truncate(r.Body))
	}
}

func truncate(b []byte) string {
	if len(b) > 500 {
		return string(b[:500]) + "…"
	}
	return string(b)
}

func svcPath(conn, id string) string {
	return "/connections/" + url.PathEscape(conn) + "/services/" + url.PathEscape(id)
}

// Eventually polls f every interval until it returns nil or the timeout
// passes, then fails with f's last error.
func Eventually(t T, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after %s: %v", what, timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func urlQuery(s string) string { return url.QueryEscape(s) }
