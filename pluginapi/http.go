package pluginapi

// Plugins reach their platform only through the host function
//
//	module "extism:host/user", name "wharf_http"
//	(request_offset u64) -> (response_offset u64)
//
// which takes an HTTPRequest and answers an HTTPResponse, both JSON in
// extism memory blocks. The host checks the target against the allowed
// hosts (on every redirect too), adds credentials (only for the
// connection's endpoints), applies timeouts and size caps. Failures come
// back as HTTPResponse.Error, never as a trap.

// HTTPFunction is the name of the host function.
const HTTPFunction = "wharf_http"

// Since ABI 1.1 the same module also offers bulk copies between the extism
// memory and the plugin's own linear memory, one host call per block
// instead of one per 8 bytes:
//
//	wharf_load  (block_offset u64, dst_ptr u32, length u32)  extism -> linear
//	wharf_store (block_offset u64, src_ptr u32, length u32)  linear -> extism
//
// Both trap when a range lies outside either memory.
const (
	LoadFunction  = "wharf_load"
	StoreFunction = "wharf_store"
)

// AnswerBodyBlock is the HTTPRequest.AnswerBody value that asks for the
// response body in a block of its own (ABI 1.1).
const AnswerBodyBlock = "block"

// HTTPRequest is what a plugin asks the host to send.
type HTTPRequest struct {
	Method string `json:"method"`
	// Endpoint names a config property marked "x-endpoint" whose value is the
	// base URL (http://, https:// or unix:///path/to.sock). Path is appended
	// to it. Either Endpoint or URL is set.
	Endpoint string `json:"endpoint,omitempty"`
	Path     string `json:"path,omitempty"`
	// URL is an absolute http(s) URL; its host must be an endpoint's host or
	// match a DescribeResponse.Hosts pattern approved for the connection.
	URL     string              `json:"url,omitempty"`
	Query   map[string][]string `json:"query,omitempty"`
	Headers map[string]string   `json:"headers,omitempty"`
	Body    []byte              `json:"body,omitempty"`
	// BodyBlock (ABI 1.1), instead of Body, is the offset of an extism
	// memory block holding the raw body: no base64. The plugin frees it
	// after the call.
	BodyBlock uint64 `json:"body_block,omitempty"`
	// AnswerBody "block" (ABI 1.1) asks for the response body raw, in a
	// block of its own named by HTTPResponse.BodyBlock, instead of base64
	// in Body.
	AnswerBody string `json:"answer_body,omitempty"`
	// Auth asks the host to add credentials from the connection's secrets.
	// Only a request to an endpoint (by Endpoint, or a URL with exactly an
	// endpoint's scheme, host and port) may carry Auth; any other is
	// refused with CodeForbidden (ABI 1.2, a security fix).
	Auth *Auth `json:"auth,omitempty"`
	// TimeoutMS is the plugin's wish; the host may lower it.
	TimeoutMS int `json:"timeout_ms,omitempty"`
	// MaxBodyBytes caps the response body the plugin wants; the host may lower it.
	// A longer body is cut and HTTPResponse.Truncated is set.
	MaxBodyBytes int `json:"max_body_bytes,omitempty"`
}

// Auth schemes.
const (
	AuthBearer   = "bearer"    // Authorization: Bearer <secret>
	AuthBasic    = "basic"     // Authorization: Basic base64(<username>:<secret>)
	AuthHeader   = "header"    // <Header>: <Prefix><secret>
	AuthAWSSigV4 = "aws-sigv4" // AWS Signature Version 4
)

// Auth names a scheme and the config properties it draws on. Properties
// named in Secret, AccessKey and SessionToken must be marked "x-secret" in
// the config schema.
type Auth struct {
	Scheme string `json:"scheme"`
	// Secret is the config property holding the token, password or AWS secret key.
	Secret string `json:"secret,omitempty"`
	// Username for basic: a literal value, since it is not secret.
	Username string `json:"username,omitempty"`
	// Header and Prefix for the header scheme, e.g. "Authorization" and "token ".
	Header string `json:"header,omitempty"`
	Prefix string `json:"prefix,omitempty"`
	// For aws-sigv4: the config properties holding the access key id and the
	// optional session token, and the signing service name and region.
	AccessKey    string `json:"access_key,omitempty"`
	SessionToken string `json:"session_token,omitempty"`
	Service      string `json:"service,omitempty"`
	Region       string `json:"region,omitempty"`
}

// HTTPResponse is the host's answer. When Error is set, nothing was
// received (blocked host, connection refused, timeout) and the other fields
// are empty; an HTTP error status is not an Error.
type HTTPResponse struct {
	Status  int                 `json:"status,omitempty"`
	Headers map[string][]string `json:"headers,omitempty"`
	Body    []byte              `json:"body,omitempty"`
	// BodyBlock (ABI 1.1) is the offset of the block holding the raw body
	// when the request asked for it with AnswerBody "block" and there is
	// a body; the plugin frees it.
	BodyBlock uint64 `json:"body_block,omitempty"`
	Truncated bool   `json:"truncated,omitempty"`
	Error     *Error `json:"error,omitempty"`
}

// Header returns the first value of a response header, case-insensitively.
func (r *HTTPResponse) Header(name string) string {
	for k, v := range r.Headers {
		if len(v) > 0 && equalFold(k, name) {
			return v[0]
		}
	}
	return ""
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
