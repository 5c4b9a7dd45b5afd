package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"

	"github.com/wharfhq/wharf/client"
	"github.com/wharfhq/wharf/host/api"
	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/server"
	"github.com/wharfhq/wharf/pluginapi"
)

// Typical use: a client of a host, calls grouped by resource, the host's
// own types in and out, and its structured errors.
func Example() {
	// A host to talk to (here an empty one in this process; usually
	// "https://wharf.example.com" and a token from WHARF_TOKEN).
	data, _ := os.MkdirTemp("", "wharf-client-example-")
	defer os.RemoveAll(data)
	log := slog.New(slog.DiscardHandler)
	srv, err := server.New(context.Background(), server.Config{DataDir: data, Logger: log,
		Faces: []server.Face{api.Face(api.Options{Logger: log})}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close(context.Background())
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()

	c, err := client.New(hs.URL, client.WithToken(os.Getenv("WHARF_TOKEN")), client.WithActor("example"))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()

	h, err := c.Health(ctx)
	fmt.Println("health:", h.Status, "open:", h.Open, err)

	conns, _ := c.Connections.List(ctx)
	fmt.Println("connections:", len(conns))

	// Errors are the API's *pluginapi.Error, with the request id the
	// host logged and audited the call under.
	_, err = c.Services.Create(ctx, "prod", json.RawMessage(`{"name":"web","image":"nginx:1"}`))
	var e *pluginapi.Error
	if errors.As(err, &e) {
		fmt.Println("error code:", e.Code, "request id given:", client.RequestIDOf(err) != "")
	}

	// Lists take the facade's options; pages say how to go on.
	page, _ := c.Audit.List(ctx, audit.Filter{Actor: "example", Limit: 10})
	for _, en := range page.Entries {
		fmt.Println("audited:", en.Operation, en.Outcome)
	}
	_, err = c.Services.List(ctx, "prod", ops.ListOptions{PageSize: 20})
	fmt.Println("list:", pluginapi.CodeOf(err))
	// Output:
	// health: ok open: true <nil>
	// connections: 0
	// error code: not_found request id given: true
	// audited: service.create error
	// list: not_found
}
