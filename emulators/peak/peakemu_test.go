package peakemu

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// do sends a raw request the way peak-sdk does: the API key as is in Authorization.
func do(t *testing.T, srv *httptest.Server, key, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: body is not a JSON object: %s", method, path, b)
	}
	return resp.StatusCode, m
}

// TestSeedShapes sends the request bodies of peak-sdk's documented schemas.
func TestSeedShapes(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := New(Options{Now: func() time.Time { return now }})
	srv := httptest.NewServer(s)
	defer srv.Close()
	key := s.DemoConfig(srv.URL)["api_key"].(string)

	if st, m := do(t, srv, "bad", "GET", "/webapps/api/v1/webapps/?featureType=services", ""); st != 401 || m["message"] == nil {
		t.Fatalf("bad key: %d %v", st, m)
	}
	create := `{"name":"my-api","title":"My API","serviceType":"api","imageDetails":{"imageId":100,"versionId":2},
	  "resources":{"instanceTypeId":21},"parameters":{"env":{"K":"V"},"secrets":["s1"]},"description":"d",
	  "sessionStickiness":false,"entrypoint":"run","healthCheckURL":"/health"}`
	st, m := do(t, srv, key, "POST", "/webapps/api/v1/webapps/", create)
	id, _ := m["id"].(string)
	if st != 201 || len(id) != 36 {
		t.Fatalf("create: %d %v", st, m)
	}
	if st, m := do(t, srv, key, "POST", "/webapps/api/v1/webapps/", create); st != 409 {
		t.Fatalf("duplicate: %d %v", st, m)
	}
	if st, m := do(t, srv, key, "POST", "/webapps/api/v1/webapps/", `{"name":"x"}`); st != 400 || !strings.Contains(m["message"].(string), "imageId") {
		t.Fatalf("no image: %d %v", st, m)
	}
	st, m = do(t, srv, key, "GET", "/webapps/api/v1/webapps/"+id, "")
	if st != 200 || m["status"] != "CREATING" || m["name"] != "my-api" || m["createdBy"] == nil {
		t.Fatalf("describe: %d %v", st, m)
	}
	now = now.Add(6 * time.Second)
	if _, m := do(t, srv, key, "GET", "/webapps/api/v1/webapps/"+id, ""); m["status"] != "AVAILABLE" {
		t.Fatalf("after 6s: %v", m["status"])
	}
	if st, _ := do(t, srv, key, "PATCH", "/webapps/api/v1/webapps/"+id, `{"name":"renamed"}`); st != 400 {
		t.Fatalf("patch name: %d", st)
	}
	update := `{"title":"T","imageDetails":{"imageId":100,"versionId":3},"resources":{"instanceTypeId":21},
	  "parameters":{"env":{"K":"V"},"secrets":["s1"]},"description":"d","sessionStickiness":false,"entrypoint":"run","healthCheckURL":"/health"}`
	if st, m := do(t, srv, key, "PATCH", "/webapps/api/v1/webapps/"+id, update); st != 200 || m["id"] != id {
		t.Fatalf("patch: %d %v", st, m)
	}
	if _, m := do(t, srv, key, "GET", "/webapps/api/v1/webapps/"+id, ""); m["status"] != "DEPLOYING" {
		t.Fatalf("after a version change: %v", m["status"])
	}
	st, m = do(t, srv, key, "GET", "/webapps/api/v1/webapps/?featureType=services&pageSize=10&pageNumber=1&status=DEPLOYING&searchTerm=my&serviceType=api", "")
	if st != 200 || m["servicesCount"] != 1.0 || m["pageCount"] != 1.0 || m["pageSize"] != 10.0 || len(m["services"].([]any)) != 1 {
		t.Fatalf("list: %d %v", st, m)
	}
	now = now.Add(3 * time.Second)
	st, m = do(t, srv, key, "POST", "/webapps/api/v1/webapps/my-api/test", `{"httpMethod":"get","path":"/","payload":{"a":1}}`)
	if st != 200 || m["responseStatus"] != 200.0 || m["reqStartTime"] == nil || m["reqEndTime"] == nil || m["responseSize"] == nil {
		t.Fatalf("test: %d %v", st, m)
	}
	if st, m := do(t, srv, key, "DELETE", "/webapps/api/v1/webapps/"+id, ""); st != 200 || m["id"] != id {
		t.Fatalf("delete: %d %v", st, m)
	}
	if st, _ := do(t, srv, key, "DELETE", "/webapps/api/v1/webapps/"+id, ""); st != 409 {
		t.Fatalf("delete while deleting: %d", st)
	}
	now = now.Add(2 * time.Second)
	if st, _ := do(t, srv, key, "GET", "/webapps/api/v1/webapps/"+id, ""); st != 404 {
		t.Fatalf("after delete: %d", st)
	}
}

func TestSeedDemo(t *testing.T) {
	s := New(Options{})
	s.SeedDemo()
	srv := httptest.NewServer(s)
	defer srv.Close()
	st, m := do(t, srv, s.DemoConfig(srv.URL)["api_key"].(string), "GET", "/webapps/api/v1/webapps/?featureType=services&status=AVAILABLE", "")
	if st != 200 || m["servicesCount"] != 3.0 {
		t.Fatalf("demo: %d %v", st, m)
	}
}

// TestPatchUnchangedNameAndType: peak-sdk's create_or_update_service sends
// the whole body, the service's own name and serviceType included, to the
// PATCH; only a changed name or type is refused.
func TestPatchUnchangedNameAndType(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := New(Options{Now: func() time.Time { return now }})
	srv := httptest.NewServer(s)
	defer srv.Close()
	key := s.DemoConfig(srv.URL)["api_key"].(string)
	_, m := do(t, srv, key, "POST", "/webapps/api/v1/webapps/",
		`{"name":"upsert-me","title":"U","serviceType":"api","imageDetails":{"imageId":100,"versionId":2},"resources":{"instanceTypeId":21}}`)
	id, _ := m["id"].(string)
	path := "/webapps/api/v1/webapps/" + id
	if st, m := do(t, srv, key, "PATCH", path, `{"name":"upsert-me","serviceType":"api","title":"New title"}`); st != 200 || m["id"] != id {
		t.Fatalf("patch with the same name and type: %d %v", st, m)
	}
	if _, m := do(t, srv, key, "GET", path, ""); m["title"] != "New title" || m["name"] != "upsert-me" || m["serviceType"] != "api" {
		t.Fatalf("after patch: %v", m)
	}
	for body, want := range map[string]string{
		`{"name":"other"}`:          "name cannot be updated",
		`{"serviceType":"web-app"}`: "serviceType cannot be updated",
	} {
		st, m := do(t, srv, key, "PATCH", path, body)
		if msg, _ := m["message"].(string); st != 400 || msg != want {
			t.Errorf("patch %s: %d %v, want 400 %q", body, st, m, want)
		}
	}
	if _, m := do(t, srv, key, "GET", path, ""); m["name"] != "upsert-me" || m["serviceType"] != "api" {
		t.Fatalf("a refused patch changed the service: %v", m)
	}
}
