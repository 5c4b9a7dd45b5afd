package egress

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/wharfhq/wharf/pluginapi"
)

// Secret values used below; none may appear in a response, error or log.
const (
	tokenValue     = "tok-7f3a9c1e-secret"
	passwordValue  = "pw-91b2-secret"
	accessKeyValue = "AKIDWHARFTEST00001"
	awsSecretValue = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY-secret"
	sessionValue   = "FwoGZXIvYXdzEJr-session-secret"
)

var secretValues = []string{tokenValue, passwordValue, accessKeyValue, awsSecretValue, sessionValue}

func authTarget(endpoint string) Target {
	return Target{
		Connection: "c1",
		Config: map[string]any{
			"endpoint":      endpoint,
			"token":         tokenValue,
			"password":      passwordValue,
			"access_key":    accessKeyValue,
			"secret_key":    awsSecretValue,
			"session_token": sessionValue,
			"empty":         "",
			"region":        "us-east-1",
		},
		SecretFields:   []string{"token", "password", "access_key", "secret_key", "session_token", "empty", "unset"},
		EndpointFields: []string{"endpoint"},
	}
}

// noLeak fails if any secret value appears in v's JSON or in the logs.
func noLeak(t *testing.T, v any, logs *logBuffer) {
	t.Helper()
	b, _ := json.Marshal(v)
	for _, s := range secretValues {
		if strings.Contains(string(b), s) {
			t.Errorf("secret %q leaked in %s", s, b)
		}
		if strings.Contains(logs.String(), s) {
			t.Errorf("secret %q leaked in the log", s)
		}
	}
}

func TestAuthSchemes(t *testing.T) {
	rec := newRecorder(t, nil)
	c, logs := newClient(t, Options{})
	h := c.For(authTarget(rec.URL))
	cases := []struct {
		name   string
		auth   pluginapi.Auth
		header string
		want   string
	}{
		{"bearer", pluginapi.Auth{Scheme: pluginapi.AuthBearer, Secret: "token"}, "Authorization", "Bearer " + tokenValue},
		// base64("admin:pw-91b2-secret")
		{"basic", pluginapi.Auth{Scheme: pluginapi.AuthBasic, Username: "admin", Secret: "password"}, "Authorization", "Basic YWRtaW46cHctOTFiMi1zZWNyZXQ="},
		{"header with prefix", pluginapi.Auth{Scheme: pluginapi.AuthHeader, Header: "authorization", Prefix: "token ", Secret: "token"}, "Authorization", "token " + tokenValue},
		{"custom header", pluginapi.Auth{Scheme: pluginapi.AuthHeader, Header: "x-api-key", Secret: "token"}, "X-Api-Key", tokenValue},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.Do(context.Background(), &pluginapi.HTTPRequest{
				Endpoint: "endpoint", Path: "/x",
				// A plugin-supplied Authorization (or the scheme's header) is dropped.
				Headers: map[string]string{"Authorization": "Bearer forged", tc.header: "forged", "X-Other": "kept"},
				Auth:    &tc.auth,
			})
			wantOK(t, resp)
			got := rec.last(t)
			if v := got.Header.Values(tc.header); len(v) != 1 || v[0] != tc.want {
				t.Errorf("%s = %q, want %q", tc.header, v, tc.want)
			}
			if tc.header != "Authorization" && got.Header.Get("Authorization") != "" {
				t.Errorf("plugin's Authorization passed: %q", got.Header.Get("Authorization"))
			}
			if got.Header.Get("X-Other") != "kept" {
				t.Error("other plugin headers must pass")
			}
			noLeak(t, resp, logs)
		})
	}
}

func TestPluginAuthorizationKeptWithoutAuth(t *testing.T) {
	rec := newRecorder(t, nil)
	c, _ := newClient(t, Options{})
	resp := c.For(authTarget(rec.URL)).Do(context.Background(), &pluginapi.HTTPRequest{
		Endpoint: "endpoint", Headers: map[string]string{"Authorization": "Bearer from-login"}})
	wantOK(t, resp)
	if got := rec.last(t).Header.Get("Authorization"); got != "Bearer from-login" {
		t.Errorf("Authorization = %q; a plugin may send a token it obtained itself", got)
	}
}

func TestAuthErrors(t *testing.T) {
	rec := newRecorder(t, nil)
	c, logs := newClient(t, Options{})
	h := c.For(authTarget(rec.URL))
	cases := []struct {
		name string
		auth pluginapi.Auth
		code pluginapi.Code
		msg  string
	}{
		{"not a secret field", pluginapi.Auth{Scheme: pluginapi.AuthBearer, Secret: "region"}, pluginapi.CodeInvalid,
			`auth secret "region" is not a secret field of connection c1`},
		{"endpoint is not a secret", pluginapi.Auth{Scheme: pluginapi.AuthHeader, Header: "X-Url", Secret: "endpoint"}, pluginapi.CodeInvalid,
			`"endpoint" is not a secret field`},
		{"unknown property", pluginapi.Auth{Scheme: pluginapi.AuthBasic, Username: "u", Secret: "nope"}, pluginapi.CodeInvalid,
			`"nope" is not a secret field`},
		{"aws access key not secret", pluginapi.Auth{Scheme: pluginapi.AuthAWSSigV4, AccessKey: "region", Secret: "secret_key", Service: "ecs", Region: "us-east-1"},
			pluginapi.CodeInvalid, `auth access_key "region" is not a secret field`},
		{"aws session token not secret", pluginapi.Auth{Scheme: pluginapi.AuthAWSSigV4, AccessKey: "access_key", Secret: "secret_key", SessionToken: "region", Service: "ecs", Region: "us-east-1"},
			pluginapi.CodeInvalid, `auth session_token "region" is not a secret field`},
		{"empty secret", pluginapi.Auth{Scheme: pluginapi.AuthBearer, Secret: "empty"}, pluginapi.CodeUnauthorized,
			"connection c1 has no value for secret empty"},
		{"unset secret", pluginapi.Auth{Scheme: pluginapi.AuthBearer, Secret: "unset"}, pluginapi.CodeUnauthorized,
			"connection c1 has no value for secret unset"},
		{"no secret named", pluginapi.Auth{Scheme: pluginapi.AuthBearer}, pluginapi.CodeInvalid, "must name a secret config property"},
		{"aws without region", pluginapi.Auth{Scheme: pluginapi.AuthAWSSigV4, AccessKey: "access_key", Secret: "secret_key", Service: "ecs"},
			pluginapi.CodeInvalid, "needs service and region"},
		{"bad header name", pluginapi.Auth{Scheme: pluginapi.AuthHeader, Header: "X Bad", Secret: "token"}, pluginapi.CodeInvalid, "not a valid header name"},
		{"header Host", pluginapi.Auth{Scheme: pluginapi.AuthHeader, Header: "host", Secret: "token"}, pluginapi.CodeInvalid, "not a valid header name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(rec.all())
			resp := h.Do(context.Background(), &pluginapi.HTTPRequest{Endpoint: "endpoint", Auth: &tc.auth})
			e := wantError(t, resp, tc.code)
			if !strings.Contains(e.Message, tc.msg) {
				t.Errorf("message %q lacks %q", e.Message, tc.msg)
			}
			if len(rec.all()) != before {
				t.Error("the request was sent anyway")
			}
			noLeak(t, resp, logs)
		})
	}
	// An optional session token that is not set is simply left out.
	resp := h.Do(context.Background(), &pluginapi.HTTPRequest{Endpoint: "endpoint", Auth: &pluginapi.Auth{
		Scheme: pluginapi.AuthAWSSigV4, AccessKey: "access_key", Secret: "secret_key", SessionToken: "unset", Service: "ecs", Region: "us-east-1"}})
	wantOK(t, resp)
	if got := rec.last(t).Header.Get("X-Amz-Security-Token"); got != "" {
		t.Errorf("X-Amz-Security-Token = %q", got)
	}
}

// verifySigV4 checks a received request the way AWS does: rebuild the
// request from what arrived, sign it again with the credentials the server
// knows, and compare the Authorization headers.
func verifySigV4(r *http.Request, body []byte, creds aws.Credentials, service, region string) error {
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") {
		return fmt.Errorf("not a sigv4 Authorization: %q", auth)
	}
	_, signed, ok := strings.Cut(auth, "SignedHeaders=")
	if !ok {
		return errors.New("no SignedHeaders")
	}
	signed, _, _ = strings.Cut(signed, ",")
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return fmt.Errorf("X-Amz-Date: %v", err)
	}
	again, err := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	for _, name := range strings.Split(signed, ";") {
		if name != "host" && name != "content-length" {
			again.Header[http.CanonicalHeaderKey(name)] = r.Header.Values(name)
		}
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, again, hex.EncodeToString(sum[:]), service, region, when); err != nil {
		return err
	}
	if got := again.Header.Get("Authorization"); got != auth {
		return fmt.Errorf("signature mismatch:\n got  %s\n want %s", auth, got)
	}
	return nil
}

func TestAWSSigV4(t *testing.T) {
	cases := []struct {
		name    string
		session string // config property for the session token, or ""
	}{
		{"long-term keys", ""},
		{"with session token", "session_token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			serverCreds := aws.Credentials{AccessKeyID: accessKeyValue, SecretAccessKey: awsSecretValue}
			if tc.session != "" {
				serverCreds.SessionToken = sessionValue
			}
			wrongCreds := serverCreds
			wrongCreds.SecretAccessKey = "not-the-secret"
			srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte(`{"services":[]}`))
			})
			c, logs := newClient(t, Options{})
			h := c.For(authTarget(srv.URL + "/"))
			body := []byte(`{"cluster":"default","services":["web"]}`)
			resp := h.Do(context.Background(), &pluginapi.HTTPRequest{
				Method: "POST", Endpoint: "endpoint", Path: "/", Query: map[string][]string{"b": {"x y"}, "a": {"1"}},
				Headers: map[string]string{
					"Content-Type":         "application/x-amz-json-1.1",
					"X-Amz-Target":         "AmazonEC2ContainerServiceV20141113.DescribeServices",
					"Authorization":        "forged",
					"X-Amz-Security-Token": "forged",
				},
				Body: body,
				Auth: &pluginapi.Auth{Scheme: pluginapi.AuthAWSSigV4, AccessKey: "access_key", Secret: "secret_key",
					SessionToken: tc.session, Service: "ecs", Region: "eu-west-1"},
			})
			wantOK(t, resp)
			got := srv.last(t)
			req, _ := http.NewRequest(got.Method, "http://"+got.Host+got.Path+"?"+got.Query, nil)
			req.Header = got.Header
			req.Host = got.Host
			req.ContentLength = int64(len(got.Body))
			if err := verifySigV4(req, got.Body, serverCreds, "ecs", "eu-west-1"); err != nil {
				t.Error(err)
			}
			// The check can fail: other credentials, region or body do not verify.
			if verifySigV4(req, got.Body, wrongCreds, "ecs", "eu-west-1") == nil {
				t.Error("a wrong secret verified")
			}
			if verifySigV4(req, got.Body, serverCreds, "ecs", "us-east-1") == nil {
				t.Error("a wrong region verified")
			}
			if verifySigV4(req, append([]byte(" "), got.Body...), serverCreds, "ecs", "eu-west-1") == nil {
				t.Error("another body verified")
			}
			if !strings.Contains(got.Header.Get("Authorization"), "Credential="+accessKeyValue+"/") ||
				!strings.Contains(got.Header.Get("Authorization"), "/eu-west-1/ecs/aws4_request") {
				t.Errorf("Authorization = %q", got.Header.Get("Authorization"))
			}
			if tok := got.Header.Get("X-Amz-Security-Token"); tok != serverCreds.SessionToken {
				t.Errorf("X-Amz-Security-Token = %q, want %q", tok, serverCreds.SessionToken)
			}
			if got.Header.Get("X-Amz-Target") == "" || string(got.Body) != string(body) {
				t.Errorf("server saw %+v", got)
			}
			// The server answer is passed back and nothing secret is added.
			if string(resp.Body) != `{"services":[]}` {
				t.Errorf("body %q", resp.Body)
			}
			noLeak(t, resp, logs)
		})
	}
}

func TestAWSSigV4SameHostRedirectResigned(t *testing.T) {
	srv := newRecorder(t, nil)
	c, _ := newClient(t, Options{})
	h := c.For(authTarget(srv.URL))
	resp := h.Do(context.Background(), &pluginapi.HTTPRequest{
		Method: "POST", Endpoint: "endpoint", Path: "/redirect",
		Query: map[string][]string{"to": {"/moved"}, "code": {"307"}},
		Body:  []byte(`{"a":1}`),
		Auth:  &pluginapi.Auth{Scheme: pluginapi.AuthAWSSigV4, AccessKey: "access_key", Secret: "secret_key", Service: "ecs", Region: "us-east-1"},
	})
	wantOK(t, resp)
	got := srv.last(t)
	if got.Path != "/moved" {
		t.Fatalf("last request %+v", got)
	}
	req, _ := http.NewRequest(got.Method, "http://"+got.Host+got.Path, nil)
	req.Header, req.Host, req.ContentLength = got.Header, got.Host, int64(len(got.Body))
	if err := verifySigV4(req, got.Body, aws.Credentials{AccessKeyID: accessKeyValue, SecretAccessKey: awsSecretValue}, "ecs", "us-east-1"); err != nil {
		t.Errorf("redirected request: %v", err)
	}
}

// Two connections with the same access key id but different secrets must
// each sign with their own secret (the SDK signer caches derived keys by
// access key id only).
func TestAWSSigV4NoKeySharingBetweenConnections(t *testing.T) {
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{}`)) })
	c, _ := newClient(t, Options{})
	good := authTarget(srv.URL + "/")
	bad := authTarget(srv.URL + "/")
	bad.Connection = "c2"
	bad.Config["secret_key"] = "a-wrong-secret"
	serverCreds := aws.Credentials{AccessKeyID: accessKeyValue, SecretAccessKey: awsSecretValue}
	for i, target := range []Target{good, bad} {
		resp := c.For(target).Do(context.Background(), &pluginapi.HTTPRequest{
			Method: "POST", Endpoint: "endpoint", Path: "/", Body: []byte(`{}`),
			Auth: &pluginapi.Auth{Scheme: pluginapi.AuthAWSSigV4, AccessKey: "access_key", Secret: "secret_key", Service: "ecs", Region: "eu-west-1"},
		})
		wantOK(t, resp)
		got := srv.last(t)
		req, _ := http.NewRequest(got.Method, "http://"+got.Host+got.Path, nil)
		req.Header = got.Header
		req.Host = got.Host
		req.ContentLength = int64(len(got.Body))
		err := verifySigV4(req, got.Body, serverCreds, "ecs", "eu-west-1")
		if i == 0 && err != nil {
			t.Fatalf("the right secret does not verify: %v", err)
		}
		if i == 1 && err == nil {
			t.Fatal("a connection with a wrong secret was signed with the other connection's secret")
		}
	}
}
