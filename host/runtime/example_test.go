package runtime_test

import (
	"context"
	"fmt"
	"time"

	"github.com/wharfhq/wharf/host/egress"
	"github.com/wharfhq/wharf/host/runtime"
)

// Loading a provider plugin and calling it directly, without the
// operations facade (which adds validation, audit and the connection
// store). The egress handler is the plugin's only way to the network: it
// reaches the connection's endpoint and adds its credentials itself.
func ExampleRuntime_Load() {
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{CacheDir: "/var/cache/wharf", CallTimeout: 10 * time.Second,
		MaxTotalMemoryBytes: 512 << 20})
	if err != nil {
		panic(err)
	}
	defer rt.Close(ctx)

	p, err := rt.Load(ctx, "/usr/lib/wharf/plugins/docker.wasm")
	if err != nil {
		fmt.Println("not loaded:", err) // a malformed file is refused with a clear error
		return
	}
	http := egress.New(egress.Options{}).For(egress.Target{Connection: "local",
		Config: map[string]any{"host": "unix:///var/run/docker.sock"}, EndpointFields: []string{"host"}})
	// The key ("local") is the connection: one connection never holds the
	// whole instance pool, so a hung platform slows only its own calls.
	out, err := p.CallFor(ctx, "local", "get", []byte(`{"connection":"local","config":{"host":"unix:///var/run/docker.sock"},"id":"web"}`), http)
	fmt.Println(string(out), err)
}
