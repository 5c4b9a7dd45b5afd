package web

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/wharfhq/wharf/host/webhooks"
)

// The webhooks page (owners): each outgoing webhook, its counters and its
// latest deliveries, and a button that sends a ping. host/webhooks checks
// the owner role.

// webhookRows is how many deliveries the page shows per webhook.
const webhookRows = 10

func (p *portal) webhookRoutes(e *echo.Echo, page []echo.MiddlewareFunc) {
	e.GET("/webhooks", p.webhooksPage, page...)
	e.POST("/webhooks/:name/test", p.webhookTest, page...)
}

// webhooksOf is opts.Webhooks, else the host's event sink when it is the
// webhooks service (host/server's wiring); nil means none.
func webhooksOf(opts Options, sink any) *webhooks.Service {
	if opts.Webhooks != nil {
		return opts.Webhooks
	}
	wh, _ := sink.(*webhooks.Service)
	return wh
}

func (p *portal) webhooksPage(c echo.Context) error {
	ctx, caller := c.Request().Context(), callerOf(c)
	views, err := p.webhooks.List(caller)
	if err != nil {
		return p.renderError(c, err)
	}
	hooks := make([]WebhookView, 0, len(views))
	for _, v := range views {
		ds, err := p.webhooks.Deliveries(ctx, caller, v.Name, webhookRows)
		if err != nil {
			return p.renderError(c, err)
		}
		hooks = append(hooks, WebhookView{View: v, Deliveries: ds})
	}
	return render(c, http.StatusOK, WebhooksPage(p.pageInfo(c, "Webhooks", "webhooks"), hooks))
}

func (p *portal) webhookTest(c echo.Context) error {
	name := param(c, "name")
	d, err := p.webhooks.Test(c.Request().Context(), callerOf(c), name)
	if err != nil {
		return p.renderError(c, err)
	}
	msg := fmt.Sprintf("Ping sent to %s: %s.", name, d.Status)
	if d.HTTPStatus != 0 {
		msg = fmt.Sprintf("Ping sent to %s: %s (answer %d).", name, d.Status, d.HTTPStatus)
	}
	if d.Error != "" {
		msg += " " + d.Error
	}
	return p.redirect(c, "/webhooks", msg)
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }
