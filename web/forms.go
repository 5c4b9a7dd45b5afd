package web

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/wharfhq/wharf/host/jsonlimit"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/schema"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/web/form"
)

// FormView is a create or edit form generated from a spec schema.
type FormView struct {
	Conn        string
	Plugin      ops.PluginInfo
	Service     *pluginapi.Service // nil on create
	Version     string
	Fields      []form.Field
	Problem     *pluginapi.Error
	Other       []string // errors that belong to no field
	Connections []ops.Connection
	Note        string
	// Choices are the suggestions of fields annotated "x-choices".
	Choices []form.ChoiceList
}

// DiffRow is one changed leaf of a spec: Path is its JSON pointer, Label
// its name as the form shows it; Before and After are plain values.
type DiffRow struct {
	Path, Label, Before, After, Kind string // Kind: added, removed, changed
}

func (p *portal) specSchema(ctx context.Context, caller ops.Caller, conn string) (ops.PluginInfo, *schema.Schema, error) {
	pl, err := p.pluginOf(ctx, caller, conn)
	if err != nil {
		return pl, nil, err
	}
	s, err := form.Compile(pl.Describe.SpecSchema)
	return pl, s, err
}

// createForm asks for a connection (when there are several), then draws
// the plugin's spec form.
func (p *portal) createForm(c echo.Context) error {
	ctx := c.Request().Context()
	caller := callerOf(c)
	conn := c.QueryParam("connection")
	if conn == "" {
		conns, err := p.host.ListConnections(ctx, caller)
		if err != nil {
			return p.renderError(c, err)
		}
		if len(conns) != 1 {
			return render(c, http.StatusOK, ChooseConnectionPage(p.pageInfo(c, "New service", "services"), conns))
		}
		conn = conns[0].Name
	}
	pl, s, err := p.specSchema(ctx, caller, conn)
	if err != nil {
		return p.renderError(c, err)
	}
	v := FormView{Conn: conn, Plugin: pl, Fields: form.Build(s.Properties(), form.Defaults(s.Properties()), nil)}
	return p.renderForm(c, http.StatusOK, p.pageInfo(c, "New service", "services"), &v)
}

// createSubmit validates and creates; problems are shown at their field.
func (p *portal) createSubmit(c echo.Context) error {
	ctx := c.Request().Context()
	caller := callerOf(c)
	conn := c.FormValue("connection")
	pl, s, err := p.specSchema(ctx, caller, conn)
	if err != nil {
		return p.renderError(c, err)
	}
	values, _ := c.FormParams()
	doc, ferrs := form.Parse(s.Properties(), values)
	v := FormView{Conn: conn, Plugin: pl, Fields: form.Build(s.Properties(), doc, ferrs)}
	pg := p.pageInfo(c, "New service", "services")
	if len(ferrs) > 0 {
		v.Problem = &pluginapi.Error{Code: pluginapi.CodeInvalid, Message: "Some fields need attention."}
		return p.renderForm(c, statusFor(pluginapi.CodeInvalid), pg, &v)
	}
	res, err := p.host.CreateService(ctx, caller, conn, form.Encode(doc))
	if err != nil {
		v.Problem = p.userError(c, err)
		if form.AtFields(v.Problem) {
			v.Other = form.PlaceErrors(v.Fields, v.Problem)
		}
		return p.renderForm(c, statusFor(v.Problem.Code), pg, &v)
	}
	id, name := "", ""
	if res.Service != nil {
		id, name = res.Service.ID, res.Service.Name
	}
	if id == "" {
		id, _ = doc["name"].(string)
		name = id
	}
	if id == "" {
		return p.redirect(c, "/services", "Service created.")
	}
	return p.redirect(c, servicePath(conn, id), "Service "+name+" created.")
}

// editForm draws the spec form filled with the service's current spec.
func (p *portal) editForm(c echo.Context) error {
	ctx := c.Request().Context()
	caller := callerOf(c)
	conn, id := param(c, "conn"), param(c, "id")
	svc, err := p.host.GetService(ctx, caller, conn, id)
	if err != nil {
		return p.renderError(c, err)
	}
	pl, s, err := p.specSchema(ctx, caller, conn)
	if err != nil {
		return p.renderError(c, err)
	}
	v := FormView{Conn: conn, Plugin: pl, Service: svc, Version: svc.Version,
		Fields: form.Build(s.Properties(), form.Decode(svc.Spec), nil)}
	return p.renderForm(c, http.StatusOK, p.pageInfo(c, "Edit "+svc.Name, "services"), &v)
}

// editPreview validates the edited spec and shows what will change.
func (p *portal) editPreview(c echo.Context) error {
	ctx := c.Request().Context()
	caller := callerOf(c)
	conn, id := param(c, "conn"), param(c, "id")
	svc, err := p.host.GetService(ctx, caller, conn, id)
	if err != nil {
		return p.renderError(c, err)
	}
	pl, s, err := p.specSchema(ctx, caller, conn)
	if err != nil {
		return p.renderError(c, err)
	}
	pg := p.pageInfo(c, "Edit "+svc.Name, "services")
	version := c.FormValue("version")
	var doc map[string]any
	var ferrs map[string][]string
	if raw := c.FormValue("spec_json"); raw != "" { // "keep editing" from the preview
		if err := jsonlimit.Body.Check([]byte(raw)); err != nil {
			return p.renderError(c, pluginapi.Invalid("", "the spec is refused: %v", err))
		}
		doc = form.Decode(json.RawMessage(raw))
	} else {
		values, _ := c.FormParams()
		doc, ferrs = form.Parse(s.Properties(), values)
	}
	v := FormView{Conn: conn, Plugin: pl, Service: svc, Version: version, Fields: form.Build(s.Properties(), doc, ferrs)}
	if c.FormValue("spec_json") != "" {
		return p.renderForm(c, http.StatusOK, pg, &v)
	}
	if len(ferrs) > 0 {
		v.Problem = &pluginapi.Error{Code: pluginapi.CodeInvalid, Message: "Some fields need attention."}
		return p.renderForm(c, statusFor(pluginapi.CodeInvalid), pg, &v)
	}
	spec := form.Encode(doc)
	if err := p.host.ValidateSpec(ctx, caller, conn, spec); err != nil {
		v.Problem = p.userError(c, err)
		if v.Problem.Code == pluginapi.CodeInvalid {
			v.Other = form.PlaceErrors(v.Fields, v.Problem)
		}
		return p.renderForm(c, statusFor(v.Problem.Code), pg, &v)
	}
	rows := diffDocs(svc.Spec, spec, v.Fields)
	if len(rows) == 0 {
		v.Note = "Nothing would change: the form matches the current spec."
		return p.renderForm(c, http.StatusOK, pg, &v)
	}
	stale := version != "" && svc.Version != "" && version != svc.Version
	return render(c, http.StatusOK, PreviewPage(pg, conn, svc, rows, string(spec), version, stale))
}

// editApply applies a previewed spec, based on the version the edit started
// from: a concurrent change is reported, never overwritten.
func (p *portal) editApply(c echo.Context) error {
	ctx := c.Request().Context()
	caller := callerOf(c)
	conn, id := param(c, "conn"), param(c, "id")
	spec := json.RawMessage(c.FormValue("spec_json"))
	version := c.FormValue("version")
	if _, err := p.host.UpdateService(ctx, caller, conn, id, spec, version); err != nil {
		pe := p.userError(c, err)
		if pe.Code == pluginapi.CodeConflict {
			svc, gerr := p.host.GetService(ctx, caller, conn, id)
			if gerr != nil {
				return p.renderError(c, gerr)
			}
			var rows []DiffRow
			if svc != nil {
				var fields []form.Field
				if _, s, err := p.specSchema(ctx, caller, conn); err == nil {
					fields = form.Build(s.Properties(), form.Decode(spec), nil)
				}
				rows = diffDocs(svc.Spec, spec, fields)
			}
			return render(c, http.StatusConflict, ConflictPage(p.pageInfo(c, "Changed meanwhile", "services"), conn, svc, pe, rows))
		}
		if pe.Code == pluginapi.CodeInvalid {
			svc, gerr := p.host.GetService(ctx, caller, conn, id)
			pl, s, serr := p.specSchema(ctx, caller, conn)
			if gerr == nil && serr == nil {
				v := FormView{Conn: conn, Plugin: pl, Service: svc, Version: version,
					Fields: form.Build(s.Properties(), form.Decode(spec), nil), Problem: pe}
				v.Other = form.PlaceErrors(v.Fields, pe)
				return p.renderForm(c, statusFor(pluginapi.CodeInvalid), p.pageInfo(c, "Edit "+svc.Name, "services"), &v)
			}
		}
		return render(c, statusFor(pe.Code), ErrorPage(p.pageInfo(c, "Update failed", "services"), pe))
	}
	return p.redirect(c, servicePath(conn, id), "Update requested.")
}

// renderForm draws a spec form, with the suggestions of its fields.
func (p *portal) renderForm(c echo.Context, status int, pg Page, v *FormView) error {
	p.fillChoices(c.Request().Context(), callerOf(c), v)
	return render(c, status, ServiceFormPage(pg, *v))
}

// diffDocs lists the leaves that differ between two JSON objects, by JSON
// pointer, named as fields names them. Arrays are compared whole.
func diffDocs(before, after json.RawMessage, fields []form.Field) []DiffRow {
	a, b := map[string]string{}, map[string]string{}
	flatten("", form.Decode(before), a)
	flatten("", form.Decode(after), b)
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var rows []DiffRow
	for k := range keys {
		x, inA := a[k]
		y, inB := b[k]
		switch {
		case !inA:
			rows = append(rows, DiffRow{Path: k, After: y, Kind: "added"})
		case !inB:
			rows = append(rows, DiffRow{Path: k, Before: x, Kind: "removed"})
		case x != y:
			rows = append(rows, DiffRow{Path: k, Before: x, After: y, Kind: "changed"})
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Path < rows[j].Path })
	for i := range rows {
		r := &rows[i]
		r.Label = form.Label(fields, r.Path)
		if r.Kind != "added" {
			r.Before = form.Plain(r.Before)
		}
		if r.Kind != "removed" {
			r.After = form.Plain(r.After)
		}
	}
	return rows
}

func flatten(prefix string, v any, out map[string]string) {
	if m, ok := v.(map[string]any); ok && (len(m) > 0 || prefix == "") {
		for k, x := range m {
			k = strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
			flatten(prefix+"/"+k, x, out)
		}
		return
	}
	b, _ := json.Marshal(v)
	out[prefix] = string(b)
}
