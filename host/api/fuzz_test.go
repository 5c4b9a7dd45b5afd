package api

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"golang.org/x/net/http/httpguts"
)

// contextFor is an echo context for a GET with query q and header If-Match.
func contextFor(q url.Values, ifm string) echo.Context {
	req := httptest.NewRequest(http.MethodGet, "/x?"+q.Encode(), nil)
	if ifm != "" {
		req.Header.Set("If-Match", ifm)
	}
	return echo.New().NewContext(req, httptest.NewRecorder())
}

// FuzzIfMatch: the ETag the API sends for any version comes back as that
// version through If-Match, strong or weak; ?version= is used only
// without an If-Match.
func FuzzIfMatch(f *testing.F) {
	for _, v := range []string{"12", `"`, `""x`, `W/"1"`, " 7 ", "*", "a\"b"} {
		f.Add(v, "3")
	}
	f.Fuzz(func(t *testing.T, version, query string) {
		if strings.TrimSpace(version) != version || version == "" || version == "*" {
			return // never a plugin's version: the API sends no such ETag
		}
		for _, tag := range []string{etag(version), "W/" + etag(version)} {
			if !httpguts.ValidHeaderFieldValue(tag) {
				return
			}
			if got := ifMatch(contextFor(url.Values{"version": {query}}, tag)); got != version {
				t.Fatalf("If-Match %s gives version %q, want %q", tag, got, version)
			}
		}
		if got := ifMatch(contextFor(url.Values{"version": {query}}, "")); got != query {
			t.Fatalf("?version=%q gives %q", query, got)
		}
	})
}

// FuzzQueryParams: every parameter parser either names the parameter in its
// error or answers a value true to the text.
func FuzzQueryParams(f *testing.F) {
	for _, v := range []string{"10", "-1", "+5", "1e3", "true", "T", "2026-03-01T12:00:00Z", "1700000000", " a, ,b,", "k=v=w", "=v"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		c := contextFor(url.Values{"p": {v}}, "")
		v = c.QueryParam("p") // what survived the URL
		if n, err := queryInt(c, "p"); err != nil {
			if !strings.Contains(err.Error(), "query parameter p ") {
				t.Fatalf("queryInt(%q): %v does not name the parameter", v, err)
			}
		} else if m, _ := strconv.Atoi(v); v != "" && (n < 0 || m != n) {
			t.Fatalf("queryInt(%q) = %d", v, n)
		}
		if b, err := queryBool(c, "p"); err != nil {
			if !strings.Contains(err.Error(), "query parameter p ") {
				t.Fatalf("queryBool(%q): %v", v, err)
			}
		} else if want, _ := strconv.ParseBool(v); v != "" && b != want {
			t.Fatalf("queryBool(%q) = %v", v, b)
		}
		if tm, err := queryTime(c, "p"); err != nil {
			if !strings.Contains(err.Error(), "query parameter p ") {
				t.Fatalf("queryTime(%q): %v", v, err)
			}
		} else if (tm == nil) != (v == "") {
			t.Fatalf("queryTime(%q) = %v", v, tm)
		}
		for _, item := range queryList(c, "p") {
			if item == "" || strings.Contains(item, ",") || strings.TrimSpace(item) != item {
				t.Fatalf("queryList(%q) has item %q", v, item)
			}
		}
		if k, val, ok := cutFilter(v); ok && (k == "" || strings.Contains(k, "=") || k+"="+val != v) {
			t.Fatalf("cutFilter(%q) = %q, %q", v, k, val)
		} else if !ok && strings.Index(v, "=") > 0 {
			t.Fatalf("cutFilter(%q) refused a key=value", v)
		}
		if n, err := connVersion(contextFor(nil, etag(v))); err == nil && n != 0 && strconv.FormatInt(n, 10) != strings.TrimPrefix(v, "+") && !strings.HasPrefix(v, "0") {
			t.Fatalf("connection version %q read as %d", v, n)
		}
	})
}
