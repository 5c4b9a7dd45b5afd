package runtime

import (
	"context"
	"encoding/json"

	"github.com/wharfhq/wharf/pluginapi"
)

// HTTPHandler sends the HTTP requests a plugin makes through wharf_http.
// The host's egress client implements it: it checks the target against the
// connection's allowed hosts and adds the credentials the plugin never sees.
// Do must answer every failure as HTTPResponse.Error and honour ctx, which
// carries the call's deadline.
type HTTPHandler interface {
	Do(ctx context.Context, req *pluginapi.HTTPRequest) *pluginapi.HTTPResponse
}

// httpFunctionName is wharf_http, in module extism:host/user.
const httpFunctionName = pluginapi.HTTPFunction

// wharfHTTP is wharf_http: (request offset) -> (response offset), both
// JSON in extism memory blocks. It never traps on the plugin's behalf: bad
// JSON, a missing handler or a handler panic come back as
// HTTPResponse.Error.
func (s *callState) wharfHTTP(stack []uint64) {
	resp := s.serveHTTP(stack[0])
	b, err := json.Marshal(resp)
	if err != nil {
		b, _ = json.Marshal(&pluginapi.HTTPResponse{Error: pluginapi.Errorf(pluginapi.CodeInternal, "encode http answer: %v", err)})
	}
	off := s.mem.write(b)
	if off == 0 {
		// The answer does not fit in the plugin's memory limit: say so
		// in a short answer instead.
		small, _ := json.Marshal(&pluginapi.HTTPResponse{Error: pluginapi.Errorf(pluginapi.CodeInternal,
			"http answer of %d bytes does not fit in plugin memory", len(b))})
		if off = s.mem.write(small); off == 0 {
			// Not even that fits: the instance is unusable, so trap;
			// the host discards it.
			trap("wharf_http: cannot write the answer into plugin memory")
		}
	}
	stack[0] = off
}

// serveHTTP decodes the plugin's request and asks the call's handler.
func (s *callState) serveHTTP(offset uint64) (resp *pluginapi.HTTPResponse) {
	defer func() {
		if r := recover(); r != nil {
			resp = &pluginapi.HTTPResponse{Error: pluginapi.Errorf(pluginapi.CodeInternal, "host http handler panicked: %v", r)}
		}
	}()
	raw := s.mem.bytes(offset)
	if raw == nil {
		return &pluginapi.HTTPResponse{Error: pluginapi.Errorf(pluginapi.CodeInternal, "read http request from plugin memory: offset %d is not a block", offset)}
	}
	req := new(pluginapi.HTTPRequest)
	if err := json.Unmarshal(raw, req); err != nil {
		return &pluginapi.HTTPResponse{Error: pluginapi.Invalid("", "decode http request: %v", err)}
	}
	if s.http == nil {
		return &pluginapi.HTTPResponse{Error: pluginapi.Errorf(pluginapi.CodeForbidden, "no HTTP is allowed during %s", s.op)}
	}
	resp = s.http.Do(s.ctx, req)
	if resp == nil {
		return &pluginapi.HTTPResponse{Error: pluginapi.Errorf(pluginapi.CodeInternal, "host http handler gave no answer")}
	}
	return resp
}
