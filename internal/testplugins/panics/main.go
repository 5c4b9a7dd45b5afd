//go:build wasip1

// Command panics is a test plugin written directly on go-pdk, without the
// recover of pluginapi/plugin: "describe" works, "get" panics with Message,
// which traps the whole module. Other operations echo their input.
package main

import (
	"encoding/json"

	"github.com/extism/go-pdk"
	"github.com/wharfhq/wharf/pluginapi"
)

// Message is the panic text the host must report.
const Message = "testplugins/panics: deliberate panic in get"

//go:wasmexport describe
func describe() int32 {
	b, err := json.Marshal(pluginapi.DescribeResponse{
		Name:         "panics",
		Version:      "0.0.1",
		ABIVersion:   pluginapi.ABIVersion,
		Title:        "Panicking test plugin",
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

//go:wasmexport get
func get() int32 { panic(Message) }

//go:wasmexport create
func create() int32 { return echo() }

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

func main() {}
