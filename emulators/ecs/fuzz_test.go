package ecsemu

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// opNames lists the emulated operations, with the service signing name.
func opNames() (names []string, signing map[string]string) {
	signing = map[string]string{}
	for op := range ecsHandlers {
		names = append(names, ecsPrefix+op)
		signing[ecsPrefix+op] = "ecs"
	}
	for op := range logsHandlers {
		names = append(names, logsPrefix+op)
		signing[logsPrefix+op] = "logs"
	}
	sort.Strings(names)
	return names, signing
}

var fuzzTime = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// signed builds a request for target with body, signed with the demo key
// by the official signer, as the host's egress signs.
func signed(t testing.TB, target, signingName string, body []byte) *http.Request {
	r, err := http.NewRequest("POST", "http://ecs.us-east-1.amazonaws.com/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", target)
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: DemoAccessKeyID, SecretAccessKey: DemoSecretAccessKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), signingName, "us-east-1", fuzzTime); err != nil {
		t.Fatal(err)
	}
	return r
}

// FuzzSigV4: a request signed with the right key is accepted, and the same
// request with one thing altered after signing — a signature character, a
// body byte, the operation, the date, the scope's region — never is.
func FuzzSigV4(f *testing.F) {
	names, signing := opNames()
	f.Add(uint8(0), []byte(`{"cluster":"default"}`), uint16(3), uint8(0))
	f.Add(uint8(5), []byte(``), uint16(0), uint8(1))
	f.Add(uint8(9), []byte(`{"services":["web"]}`), uint16(12), uint8(2))
	f.Add(uint8(1), []byte(`{}`), uint16(0), uint8(3))
	f.Add(uint8(2), []byte(`[]`), uint16(0), uint8(4))
	s := New(Options{Now: func() time.Time { return fuzzTime }})
	f.Fuzz(func(t *testing.T, opIndex uint8, body []byte, at uint16, how uint8) {
		target := names[int(opIndex)%len(names)]
		r := signed(t, target, signing[target], body)
		if _, aerr := s.verify(r, body, signing[target]); aerr != nil {
			t.Fatalf("a correctly signed %s was refused: %v", target, aerr.Message)
		}
		auth := r.Header.Get("Authorization")
		var what string
		switch how % 5 {
		case 0: // one character of the signature
			i := strings.LastIndex(auth, "Signature=") + len("Signature=")
			i += int(at) % (len(auth) - i)
			c := byte('0')
			if auth[i] == '0' {
				c = '1'
			}
			r.Header.Set("Authorization", auth[:i]+string(c)+auth[i+1:])
			what = "signature"
		case 1: // one byte of the body, or one more
			if len(body) == 0 {
				body = []byte{byte(at)}
			} else {
				body = bytes.Clone(body)
				body[int(at)%len(body)] ^= byte(at>>8) | 1
			}
			what = "body"
		case 2: // another operation
			other := names[(int(opIndex)+1+int(at)%(len(names)-1))%len(names)]
			r.Header.Set("X-Amz-Target", other)
			what = "operation"
		case 3: // another second
			r.Header.Set("X-Amz-Date", fuzzTime.Add(time.Duration(1+int(at)%3600)*time.Second).Format("20060102T150405Z"))
			what = "date"
		case 4: // the scope's region, signature left as it was
			r.Header.Set("Authorization", strings.Replace(auth, "/us-east-1/", "/us-east-2/", 1))
			what = "region"
		}
		if _, aerr := s.verify(r, body, signing[target]); aerr == nil {
			t.Fatalf("%s with an altered %s was accepted", target, what)
		}
	})
}

// FuzzParseAuthorization: any header parses or is refused without a panic;
// one that parses has every part the verifier needs.
func FuzzParseAuthorization(f *testing.F) {
	f.Add(signed(f, ecsPrefix+"ListServices", "ecs", nil).Header.Get("Authorization"))
	f.Add("AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request, SignedHeaders=, Signature=")
	f.Add("AWS4-HMAC-SHA256 Credential=/////, SignedHeaders=host;;, Signature==")
	f.Fuzz(func(t *testing.T, h string) {
		a, ok := parseAuthorization(h)
		if ok && (a.accessKey == "" || len(a.signedHeaders) == 0 || a.signature == "") {
			t.Fatalf("parseAuthorization(%q) = %+v: accepted without every part", h, a)
		}
	})
}

// FuzzRequest: any correctly signed body for any operation answers 200
// with a JSON body, or an AWS error: JSON with a __type, a 4xx or 5xx.
func FuzzRequest(f *testing.F) {
	names, signing := opNames()
	for i, b := range []string{`{"cluster":"default","serviceName":"web","taskDefinition":"web:1","desiredCount":2}`,
		`{"services":["web"],"cluster":"default"}`, `{"logGroupName":"/ecs/web","limit":-1}`, `{"nextToken":"%%%"}`, `{"maxResults":100000}`} {
		f.Add(uint8(i*7), []byte(b))
	}
	s := New(Options{Now: func() time.Time { return fuzzTime }})
	f.Fuzz(func(t *testing.T, opIndex uint8, body []byte) {
		target := names[int(opIndex)%len(names)]
		w := httptest.NewRecorder()
		s.ServeHTTP(w, signed(t, target, signing[target], body))
		out, _ := io.ReadAll(w.Result().Body)
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("%s %q: status %d, body not a JSON object: %q", target, body, w.Code, out)
		}
		if w.Code != 200 {
			if _, ok := m["__type"].(string); !ok || w.Code < 400 || w.Code > 599 {
				t.Fatalf("%s %q: status %d, not an AWS error: %s", target, body, w.Code, out)
			}
		}
	})
}
