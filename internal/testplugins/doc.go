// Package testplugins holds small Wharf plugins that the runtime tests load
// as real wasm: one that behaves and several that misbehave on purpose
// (panic, loop, allocate without end or fill what it allocates, speak
// another ABI, lack an export, reach a refused host), one that calls the Extism host functions one by
// one (abi), one with a spec of secrets and members its schema lacks for
// the portal's views (specfixture), one doing a real plugin's JSON work for benchmarks
// (roundtrip) and the Go build of the Rust example provider, for benchmark figure 11
// (runqgo). Each lives in its own main package; build one in
// a test with internal/wasmbuild:
//
//	path := wasmbuild.Build(t, "./internal/testplugins/panics")
//
// The plugins named good, panics, missingops and abi are written directly on
// go-pdk exports, so a panic really traps the module instead of being
// recovered by pluginapi/plugin; they only build for GOOS=wasip1. The others
// use pluginapi/plugin with the shared base provider.
package testplugins
