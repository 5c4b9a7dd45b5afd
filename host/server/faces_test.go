package server_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/wharfhq/wharf/host/api"
	"github.com/wharfhq/wharf/host/auth"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/server"
)

// An embedder's own face is mounted beside the built-in ones, in order, on
// the same echo and with the same operations facade; a face that fails
// makes New fail with its error.
func TestCustomFaces(t *testing.T) {
	var order []string
	var seen *ops.Host
	custom := func(e *echo.Echo, h *ops.Host, _ *auth.Authenticator) error {
		order = append(order, "custom")
		seen = h
		e.GET("/custom/open", func(c echo.Context) error {
			return c.JSON(http.StatusOK, map[string]bool{"open": h.Open()})
		})
		return nil
	}
	apiFace := api.Face(api.Options{})
	srv, err := server.New(context.Background(), server.Config{
		DataDir: t.TempDir(),
		Faces: []server.Face{
			func(e *echo.Echo, h *ops.Host, a *auth.Authenticator) error {
				order = append(order, "api")
				return apiFace(e, h, a)
			},
			custom,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())
	if strings.Join(order, ",") != "api,custom" {
		t.Fatalf("faces mounted in order %v, want api,custom", order)
	}
	if seen != srv.Host {
		t.Fatal("the custom face got another facade than the server's Host")
	}
	for path, want := range map[string]string{"/custom/open": `{"open":true}`, "/api/v1/healthz": `"status":"ok"`} {
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080"+path, nil))
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("GET %s: %d %s, want 200 with %s", path, rec.Code, rec.Body, want)
		}
	}

	boom := errors.New("the face cannot mount")
	_, err = server.New(context.Background(), server.Config{
		DataDir: t.TempDir(),
		Faces:   []server.Face{func(*echo.Echo, *ops.Host, *auth.Authenticator) error { return boom }},
	})
	if !errors.Is(err, boom) {
		t.Fatalf("New with a failing face: %v, want its error", err)
	}
}
