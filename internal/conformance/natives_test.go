package conformance

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/wharfhq/wharf/internal/demo"
	"github.com/wharfhq/wharf/pluginkit/conformance"
)

// The platforms' own APIs, spoken beside Wharf as their own clients do
// (the docker CLI, boto3, peak-sdk, abeja-sdk, TenxCloud's documented
// requests), for the preserve step.

// nativeDo sends one request and returns the answer's body; a failure ends the test.
func nativeDo(t conformance.T, hc *http.Client, req *http.Request) []byte {
	t.Helper()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", req.Method, req.URL.Path, resp.StatusCode, b)
	}
	return b
}

// restNative is a JSON REST API with fixed headers.
type restNative struct {
	base    string
	headers map[string]string
	hc      *http.Client
}

func (r restNative) do(t conformance.T, method, path string, body []byte) []byte {
	t.Helper()
	req, err := http.NewRequest(method, r.base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range r.headers {
		req.Header.Set(k, v)
	}
	hc := r.hc
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return nativeDo(t, hc, req)
}

func str(cfg map[string]any, key string) string { s, _ := cfg[key].(string); return s }

func field(t conformance.T, body []byte, key string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("answer %s: %v", body, err)
	}
	s, _ := m[key].(string)
	if s == "" {
		t.Fatalf("answer without %s: %s", key, body)
	}
	return s
}

// dockerNative is the Engine API, at base (an emulator) or on the local socket (base "").
func dockerNative(base string) *Native {
	r := restNative{base: base}
	if base == "" {
		r.base = "http://docker"
		r.hc = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, "unix", demo.DockerSocket)
			}}}
	}
	return &Native{
		Create: func(t conformance.T, _ string, body []byte) string {
			return field(t, r.do(t, "POST", "/services/create", body), "ID")
		},
		Read: func(t conformance.T, id string) []byte { return r.do(t, "GET", "/services/"+id, nil) },
	}
}

// ecsNative is the ECS JSON 1.1 API, signed with SigV4 as boto3 signs.
func ecsNative(cfg map[string]any) *Native {
	call := func(t conformance.T, op string, in []byte) []byte {
		t.Helper()
		req, err := http.NewRequest("POST", str(cfg, "endpoint")+"/", bytes.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113."+op)
		sum := sha256.Sum256(in)
		creds := aws.Credentials{AccessKeyID: str(cfg, "access_key_id"), SecretAccessKey: str(cfg, "secret_access_key"), SessionToken: str(cfg, "session_token")}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "ecs", str(cfg, "region"), time.Now()); err != nil {
			t.Fatal(err)
		}
		return nativeDo(t, &http.Client{Timeout: 30 * time.Second}, req)
	}
	return &Native{
		Create: func(t conformance.T, name string, body []byte) string {
			call(t, "CreateService", body)
			return name
		},
		Read: func(t conformance.T, id string) []byte {
			in, _ := json.Marshal(map[string]any{"cluster": str(cfg, "cluster"), "services": []string{id}, "include": []string{"TAGS"}})
			var out struct {
				Services []json.RawMessage `json:"services"`
			}
			if err := json.Unmarshal(call(t, "DescribeServices", in), &out); err != nil || len(out.Services) != 1 {
				t.Fatalf("DescribeServices %s: %v", id, err)
			}
			return out.Services[0]
		},
	}
}

// peakNative is Peak's webapps API with the raw API key.
func peakNative(cfg map[string]any) *Native {
	r := restNative{base: str(cfg, "endpoint") + "/webapps/api/v1/webapps", headers: map[string]string{"Authorization": str(cfg, "api_key")}}
	return &Native{
		Create: func(t conformance.T, _ string, body []byte) string { return field(t, r.do(t, "POST", "/", body), "id") },
		Read:   func(t conformance.T, id string) []byte { return r.do(t, "GET", "/"+id, nil) },
	}
}

// abejaNative is the ABEJA services API with a bearer token.
func abejaNative(cfg map[string]any) *Native {
	r := restNative{base: str(cfg, "endpoint") + "/organizations/" + str(cfg, "organization_id") + "/deployments/" + str(cfg, "deployment_id") + "/services",
		headers: map[string]string{"Authorization": "Bearer " + str(cfg, "token")}}
	return &Native{
		Create: func(t conformance.T, _ string, body []byte) string {
			return field(t, r.do(t, "POST", "", body), "service_id")
		},
		Read: func(t conformance.T, id string) []byte { return r.do(t, "GET", "/"+id, nil) },
	}
}

// tenxNative is TenxCloud's API v1: user name header and token.
func tenxNative(cfg map[string]any) *Native {
	r := restNative{base: str(cfg, "endpoint") + "/v1/regions/" + str(cfg, "region") + "/services",
		headers: map[string]string{"username": str(cfg, "username"), "Authorization": "token " + str(cfg, "token")}}
	return &Native{
		Create: func(t conformance.T, name string, body []byte) string {
			r.do(t, "POST", "/"+name, body)
			return name
		},
		Read: func(t conformance.T, id string) []byte { return r.do(t, "GET", "/"+id, nil) },
	}
}
