package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/web/form"
)

// InvokeView is the page that sends one request to a running service.
type InvokeView struct {
	Conn       string
	Service    *pluginapi.Service
	Fields     []form.Field
	Problem    *pluginapi.Error
	Other      []string
	Result     *InvokeResultView
	CanOperate bool
}

// InvokeResultView is the service's answer, ready to show.
type InvokeResultView struct {
	Status      int
	ContentType string
	Headers     []KV
	Body        string // pretty JSON when JSON, else the text
	JSON        bool
	Binary      bool // Body then says how many bytes came
	Size        int
	Truncated   bool
	DurationMS  int64
}

// invokeMethods are the methods the form offers.
var invokeMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

// maxShownBody bounds the answer drawn into the page.
const maxShownBody = 256 << 10

// invokeFields draws the request form; its paths are the InvokeInput
// fields a plugin names in its errors (/method, /path, /headers ...).
func invokeFields(in ops.InvokeInput) []form.Field {
	f := []form.Field{
		{Name: "method", Path: "method", Label: "Method", Kind: form.KindSelect, Required: true, Options: invokeMethods, Value: in.Method},
		{Name: "path", Path: "path", Label: "Path", Kind: form.KindText, Help: "Path and query on the service, such as /predict or /items?limit=5.", Value: in.Path},
		{Name: "content_type", Path: "content_type", Label: "Content type", Kind: form.KindText, Help: "Of the body, such as application/json.", Value: in.ContentType},
		{Name: "headers", Path: "headers", Label: "Headers", Kind: form.KindKV, Help: "Extra request headers (not every platform can send them)."},
		{Name: "body", Path: "body", Label: "Body", Kind: form.KindJSON, Placeholder: `{"input": "..."}`, Value: string(in.Body)},
	}
	keys := make([]string, 0, len(in.Headers))
	for k := range in.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f[3].Pairs = append(f[3].Pairs, form.KV{Key: k, Value: in.Headers[k]})
	}
	f[3].Pairs = append(f[3].Pairs, form.KV{})
	return f
}

// invokePage draws the request form of a service whose plugin offers invoke.
func (p *portal) invokePage(c echo.Context) error {
	v, err := p.invokeView(c)
	if err != nil {
		return p.renderError(c, err)
	}
	v.Fields = invokeFields(ops.InvokeInput{Method: "GET", Path: "/", ContentType: "application/json"})
	return render(c, http.StatusOK, InvokePage(p.pageInfo(c, "Invoke "+v.Service.Name, "services"), v))
}

func (p *portal) invokeView(c echo.Context) (InvokeView, error) {
	ctx := c.Request().Context()
	caller := callerOf(c)
	conn, id := param(c, "conn"), param(c, "id")
	svc, err := p.host.GetService(ctx, caller, conn, id)
	if err != nil {
		return InvokeView{}, err
	}
	cn, pl, err := p.connPlugin(ctx, caller, conn)
	if err != nil {
		return InvokeView{}, err
	}
	if !pl.Describe.Supports(pluginapi.OpInvoke) {
		return InvokeView{}, pluginapi.Unsupported("%s services cannot be invoked: the plugin does not offer it", pl.Title)
	}
	return InvokeView{Conn: conn, Service: svc, CanOperate: cn.Role.Allows(ops.RoleOperator)}, nil
}

// invokeSubmit sends the request through the facade (which audits it)
// and shows the answer under the form, which keeps what was typed.
func (p *portal) invokeSubmit(c echo.Context) error {
	v, err := p.invokeView(c)
	if err != nil {
		return p.renderError(c, err)
	}
	values, _ := c.FormParams()
	in := ops.InvokeInput{
		Method:      strings.ToUpper(strings.TrimSpace(values.Get("f.method"))),
		Path:        strings.TrimSpace(values.Get("f.path")),
		ContentType: strings.TrimSpace(values.Get("f.content_type")),
		Body:        []byte(values.Get("f.body")),
	}
	if len(bytes.TrimSpace(in.Body)) == 0 {
		in.Body = nil
	}
	keys, vals := values["f.headers.k"], values["f.headers.v"]
	for i, k := range keys {
		if k = strings.TrimSpace(k); k != "" && i < len(vals) {
			if in.Headers == nil {
				in.Headers = map[string]string{}
			}
			in.Headers[k] = vals[i]
		}
	}
	if in.Body == nil {
		in.ContentType = "" // nothing to describe
	}
	v.Fields = invokeFields(in)
	if in.ContentType == "" {
		v.Fields[2].Value = strings.TrimSpace(values.Get("f.content_type"))
	}
	pg := p.pageInfo(c, "Invoke "+v.Service.Name, "services")
	res, err := p.host.Invoke(c.Request().Context(), callerOf(c), v.Conn, v.Service.ID, in)
	if err != nil {
		v.Problem = p.userError(c, err)
		if v.Problem.Code == pluginapi.CodeInvalid {
			v.Other = form.PlaceErrors(v.Fields, v.Problem)
		}
		return render(c, statusFor(v.Problem.Code), InvokePage(pg, v))
	}
	v.Result = resultView(res)
	return render(c, http.StatusOK, InvokePage(pg, v))
}

func resultView(res *ops.InvokeResult) *InvokeResultView {
	r := &InvokeResultView{Status: res.Status, ContentType: res.ContentType, DurationMS: res.DurationMS, Size: len(res.Body)}
	for k, v := range res.Headers {
		r.Headers = append(r.Headers, KV{k, v})
	}
	sort.Slice(r.Headers, func(i, j int) bool { return r.Headers[i].Key < r.Headers[j].Key })
	body := res.Body
	isJSON := strings.Contains(strings.ToLower(res.ContentType), "json") ||
		(res.ContentType == "" && len(bytes.TrimSpace(body)) > 0 && json.Valid(body))
	switch {
	case isJSON && json.Valid(body):
		r.JSON = true
		r.Body = prettyJSON(body)
	case !utf8.Valid(body):
		r.Binary = true
	default:
		r.Body = string(body)
	}
	if len(r.Body) > maxShownBody {
		r.Body = strings.ToValidUTF8(r.Body[:maxShownBody], "")
		r.Truncated = true
	}
	return r
}

// statusClass colors an HTTP status like a service status.
func statusClass(code int) string {
	switch {
	case code >= 200 && code < 300:
		return "badge st-running"
	case code >= 300 && code < 400:
		return "badge st-pending"
	}
	return "badge st-failed"
}
