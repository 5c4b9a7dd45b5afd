// Package httpguard holds the checks a request to a Wharf host passes before
// any face (REST API, portal) sees it, and the limits on who may hold the
// host's connections:
//
//   - Host allow-list (hosts.go): only the names the host serves are
//     answered, so a DNS-rebinding page cannot reach it under its own name.
//   - Same-origin check (origin.go): a request whose Origin or
//     Sec-Fetch-Site says it comes from another site is refused before
//     anything runs, unless that origin is configured as allowed.
//   - Body rules (body.go): accepted content types and byte caps, checked
//     before any body is read or parsed.
//   - Client addresses (clientip.go): from the socket, or from
//     X-Forwarded-For only when the peer is a configured trusted proxy.
//   - Failed authentications (authlimit.go): rate limited per client address
//     in bounded memory, and logged.
//   - Connections (listener.go): a cap in total and per client address.
//
// host/server installs a Guard on its echo instance (Guard.Install), so
// every face mounted there is covered; embedders get the safe defaults
// (loopback names only, no cross-site requests, no trusted proxies).
package httpguard
