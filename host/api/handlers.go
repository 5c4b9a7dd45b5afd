package api

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/host/httpguard"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
)

func (s *server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{"status": "ok", "open": s.h.Open()})
}

func (s *server) listPlugins(c echo.Context) error {
	out, err := s.h.ListPlugins(c.Request().Context(), CallerOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"plugins": out, "problems": s.h.PluginProblems(c.Request().Context(), CallerOf(c))})
}

// MIMEWasm is the type of a plugin upload's body.
const MIMEWasm = "application/wasm"

// Headers of a plugin upload carrying the files that go beside the module.
const (
	HeaderPluginSignature = "X-Wharf-Plugin-Signature"
	HeaderPluginManifest  = "X-Wharf-Plugin-Manifest"
)

func (s *server) installPlugin(c echo.Context) error {
	wasm, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err // the body limit's 413, or the client gone
	}
	up := ops.PluginUpload{Wasm: wasm}
	if up.Signature, err = base64Header(c, HeaderPluginSignature); err != nil {
		return err
	}
	if up.Manifest, err = base64Header(c, HeaderPluginManifest); err != nil {
		return err
	}
	out, err := s.h.InstallPlugin(c.Request().Context(), CallerOf(c), up)
	if err != nil {
		return err
	}
	if out.Change == "installed" {
		c.Response().Header().Set("Location", httpguard.BasePath(c.Request().Context())+Prefix+"/plugins/"+out.Plugin)
		return c.JSON(http.StatusCreated, out)
	}
	return c.JSON(http.StatusOK, out)
}

// base64Header decodes an optional base64 header.
func base64Header(c echo.Context, name string) ([]byte, error) {
	v := strings.TrimSpace(c.Request().Header.Get(name))
	if v == "" {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, pluginapi.Invalid("/headers/"+name, "header %s is not base64: %v", name, err)
	}
	return b, nil
}

func (s *server) getPlugin(c echo.Context) error {
	out, err := s.h.GetPlugin(c.Request().Context(), CallerOf(c), c.Param("name"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *server) listConnections(c echo.Context) error {
	out, err := s.h.ListConnections(c.Request().Context(), CallerOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"connections": out})
}

func (s *server) createConnection(c echo.Context) error {
	var in ops.ConnectionInput
	if err := decodeStrict(c, &in); err != nil {
		return err
	}
	out, err := s.h.CreateConnection(c.Request().Context(), CallerOf(c), in)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", httpguard.BasePath(c.Request().Context())+Prefix+"/connections/"+out.Name)
	return c.JSON(http.StatusCreated, out)
}

func (s *server) getConnection(c echo.Context) error {
	out, err := s.h.GetConnection(c.Request().Context(), CallerOf(c), c.Param("conn"))
	if err != nil {
		return err
	}
	c.Response().Header().Set("ETag", etag(strconv.FormatInt(out.Version, 10)))
	return c.JSON(http.StatusOK, out)
}

// connVersion reads the expected connection version from If-Match or ?version=.
func connVersion(c echo.Context) (int64, error) {
	v := ifMatch(c)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, pluginapi.Invalid("/version", "version %q is not a connection version", v)
	}
	return n, nil
}

func (s *server) updateConnection(c echo.Context) error {
	var in ops.ConnectionInput
	if err := decodeStrict(c, &in); err != nil {
		return err
	}
	if in.Name != "" && in.Name != c.Param("conn") {
		return pluginapi.Invalid("/name", "the body names connection %q but the URL %q; a connection cannot be renamed", in.Name, c.Param("conn"))
	}
	v, err := connVersion(c)
	if err != nil {
		return err
	}
	if v != 0 {
		in.Version = v
	}
	out, err := s.h.UpdateConnection(c.Request().Context(), CallerOf(c), c.Param("conn"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *server) patchConnection(c echo.Context) error {
	patch, err := rawJSON(c, nil)
	if err != nil {
		return err
	}
	v, err := connVersion(c)
	if err != nil {
		return err
	}
	out, err := s.h.PatchConnection(c.Request().Context(), CallerOf(c), c.Param("conn"), patch, v)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *server) deleteConnection(c echo.Context) error {
	if err := s.h.DeleteConnection(c.Request().Context(), CallerOf(c), c.Param("conn")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *server) testConnection(c echo.Context) error {
	out, err := s.h.TestConnection(c.Request().Context(), CallerOf(c), c.Param("conn"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *server) listAllServices(c echo.Context) error {
	size, err := queryInt(c, "page_size")
	if err != nil {
		return err
	}
	desc, err := queryDir(c)
	if err != nil {
		return err
	}
	opts := ops.ListAllOptions{Name: c.QueryParam("name"), Plugins: queryList(c, "plugin"),
		Connections: queryList(c, "connection"), PageSize: size, PageToken: c.QueryParam("page_token"),
		Sort: c.QueryParam("sort"), Desc: desc}
	for _, st := range queryList(c, "status") {
		opts.Statuses = append(opts.Statuses, pluginapi.Status(st))
	}
	out, err := s.h.ListAllServices(c.Request().Context(), CallerOf(c), opts)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *server) listServices(c echo.Context) error {
	size, err := queryInt(c, "page_size")
	if err != nil {
		return err
	}
	filters, err := filtersOf(c, []string{"page_size", "page_token"})
	if err != nil {
		return err
	}
	out, err := s.h.ListServices(c.Request().Context(), CallerOf(c), c.Param("conn"),
		ops.ListOptions{Filters: filters, PageSize: size, PageToken: c.QueryParam("page_token")})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *server) createService(c echo.Context) error {
	spec, err := rawJSON(c, nil)
	if err != nil {
		return err
	}
	out, err := s.h.CreateService(c.Request().Context(), CallerOf(c), c.Param("conn"), spec)
	if err != nil {
		return err
	}
	if out.Service != nil {
		c.Response().Header().Set("Location", httpguard.BasePath(c.Request().Context())+Prefix+"/connections/"+c.Param("conn")+"/services/"+out.Service.ID)
	}
	return c.JSON(http.StatusCreated, out)
}

func (s *server) getService(c echo.Context) error {
	defaults, err := queryBool(c, "insert_defaults")
	if err != nil {
		return err
	}
	out, err := s.h.GetServiceWith(c.Request().Context(), CallerOf(c), c.Param("conn"), c.Param("id"), ops.GetOptions{InsertDefaults: defaults})
	if err != nil {
		return err
	}
	if out.Version != "" {
		c.Response().Header().Set("ETag", etag(out.Version))
	}
	return c.JSON(http.StatusOK, out)
}

func (s *server) updateService(c echo.Context) error {
	spec, err := rawJSON(c, nil)
	if err != nil {
		return err
	}
	out, err := s.h.UpdateService(c.Request().Context(), CallerOf(c), c.Param("conn"), c.Param("id"), spec, ifMatch(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *server) patchService(c echo.Context) error {
	patch, err := rawJSON(c, nil)
	if err != nil {
		return err
	}
	out, err := s.h.PatchService(c.Request().Context(), CallerOf(c), c.Param("conn"), c.Param("id"), patch, ifMatch(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *server) deleteService(c echo.Context) error {
	force, err := queryBool(c, "force")
	if err != nil {
		return err
	}
	out, err := s.h.DeleteService(c.Request().Context(), CallerOf(c), c.Param("conn"), c.Param("id"), force)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *server) runAction(c echo.Context) error {
	params, err := rawJSON(c, json.RawMessage{})
	if err != nil {
		return err
	}
	out, err := s.h.RunAction(c.Request().Context(), CallerOf(c), c.Param("conn"), c.Param("id"), c.Param("action"), params)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *server) listInstances(c echo.Context) error {
	filters, err := filtersOf(c, nil)
	if err != nil {
		return err
	}
	out, err := s.h.ListInstancesWith(c.Request().Context(), CallerOf(c), c.Param("conn"), c.Param("id"), ops.InstancesOptions{Filters: filters})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"instances": out})
}

// listConnectionInstances lists the instances of every service of a
// connection, or of the services named by service=.
func (s *server) listConnectionInstances(c echo.Context) error {
	size, err := queryInt(c, "page_size")
	if err != nil {
		return err
	}
	filters, err := filtersOf(c, []string{"service", "page_size", "page_token"})
	if err != nil {
		return err
	}
	out, err := s.h.ListConnectionInstances(c.Request().Context(), CallerOf(c), c.Param("conn"), ops.ConnectionInstancesOptions{
		Services: queryList(c, "service"), Filters: filters, PageSize: size, PageToken: c.QueryParam("page_token")})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *server) getInstance(c echo.Context) error {
	out, err := s.h.GetInstance(c.Request().Context(), CallerOf(c), c.Param("conn"), c.Param("id"), c.Param("iid"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *server) listDeployments(c echo.Context) error {
	size, err := queryInt(c, "page_size")
	if err != nil {
		return err
	}
	after, err := queryTime(c, "created_after")
	if err != nil {
		return err
	}
	before, err := queryTime(c, "created_before")
	if err != nil {
		return err
	}
	out, err := s.h.ListDeployments(c.Request().Context(), CallerOf(c), c.Param("conn"), c.Param("id"), ops.DeploymentsOptions{
		Status: queryList(c, "status"), CreatedAfter: after, CreatedBefore: before, PageSize: size, PageToken: c.QueryParam("page_token")})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *server) getDeployment(c echo.Context) error {
	out, err := s.h.GetDeployment(c.Request().Context(), CallerOf(c), c.Param("conn"), c.Param("id"), c.Param("did"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *server) timeline(c echo.Context) error {
	limit, err := queryInt(c, "limit")
	if err != nil {
		return err
	}
	out, err := s.h.Timeline(c.Request().Context(), CallerOf(c), c.Param("conn"), c.Param("id"), ops.TimelineOptions{Limit: limit})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *server) invoke(c echo.Context) error {
	var in ops.InvokeInput
	b, err := readBody(c, invokeLimits)
	if err != nil {
		return err
	}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &in); err != nil {
			return pluginapi.Invalid("", "the request body is not a valid invoke request: %v", err)
		}
	}
	out, err := s.h.Invoke(c.Request().Context(), CallerOf(c), c.Param("conn"), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// auditFilter reads the audit query parameters.
func auditFilter(c echo.Context) (audit.Filter, error) {
	var f audit.Filter
	since, err := queryTime(c, "since")
	if err != nil {
		return f, err
	}
	until, err := queryTime(c, "until")
	if err != nil {
		return f, err
	}
	if since != nil {
		f.Since = *since
	}
	if until != nil {
		f.Until = *until
	}
	if f.Limit, err = queryInt(c, "limit"); err != nil {
		return f, err
	}
	before, err := queryInt(c, "before")
	if err != nil {
		return f, err
	}
	f.BeforeID = int64(before)
	f.Actor, f.Connection, f.Target = c.QueryParam("actor"), c.QueryParam("connection"), c.QueryParam("target")
	f.Operation, f.Outcome = c.QueryParam("operation"), c.QueryParam("outcome")
	if f.Outcome != "" && !slices.Contains(audit.Outcomes, f.Outcome) {
		return f, pluginapi.Invalid("", "query parameter outcome must be one of %s, not %q", strings.Join(audit.Outcomes, ", "), f.Outcome)
	}
	return f, nil
}

func (s *server) queryAudit(c echo.Context) error {
	f, err := auditFilter(c)
	if err != nil {
		return err
	}
	out, err := s.h.QueryAudit(c.Request().Context(), CallerOf(c), f)
	if err != nil {
		return err
	}
	body := map[string]any{"entries": out}
	limit := f.Limit
	if limit == 0 {
		limit = audit.DefaultLimit
	}
	if len(out) > 0 && len(out) >= min(limit, audit.MaxLimit) {
		body["next_before"] = out[len(out)-1].ID
	}
	return c.JSON(http.StatusOK, body)
}

func (s *server) exportAudit(c echo.Context) error {
	f, err := auditFilter(c)
	if err != nil {
		return err
	}
	format := c.QueryParam("format")
	if format == "" {
		format = "jsonl"
	}
	var ctype string
	switch format {
	case "jsonl", audit.FormatChain:
		ctype = "application/x-ndjson"
	case "csv":
		ctype = "text/csv; charset=utf-8"
	default:
		return pluginapi.Invalid("", "query parameter format must be jsonl, csv or chain, not %q", format)
	}
	if format == audit.FormatChain && f != (audit.Filter{}) {
		return pluginapi.Invalid("", "the chain export is the whole log, for verification: it takes no filters")
	}
	caller := CallerOf(c)
	// Refuse before the status line goes out.
	if format == audit.FormatChain && !caller.Owner() {
		return pluginapi.Errorf(pluginapi.CodeForbidden, "exporting the whole audit chain needs the owner role; %s is not an owner", caller.Actor)
	}
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, ctype)
	res.Header().Set(echo.HeaderContentDisposition, `attachment; filename="wharf-audit.`+format+`"`)
	res.WriteHeader(http.StatusOK)
	if err := s.h.ExportAudit(c.Request().Context(), caller, f, format, res); err != nil {
		// The status is sent: all we can do is log and cut the stream.
		s.log.Error("audit export failed mid-stream", "request_id", RequestIDOf(c), "err", err)
	}
	return nil
}

func (s *server) verifyAudit(c echo.Context) error {
	out, err := s.h.VerifyAudit(c.Request().Context(), CallerOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}
