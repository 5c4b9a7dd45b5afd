package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/wharfhq/wharf/host/jsonlimit"
	"github.com/wharfhq/wharf/pluginapi"
)

// invokeLimits bound an invoke request: its body travels inside the JSON
// (base64), so it may be larger than a spec, as large as the API's default
// BodyLimit; it nests like any other body.
var invokeLimits = jsonlimit.Limits{MaxBytes: 4 << 20, MaxDepth: jsonlimit.Body.MaxDepth}

// readBody reads the whole request body, at most lim.MaxBytes of it (below
// the server's BodyLimit), and refuses one beyond lim's size or depth
// before anything parses it.
func readBody(c echo.Context, lim jsonlimit.Limits) ([]byte, error) {
	b, err := lim.Read(c.Request().Body)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return nil, he
		}
		var le *jsonlimit.Error
		if errors.As(err, &le) {
			return nil, pluginapi.Invalid("", "request body refused: %v", le)
		}
		return nil, pluginapi.Invalid("", "could not read the request body: %v", err)
	}
	return b, nil
}

// rawJSON reads a body that must be a JSON document; empty gives def
// (or an error when def is nil).
func rawJSON(c echo.Context, def json.RawMessage) (json.RawMessage, error) {
	b, err := readBody(c, jsonlimit.Body)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		if def == nil {
			return nil, pluginapi.Invalid("", "a JSON request body is required")
		}
		return def, nil
	}
	if !json.Valid(b) {
		return nil, pluginapi.Invalid("", "the request body is not valid JSON")
	}
	return b, nil
}

// decodeStrict decodes a JSON body into v, refusing unknown fields.
func decodeStrict(c echo.Context, v any) error {
	b, err := readBody(c, jsonlimit.Body)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return pluginapi.Invalid("", "a JSON request body is required")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return pluginapi.Invalid("/"+strings.ReplaceAll(te.Field, ".", "/"), "%s must be %s", te.Field, te.Type.String())
		}
		if strings.HasPrefix(err.Error(), "json: unknown field ") {
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return pluginapi.Invalid("/"+f, "unknown field %q", f)
		}
		return pluginapi.Invalid("", "the request body is not valid JSON: %v", err)
	}
	if dec.More() {
		return pluginapi.Invalid("", "the request body holds more than one JSON value")
	}
	return nil
}

// query helpers: each names the parameter in its error.

func queryInt(c echo.Context, name string) (int, error) {
	v := c.QueryParam(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, pluginapi.Invalid(name, "query parameter %s must be a non-negative integer, not %q", name, v)
	}
	return n, nil
}

// queryDir reads a sort direction: asc (the default) or desc.
func queryDir(c echo.Context) (bool, error) {
	switch v := c.QueryParam("dir"); v {
	case "", "asc":
		return false, nil
	case "desc":
		return true, nil
	default:
		return false, pluginapi.Invalid("dir", "query parameter dir must be asc or desc, not %q", v)
	}
}

func queryBool(c echo.Context, name string) (bool, error) {
	v := c.QueryParam(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, pluginapi.Invalid(name, "query parameter %s must be true or false, not %q", name, v)
	}
	return b, nil
}

// queryTime accepts RFC 3339 or unix seconds.
func queryTime(c echo.Context, name string) (*time.Time, error) {
	v := c.QueryParam(name)
	if v == "" {
		return nil, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return &t, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		t := time.Unix(n, 0).UTC()
		return &t, nil
	}
	return nil, pluginapi.Invalid(name, "query parameter %s must be an RFC 3339 time or unix seconds, not %q", name, v)
}

// queryList returns every value of a repeated parameter, also splitting
// comma-separated values.
func queryList(c echo.Context, name string) []string {
	var out []string
	for _, v := range c.QueryParams()[name] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// ifMatch returns the expected version from If-Match (an ETag: weak prefix
// and one pair of quotes removed, so that any version etag sent comes back
// whole, quotes inside it included) or the "version" query parameter.
func ifMatch(c echo.Context) string {
	v := strings.TrimSpace(c.Request().Header.Get("If-Match"))
	if v == "" || v == "*" {
		return c.QueryParam("version")
	}
	v = strings.TrimPrefix(v, "W/")
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	return v
}

// etag quotes a version for the ETag header.
func etag(version string) string { return `"` + version + `"` }
