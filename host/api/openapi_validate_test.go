package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

var registerNDJSON sync.Once

// validated wraps an API handler so that every answer it gives is checked
// against openapi.json: a test fails naming the route and what in the
// answer does not match (an undocumented status, a missing or mistyped
// field). Answers to paths the document does not know (404s of unknown
// routes) are not checked. An answer is held until it is checked, so the
// test cannot end first; a streamed one (flushed) passes through and is
// checked when the handler returns, which httptest.Server.Close waits for.
func validated(t testing.TB, next http.Handler) http.Handler {
	t.Helper()
	doc := loadOpenAPI(t)
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("openapi.json: no router: %v", err)
	}
	registerNDJSON.Do(func() { openapi3filter.RegisterBodyDecoder("application/x-ndjson", ndjsonDecoder) })
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{w: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		defer rec.release()
		route, params, err := router.FindRoute(r)
		if err != nil {
			if rec.status != http.StatusNotFound && rec.status != http.StatusMethodNotAllowed {
				t.Errorf("%s %s answered %d but openapi.json has no such route: %v", r.Method, r.URL.Path, rec.status, err)
			}
			return
		}
		if err := validateAnswer(r, route, params, rec); err != nil {
			t.Errorf("%s %s (%s %s): answer %d does not match openapi.json: %v\n%s",
				r.Method, r.URL.Path, route.Method, route.Path, rec.status, err, clip(rec.body.Bytes()))
		}
	})
}

func validateAnswer(r *http.Request, route *routers.Route, params map[string]string, rec *recorder) error {
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}
	opts.WithCustomSchemaErrorFunc(shortSchemaError)
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route},
		Status:                 rec.status,
		Header:                 rec.Header(),
		Options:                opts,
	}
	in.SetBodyBytes(rec.body.Bytes())
	return openapi3filter.ValidateResponse(r.Context(), in)
}

// shortSchemaError names the field and the reason, without the schema and
// value dumps kin-openapi adds by default.
func shortSchemaError(err *openapi3.SchemaError) string {
	return fmt.Sprintf("field /%s: %s", strings.Join(err.JSONPointer(), "/"), err.Reason)
}

// ndjsonDecoder checks every line of an NDJSON stream against the
// response's schema (which describes one line) and hands the validator the
// last line, or an empty object for an empty stream.
func ndjsonDecoder(body io.Reader, _ http.Header, schema *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	var last any = map[string]any{}
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for n := 1; sc.Scan(); n++ {
		var v any
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			return nil, fmt.Errorf("line %d is not JSON: %w", n, err)
		}
		if schema != nil && schema.Value != nil {
			if err := schema.Value.VisitJSON(v, openapi3.EnableJSONSchema2020(), openapi3.MultiErrors(),
				openapi3.SetSchemaErrorMessageCustomizer(shortSchemaError)); err != nil {
				return nil, fmt.Errorf("line %d: %w", n, err)
			}
		}
		last = v
	}
	return last, sc.Err()
}

// recorder holds an answer until it is checked; once the handler flushes
// (a stream), it writes through and keeps a copy.
type recorder struct {
	w        http.ResponseWriter
	status   int
	body     bytes.Buffer
	through  bool
	wroteHdr bool
}

func (r *recorder) Header() http.Header { return r.w.Header() }

func (r *recorder) WriteHeader(code int) {
	if r.wroteHdr {
		return
	}
	r.wroteHdr = true
	r.status = code
	if r.through {
		r.w.WriteHeader(code)
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wroteHdr {
		r.WriteHeader(http.StatusOK)
	}
	r.body.Write(b)
	if r.through {
		return r.w.Write(b)
	}
	return len(b), nil
}

// Flush switches to writing through: what was held goes out first.
func (r *recorder) Flush() {
	if !r.through {
		r.through = true
		if r.wroteHdr {
			r.w.WriteHeader(r.status)
		}
		if r.body.Len() > 0 {
			_, _ = r.w.Write(r.body.Bytes())
		}
	}
	if f, ok := r.w.(http.Flusher); ok {
		f.Flush()
	}
}

// release sends a held answer on.
func (r *recorder) release() {
	if r.through {
		return
	}
	if r.wroteHdr {
		r.w.WriteHeader(r.status)
	}
	_, _ = r.w.Write(r.body.Bytes())
}

func clip(b []byte) string {
	s := string(b)
	if len(s) > 2000 {
		s = s[:2000] + "…"
	}
	return strings.TrimSpace(s)
}
