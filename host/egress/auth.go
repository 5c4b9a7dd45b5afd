package egress

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"golang.org/x/net/http/httpguts"

	"github.com/wharfhq/wharf/pluginapi"
)

// authPlan is a request's credentials, read from the connection's secrets.
// A nil plan adds nothing.
type authPlan struct {
	scheme string
	header string // header set by bearer, basic and header schemes
	value  string
	creds  aws.Credentials
	region string
	svc    string
}

// Headers the AWS signer sets; a plugin's own values are dropped.
var awsHeaders = []string{"X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-Sha256"}

// credentials checks a plugin's Auth and reads the secrets it names.
func (h *Handler) credentials(a *pluginapi.Auth) (*authPlan, *pluginapi.Error) {
	if a == nil {
		return nil, nil
	}
	p := &authPlan{scheme: a.Scheme}
	var perr *pluginapi.Error
	switch a.Scheme {
	case pluginapi.AuthBearer:
		p.header = "Authorization"
		p.value, perr = h.secret(a.Secret, "secret", true)
		p.value = "Bearer " + p.value
	case pluginapi.AuthBasic:
		var pw string
		if pw, perr = h.secret(a.Secret, "secret", true); perr == nil {
			p.header = "Authorization"
			p.value = "Basic " + base64.StdEncoding.EncodeToString([]byte(a.Username+":"+pw))
		}
	case pluginapi.AuthHeader:
		if !httpguts.ValidHeaderFieldName(a.Header) || strings.EqualFold(a.Header, "Host") {
			return nil, pluginapi.Errorf(pluginapi.CodeInvalid, "auth header %q is not a valid header name", a.Header)
		}
		var tok string
		if tok, perr = h.secret(a.Secret, "secret", true); perr == nil {
			p.header = http.CanonicalHeaderKey(a.Header)
			p.value = a.Prefix + tok
		}
	case pluginapi.AuthAWSSigV4:
		if a.Service == "" || a.Region == "" {
			return nil, pluginapi.Errorf(pluginapi.CodeInvalid, "aws-sigv4 auth needs service and region")
		}
		p.svc, p.region = a.Service, a.Region
		if p.creds.AccessKeyID, perr = h.secret(a.AccessKey, "access_key", true); perr != nil {
			return nil, perr
		}
		if p.creds.SecretAccessKey, perr = h.secret(a.Secret, "secret", true); perr != nil {
			return nil, perr
		}
		if a.SessionToken != "" {
			p.creds.SessionToken, perr = h.secret(a.SessionToken, "session_token", false)
		}
	default:
		return nil, pluginapi.Errorf(pluginapi.CodeInvalid, "unknown auth scheme %q (known: %s, %s, %s, %s)", a.Scheme,
			pluginapi.AuthBearer, pluginapi.AuthBasic, pluginapi.AuthHeader, pluginapi.AuthAWSSigV4)
	}
	if perr != nil {
		return nil, perr
	}
	if p.header != "" && !httpguts.ValidHeaderFieldValue(p.value) {
		return nil, pluginapi.Errorf(pluginapi.CodeInvalid, "secret %s of connection %s (or the auth prefix) holds characters not allowed in a header", a.Secret, h.t.Connection)
	}
	return p, nil
}

// secret reads the config property prop, which must be a secret field; role
// names the Auth field for messages. A missing optional secret is "".
func (h *Handler) secret(prop, role string, required bool) (string, *pluginapi.Error) {
	if prop == "" {
		return "", pluginapi.Errorf(pluginapi.CodeInvalid, "auth %s must name a secret config property", role)
	}
	if !slices.Contains(h.t.SecretFields, prop) {
		// A plugin may only draw on properties its schema marks secret, so it
		// cannot send arbitrary config to a host it chooses.
		return "", pluginapi.Errorf(pluginapi.CodeInvalid, "auth %s %q is not a secret field of connection %s (secret fields: %s)",
			role, prop, h.t.Connection, listOrNone(h.t.SecretFields))
	}
	v, ok := h.t.Config[prop]
	s, isString := v.(string)
	if !ok || v == nil || (isString && s == "") {
		if !required {
			return "", nil
		}
		return "", pluginapi.Errorf(pluginapi.CodeUnauthorized, "connection %s has no value for secret %s", h.t.Connection, prop)
	}
	if !isString {
		return "", &pluginapi.Error{Code: pluginapi.CodeInvalid, Field: "/" + prop,
			Message: fmt.Sprintf("secret %s of connection %s must be a string", prop, h.t.Connection)}
	}
	return s, nil
}

// setHeaders copies the plugin's headers, dropping those the host owns.
func setHeaders(r *http.Request, headers map[string]string, auth *authPlan) *pluginapi.Error {
	for k, v := range headers {
		if !httpguts.ValidHeaderFieldName(k) || !httpguts.ValidHeaderFieldValue(v) {
			return pluginapi.Errorf(pluginapi.CodeInvalid, "header %q is not a valid HTTP header", k)
		}
		switch ck := http.CanonicalHeaderKey(k); {
		case ck == "Host" || ck == "Content-Length":
			continue // the host sets these from the URL and body
		case auth != nil && auth.owns(ck):
			continue
		default:
			r.Header.Set(ck, v)
		}
	}
	return nil
}

// owns reports whether the plan sets header ck, so the plugin may not.
func (p *authPlan) owns(ck string) bool {
	if ck == "Authorization" || ck == p.header {
		return true
	}
	return p.scheme == pluginapi.AuthAWSSigV4 && slices.Contains(awsHeaders, ck)
}

// apply adds the credentials to r; body is what r sends.
func (p *authPlan) apply(ctx context.Context, r *http.Request, body []byte) error {
	if p == nil {
		return nil
	}
	if p.scheme != pluginapi.AuthAWSSigV4 {
		r.Header.Set(p.header, p.value)
		return nil
	}
	for _, k := range awsHeaders {
		r.Header.Del(k)
	}
	r.Header.Del("Authorization")
	sum := sha256.Sum256(body)
	// A fresh signer per request: the SDK's signer caches derived keys by
	// access key id alone, so a shared one would sign for a connection with a
	// wrong secret using another connection's right one.
	return v4.NewSigner().SignHTTP(ctx, p.creds, r, hex.EncodeToString(sum[:]), p.svc, p.region, time.Now())
}

// strip removes credentials from a request that leaves the original host.
func (p *authPlan) strip(h http.Header) {
	for _, k := range []string{"Authorization", "Proxy-Authorization", "Cookie"} {
		h.Del(k)
	}
	if p == nil {
		return
	}
	if p.header != "" {
		h.Del(p.header)
	}
	if p.scheme == pluginapi.AuthAWSSigV4 {
		for _, k := range awsHeaders {
			h.Del(k)
		}
	}
}
