package webtest

import (
	"bytes"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// Client is a browser-like HTTP client: it keeps cookies, does not follow
// redirects (tests check the 303s), and sends the CSRF token of the last page.
type Client struct {
	t    testing.TB
	Base string
	HTTP *http.Client
	csrf string
}

// Response is a read response.
type Response struct {
	Status int
	Header http.Header
	Body   string
}

// NewClient returns a client of the portal at base.
func NewClient(t testing.TB, base string) *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{t: t, Base: base, HTTP: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]*)"`)

func (c *Client) do(req *http.Request) Response {
	c.t.Helper()
	resp, err := c.HTTP.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read: %v", req.Method, req.URL, err)
	}
	if m := csrfMeta.FindSubmatch(b); m != nil && len(m[1]) > 0 {
		c.csrf = html.UnescapeString(string(m[1]))
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

// Get fetches path.
func (c *Client) Get(path string) Response {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.Base+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do(req)
}

// Post submits form to path with the current CSRF token (fetch a page first).
func (c *Client) Post(path string, form url.Values) Response {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if form.Get("_csrf") == "" && c.csrf != "" {
		form.Set("_csrf", c.csrf)
	}
	req, err := http.NewRequest(http.MethodPost, c.Base+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// Part is one part of a multipart form: a field, or a file when File is set.
type Part struct {
	Name, File string
	Body       []byte
}

// PostMultipart submits parts as multipart/form-data, the CSRF token of
// the last page first (unless parts start with their own _csrf).
func (c *Client) PostMultipart(path string, parts ...Part) Response {
	c.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if len(parts) == 0 || parts[0].Name != "_csrf" {
		parts = append([]Part{{Name: "_csrf", Body: []byte(c.csrf)}}, parts...)
	}
	for _, p := range parts {
		var pw io.Writer
		var err error
		if p.File != "" {
			pw, err = w.CreateFormFile(p.Name, p.File)
		} else {
			pw, err = w.CreateFormField(p.Name)
		}
		if err == nil {
			_, err = pw.Write(p.Body)
		}
		if err != nil {
			c.t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		c.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, c.Base+path, &buf)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	return c.do(req)
}

// Follow fetches the Location of a redirect response.
func (c *Client) Follow(r Response) Response {
	c.t.Helper()
	loc := r.Header.Get("Location")
	if loc == "" {
		c.t.Fatalf("no Location in a %d response", r.Status)
	}
	if u, err := url.Parse(loc); err == nil && u.IsAbs() {
		loc = u.RequestURI()
	}
	return c.Get(loc)
}

// FieldError returns the error text shown at a form field, "" if none.
func FieldError(body, field string) string {
	i := strings.Index(body, `data-field="`+field+`"`)
	if i < 0 {
		return ""
	}
	rest := body[i:]
	j := strings.Index(rest, `class="field-error"`)
	if j < 0 {
		return ""
	}
	rest = rest[j:]
	start := strings.Index(rest, ">") + 1
	end := strings.Index(rest, "</p>")
	if start <= 0 || end < start {
		return ""
	}
	return strings.TrimSpace(html.UnescapeString(rest[start:end]))
}
