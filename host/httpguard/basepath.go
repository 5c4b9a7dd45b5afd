package httpguard

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

type basePathKey struct{}

// WithBasePath records the path prefix a host is served under ("/wharf"),
// which the handlers put in front of every link, redirect and cookie path.
func WithBasePath(ctx context.Context, prefix string) context.Context {
	return context.WithValue(ctx, basePathKey{}, prefix)
}

// BasePath is the path prefix the request came under: "" at the root.
func BasePath(ctx context.Context) string {
	p, _ := ctx.Value(basePathKey{}).(string)
	return p
}

// CleanBasePath checks a path prefix: "" or "/a/b" (no trailing slash, no
// query, no dot segments). "/" is the root, "".
func CleanBasePath(p string) (string, error) {
	p = strings.TrimRight(p, "/")
	if p == "" {
		return "", nil
	}
	if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "?#%\\ \"'<>") {
		return "", fmt.Errorf("path prefix %q: want /segment[/segment…] without ?, #, %%, \\, quotes, <, > or spaces", p)
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("path prefix %q: empty, . and .. segments are not allowed", p)
		}
	}
	return p, nil
}

// UnderBasePath serves h under prefix: a request for prefix+"/x" reaches h
// as "/x" with the prefix in its context (BasePath); prefix alone is
// redirected to prefix+"/"; anything else is 404. An empty prefix is h.
func UnderBasePath(prefix string, h http.Handler) http.Handler {
	if prefix == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, prefix)
		switch {
		case !ok || (rest != "" && rest[0] != '/'):
			http.NotFound(w, r)
			return
		case rest == "":
			to := prefix + "/"
			if r.URL.RawQuery != "" {
				to += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, to, http.StatusPermanentRedirect)
			return
		}
		r2 := r.Clone(WithBasePath(r.Context(), prefix))
		r2.URL = cloneURL(r.URL)
		r2.URL.Path = rest
		if r.URL.RawPath != "" {
			r2.URL.RawPath = strings.TrimPrefix(r.URL.RawPath, prefix)
		}
		r2.RequestURI = r2.URL.RequestURI()
		h.ServeHTTP(w, r2)
	})
}

func cloneURL(u *url.URL) *url.URL {
	c := *u
	if u.User != nil {
		uc := *u.User
		c.User = &uc
	}
	return &c
}
