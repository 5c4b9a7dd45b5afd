package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

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

// A host mounted under a path of an internal developer platform's own
// server: links, redirects, cookies and websockets of both faces carry the
// prefix, and the platform keeps every other path.
func ExampleServer_Handler_pathPrefix() {
	data, _ := os.MkdirTemp("", "wharf-example-")
	defer os.RemoveAll(data)
	log := slog.New(slog.DiscardHandler)

	srv, err := server.New(context.Background(), server.Config{
		DataDir:    data,
		PathPrefix: "/platform/wharf",
		Faces:      []server.Face{api.Face(api.Options{Logger: log}), web.Face(web.Options{Logger: log})},
		Logger:     log,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close(context.Background())

	mux := http.NewServeMux()
	mux.Handle(srv.BasePath()+"/", srv.Handler())
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "the platform's own page") })

	for _, path := range []string{"/platform/wharf/api/v1/healthz", "/platform/wharf/", "/catalog"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080"+path, nil))
		fmt.Println(strings.TrimSpace(fmt.Sprint(path, " ", rec.Code, " ", rec.Header().Get("Location"))))
	}
	// Output:
	// /platform/wharf/api/v1/healthz 200
	// /platform/wharf/ 302 /platform/wharf/services
	// /catalog 200
}
