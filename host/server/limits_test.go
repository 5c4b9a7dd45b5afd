package server_test

import (
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/wharfhq/wharf/host/httpguard"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/server"
)

// countingBody is an endless multipart body that counts what was read.
type countingBody struct {
	sent  atomic.Int64
	limit int64
	head  []byte
}

func (b *countingBody) Read(p []byte) (int, error) {
	n := b.sent.Load()
	if n >= b.limit {
		return 0, io.EOF
	}
	if n == 0 {
		k := copy(p, b.head)
		b.sent.Add(int64(k))
		return k, nil
	}
	k := min(int64(len(p)), b.limit-n)
	rand.Read(p[:k])
	b.sent.Add(k)
	return int(k), nil
}

// A 100 MB multipart POST to /signin is refused before it is read, and
// nothing is spilled to disk.
func TestHugePortalBodyIsRefusedUnread(t *testing.T) {
	h := newHost(t, server.Config{Tokens: []ops.Token{{Name: "a", SHA256: ops.HashToken(strings.Repeat("k", 40)), Role: ops.RoleAdmin}}})
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where mime/multipart would spill big parts
	const size = 100 << 20
	for _, tc := range []struct {
		name    string
		ctype   string
		chunked bool
	}{
		{"multipart, chunked", "multipart/form-data; boundary=xx", true},
		{"multipart, declared length", "multipart/form-data; boundary=xx", false},
		{"urlencoded, chunked", "application/x-www-form-urlencoded", true},
		{"urlencoded, declared length", "application/x-www-form-urlencoded", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := &countingBody{limit: size, head: []byte("--xx\r\nContent-Disposition: form-data; name=\"token\"; filename=\"a\"\r\n\r\n")}
			req, _ := http.NewRequest("POST", h.url+"/signin", body)
			req.Header.Set("Content-Type", tc.ctype)
			if !tc.chunked {
				req.ContentLength = size
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				// The server may close while the client still writes; the
				// bytes read below are what matters.
				t.Logf("client: %v", err)
			} else {
				resp.Body.Close()
				if resp.StatusCode != http.StatusRequestEntityTooLarge && resp.StatusCode != http.StatusUnsupportedMediaType &&
					resp.StatusCode != http.StatusForbidden {
					t.Fatalf("status %d, want 413, 415 or 403", resp.StatusCode)
				}
			}
			// The portal cap is 1 MiB; what more went out sat in socket buffers.
			if sent := body.sent.Load(); sent > 16<<20 {
				t.Fatalf("the client got to send %d MB before the refusal", sent>>20)
			}
			spilled, _ := filepath.Glob(filepath.Join(tmp, "multipart-*"))
			if len(spilled) > 0 {
				t.Fatalf("the body was spilled to disk: %v", spilled)
			}
		})
	}
	if os.Getenv("TMPDIR") != tmp {
		t.Fatal("TMPDIR not set")
	}
}

func TestAuthFailuresAreRateLimited(t *testing.T) {
	good := strings.Repeat("g", 40)
	cfg := func() server.Config {
		return server.Config{Tokens: []ops.Token{{Name: "ada", SHA256: ops.HashToken(good), Role: ops.RoleAdmin}},
			AuthFailures: httpguard.AuthLimit{Burst: 5}}
	}
	t.Run("bearer", func(t *testing.T) {
		h := newHost(t, cfg())
		for i := range 5 {
			if got := h.do("GET", "/api/v1/connections", "", "Authorization", "Bearer wrong-guess-"+strings.Repeat("x", 32)); got.status != 401 {
				t.Fatalf("guess %d: %d", i, got.status)
			}
		}
		got := h.do("GET", "/api/v1/connections", "", "Authorization", "Bearer "+good)
		if got.status != http.StatusTooManyRequests || got.header.Get("Retry-After") == "" {
			t.Fatalf("after 5 wrong tokens, the right one: %d %v %s", got.status, got.header, got.body)
		}
		var e struct{ Error struct{ Code string } }
		if json.Unmarshal([]byte(got.body), &e); e.Error.Code != "unavailable" {
			t.Fatalf("429 body: %s", got.body)
		}
	})
	t.Run("sign-in page", func(t *testing.T) {
		h := newHost(t, cfg())
		page := h.do("GET", "/signin", "")
		token := csrfMeta.FindStringSubmatch(page.body)[1]
		cookie, _, _ := strings.Cut(page.header.Get("Set-Cookie"), ";")
		try := func(tok string) int {
			return h.do("POST", "/signin", "_csrf="+token+"&token="+tok, "Content-Type", "application/x-www-form-urlencoded", "Cookie", cookie).status
		}
		for i := range 5 {
			if got := try("guess" + strings.Repeat("x", 32)); got != 401 {
				t.Fatalf("guess %d: %d", i, got)
			}
		}
		if got := try(good); got != http.StatusTooManyRequests {
			t.Fatalf("after 5 wrong tokens, the right one: %d", got)
		}
	})
	t.Run("a missing token is no guess", func(t *testing.T) {
		h := newHost(t, cfg())
		for range 20 {
			h.do("GET", "/api/v1/connections", "")
		}
		if got := h.do("GET", "/api/v1/connections", "", "Authorization", "Bearer "+good); got.status != 200 {
			t.Fatalf("the right token after anonymous requests: %d", got.status)
		}
	})
}
