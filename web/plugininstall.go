package web

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
)

// csrfCookie is the cookie echo's CSRF middleware keeps the token in.
const csrfCookie = "wharf_csrf"

// Caps of the upload's small parts.
const (
	maxCSRFPart      = 256
	maxSignaturePart = 64 << 10
	maxManifestPart  = 1 << 20
)

func (p *portal) uploadMiB() int {
	if p.opts.PluginUploadMiB > 0 {
		return p.opts.PluginUploadMiB
	}
	return 64
}

// pluginInstall takes the plugins page's upload form (owners). It streams
// the multipart body, which is capped as a whole: the CSRF token must be
// the first part and match the cookie, or nothing else is read; the files
// are read into memory up to their caps (no temporary files), then given
// to the facade, which checks the plugin before it touches the folder.
func (p *portal) pluginInstall(c echo.Context) error {
	r := c.Request()
	mt, params, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return p.renderMessage(c, http.StatusUnsupportedMediaType, "Not an upload", "This address takes the plugin upload form only.")
	}
	limit := int64(p.uploadMiB())<<20 + maxSignaturePart + maxManifestPart + 64<<10
	mr := multipart.NewReader(http.MaxBytesReader(c.Response(), r.Body, limit), params["boundary"])

	first, err := mr.NextPart()
	if err != nil || first.FormName() != csrfField {
		return p.formExpired(c)
	}
	token, err := readPart(first, maxCSRFPart)
	ck, cerr := r.Cookie(csrfCookie)
	if err != nil || cerr != nil || ck.Value == "" || subtle.ConstantTimeCompare(token, []byte(ck.Value)) != 1 {
		return p.formExpired(c)
	}

	var up ops.PluginUpload
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return p.uploadError(c, err)
		}
		switch part.FormName() {
		case "plugin":
			up.Wasm, err = readPart(part, int64(p.uploadMiB())<<20)
		case "signature":
			up.Signature, err = readPart(part, maxSignaturePart)
		case "manifest":
			up.Manifest, err = readPart(part, maxManifestPart)
		default:
			err = pluginapi.Invalid("/"+part.FormName(), "the upload form has no field %q", part.FormName())
		}
		if err != nil {
			return p.uploadError(c, err)
		}
	}
	ch, err := p.host.InstallPlugin(r.Context(), callerOf(c), up)
	if err != nil {
		return p.renderError(c, err)
	}
	msg := fmt.Sprintf("Plugin %s %s: version %s now serves.", ch.Plugin, ch.Change, ch.NewVersion)
	if len(ch.Hosts) > 0 {
		msg += " It declares hosts beyond its connections' endpoints; each connection reaches them only once an administrator approves them."
	}
	return p.redirect(c, "/plugins/"+ch.Plugin, msg)
}

// readPart reads a part of at most max bytes.
func readPart(part *multipart.Part, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(part, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, &tooLarge{field: part.FormName(), max: max}
	}
	return b, nil
}

type tooLarge struct {
	field string
	max   int64
}

func (e *tooLarge) Error() string {
	return fmt.Sprintf("the %s file is larger than the %d bytes allowed", e.field, e.max)
}

func (p *portal) uploadError(c echo.Context, err error) error {
	var big *tooLarge
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &big):
		return p.renderMessage(c, http.StatusRequestEntityTooLarge, "Upload too large", big.Error()+".")
	case errors.As(err, &maxErr):
		return p.renderMessage(c, http.StatusRequestEntityTooLarge, "Upload too large", fmt.Sprintf("The upload is larger than the %d MiB this host takes.", p.uploadMiB()))
	}
	var pe *pluginapi.Error
	if errors.As(err, &pe) {
		return p.renderError(c, pe)
	}
	return p.renderMessage(c, http.StatusBadRequest, "Upload not read", "The upload could not be read: "+err.Error())
}

func (p *portal) formExpired(c echo.Context) error {
	return p.renderMessage(c, http.StatusForbidden, "Form expired",
		"This form was not accepted because its security token is missing or out of date. Go back, reload the page and try again.")
}
