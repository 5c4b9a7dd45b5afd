package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wharfhq/wharf/internal/wasmbuild"
)

// axeVersion is the axe-core the browser tests check pages with, from the
// npm registry (not kept in git): a fixed version, so that a new rule
// upstream does not fail a build nobody changed.
const axeVersion = "4.14.1"

// axeScript returns axe.min.js: $WHARF_AXE_JS, else the user cache folder,
// installed there with npm the first time. Without it (no npm, no
// network) the caller skips, or fails when WHARF_REQUIRE_AXE=1.
func axeScript(t *testing.T) string {
	t.Helper()
	path := os.Getenv("WHARF_AXE_JS")
	if path == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		dir := filepath.Join(cache, "wharf-axe-"+axeVersion)
		path = filepath.Join(dir, "node_modules", "axe-core", "axe.min.js")
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			if err := npmInstall(dir); err != nil {
				axeMissing(t, err.Error())
			}
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		axeMissing(t, err.Error())
	}
	return string(b)
}

func npmInstall(dir string) error {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("no npm to install axe-core with (Debian package npm)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", dir, "axe-core@"+axeVersion).CombinedOutput()
	if err != nil {
		return fmt.Errorf("npm install axe-core@%s: %v: %s", axeVersion, err, strings.TrimSpace(string(out)))
	}
	return nil
}

func axeMissing(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("WHARF_REQUIRE_AXE") == "1" {
		t.Fatalf("axe-core is required (WHARF_REQUIRE_AXE=1): %s", why)
	}
	t.Skipf("accessibility check skipped: %s (set WHARF_REQUIRE_AXE=1 to make this an error)", why)
}

// axeViolation is the part of axe's answer a failure message needs.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  []any  `json:"target"`
		Summary string `json:"failureSummary"`
	} `json:"nodes"`
}

// axeRun injects axe-core into the page the browser shows (once per
// document) and returns the violations it finds there.
func axeRun(ctx context.Context, script string) ([]axeViolation, error) {
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("if (!window.axe) {\n"+script+"\n}\ntrue")); err != nil {
		return nil, fmt.Errorf("inject axe-core: %w", err)
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`axe.run(document, { resultTypes: ["violations"] }).then((r) => JSON.stringify(r.violations))`, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, err
	}
	var vs []axeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		return nil, fmt.Errorf("axe answered %q: %w", out, err)
	}
	return vs, nil
}

// checkAxe fails the test with every violation axe finds on the page the
// browser shows: rule, impact, the elements.
func checkAxe(t *testing.T, ctx context.Context, script, page string) {
	t.Helper()
	vs, err := axeRun(ctx, script)
	if err != nil {
		t.Fatalf("axe on %s: %v", page, err)
	}
	for _, v := range vs {
		var nodes []string
		for _, n := range v.Nodes {
			nodes = append(nodes, fmt.Sprint(n.Target)+" ("+strings.ReplaceAll(n.Summary, "\n", " ")+")")
		}
		t.Errorf("axe on %s: %s [%s] %s: %s", page, v.ID, v.Impact, v.Help, strings.Join(nodes, "; "))
	}
}

// test.sh installs the axe-core the tests expect.
func TestAxeVersionMatchesTestScript(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(wasmbuild.ModuleRoot(t), "test.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"wharf-axe-" + axeVersion + `"`, "axe-core@" + axeVersion + " "} {
		if !strings.Contains(string(b), want) {
			t.Errorf("test.sh lacks %q: keep it in step with axeVersion", want)
		}
	}
}
