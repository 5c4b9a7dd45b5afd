// Package mirror names the host the hostile test plugin declares: tests
// serve a header-reflecting server there. It is a fixed address because a
// plugin's describe cannot learn a test server's port.
package mirror

// Host is the host:port the hostile plugin declares in describe.hosts.
const Host = "127.0.0.1:39217"
