package httpguard

import (
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// RequireContentType refuses (415) a request with a body whose media type
// is not one of types. A request without a body and without Content-Type
// passes (a POST that runs an action, a DELETE). Safe methods pass.
//
// On the REST API this is what stops a plain HTML form or a no-cors fetch
// (which can only send text/plain, urlencoded or multipart bodies) from
// reaching a handler, whatever the origin checks say.
func RequireContentType(types ...string) echo.MiddlewareFunc {
	want := map[string]bool{}
	for _, t := range types {
		want[strings.ToLower(t)] = true
	}
	list := strings.Join(types, " or ")
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			ct := r.Header.Get(echo.HeaderContentType)
			if safeMethod(r.Method) || (ct == "" && r.ContentLength == 0) {
				return next(c)
			}
			mt, _, err := mime.ParseMediaType(ct)
			if ct == "" || err != nil || !want[strings.ToLower(mt)] {
				got := "none"
				if ct != "" {
					got = quoteShort(ct)
				}
				return echo.NewHTTPError(http.StatusUnsupportedMediaType,
					fmt.Sprintf("Content-Type must be %s; this request has %s", list, got))
			}
			return next(c)
		}
	}
}

// BodyLimit caps request bodies at max bytes: a declared Content-Length
// over it is refused (413) before a byte is read, and the body of any
// other request stops with an error at max+1 bytes.
func BodyLimit(max int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if r.ContentLength > max {
				return echo.NewHTTPError(http.StatusRequestEntityTooLarge,
					fmt.Sprintf("request body too large: %d bytes, the limit is %d", r.ContentLength, max))
			}
			r.Body = http.MaxBytesReader(c.Response(), r.Body, max)
			return next(c)
		}
	}
}
