package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/host/ops/opstest"
)

// TestAuditVerifyCommands: the online, offline (export) and local (data
// folder) checks, intact and after an attack.
func TestAuditVerifyCommands(t *testing.T) {
	c := newCLIEnv(t)
	c.ok(t, `{"name":"web","image":"nginx:1"}`, "svc", "create", opstest.Conn, "-f", "-")
	dir := t.TempDir()
	data := c.Dir

	pub := strings.TrimSpace(c.ok(t, "", "audit", "pubkey", "--data", data))
	if _, err := audit.ParsePublicKey(pub); err != nil {
		t.Fatalf("pubkey printed %q: %v", pub, err)
	}
	pubFile := filepath.Join(dir, "wharf-audit.pub")
	os.WriteFile(pubFile, []byte(pub+"\n"), 0o600)

	mustContain(t, c.ok(t, "", "audit", "verify", "--pubkey", pub), "hash chain intact", "Public key:", pub)
	out := c.ok(t, "", "audit", "verify", "-o", "json")
	var rep audit.VerifyReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || !rep.OK || rep.PublicKey != pub {
		t.Fatalf("verify -o json = %s (%v)", out, err)
	}
	// The operator's copy of the public key catches a replaced signing key.
	c.fails(t, "conflict: the host signs audit checkpoints with public key", "audit", "verify",
		"--pubkey", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")

	chain := filepath.Join(dir, "audit.chain")
	c.ok(t, "", "audit", "export", "--format", "chain", "-O", chain)
	c.fails(t, "invalid:", "audit", "export", "--format", "chain", "--actor", "x")
	cpCopy := filepath.Join(dir, "checkpoints.copy")
	b, _ := os.ReadFile(filepath.Join(data, audit.CheckpointsFile))
	os.WriteFile(cpCopy, b, 0o600)
	key := filepath.Join(data, audit.ChainKeyFile)

	offline := []string{"audit", "verify", "--export", chain, "--key", key, "--pubkey", pubFile}
	mustContain(t, c.ok(t, "", offline...), "hash chain intact")
	mustContain(t, c.ok(t, "", append(offline, "--checkpoints", cpCopy)...), "hash chain intact")
	mustContain(t, c.ok(t, "", "audit", "verify", "--export", chain, "--key", key,
		"--signing-key", filepath.Join(data, audit.SigningKeyFile)), "hash chain intact")
	c.fails(t, "invalid: --export needs --key", "audit", "verify", "--export", chain)

	// The newest row cut from the export.
	exp, _ := os.ReadFile(chain)
	lines := bytes.SplitAfter(bytes.TrimSuffix(exp, []byte("\n")), []byte("\n"))
	cut := filepath.Join(dir, "cut.chain")
	os.WriteFile(cut, bytes.Join(lines[:len(lines)-1], nil), 0o600)
	c.fails(t, "conflict: audit log damaged at row", "audit", "verify", "--export", cut, "--key", key, "--pubkey", pub)

	// The local check of the data folder, then the newest rows deleted.
	mustContain(t, c.ok(t, "", "audit", "verify", "--data", data), "hash chain intact")
	if _, err := c.DB.Exec(`DROP TRIGGER audit_log_no_delete`); err != nil {
		t.Fatal(err)
	}
	var n int64
	c.DB.QueryRow(`SELECT max(id) FROM audit_log`).Scan(&n)
	if _, err := c.DB.Exec(`DELETE FROM audit_log WHERE id > ?`, n-2); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"audit", "verify"},
		{"audit", "verify", "--data", data},
		{"audit", "verify", "--data", data, "--checkpoints", cpCopy},
	} {
		_, err := c.cli(t, "", args...)
		if err == nil || !strings.Contains(err.Error(), "missing_rows") {
			t.Errorf("wharf %s after deleting the newest rows: %v", strings.Join(args, " "), err)
		}
	}
}
