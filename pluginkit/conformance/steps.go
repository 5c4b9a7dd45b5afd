package conformance

import (
	"fmt"
	"net/http"
	"time"

	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
)

// scenario is the state the steps of one Run share.
type scenario struct {
	// top is Run's own test: what must outlive one step (deleting the
	// connection and the service) is cleaned up with it.
	top     T
	c       *Client
	p       Platform
	d       pluginapi.DescribeResponse
	suffix  string
	conn    string         // the connection under test
	name    string         // the service's name
	nameKey string         // the spec property holding the name, or ""
	spec    map[string]any // the create spec, named
	id      string         // the created service
	deleted bool           // the delete step removed it
}

// step is one named part of the scenario.
type step struct {
	name string
	run  func(s *scenario, t T)
	// required: the steps after this one build on what it made.
	required bool
	// spec: the step needs the fixture's specs (skipped without them).
	spec bool
}

// scenarioSteps are run in this order: later steps use the service the
// create step made, and delete comes after everything that reads it.
var scenarioSteps = []step{
	{"describe plugin", (*scenario).describe, true, false},
	{"create connection", (*scenario).createConnection, true, false},
	{"invalid spec names the field", (*scenario).invalidSpec, false, true},
	{"create", (*scenario).create, true, true},
	{"appears in list", (*scenario).appearsInList, false, true},
	{"get settles", (*scenario).getSettles, false, true},
	{"update", (*scenario).update, false, true},
	{"update keeps what the plugin does not model", (*scenario).preserve, false, true},
	{"actions", (*scenario).actions, false, true},
	{"logs", (*scenario).logs, false, true},
	{"optional operations", (*scenario).optionalOperations, false, true},
	{"unknown service", (*scenario).unknownService, false, false},
	{"delete", (*scenario).delete, false, true},
	{"paging", (*scenario).paging, false, true},
	{"wrong credentials", (*scenario).wrongCredentials, false, false},
	{"platform down", func(s *scenario, t T) {
		s.unreachable(t, "down", closedPort, pluginapi.CodeUnavailable)
	}, false, false},
	{"platform hangs", func(s *scenario, t T) {
		s.unreachable(t, "hangs", hangingServer, pluginapi.CodeTimeout, pluginapi.CodeUnavailable)
	}, false, false},
}

func (s *scenario) svc() string { return svcPath(s.conn, s.id) }

func (s *scenario) describe(t T) {
	var info ops.PluginInfo
	s.c.Do(t, "GET", "/plugins/"+s.p.Plugin, nil).OK(t, "describe plugin", &info)
	s.d = info.Describe
}

func (s *scenario) createConnection(t T) {
	c, conn := s.c, s.conn
	c.Do(t, "POST", "/connections", map[string]any{"name": conn, "plugin": s.p.Plugin, "config": s.p.Config}).OK(t, "create connection", nil)
	s.top.Cleanup(func() { c.Do(s.top, "DELETE", "/connections/"+conn, nil) })
	var tr ops.TestResult
	c.Do(t, "POST", "/connections/"+conn+"/test", nil).OK(t, "test connection", &tr)
	if !tr.OK {
		t.Fatalf("connection test failed: %v", tr.Error)
	}
}

func (s *scenario) invalidSpec(t T) {
	r := s.c.Do(t, "POST", "/connections/"+s.conn+"/services", withName(s.p.Fixture.InvalidSpec, s.nameKey, s.name+"-bad"))
	r.Fails(t, "invalid create", http.StatusBadRequest, pluginapi.CodeInvalid)
	if r.Err.Field != s.p.Fixture.InvalidField {
		t.Fatalf("error names field %q, want %q (%s)", r.Err.Field, s.p.Fixture.InvalidField, r.Err.Message)
	}
}

func (s *scenario) create(t T) {
	var created ops.ServiceResult
	s.c.Do(t, "POST", "/connections/"+s.conn+"/services", s.spec).OK(t, "create", &created)
	if created.Service == nil || created.Service.ID == "" {
		t.Fatalf("create answered no service id: %+v", created)
	}
	s.id = created.Service.ID
	path := s.svc()
	s.top.Cleanup(func() {
		if !s.deleted {
			s.c.Do(s.top, "DELETE", path+"?force=true", nil)
		}
	})
}

func (s *scenario) appearsInList(t T) {
	Eventually(t, s.p.Settle, "service in list", func() error {
		ids, err := listAll(t, s.c, s.conn, 0)
		if err != nil {
			return err
		}
		if !contains(ids, s.id) {
			return errorf("%s not among %d listed", s.id, len(ids))
		}
		return nil
	})
}

func (s *scenario) getSettles(t T) {
	Eventually(t, s.p.Settle, "status settles", func() error {
		svc := get(t, s.c, s.conn, s.id)
		if s.nameKey != "" && svc.Name != s.name {
			t.Fatalf("get: name %q, want %q", svc.Name, s.name)
		}
		if svc.Status != pluginapi.StatusRunning {
			return errorf("status %s (%s)", svc.Status, svc.NativeStatus)
		}
		return nil
	})
}

func (s *scenario) update(t T) {
	before := get(t, s.c, s.conn, s.id)
	upd := withName(s.p.Fixture.UpdateSpec, s.nameKey, s.name)
	var res ops.ServiceResult
	s.c.DoIfMatch(t, "PUT", s.svc(), upd, before.Version).OK(t, "update", &res)
	Eventually(t, s.p.Settle, "update visible and settled", func() error {
		svc := get(t, s.c, s.conn, s.id)
		if err := specReflects(svc.Spec, s.p.Fixture.CreateSpec, upd); err != nil {
			return err
		}
		if svc.Status != pluginapi.StatusRunning {
			return errorf("status %s (%s)", svc.Status, svc.NativeStatus)
		}
		return nil
	})
}

func (s *scenario) preserve(t T) {
	runPreserve(t, s.c, s.p, s.conn, s.name+"-keep")
}

// actions runs every declared lifecycle action and waits for its effect.
// Rollback undoes the latest change, so it comes before stop and start
// (rolling back a start would stop the service again).
func (s *scenario) actions(t T) {
	for _, a := range []string{pluginapi.ActionScale, pluginapi.ActionRollback, pluginapi.ActionRestart, pluginapi.ActionStop, pluginapi.ActionStart} {
		if _, ok := s.d.Action(a); !ok {
			continue
		}
		var params any
		if a == pluginapi.ActionScale {
			params = map[string]any{"replicas": 2}
		}
		r := s.c.Do(t, "POST", s.svc()+"/actions/"+a, params)
		if a == pluginapi.ActionRollback && r.Status == http.StatusConflict {
			t.Logf("rollback refused as a conflict (nothing to roll back right now): %v", r.Err)
			continue
		}
		r.OK(t, "action "+a, nil)
		switch a {
		case pluginapi.ActionScale:
			Eventually(t, s.p.Settle, "scaled to 2", func() error {
				svc := get(t, s.c, s.conn, s.id)
				if svc.Desired == nil || *svc.Desired != 2 {
					return errorf("desired %v", svc.Desired)
				}
				return nil
			})
		case pluginapi.ActionStop:
			s.waitStatus(t, "stopped", pluginapi.StatusStopped)
		case pluginapi.ActionStart:
			s.waitStatus(t, "running again", pluginapi.StatusRunning)
		}
	}
	s.c.Do(t, "POST", s.svc()+"/actions/no-such-action", nil).Fails(t, "unknown action", http.StatusNotFound, pluginapi.CodeNotFound)
}

func (s *scenario) waitStatus(t T, what string, want pluginapi.Status) {
	Eventually(t, s.p.Settle, what, func() error {
		if svc := get(t, s.c, s.conn, s.id); svc.Status != want {
			return errorf("status %s (%s)", svc.Status, svc.NativeStatus)
		}
		return nil
	})
}

func (s *scenario) logs(t T) {
	if !s.d.Supports(pluginapi.OpLogs) {
		s.c.Do(t, "GET", s.svc()+"/logs", nil).Fails(t, "logs of a plugin without logs", http.StatusNotImplemented, pluginapi.CodeUnsupported)
		return
	}
	var first ops.LogsPage
	Eventually(t, s.p.Settle, "log lines arrive", func() error {
		s.c.Do(t, "GET", s.svc()+"/logs?tail=20", nil).OK(t, "logs", &first)
		if len(first.Entries) == 0 {
			return errorf("no entries yet")
		}
		return nil
	})
	seen := map[string]bool{}
	for _, e := range first.Entries {
		seen[entryKey(e)] = true
	}
	var next ops.LogsPage
	Eventually(t, s.p.Settle, "more lines with the cursor", func() error {
		s.c.Do(t, "GET", s.svc()+"/logs?cursor="+urlQuery(first.Cursor), nil).OK(t, "logs with cursor", &next)
		for _, e := range next.Entries {
			if seen[entryKey(e)] {
				t.Fatalf("cursor repeated an entry: %+v", e)
			}
		}
		if len(next.Entries) == 0 {
			first.Cursor = next.Cursor
			return errorf("no new entries")
		}
		return nil
	})
}

func (s *scenario) optionalOperations(t T) {
	for _, op := range []struct{ name, path string }{
		{pluginapi.OpInstances, "/instances"}, {pluginapi.OpDeployments, "/deployments"},
	} {
		r := s.c.Do(t, "GET", s.svc()+op.path, nil)
		if !s.d.Supports(op.name) {
			r.Fails(t, op.name+" undeclared", http.StatusNotImplemented, pluginapi.CodeUnsupported)
			continue
		}
		r.OK(t, op.name, nil)
	}
	r := s.c.Do(t, "POST", s.svc()+"/invoke", map[string]any{"method": "POST", "path": "/", "content_type": "application/json", "body": []byte(`{"ping":1}`)})
	if !s.d.Supports(pluginapi.OpInvoke) {
		r.Fails(t, "invoke undeclared", http.StatusNotImplemented, pluginapi.CodeUnsupported)
		return
	}
	var res ops.InvokeResult
	r.OK(t, "invoke", &res)
	if res.Status == 0 {
		t.Fatalf("invoke answered no status: %+v", res)
	}
}

func (s *scenario) unknownService(t T) {
	s.c.Do(t, "GET", svcPath(s.conn, "wharf-no-such-service-"+s.suffix), nil).Fails(t, "get unknown", http.StatusNotFound, pluginapi.CodeNotFound)
	id := s.id
	if id == "" {
		id = "x" // no service was created (no fixture)
	}
	s.c.Do(t, "GET", svcPath("no-such-connection", id), nil).Fails(t, "unknown connection", http.StatusNotFound, pluginapi.CodeNotFound)
}

func (s *scenario) delete(t T) {
	s.c.Do(t, "DELETE", s.svc()+"?force=true", nil).OK(t, "delete", nil)
	s.deleted = true
	Eventually(t, s.p.Settle, "gone", func() error {
		r := s.c.Do(t, "GET", s.svc(), nil)
		if r.Status != http.StatusNotFound {
			return errorf("get after delete: %d", r.Status)
		}
		ids, err := listAll(t, s.c, s.conn, 0)
		if err != nil {
			return err
		}
		if contains(ids, s.id) {
			return errorf("still listed")
		}
		return nil
	})
}

func (s *scenario) paging(t T) {
	var want []string
	for i := 0; i < s.p.PageServices; i++ {
		spec := withName(s.p.Fixture.CreateSpec, s.nameKey, fmt.Sprintf("%s-p%d", s.name, i))
		var res ops.ServiceResult
		s.c.Do(t, "POST", "/connections/"+s.conn+"/services", spec).OK(t, "create for paging", &res)
		want = append(want, res.Service.ID)
		pid := res.Service.ID
		t.Cleanup(func() { s.c.Do(t, "DELETE", svcPath(s.conn, pid)+"?force=true", nil) })
	}
	Eventually(t, s.p.Settle, "all pages", func() error {
		ids, err := listAll(t, s.c, s.conn, 2)
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, id := range ids {
			if seen[id] {
				t.Fatalf("service %s listed twice across pages", id)
			}
			seen[id] = true
		}
		for _, w := range want {
			if !seen[w] {
				return errorf("%s missing from the pages", w)
			}
		}
		return nil
	})
}

func (s *scenario) wrongCredentials(t T) {
	if len(s.p.Fixture.BadCredentials) == 0 {
		t.Skip("the platform has no credentials")
	}
	bad := map[string]any{}
	for k, v := range s.p.Config {
		bad[k] = v
	}
	for k, v := range s.p.Fixture.BadCredentials {
		bad[k] = v
	}
	badConn := s.conn + "-bad"
	s.c.Do(t, "POST", "/connections", map[string]any{"name": badConn, "plugin": s.p.Plugin, "config": bad}).OK(t, "create bad connection", nil)
	defer s.c.Do(t, "DELETE", "/connections/"+badConn, nil)
	s.c.Do(t, "GET", "/connections/"+badConn+"/services", nil).Fails(t, "list with wrong credentials", http.StatusUnauthorized, pluginapi.CodeUnauthorized)
}

// unreachable points a connection's endpoints at an address listen makes
// (closed, or never answering) and expects one of codes, then checks that
// the host keeps serving.
func (s *scenario) unreachable(t T, tag string, listen func(t T) string, codes ...pluginapi.Code) {
	cfg := map[string]any{}
	for k, v := range s.p.Config {
		cfg[k] = v
	}
	addr := listen(t)
	for _, prop := range endpointFields(t, s.d.ConfigSchema) {
		cfg[prop] = "http://" + addr
	}
	down := s.conn + "-" + tag
	s.c.Do(t, "POST", "/connections", map[string]any{"name": down, "plugin": s.p.Plugin, "config": cfg}).OK(t, "create connection", nil)
	defer s.c.Do(t, "DELETE", "/connections/"+down, nil)
	start := time.Now()
	r := s.c.Do(t, "GET", "/connections/"+down+"/services", nil)
	if r.Err == nil || !codeIn(r.Err.Code, codes) {
		t.Fatalf("want one of %v, got %d %v", codes, r.Status, r.Err)
	}
	t.Logf("%s answered %s after %s", t.Name(), r.Err.Code, time.Since(start).Round(time.Millisecond))
	// The host keeps serving.
	s.c.Do(t, "GET", "/plugins", nil).OK(t, "plugins after failure", nil)
}
