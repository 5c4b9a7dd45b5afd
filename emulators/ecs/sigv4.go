package ecsemu

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// authHeader is the parsed Authorization header of a SigV4 request.
type authHeader struct {
	accessKey     string
	date          string // yyyymmdd of the credential scope
	region        string
	service       string
	signedHeaders []string
	signature     string
}

// parseAuthorization splits "AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/ecs/aws4_request,
// SignedHeaders=host;x-amz-date, Signature=abc". ok is false when the header is malformed.
func parseAuthorization(h string) (a authHeader, ok bool) {
	rest, found := strings.CutPrefix(h, "AWS4-HMAC-SHA256 ")
	if !found {
		return a, false
	}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			scope := strings.Split(v, "/")
			if len(scope) != 5 || scope[4] != "aws4_request" {
				return a, false
			}
			a.accessKey, a.date, a.region, a.service = scope[0], scope[1], scope[2], scope[3]
		case "SignedHeaders":
			a.signedHeaders = strings.Split(v, ";")
		case "Signature":
			a.signature = v
		}
	}
	return a, a.accessKey != "" && len(a.signedHeaders) > 0 && a.signature != ""
}

// verify checks the SigV4 signature of r (whose body is body) for the
// service signing name want. It recomputes the signature with the official
// signer over the headers the client said it signed, the way AWS does, and
// answers the AWS error a real endpoint would give.
func (s *Server) verify(r *http.Request, body []byte, want string) (*Credential, *apiError) {
	raw := r.Header.Get("Authorization")
	if raw == "" {
		return nil, &apiError{Type: "com.amazon.coral.service#MissingAuthenticationTokenException", Message: "Missing Authentication Token", Status: 400}
	}
	a, ok := parseAuthorization(raw)
	if !ok {
		return nil, &apiError{Type: "com.amazon.coral.service#IncompleteSignatureException",
			Message: "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.", Status: 400}
	}
	var cred *Credential
	for i := range s.opts.Credentials {
		if s.opts.Credentials[i].AccessKeyID == a.accessKey {
			cred = &s.opts.Credentials[i]
		}
	}
	token := r.Header.Get("X-Amz-Security-Token")
	if cred == nil || token != cred.SessionToken {
		return nil, &apiError{Type: "com.amazon.coral.service#UnrecognizedClientException",
			Message: "The security token included in the request is invalid.", Status: 400}
	}
	if a.region != s.opts.Region {
		return nil, &apiError{Type: "com.amazon.coral.service#InvalidSignatureException",
			Message: "Credential should be scoped to a valid region.", Status: 400}
	}
	if a.service != want {
		return nil, &apiError{Type: "com.amazon.coral.service#InvalidSignatureException",
			Message: "Credential should be scoped to correct service: '" + want + "'.", Status: 400}
	}
	amzDate := r.Header.Get("X-Amz-Date")
	signingTime, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil || signingTime.Format("20060102") != a.date {
		return nil, &apiError{Type: "com.amazon.coral.service#IncompleteSignatureException",
			Message: "Date must be in ISO-8601 'basic format' and match the credential scope.", Status: 400}
	}

	// Rebuild the request with exactly the signed headers and sign it again.
	u := &url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	re, err := http.NewRequestWithContext(context.Background(), r.Method, u.String(), nil)
	if err != nil {
		return nil, &apiError{Type: "com.amazon.coral.service#InvalidSignatureException", Message: "bad request target", Status: 400}
	}
	re.Host = r.Host
	for _, name := range a.signedHeaders {
		switch name {
		case "host":
		case "content-length":
			re.ContentLength = r.ContentLength
		default:
			re.Header[http.CanonicalHeaderKey(name)] = r.Header.Values(name)
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: cred.AccessKeyID, SecretAccessKey: cred.SecretAccessKey, SessionToken: cred.SessionToken}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, re, hex.EncodeToString(sum[:]), a.service, a.region, signingTime); err != nil {
		return nil, &apiError{Type: "com.amazon.coral.service#InvalidSignatureException", Message: err.Error(), Status: 400}
	}
	mine, _ := parseAuthorization(re.Header.Get("Authorization"))
	if !hmac.Equal([]byte(mine.signature), []byte(a.signature)) {
		return nil, &apiError{Type: "com.amazon.coral.service#InvalidSignatureException",
			Message: "The request signature we calculated does not match the signature you provided. " +
				"Check your AWS Secret Access Key and signing method. Consult the service documentation for details.", Status: 400}
	}
	return cred, nil
}
