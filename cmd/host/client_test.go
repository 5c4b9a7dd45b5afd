package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/host/ops/opstest"
)

// Flags the CLI reads itself are refused by name, before anything is sent.
func TestClientFlagsRefusedByName(t *testing.T) {
	c := newCLIEnv(t)
	c.ok(t, `{"name":"web","image":"nginx:1"}`, "svc", "create", opstest.Conn, "-f", "-")
	before := c.ok(t, "", "audit", "ls", "-o", "json")
	for _, tc := range []struct {
		want string
		args []string
	}{
		{`invalid: --since must be an RFC 3339 time or unix seconds, not "yesterday"`, []string{"logs", opstest.Conn, "svc-1", "--since", "yesterday"}},
		{`invalid: --until must be`, []string{"audit", "ls", "--until", "soon"}},
		{`invalid: --created-after must be`, []string{"deployments", opstest.Conn, "svc-1", "--created-after", "x"}},
		{`invalid: --cursor cannot be combined with -f`, []string{"logs", opstest.Conn, "svc-1", "-f", "--cursor", "c"}},
		{`invalid: --limit cannot be combined with -f`, []string{"logs", opstest.Conn, "svc-1", "-f", "--limit", "3"}},
		{`invalid: --filter wants key=value, not "nokey"`, []string{"svc", "ls", opstest.Conn, "--filter", "nokey"}},
	} {
		c.fails(t, tc.want, tc.args...)
	}
	err := run(context.Background(), []string{"conn", "ls", "--server", "ftp://x"}, nil, &syncBuffer{}, &syncBuffer{})
	if err == nil || !strings.HasPrefix(err.Error(), `invalid: bad server URL "ftp://x"`) {
		t.Fatalf("--server ftp://x: %v", err)
	}
	if after := c.ok(t, "", "audit", "ls", "-o", "json"); after != before {
		t.Fatalf("refused commands reached the host:\n%s", after)
	}
}

// A refused export leaves an existing output file as it was; an accepted
// one replaces it.
func TestAuditExportFileOnlyWhenAccepted(t *testing.T) {
	c := newCLIEnv(t)
	out := filepath.Join(t.TempDir(), "audit.csv")
	if err := os.WriteFile(out, []byte("precious\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.fails(t, "invalid:", "audit", "export", "--format", "xml", "-O", out)
	if b, _ := os.ReadFile(out); string(b) != "precious\n" {
		t.Fatalf("a refused export changed the file to %q", b)
	}
	c.ok(t, "", "audit", "export", "--format", "csv", "-O", out)
	if b, _ := os.ReadFile(out); !strings.Contains(string(b), "connection.create") {
		t.Fatalf("export file:\n%s", b)
	}
	// An export with no rows still makes its file.
	empty := filepath.Join(t.TempDir(), "none.jsonl")
	c.ok(t, "", "audit", "export", "--format", "jsonl", "--actor", "nobody", "-O", empty)
	if st, err := os.Stat(empty); err != nil || st.Size() != 0 {
		t.Fatalf("empty export: %v %v", st, err)
	}
}
