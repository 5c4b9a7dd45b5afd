package metrics

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// Middleware counts and times every request of e by method, route
// template and status. Install it with e.Pre before anything else, so that
// it also sees the requests refused before routing (those have the route
// Unmatched, like requests for no route); it hands a handler's error to
// e's error handler itself, to learn the status that error gets.
func (r *Registry) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if r == nil {
			return next
		}
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			method := methodLabel(c.Request().Method)
			route := routeLabel(c.Path(), err)
			r.httpRequests.WithLabelValues(method, route, strconv.Itoa(c.Response().Status)).Inc()
			r.httpDuration.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
			return nil
		}
	}
}

// methodLabel keeps the standard methods; anything else is "OTHER", so a
// client cannot make up label values.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// routeLabel is the route template that served a request. A request that
// never reached the router has none, and one echo answered 404 itself
// carries its group's catch-all ("/api/v1/*"): both are Unmatched.
func routeLabel(path string, err error) string {
	if path == "" || (strings.HasSuffix(path, "/*") && errors.Is(err, echo.ErrNotFound)) {
		return Unmatched
	}
	return path
}
