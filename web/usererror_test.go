package web

import (
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
)

func TestUserError(t *testing.T) {
	p := &portal{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	c := echo.New().NewContext(httptest.NewRequest("GET", "/services", nil), httptest.NewRecorder())
	tests := []struct {
		name       string
		err        error
		want, hide string
	}{
		{"plugin's internal error", &pluginapi.Error{Code: pluginapi.CodeInternal, Message: "panic: index out of range",
			Detail: map[string]any{ops.PluginDetail: "ecs"}}, "The ecs plugin failed: panic: index out of range", ""},
		{"host's internal error", &pluginapi.Error{Code: pluginapi.CodeInternal, Message: "database is locked"},
			"Something went wrong on our side", "database"},
		{"plain error", errors.New("open /var/lib/wharf/x: permission denied"), "Something went wrong on our side", "/var/lib"},
		{"refusal", pluginapi.NotFound("service %q not found", "x"), `service "x" not found`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := p.userError(c, tt.err).Message
			if !strings.Contains(got, tt.want) || (tt.hide != "" && strings.Contains(got, tt.hide)) {
				t.Errorf("message %q", got)
			}
		})
	}
}
