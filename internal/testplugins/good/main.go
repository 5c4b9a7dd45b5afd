//go:build wasip1

// Command good is a well-behaved test plugin written directly on go-pdk.
// Every required operation answers with its input unchanged; "invoke" asks
// the host for a URL through wharf_http and answers with the host's
// HTTPResponse exactly as received.
package main

import (
	"encoding/json"

	"github.com/extism/go-pdk"
	"github.com/wharfhq/wharf/pluginapi"
)

//go:wasmimport extism:host/user wharf_http
func wharfHTTP(uint64) uint64

//go:wasmexport describe
func describe() int32 {
	b, err := json.Marshal(pluginapi.DescribeResponse{
		Name:         "good",
		Version:      "1.2.3",
		ABIVersion:   pluginapi.ABIVersion,
		Title:        "Good test plugin",
		ConfigSchema: json.RawMessage(`{"type":"object"}`),
		SpecSchema:   json.RawMessage(`{"type":"object"}`),
		Operations:   append(append([]string(nil), pluginapi.RequiredOperations...), pluginapi.OpInvoke),
		Hosts:        []string{"example.com"},
	})
	if err != nil {
		panic(err)
	}
	pdk.Output(b)
	return 0
}

func echo() int32 {
	pdk.Output(pdk.Input())
	return 0
}

//go:wasmexport create
func create() int32 { return echo() }

//go:wasmexport get
func get() int32 { return echo() }

//go:wasmexport update
func update() int32 { return echo() }

//go:wasmexport delete
func delete_() int32 { return echo() }

//go:wasmexport list
func list() int32 { return echo() }

//go:wasmexport logs
func logs() int32 { return echo() }

//go:wasmexport lifecycle
func lifecycle() int32 { return echo() }

// fetch is the input of invoke: the URL to GET, or Raw bytes to hand to the
// host function unchanged (to test how the host treats garbage).
type fetch struct {
	URL string `json:"url"`
	Raw string `json:"raw"`
}

//go:wasmexport invoke
func invoke() int32 {
	var in fetch
	if err := json.Unmarshal(pdk.Input(), &in); err != nil {
		pdk.OutputString(`{"error":{"code":"invalid","message":"bad invoke input"}}`)
		return 0
	}
	req := []byte(in.Raw)
	if in.Raw == "" {
		var err error
		if req, err = json.Marshal(pluginapi.HTTPRequest{Method: "GET", URL: in.URL}); err != nil {
			panic(err)
		}
	}
	mem := pdk.AllocateBytes(req)
	defer mem.Free()
	out := pdk.FindMemory(wharfHTTP(mem.Offset()))
	defer out.Free()
	pdk.Output(out.ReadBytes())
	return 0
}

func main() {}
