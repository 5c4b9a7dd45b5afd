package api

import (
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/wharfhq/wharf/host/logfanout"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
)

// logs answers one batch of entries, or with follow=true streams NDJSON:
// one object per line, {"entry": {...}}, {"skipped": N} when this client
// fell behind and lines were dropped, or {"error": {...}} (a transient
// upstream error; the stream goes on; or the reason it ends). With until
// the stream ends once every entry up to until has been sent.
func (s *server) logs(c echo.Context) error {
	var o ops.LogsOptions
	var err error
	if o.Since, err = queryTime(c, "since"); err != nil {
		return err
	}
	if o.Until, err = queryTime(c, "until"); err != nil {
		return err
	}
	if o.Tail, err = queryInt(c, "tail"); err != nil {
		return err
	}
	if o.Limit, err = queryInt(c, "limit"); err != nil {
		return err
	}
	for name, dst := range map[string]*bool{"stdout": &o.Stdout, "stderr": &o.Stderr, "details": &o.Details} {
		if *dst, err = queryBool(c, name); err != nil {
			return err
		}
	}
	follow, err := queryBool(c, "follow")
	if err != nil {
		return err
	}
	o.Cursor, o.Instance, o.Before = c.QueryParam("cursor"), c.QueryParam("instance"), c.QueryParam("before")
	ctx, caller := c.Request().Context(), CallerOf(c)
	if !follow {
		out, err := s.h.Logs(ctx, caller, c.Param("conn"), c.Param("id"), o)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, out)
	}
	if o.Cursor != "" {
		return pluginapi.Invalid("", "query parameter cursor cannot be combined with follow; use tail or since")
	}
	if o.Before != "" {
		return pluginapi.Invalid("/before", "query parameter before (page back) cannot be combined with follow")
	}
	sub, err := s.h.FollowLogs(ctx, caller, c.Param("conn"), c.Param("id"), logfanout.Options{
		Tail: o.Tail, Since: o.Since, Until: o.Until, Stdout: o.Stdout, Stderr: o.Stderr, Details: o.Details, Instance: o.Instance})
	if err != nil {
		return err
	}
	defer sub.Close()
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, "application/x-ndjson")
	res.Header().Set("Cache-Control", "no-store")
	res.Header().Set("X-Accel-Buffering", "no") // ask proxies not to buffer the stream
	res.WriteHeader(http.StatusOK)
	res.Flush()
	enc := json.NewEncoder(res)
	for batch := range sub.C {
		for _, it := range batch {
			if err := enc.Encode(it); err != nil {
				return nil // the client went away
			}
		}
		res.Flush()
	}
	if err := sub.Err(); err != nil {
		_ = enc.Encode(logfanout.Item{Error: pluginapi.AsError(err)})
		res.Flush()
	}
	return nil
}
