package runtime

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/tetratelabs/wazero/api"

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
	resp, bodyBlock := s.serveHTTP(stack[0])
	if bodyBlock && len(resp.Body) > 0 {
		// The body goes raw into its own block; the answer names it.
		c := *resp
		if c.BodyBlock = s.mem.write(c.Body); c.BodyBlock != 0 {
			c.Body = nil
			resp = &c
		} else {
			resp = answerTooBig(len(resp.Body))
		}
	}
	b, err := json.Marshal(resp)
	if err != nil {
		b, _ = json.Marshal(&pluginapi.HTTPResponse{Error: pluginapi.Errorf(pluginapi.CodeInternal, "encode http answer: %v", err)})
	}
	off := s.mem.write(b)
	if off == 0 {
		// The answer does not fit in the plugin's memory limit: say so
		// in a short answer instead.
		small, _ := json.Marshal(answerTooBig(len(b)))
		if off = s.mem.write(small); off == 0 {
			// Not even that fits: the instance is unusable, so trap;
			// the host discards it.
			trap("wharf_http: cannot write the answer into plugin memory")
		}
	}
	stack[0] = off
}

// answerTooBig is the answer given instead of n bytes that do not fit in
// the plugin's memory limit.
func answerTooBig(n int) *pluginapi.HTTPResponse {
	return &pluginapi.HTTPResponse{Error: pluginapi.Errorf(pluginapi.CodeInternal, "http answer of %d bytes does not fit in plugin memory", n)}
}

// serveHTTP decodes the plugin's request and asks the call's handler;
// bodyBlock says the plugin wants the answer's body in a block of its own.
func (s *callState) serveHTTP(offset uint64) (resp *pluginapi.HTTPResponse, bodyBlock bool) {
	defer func() {
		if r := recover(); r != nil {
			resp = &pluginapi.HTTPResponse{Error: pluginapi.Errorf(pluginapi.CodeInternal, "host http handler panicked: %v", r)}
		}
	}()
	raw := s.mem.bytes(offset)
	if raw == nil {
		return &pluginapi.HTTPResponse{Error: pluginapi.Errorf(pluginapi.CodeInternal, "read http request from plugin memory: offset %d is not a block", offset)}, false
	}
	req := new(pluginapi.HTTPRequest)
	if err := json.Unmarshal(raw, req); err != nil {
		return &pluginapi.HTTPResponse{Error: pluginapi.Invalid("", "decode http request: %v", err)}, false
	}
	switch req.AnswerBody {
	case "":
	case pluginapi.AnswerBodyBlock:
		bodyBlock = true
	default:
		return &pluginapi.HTTPResponse{Error: pluginapi.Invalid("answer_body", "answer_body %q: want \"block\" or nothing", req.AnswerBody)}, false
	}
	if req.BodyBlock != 0 {
		if len(req.Body) > 0 {
			return &pluginapi.HTTPResponse{Error: pluginapi.Invalid("body_block", "body and body_block are both set")}, false
		}
		b := s.mem.bytes(req.BodyBlock)
		if b == nil {
			return &pluginapi.HTTPResponse{Error: pluginapi.Invalid("body_block", "body_block %d is not a block", req.BodyBlock)}, false
		}
		req.Body, req.BodyBlock = bytes.Clone(b), 0
	}
	req.AnswerBody = ""
	if s.http == nil {
		return &pluginapi.HTTPResponse{Error: pluginapi.Errorf(pluginapi.CodeForbidden, "no HTTP is allowed during %s", s.op)}, false
	}
	resp = s.http.Do(s.ctx, req)
	if resp == nil {
		return &pluginapi.HTTPResponse{Error: pluginapi.Errorf(pluginapi.CodeInternal, "host http handler gave no answer")}, false
	}
	return resp, bodyBlock
}

// wharfLoad is wharf_load: (block offset, destination pointer, length)
// copies length bytes of the extism memory into the plugin's linear memory.
func (s *callState) wharfLoad(mod api.Module, stack []uint64) {
	src := s.load(pluginapi.LoadFunction, stack[0], uint64(uint32(stack[2])))
	if !mod.Memory().Write(uint32(stack[1]), src) {
		trap("%s: %d bytes at %d are outside the plugin's memory", pluginapi.LoadFunction, len(src), uint32(stack[1]))
	}
}

// wharfStore is wharf_store: (block offset, source pointer, length) copies
// length bytes of the plugin's linear memory into the extism memory.
func (s *callState) wharfStore(mod api.Module, stack []uint64) {
	n := uint32(stack[2])
	dst := s.load(pluginapi.StoreFunction, stack[0], uint64(n))
	src, ok := mod.Memory().Read(uint32(stack[1]), n)
	if !ok {
		trap("%s: %d bytes at %d are outside the plugin's memory", pluginapi.StoreFunction, n, uint32(stack[1]))
	}
	copy(dst, src)
}
