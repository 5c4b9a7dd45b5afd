package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin/rest"
)

// API versions: the plugin speaks up to maxAPIVersion and needs at least
// minAPIVersion (service logs, insertDefaults and ServiceStatus are older).
const (
	maxAPIVersion = "1.47"
	minAPIVersion = "1.30"
	defaultHost   = "unix:///var/run/docker.sock"
)

// config is the connection config (no secrets: the socket has no auth).
type config struct {
	Host       string `json:"host"`
	APIVersion string `json:"api_version"`
}

var apiVersionPattern = regexp.MustCompile(`^1\.[0-9]+$`)

// engine talks to one Docker engine through the host's HTTP function.
type engine struct {
	ctx     context.Context
	client  *rest.Client
	host    string
	version string
	pubHost string // publicHost, once known
	// logDate is the newest Date of a logs answer: the engine's clock.
	logDate time.Time
}

// negotiated caches the version each engine answered on /_ping, so that
// pooled plugin instances ping once per engine, not once per call.
var negotiated sync.Map // host -> version

func newEngine(ctx context.Context, r pluginapi.Request) (*engine, error) {
	var cfg config
	if len(r.Config) > 0 {
		if err := json.Unmarshal(r.Config, &cfg); err != nil {
			return nil, pluginapi.Invalid("", "bad connection config: %v", err)
		}
	}
	if cfg.Host == "" {
		cfg.Host = defaultHost
	}
	e := &engine{ctx: ctx, host: cfg.Host}
	// The version prefix is set once the version is known; /_ping has none.
	e.client = &rest.Client{Endpoint: "host", Timeout: 30 * time.Second,
		MapStatus:   func(_ rest.Request, resp *pluginapi.HTTPResponse) error { return e.apiError(resp.Status, resp.Body) },
		Unreachable: func(_ rest.Request, err *pluginapi.Error) error { return e.unreachable(err) }}
	if cfg.APIVersion != "" {
		if !apiVersionPattern.MatchString(cfg.APIVersion) {
			return nil, pluginapi.Invalid("/api_version", "api_version must look like 1.41, not %q", cfg.APIVersion)
		}
		e.setVersion(cfg.APIVersion)
		return e, nil
	}
	if v, ok := negotiated.Load(cfg.Host); ok {
		e.setVersion(v.(string))
		return e, nil
	}
	resp, err := e.client.Fetch(ctx, rest.Request{Method: "GET", Path: "/_ping", Timeout: 10 * time.Second})
	if err != nil {
		return nil, err
	}
	v := resp.Header("Api-Version")
	if v == "" {
		v = minAPIVersion // very old engines do not say
	}
	if compareVersions(v, maxAPIVersion) > 0 {
		v = maxAPIVersion
	}
	if compareVersions(v, minAPIVersion) < 0 {
		return nil, pluginapi.Unsupported("the Docker engine at %s speaks API %s; this plugin needs %s or newer", e.host, v, minAPIVersion)
	}
	negotiated.Store(cfg.Host, v)
	e.setVersion(v)
	return e, nil
}

// setVersion fixes the API version every later path is prefixed with.
func (e *engine) setVersion(v string) {
	e.version = v
	e.client.PathPrefix = "/v" + v
}

func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// call is one API request.
type call struct {
	method  string
	path    string // without the version prefix
	query   url.Values
	body    any
	rawBody []byte // sent as is, instead of encoding body
	maxBody int
}

// do sends c and returns the 2xx response; engine errors become *pluginapi.Error.
func (e *engine) do(c call) (*pluginapi.HTTPResponse, error) {
	r := rest.Request{Method: c.method, Path: c.path, Query: c.query, MaxBodyBytes: c.maxBody, Body: c.rawBody}
	if c.body != nil {
		r.JSON = c.body
	}
	if c.rawBody != nil {
		r.Headers = map[string]string{"Content-Type": "application/json"}
	}
	return e.client.Fetch(e.ctx, r)
}

// getJSON decodes a 2xx JSON answer into out and returns the raw body.
func (e *engine) getJSON(c call, out any) ([]byte, error) {
	resp, err := e.do(c)
	if err != nil {
		return nil, err
	}
	if out != nil && len(resp.Body) > 0 {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			return nil, pluginapi.Errorf(pluginapi.CodeInternal, "unexpected answer from the Docker engine to %s %s: %v", c.method, c.path, err)
		}
	}
	return resp.Body, nil
}

func (e *engine) unreachable(err *pluginapi.Error) error {
	if err.Code != pluginapi.CodeUnavailable && err.Code != pluginapi.CodeTimeout {
		return err // the host refused the request itself (allow-list, bad endpoint): pass it on
	}
	return &pluginapi.Error{Code: err.Code, Retryable: true,
		Message: fmt.Sprintf("cannot reach the Docker engine at %s: %s", e.host, err.Message),
		Detail:  map[string]any{"host": e.host}}
}

// apiError maps an engine error answer ({"message": ...}) to a pluginapi code.
func (e *engine) apiError(status int, body []byte) error {
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &m) != nil || m.Message == "" {
		m.Message = strings.TrimSpace(string(body))
	}
	msg := m.Message
	detail := map[string]any{"status": status, "message": msg}
	low := strings.ToLower(msg)
	var code pluginapi.Code
	switch {
	case strings.Contains(low, "not part of a swarm"):
		return &pluginapi.Error{Code: pluginapi.CodeUnavailable, Retryable: true, Detail: detail,
			Message: fmt.Sprintf("the Docker engine at %s is not part of a swarm: run `docker swarm init` on it (or join it to a swarm) to manage services", e.host)}
	case strings.Contains(low, "not a swarm manager"):
		return &pluginapi.Error{Code: pluginapi.CodeUnavailable, Retryable: true, Detail: detail,
			Message: fmt.Sprintf("the Docker engine at %s is a swarm worker: connect to a manager node to manage services (%s)", e.host, msg)}
	case strings.Contains(low, "update out of sequence"):
		return outOfSequence(detail)
	case strings.Contains(low, "does not have a previous spec"):
		return &pluginapi.Error{Code: pluginapi.CodeConflict, Detail: detail, Message: "nothing to roll back to: the service has no previous spec"}
	case strings.Contains(low, "invalid desired-state filter"):
		return &pluginapi.Error{Code: pluginapi.CodeInvalid, Field: "/filters/desired-state", Detail: detail, Message: msg}
	default:
		code = pluginapi.CodeForStatus(status)
	}
	err := &pluginapi.Error{Code: code, Message: msg, Detail: detail, Retryable: pluginapi.RetryableCode(code)}
	if code == pluginapi.CodeInvalid {
		err.Field = guessField(low)
	}
	return err
}

// outOfSequence is the answer to an update based on a stale version.
func outOfSequence(detail map[string]any) *pluginapi.Error {
	return &pluginapi.Error{Code: pluginapi.CodeConflict, Detail: detail,
		Message: "the service was changed by someone else since this version was read (update out of sequence): reload it and apply the change again"}
}

// guessField points an engine validation message at the friendly spec field.
func guessField(msg string) string {
	switch {
	case strings.Contains(msg, "image reference"):
		return "/image"
	case strings.Contains(msg, "name must be valid"), strings.Contains(msg, "name conflicts"):
		return "/name"
	case strings.Contains(msg, "secret"):
		return "/secrets"
	case strings.Contains(msg, "mount"):
		return "/mounts"
	case strings.Contains(msg, "healthcheck"):
		return "/healthcheck"
	case strings.Contains(msg, "port"):
		return "/ports"
	case strings.Contains(msg, "network"):
		return "/networks"
	case strings.Contains(msg, "constraint"), strings.Contains(msg, "placement"):
		return "/constraints"
	case strings.Contains(msg, "restartcondition"), strings.Contains(msg, "restart"):
		return "/restart_policy"
	case strings.Contains(msg, "log driver"), strings.Contains(msg, "logging driver"):
		return "/log_driver"
	}
	return ""
}

func servicePath(id string) string { return "/services/" + url.PathEscape(id) }

func filtersJSON(f map[string][]string) string {
	// Docker filters JSON: {"key":{"value":true}} is the classic form every
	// engine version accepts.
	m := map[string]map[string]bool{}
	for k, vs := range f {
		if len(vs) == 0 {
			continue
		}
		m[k] = map[string]bool{}
		for _, v := range vs {
			m[k][v] = true
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}
