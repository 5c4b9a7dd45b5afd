// Package pluginapi is the contract between the Wharf host and its provider
// plugins: ABI version 1.
//
// Who uses it: the host (to encode requests and decode answers) and authors
// of Go provider plugins (usually through the helper in
// [github.com/wharfhq/wharf/pluginapi/plugin]). Authors in other languages
// read ABI.md in this folder, which describes the same messages as JSON.
//
// Where to start: [DescribeResponse] says what a plugin is; [Service] is the
// normalized service every operation returns; [Error] is how every failure
// travels; [HTTPRequest] is how a plugin reaches its platform through the host.
//
// This package uses the standard library only.
package pluginapi
