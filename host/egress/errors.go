package egress

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io/fs"
	"net"
	"net/url"
	"syscall"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
)

// transportError classifies a failure to get an answer. Messages name the
// destination by its safe name and the cause from the network layer, never
// the full URL (which the url.Error around it would print).
func (h *Handler) transportError(err error, parent, callCtx context.Context, dest *destination, timeout time.Duration) *pluginapi.Error {
	var pe *pluginapi.Error
	if errors.As(err, &pe) { // from checkRedirect
		return pe
	}
	var netErr net.Error
	switch {
	case parent.Err() != nil && errors.Is(parent.Err(), context.DeadlineExceeded):
		return pluginapi.Errorf(pluginapi.CodeTimeout, "the call's deadline passed while waiting for %s", dest.name)
	case parent.Err() != nil:
		return pluginapi.Errorf(pluginapi.CodeUnavailable, "the request to %s was cancelled", dest.name)
	case callCtx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		return pluginapi.Errorf(pluginapi.CodeTimeout, "%s did not answer within %s", dest.name, timeout)
	}

	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	switch {
	case errors.As(err, &dnsErr):
		return pluginapi.Errorf(pluginapi.CodeUnavailable, "cannot reach %s: cannot resolve %s: %s", dest.name, dnsErr.Name, dnsErr.Err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return pluginapi.Errorf(pluginapi.CodeUnavailable, "cannot reach %s: connection refused", dest.name)
	case dest.socket != "" && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOENT)):
		return pluginapi.Errorf(pluginapi.CodeUnavailable, "cannot reach %s: socket %s does not exist", dest.name, dest.socket)
	case errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &hostErr):
		e := pluginapi.Errorf(pluginapi.CodeUnavailable, "cannot reach %s: its TLS certificate is not trusted: %v", dest.name, innermost(err))
		e.Retryable = false // retrying will not change the certificate
		return e
	}
	return pluginapi.Errorf(pluginapi.CodeUnavailable, "cannot reach %s: %v", dest.name, innermost(err))
}

// innermost drops the url.Error wrapper, whose text holds the whole URL.
func innermost(err error) error {
	var uerr *url.Error
	for errors.As(err, &uerr) {
		err = uerr.Err
	}
	return err
}
