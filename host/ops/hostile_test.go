package ops_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/ops/opstest"
	"github.com/wharfhq/wharf/internal/testplugins/hostile/mirror"
	"github.com/wharfhq/wharf/pluginapi"
)

// The hostile plugin's connections use this token; nothing the host hands
// out or records may contain it.
const stolen = "tok-Hostile/7f3a+9c1e=secret"

// mirrorServer reflects request headers into the body and counts the
// Authorization headers it was sent.
type mirrorServer struct {
	mu    sync.Mutex
	reqs  int
	auths []string
}

func (m *mirrorServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	m.reqs++
	if a := r.Header.Get("Authorization"); a != "" {
		m.auths = append(m.auths, a)
	}
	m.mu.Unlock()
	for k, v := range r.Header {
		io.WriteString(w, k+": "+strings.Join(v, ",")+"\n")
	}
}

func (m *mirrorServer) seen() (int, []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reqs, slices.Clone(m.auths)
}

func newMirror(t *testing.T) (*mirrorServer, string) {
	m := &mirrorServer{}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	return m, srv.URL
}

// declaredMirror serves a mirror at the host the plugin declares.
func declaredMirror(t *testing.T) *mirrorServer {
	var l net.Listener
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if l, err = net.Listen("tcp", mirror.Host); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("cannot serve the declared host %s: %v", mirror.Host, err)
	}
	m := &mirrorServer{}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: m}}
	srv.Start()
	t.Cleanup(srv.Close)
	return m
}

// leaked reports the first form of the token found in b (also inside
// base64 values), or "".
func leaked(b []byte) string {
	forms := []string{stolen, url.QueryEscape(stolen), url.PathEscape(stolen), base64.StdEncoding.EncodeToString([]byte(stolen))}
	// A base64 fragment of the token at each alignment.
	for k := 0; k < 3; k++ {
		for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
			full := enc.EncodeToString(append(make([]byte, k), stolen...))
			forms = append(forms, full[(8*k+5)/6:8*(k+len(stolen))/6])
		}
	}
	texts := []string{string(b)}
	var v any
	if json.Unmarshal(b, &v) == nil {
		var walk func(any)
		walk = func(v any) {
			switch x := v.(type) {
			case string:
				texts = append(texts, x)
				for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
					if d, err := enc.DecodeString(x); err == nil {
						texts = append(texts, string(d))
					}
				}
			case map[string]any:
				for k, e := range x {
					texts = append(texts, k)
					walk(e)
				}
			case []any:
				for _, e := range x {
					walk(e)
				}
			}
		}
		walk(v)
	}
	for _, s := range texts {
		for _, f := range forms {
			if strings.Contains(s, f) {
				return f
			}
		}
	}
	return ""
}

func noSecret(t *testing.T, what string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if f := leaked(b); f != "" {
		t.Errorf("%s leaks the token (as %q): %s", what, f, b)
	}
}

type hostileEnv struct {
	*opstest.Env
	logs *bytes.Buffer
	logm *sync.Mutex
}

func newHostile(t *testing.T) hostileEnv {
	var mu sync.Mutex
	buf := &bytes.Buffer{}
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return buf.Write(p) })
	e := opstest.New(t, opstest.Options{NoConnection: true, ExtraPlugins: []string{"github.com/wharfhq/wharf/internal/testplugins/hostile"},
		Logger: slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	return hostileEnv{e, buf, &mu}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func (e hostileEnv) connect(t *testing.T, name, endpoint string, approved []string) {
	t.Helper()
	cfg, _ := json.Marshal(map[string]string{"endpoint": endpoint, "token": stolen})
	if _, err := e.Host.CreateConnection(ctx, e.Admin, ops.ConnectionInput{Name: name, Plugin: "hostile", Config: cfg, ApprovedHosts: approved}); err != nil {
		t.Fatal(err)
	}
}

// TestHostileDeclaredHost: the plugin sends the token to the host it
// declares itself, which reflects it. Unapproved, that host is not reached
// at all; approved, it is reached but never with credentials.
func TestHostileDeclaredHost(t *testing.T) {
	e := newHostile(t)
	declared := declaredMirror(t)
	_, endpoint := newMirror(t)
	e.connect(t, "h1", endpoint, nil)
	c := e.Admin

	for _, id := range []string{"declared-auth", "declared"} {
		got := must[*pluginapi.Service](t)(e.Host.GetService(ctx, c, "h1", id))
		noSecret(t, id, got)
		if !strings.Contains(got.StatusMessage, "refused: forbidden") || !strings.Contains(got.StatusMessage, "not approved") {
			t.Errorf("%s before approval: %q", id, got.StatusMessage)
		}
	}
	if n, _ := declared.seen(); n != 0 {
		t.Fatalf("the unapproved declared host received %d requests", n)
	}

	// An administrator approves the declared host: recorded and shown.
	cn := must[ops.Connection](t)(e.Host.GetConnection(ctx, c, "h1"))
	if !slices.Equal(cn.PendingHosts, []string{mirror.Host}) || len(cn.ApprovedHosts) != 0 {
		t.Fatalf("before approval: approved %v pending %v", cn.ApprovedHosts, cn.PendingHosts)
	}
	cn = must[ops.Connection](t)(e.Host.UpdateConnection(ctx, c, "h1", ops.ConnectionInput{Config: json.RawMessage(`{"endpoint":"` + endpoint + `"}`),
		ApprovedHosts: []string{mirror.Host}}))
	if !slices.Equal(cn.ApprovedHosts, []string{mirror.Host}) || len(cn.PendingHosts) != 0 || !slices.Equal(cn.SecretsSet, []string{"token"}) {
		t.Fatalf("after approval: %+v", cn)
	}
	entries := must[[]audit.Entry](t)(e.Host.QueryAudit(ctx, c, audit.Filter{Operation: "connection.update"}))
	if len(entries) == 0 || !strings.Contains(string(entries[0].Request), `"approved_hosts":["`+mirror.Host+`"]`) {
		t.Fatalf("the approval is not in the audit log: %+v", entries)
	}

	got := must[*pluginapi.Service](t)(e.Host.GetService(ctx, c, "h1", "declared-auth"))
	if !strings.Contains(got.StatusMessage, "credentials are only sent to the endpoints") {
		t.Errorf("declared-auth after approval: %q", got.StatusMessage)
	}
	got = must[*pluginapi.Service](t)(e.Host.GetService(ctx, c, "h1", "declared"))
	if !strings.Contains(got.StatusMessage, "User-Agent") {
		t.Errorf("declared after approval did not reach the host: %q", got.StatusMessage)
	}
	if n, auths := declared.seen(); n != 1 || len(auths) != 0 {
		t.Fatalf("the declared host saw %d requests, Authorization headers %q", n, auths)
	}

	// Approvals must name patterns the plugin declares.
	_, err := e.Host.UpdateConnection(ctx, c, "h1", ops.ConnectionInput{Config: json.RawMessage(`{"endpoint":"` + endpoint + `"}`), ApprovedHosts: []string{"evil.example"}})
	if pe := wantCode(t, err, pluginapi.CodeInvalid); pe.Field != "/approved_hosts/0" || !strings.Contains(pe.Message, mirror.Host) {
		t.Errorf("bad approval: %+v", pe)
	}
}

// TestHostileReflectedSecretIsScrubbed: the connection's own endpoint
// reflects the token (the plugin may legitimately send it there); the plugin
// copies it into everything it answers. None of it leaves the host.
func TestHostileReflectedSecretIsScrubbed(t *testing.T) {
	e := newHostile(t)
	_, endpoint := newMirror(t)
	e.connect(t, "h1", endpoint, nil)
	c := e.Admin

	svc := must[*pluginapi.Service](t)(e.Host.GetService(ctx, c, "h1", "reflect"))
	noSecret(t, "get", svc)
	if !strings.Contains(svc.StatusMessage, "Authorization: Bearer "+ops.Redaction) || svc.Labels["stolen"] != ops.Redaction {
		t.Errorf("the reflection was not what the test expects: %+v", svc)
	}
	noSecret(t, "list", must[*ops.ServicePage](t)(e.Host.ListServices(ctx, c, "h1", ops.ListOptions{})))
	noSecret(t, "list all", must[*ops.AllServicesPage](t)(e.Host.ListAllServices(ctx, c, ops.ListAllOptions{})))
	noSecret(t, "logs", must[*ops.LogsPage](t)(e.Host.Logs(ctx, c, "h1", "reflect", ops.LogsOptions{})))
	inv := must[*ops.InvokeResult](t)(e.Host.Invoke(ctx, c, "h1", "reflect", ops.InvokeInput{Method: "POST"}))
	noSecret(t, "invoke", inv)
	if !strings.Contains(string(inv.Body), "Bearer "+ops.Redaction) {
		t.Errorf("invoke body %q", inv.Body)
	}
	res := must[ops.TestResult](t)(e.Host.TestConnection(ctx, c, "h1"))
	noSecret(t, "test", res)

	_, err := e.Host.GetService(ctx, c, "h1", "error")
	noSecret(t, "error", wantCode(t, err, pluginapi.CodeUnavailable))
	_, err = e.Host.GetService(ctx, c, "h1", "panic")
	noSecret(t, "panic", pluginapi.AsError(err))
	if err == nil {
		t.Error("panic: no error")
	}
	_, err = e.Host.CreateService(ctx, c, "h1", json.RawMessage(`{"note":"`+stolen+`"}`))
	noSecret(t, "create error", wantCode(t, err, pluginapi.CodeConflict))

	// The plugin's own log lines.
	must[*pluginapi.Service](t)(e.Host.GetService(ctx, c, "h1", "log"))
	e.logm.Lock()
	logs := e.logs.String()
	e.logm.Unlock()
	if !strings.Contains(logs, "stolen token "+ops.Redaction) {
		t.Errorf("the plugin's log line is missing: %s", logs)
	}
	if f := leaked([]byte(logs)); f != "" {
		t.Errorf("the host log holds the token as %q:\n%s", f, logs)
	}

	// The audit log: the create (its spec held the token too) and its error.
	entries := must[[]audit.Entry](t)(e.Host.QueryAudit(ctx, c, audit.Filter{}))
	noSecret(t, "audit log", entries)
	if len(entries) < 2 {
		t.Fatalf("audit entries: %+v", entries)
	}
}

// TestEndpointChangeDropsSecrets: an administrator repoints the endpoint
// without re-entering the token; the new endpoint must not get the old one.
func TestEndpointChangeDropsSecrets(t *testing.T) {
	e := newHostile(t)
	_, first := newMirror(t)
	second, secondURL := newMirror(t)
	e.connect(t, "h1", first, nil)
	c := e.Admin

	cn := must[ops.Connection](t)(e.Host.UpdateConnection(ctx, c, "h1", ops.ConnectionInput{Config: json.RawMessage(`{"endpoint":"` + secondURL + `"}`)}))
	if len(cn.SecretsSet) != 0 || !slices.Equal(cn.SecretsDropped, []string{"token"}) {
		t.Fatalf("after repointing: secrets set %v dropped %v", cn.SecretsSet, cn.SecretsDropped)
	}
	got := must[*pluginapi.Service](t)(e.Host.GetService(ctx, c, "h1", "reflect"))
	if !strings.Contains(got.StatusMessage, "refused: unauthorized: connection h1 has no value for secret token") {
		t.Errorf("the plugin's request with auth: %q", got.StatusMessage)
	}
	if _, auths := second.seen(); len(auths) != 0 {
		t.Fatalf("the new endpoint got Authorization %q", auths)
	}
	entries := must[[]audit.Entry](t)(e.Host.QueryAudit(ctx, c, audit.Filter{Operation: "connection.update"}))
	if len(entries) == 0 || !strings.Contains(string(entries[0].Request), `"secrets_dropped":["token"]`) {
		t.Errorf("the drop is not in the audit log: %+v", entries)
	}

	// keep_secrets: the administrator says the new endpoint may have them.
	e.connect(t, "h2", first, nil)
	cn = must[ops.Connection](t)(e.Host.UpdateConnection(ctx, c, "h2", ops.ConnectionInput{Config: json.RawMessage(`{"endpoint":"` + secondURL + `"}`), KeepSecrets: true}))
	if !slices.Equal(cn.SecretsSet, []string{"token"}) || len(cn.SecretsDropped) != 0 {
		t.Fatalf("keep_secrets: %+v", cn)
	}
	must[*pluginapi.Service](t)(e.Host.GetService(ctx, c, "h2", "reflect"))
	if _, auths := second.seen(); len(auths) != 1 || auths[0] != "Bearer "+stolen {
		t.Fatalf("with keep_secrets the new endpoint got %q", auths)
	}
	// The token sent again with the new endpoint, and a PATCH that moves it.
	e.connect(t, "h3", first, nil)
	cn = must[ops.Connection](t)(e.Host.UpdateConnection(ctx, c, "h3", ops.ConnectionInput{Config: json.RawMessage(`{"endpoint":"` + secondURL + `","token":"new-token-value"}`)}))
	if !slices.Equal(cn.SecretsSet, []string{"token"}) || len(cn.SecretsDropped) != 0 {
		t.Fatalf("re-entered: %+v", cn)
	}
	e.connect(t, "h4", first, nil)
	cn = must[ops.Connection](t)(e.Host.PatchConnection(ctx, c, "h4", json.RawMessage(`{"endpoint":"`+secondURL+`/v2"}`), 0))
	if len(cn.SecretsSet) != 0 {
		t.Fatalf("patch moved the endpoint and kept %v", cn.SecretsSet)
	}
	// The same host, another path: not a move.
	e.connect(t, "h5", first, nil)
	cn = must[ops.Connection](t)(e.Host.PatchConnection(ctx, c, "h5", json.RawMessage(`{"endpoint":"`+first+`/v2"}`), 0))
	if !slices.Equal(cn.SecretsSet, []string{"token"}) {
		t.Fatalf("a path change dropped %v", cn.SecretsSet)
	}
}

// TestEndpointChangeRequiredSecret: with a required secret the update is
// refused, saying what to do.
func TestEndpointChangeRequiredSecret(t *testing.T) {
	e := opstest.New(t, opstest.Options{})
	_, other := newMirror(t)
	_, err := e.Host.UpdateConnection(ctx, e.Admin, opstest.Conn, ops.ConnectionInput{Config: json.RawMessage(`{"endpoint":"` + other + `"}`)})
	pe := wantCode(t, err, pluginapi.CodeInvalid)
	if pe.Field != "/config/token" || !strings.Contains(pe.Message, "keep_secrets") {
		t.Fatalf("error %+v", pe)
	}
	must[ops.Connection](t)(e.Host.UpdateConnection(ctx, e.Admin, opstest.Conn, ops.ConnectionInput{Config: json.RawMessage(`{"endpoint":"` + other + `"}`), KeepSecrets: true}))
}
