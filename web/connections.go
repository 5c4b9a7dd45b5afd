package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/schema"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/web/form"
)

// PluginsView is the plugins and connections page's model.
type PluginsView struct {
	Plugins     []ops.PluginInfo
	Problems    []ops.PluginProblem
	Connections []ops.Connection
	IsAdmin     bool
	// IsOwner shows the install form; UploadMiB is its cap.
	IsOwner   bool
	UploadMiB int
}

// ConnFormView is the add or edit form of a connection.
type ConnFormView struct {
	Plugin    ops.PluginInfo
	Plugins   []ops.PluginInfo
	Edit      bool
	Name      string
	NameError string
	Version   int64
	Fields    []form.Field
	Problem   *pluginapi.Error
	Other     []string
	// Approved are the plugin's declared hosts approved for the connection
	// (checkboxes of Plugin.Hosts).
	Approved []string
	// KeepSecrets is the edit form's "keep the secrets" checkbox.
	KeepSecrets bool
	// Endpoints are the connection's effective endpoints (edit only).
	Endpoints []ops.EndpointView
}

// approvalsOf reads the approved host checkboxes: never nil, so that
// unchecking every box removes every approval.
func approvalsOf(c echo.Context) []string {
	values, _ := c.FormParams()
	return append([]string{}, values["approved_host"]...)
}

// pluginsPage lists plugins and connections.
func (p *portal) pluginsPage(c echo.Context) error {
	ctx := c.Request().Context()
	caller := callerOf(c)
	plugins, err := p.host.ListPlugins(ctx, caller)
	if err != nil {
		return p.renderError(c, err)
	}
	conns, err := p.host.ListConnections(ctx, caller)
	if err != nil {
		return p.renderError(c, err)
	}
	v := PluginsView{Plugins: plugins, Problems: p.host.PluginProblems(ctx, caller), Connections: conns,
		IsAdmin: can(c, ops.RoleAdmin), IsOwner: can(c, ops.RoleOwner), UploadMiB: p.uploadMiB()}
	return render(c, http.StatusOK, PluginsPage(p.pageInfo(c, "Plugins & connections", "plugins"), v))
}

// pluginDetail describes one plugin: operations, actions, schemas.
func (p *portal) pluginDetail(c echo.Context) error {
	pl, err := p.host.GetPlugin(c.Request().Context(), callerOf(c), param(c, "name"))
	if err != nil {
		return p.renderError(c, err)
	}
	var cfg, spec []schema.Property
	if s, err := form.Compile(pl.Describe.ConfigSchema); err == nil {
		cfg = s.Properties()
	}
	if s, err := form.Compile(pl.Describe.SpecSchema); err == nil {
		spec = s.Properties()
	}
	return render(c, http.StatusOK, PluginPage(p.pageInfo(c, pl.Describe.Title, "plugins"), pl, cfg, spec, can(c, ops.RoleAdmin)))
}

// connectionForm draws the config form of a plugin (or asks which plugin).
func (p *portal) connectionForm(c echo.Context) error {
	ctx := c.Request().Context()
	caller := callerOf(c)
	pg := p.pageInfo(c, "New connection", "plugins")
	name := c.QueryParam("plugin")
	if name == "" {
		plugins, err := p.host.ListPlugins(ctx, caller)
		if err != nil {
			return p.renderError(c, err)
		}
		return render(c, http.StatusOK, ConnectionFormPage(pg, ConnFormView{Plugins: plugins}))
	}
	pl, err := p.host.GetPlugin(ctx, caller, name)
	if err != nil {
		return p.renderError(c, err)
	}
	s, err := form.Compile(pl.Describe.ConfigSchema)
	if err != nil {
		return p.renderError(c, err)
	}
	v := ConnFormView{Plugin: pl, Fields: form.Build(s.Properties(), form.Defaults(s.Properties()), nil)}
	return render(c, http.StatusOK, ConnectionFormPage(pg, v))
}

// connectionCreate stores a new connection.
func (p *portal) connectionCreate(c echo.Context) error {
	ctx := c.Request().Context()
	caller := callerOf(c)
	pl, err := p.host.GetPlugin(ctx, caller, c.FormValue("plugin"))
	if err != nil {
		return p.renderError(c, err)
	}
	s, err := form.Compile(pl.Describe.ConfigSchema)
	if err != nil {
		return p.renderError(c, err)
	}
	values, _ := c.FormParams()
	doc, ferrs := form.Parse(s.Properties(), values)
	v := ConnFormView{Plugin: pl, Name: strings.TrimSpace(c.FormValue("name")), Fields: form.Build(s.Properties(), doc, ferrs), Approved: approvalsOf(c)}
	pg := p.pageInfo(c, "New connection", "plugins")
	if v.Name == "" {
		v.NameError = "give the connection a name"
	}
	if len(ferrs) > 0 || v.NameError != "" {
		v.Problem = &pluginapi.Error{Code: pluginapi.CodeInvalid, Message: "Some fields need attention."}
		return render(c, statusFor(pluginapi.CodeInvalid), ConnectionFormPage(pg, v))
	}
	if _, err := p.host.CreateConnection(ctx, caller, ops.ConnectionInput{Name: v.Name, Plugin: pl.Name, Config: form.Encode(doc), ApprovedHosts: v.Approved}); err != nil {
		return p.connProblem(c, pg, v, err)
	}
	return p.redirect(c, "/plugins", "Connection "+v.Name+" added. Use Test to check it.")
}

// connProblem re-draws a connection form with err placed at its fields.
func (p *portal) connProblem(c echo.Context, pg Page, v ConnFormView, err error) error {
	v.Problem = p.userError(c, err)
	if form.AtFields(v.Problem) {
		if v.Problem.Field == "/name" {
			v.NameError = v.Problem.Message
		}
		rest := form.PlaceErrors(v.Fields, form.Under(v.Problem, "/config"))
		for _, r := range rest {
			if r == v.NameError {
				continue
			}
			if strings.Contains(strings.ToLower(r), "name") && v.NameError == "" {
				v.NameError = r
			} else {
				v.Other = append(v.Other, r)
			}
		}
	}
	return render(c, statusFor(v.Problem.Code), ConnectionFormPage(pg, v))
}

// connectionEditForm draws a connection's config; secrets show only "set".
func (p *portal) connectionEditForm(c echo.Context) error {
	ctx := c.Request().Context()
	caller := callerOf(c)
	cn, err := p.host.GetConnection(ctx, caller, param(c, "name"))
	if err != nil {
		return p.renderError(c, err)
	}
	pl, err := p.host.GetPlugin(ctx, caller, cn.Plugin)
	if err != nil {
		return p.renderError(c, err)
	}
	s, err := form.Compile(pl.Describe.ConfigSchema)
	if err != nil {
		return p.renderError(c, err)
	}
	v := ConnFormView{Plugin: pl, Edit: true, Name: cn.Name, Version: cn.Version, Approved: cn.ApprovedHosts, Endpoints: cn.Endpoints,
		Fields: markSecrets(form.Build(s.Properties(), form.Decode(cn.Config), nil), cn.SecretsSet)}
	return render(c, http.StatusOK, ConnectionFormPage(p.pageInfo(c, "Edit "+cn.Name, "plugins"), v))
}

func markSecrets(fields []form.Field, set []string) []form.Field {
	for i := range fields {
		for _, s := range set {
			if fields[i].Name == s {
				fields[i].SecretSet = true
			}
		}
	}
	return fields
}

// connectionUpdate replaces the config; an empty secret keeps its value.
func (p *portal) connectionUpdate(c echo.Context) error {
	ctx := c.Request().Context()
	caller := callerOf(c)
	cn, err := p.host.GetConnection(ctx, caller, param(c, "name"))
	if err != nil {
		return p.renderError(c, err)
	}
	pl, err := p.host.GetPlugin(ctx, caller, cn.Plugin)
	if err != nil {
		return p.renderError(c, err)
	}
	s, err := form.Compile(pl.Describe.ConfigSchema)
	if err != nil {
		return p.renderError(c, err)
	}
	values, _ := c.FormParams()
	doc, ferrs := form.Parse(s.Properties(), values)
	version, _ := strconv.ParseInt(c.FormValue("version"), 10, 64)
	v := ConnFormView{Plugin: pl, Edit: true, Name: cn.Name, Version: version, Approved: approvalsOf(c), Endpoints: cn.Endpoints,
		KeepSecrets: c.FormValue("keep_secrets") == "yes", Fields: markSecrets(form.Build(s.Properties(), doc, ferrs), cn.SecretsSet)}
	pg := p.pageInfo(c, "Edit "+cn.Name, "plugins")
	if len(ferrs) > 0 {
		v.Problem = &pluginapi.Error{Code: pluginapi.CodeInvalid, Message: "Some fields need attention."}
		return render(c, statusFor(pluginapi.CodeInvalid), ConnectionFormPage(pg, v))
	}
	saved, err := p.host.UpdateConnection(ctx, caller, cn.Name, ops.ConnectionInput{Name: cn.Name, Plugin: cn.Plugin, Config: form.Encode(doc), Version: version,
		ApprovedHosts: v.Approved, KeepSecrets: v.KeepSecrets})
	if err != nil {
		if pluginapi.AsError(err).Code == pluginapi.CodeConflict {
			v.Problem = &pluginapi.Error{Code: pluginapi.CodeConflict,
				Message: "Someone changed this connection after you opened the form; your change was not saved. Reload the form to start from the latest config."}
			return render(c, http.StatusConflict, ConnectionFormPage(pg, v))
		}
		return p.connProblem(c, pg, v, err)
	}
	if len(saved.SecretsDropped) > 0 {
		return p.redirect(c, "/plugins", "Connection "+cn.Name+" saved. An endpoint changed, so its stored secrets were dropped ("+
			strings.Join(saved.SecretsDropped, ", ")+"): edit the connection to enter them again.")
	}
	return p.redirect(c, "/plugins", "Connection "+cn.Name+" saved.")
}

// connectionTest makes one small call through the connection.
func (p *portal) connectionTest(c echo.Context) error {
	name := param(c, "name")
	res, err := p.host.TestConnection(c.Request().Context(), callerOf(c), name)
	if err != nil {
		return p.renderError(c, err)
	}
	if res.OK {
		return p.redirect(c, "/plugins", fmt.Sprintf("Connection %s works (answered in %d ms).", name, res.DurationMS))
	}
	msg := "unknown error"
	if res.Error != nil {
		msg = p.userErrorQuiet(res.Error).Message
		msg = string(res.Error.Code) + ": " + msg
	}
	return p.redirect(c, "/plugins", fmt.Sprintf("Connection %s failed its test — %s", name, msg))
}

// connectionDelete deletes a connection after a confirmation page.
func (p *portal) connectionDelete(c echo.Context) error {
	name := param(c, "name")
	if c.FormValue("confirm") != "yes" {
		return render(c, http.StatusOK, ConfirmConnDeletePage(p.pageInfo(c, "Delete "+name, "plugins"), name))
	}
	if err := p.host.DeleteConnection(c.Request().Context(), callerOf(c), name); err != nil {
		return p.renderError(c, err)
	}
	return p.redirect(c, "/plugins", "Connection "+name+" deleted. Its services still run on the platform.")
}
