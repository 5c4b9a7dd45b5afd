package web

// tokensDocURL is the README's section on tokens and sign-in, linked from
// the open-mode banner.
const tokensDocURL = "https://github.com/wharfhq/wharf#identity-and-access"

// Page is what the shared layout needs to draw the frame of every page.
type Page struct {
	Title string
	// Nav names the highlighted menu entry: services, audit, plugins,
	// account, access, webhooks.
	Nav   string
	Actor string
	Role  string
	// Open is true when the host runs without tokens (everyone is admin).
	Open  bool
	CSRF  string
	Flash string
}
