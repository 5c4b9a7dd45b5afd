package httpguard

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestCleanBasePath(t *testing.T) {
	for in, want := range map[string]string{"": "", "/": "", "/wharf": "/wharf", "/a/b/": "/a/b"} {
		if got, err := CleanBasePath(in); err != nil || got != want {
			t.Errorf("CleanBasePath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"wharf", "/a//b", "/a/../b", "/./a", "/a?x", "/a#x", "/a%2fb", `/a"b`, "/a<b", "/a b"} {
		if _, err := CleanBasePath(bad); err == nil {
			t.Errorf("CleanBasePath(%q) accepted", bad)
		}
	}
}

// Requests under the prefix reach the handler without it and with it in
// their context; the bare prefix is redirected; lookalike paths are 404.
func TestUnderBasePath(t *testing.T) {
	var gotPath, gotURI, gotBase string
	h := UnderBasePath("/wharf", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotURI, gotBase = r.URL.Path, r.RequestURI, BasePath(r.Context())
	}))
	serve := func(target string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		return rec
	}
	if rec := serve("/wharf/services/a%2Fb?x=1"); rec.Code != 200 || gotPath != "/services/a/b" || gotURI != "/services/a%2Fb?x=1" || gotBase != "/wharf" {
		t.Fatalf("under the prefix: %d path %q uri %q base %q", rec.Code, gotPath, gotURI, gotBase)
	}
	if rec := serve("/wharf?next=x"); rec.Code != http.StatusPermanentRedirect || rec.Header().Get("Location") != "/wharf/?next=x" {
		t.Fatalf("bare prefix: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	for _, p := range []string{"/wharfx/services", "/services", "/"} {
		if rec := serve(p); rec.Code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, rec.Code)
		}
	}
}
