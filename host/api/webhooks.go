package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/wharfhq/wharf/host/webhooks"
)

// registerWebhooks mounts the outgoing webhooks' views (owners only; the
// service checks). A host without webhooks lists none.
func (s *server) registerWebhooks(g *echo.Group) {
	g.GET("/webhooks", s.listWebhooks)
	g.GET("/webhooks/:name/deliveries", s.webhookDeliveries)
	g.POST("/webhooks/:name/test", s.testWebhook)
}

func (s *server) listWebhooks(c echo.Context) error {
	vs, err := s.webhooks.List(CallerOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"webhooks": vs})
}

func (s *server) webhookDeliveries(c echo.Context) error {
	limit, err := queryInt(c, "limit")
	if err != nil {
		return err
	}
	ds, err := s.webhooks.Deliveries(c.Request().Context(), CallerOf(c), c.Param("name"), limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"deliveries": ds})
}

func (s *server) testWebhook(c echo.Context) error {
	d, err := s.webhooks.Test(c.Request().Context(), CallerOf(c), c.Param("name"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

// webhooksOf is opts.Webhooks, else the host's event sink if it is the
// webhooks service (host/server wires it so); nil means none.
func webhooksOf(opts Options, sink any) *webhooks.Service {
	if opts.Webhooks != nil {
		return opts.Webhooks
	}
	wh, _ := sink.(*webhooks.Service)
	return wh
}
