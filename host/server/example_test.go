package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/wharfhq/wharf/host/api"
	"github.com/wharfhq/wharf/host/server"
	"github.com/wharfhq/wharf/web"
)

// A whole host embedded in another Go program: the REST API and the portal
// on one handler, plugins from a folder, state in a data folder. Serve the
// handler with http.ListenAndServe on a loopback address, or behind your
// gateway with PublicURL and TrustedProxies set.
func ExampleNew() {
	data, _ := os.MkdirTemp("", "wharf-example-")
	defer os.RemoveAll(data)
	log := slog.New(slog.DiscardHandler)

	srv, err := server.New(context.Background(), server.Config{
		DataDir:    data,
		PluginsDir: "", // e.g. "/usr/lib/wharf/plugins"
		Faces:      []server.Face{api.Face(api.Options{Logger: log}), web.Face(web.Options{Logger: log})},
		Logger:     log,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close(context.Background())

	// What http.ListenAndServe("127.0.0.1:8080", srv.Handler()) would answer.
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080/api/v1/healthz", nil))
	fmt.Println(rec.Code, "open mode:", srv.Host.Open())
	// Output: 200 open mode: true
}
