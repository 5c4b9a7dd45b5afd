package plugin

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
)

// NativeDoer sends requests with net/http, for running a Provider off wasm
// in tests. Endpoints maps endpoint names to base URLs (http, https or
// unix:///path). It applies no allow-list and no auth: it is a test tool,
// not the host.
type NativeDoer struct {
	Endpoints map[string]string
	Client    *http.Client
}

// Do implements Doer.
func (d *NativeDoer) Do(r *pluginapi.HTTPRequest) *pluginapi.HTTPResponse {
	client := d.Client
	target := r.URL
	if r.Endpoint != "" {
		base := d.Endpoints[r.Endpoint]
		if strings.HasPrefix(base, "unix://") {
			sock := strings.TrimPrefix(base, "unix://")
			client = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, "unix", sock)
			}}}
			base = "http://localhost"
		}
		target = strings.TrimSuffix(base, "/") + r.Path
	}
	if client == nil {
		client = http.DefaultClient
	}
	u, err := url.Parse(target)
	if err != nil {
		return &pluginapi.HTTPResponse{Error: pluginapi.Invalid("url", "%v", err)}
	}
	if len(r.Query) > 0 {
		q := u.Query()
		for k, vs := range r.Query {
			for _, v := range vs {
				q.Add(k, v)
			}
		}
		u.RawQuery = q.Encode()
	}
	ctx := context.Background()
	if r.TimeoutMS > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(r.TimeoutMS)*time.Millisecond)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, u.String(), bytes.NewReader(r.Body))
	if err != nil {
		return &pluginapi.HTTPResponse{Error: pluginapi.Invalid("", "%v", err)}
	}
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return &pluginapi.HTTPResponse{Error: pluginapi.Errorf(pluginapi.CodeUnavailable, "%v", err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return &pluginapi.HTTPResponse{Error: pluginapi.Errorf(pluginapi.CodeUnavailable, "read body: %v", err)}
	}
	return &pluginapi.HTTPResponse{Status: resp.StatusCode, Headers: resp.Header, Body: body}
}
