//go:build wasip1

// Command missingops is a test plugin written directly on go-pdk that lacks
// the required "logs" export although its describe claims every required
// operation: the host must refuse to load it.
package main

import (
	"encoding/json"

	"github.com/extism/go-pdk"
	"github.com/wharfhq/wharf/pluginapi"
)

//go:wasmexport describe
func describe() int32 {
	b, err := json.Marshal(pluginapi.DescribeResponse{
		Name:         "missingops",
		Version:      "0.0.1",
		ABIVersion:   pluginapi.ABIVersion,
		Title:        "Test plugin without logs",
		ConfigSchema: json.RawMessage(`{"type":"object"}`),
		SpecSchema:   json.RawMessage(`{"type":"object"}`),
		Operations:   pluginapi.RequiredOperations,
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

//go:wasmexport lifecycle
func lifecycle() int32 { return echo() }

func main() {}
