package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin/rest"
)

// provider implements plugin.Provider and plugin.InstancesProvider for TenxCloud.
type provider struct{}

// now is the plugin's clock, used to tell whether a log day is over.
var now = time.Now

type config struct {
	Username string `json:"username"`
	Region   string `json:"region"`
}

// conn is one connection's client and region.
type conn struct {
	client *rest.Client
	base   string // /v1/regions/{region}/services
}

func connect(raw json.RawMessage) (*conn, error) {
	var c config
	if err := rest.DecodeConfig(raw, &c); err != nil {
		return nil, err
	}
	if c.Username == "" {
		return nil, pluginapi.Invalid("/config/username", "the connection has no username")
	}
	if c.Region == "" {
		return nil, pluginapi.Invalid("/config/region", "the connection has no region")
	}
	return &conn{
		client: &rest.Client{
			Endpoint: "endpoint",
			// The user name is not secret: the plugin sends it; the host adds the token.
			Headers: map[string]string{"username": c.Username},
			Auth:    &pluginapi.Auth{Scheme: pluginapi.AuthHeader, Header: "Authorization", Prefix: "token ", Secret: "token"},
		},
		base: "/v1/regions/" + url.PathEscape(c.Region) + "/services",
	}, nil
}

func (c *conn) path(name string, rest ...string) string {
	p := c.base + "/" + url.PathEscape(name)
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

// spec is the plugin's flat view of a one-container TenxCloud service.
type spec struct {
	Name         string            `json:"name"`
	Image        string            `json:"image"`
	Command      []string          `json:"command,omitempty"`
	Env          map[string]string `json:"env,omitempty"`
	Ports        []portSpec        `json:"ports,omitempty"`
	Instances    *int              `json:"instances,omitempty"`
	Memory       int               `json:"memory,omitempty"`
	Volumes      []volumeSpec      `json:"volumes,omitempty"`
	SyncTimezone bool              `json:"sync_timezone,omitempty"`
	Domains      []string          `json:"domains,omitempty"`
}

type portSpec struct {
	Port     int    `json:"port"`
	Protocol string `json:"protocol,omitempty"`
	Public   *bool  `json:"public,omitempty"`
}

type volumeSpec struct {
	DiskName  string `json:"disk_name"`
	MountPath string `json:"mount_path"`
	ReadOnly  bool   `json:"read_only,omitempty"`
}

func parseSpec(raw json.RawMessage) (*spec, error) {
	s := new(spec)
	if err := rest.DecodeSpec(raw, s); err != nil {
		return nil, err
	}
	s.defaults()
	switch {
	case s.Name == "":
		return nil, pluginapi.Invalid("/name", "name is required")
	case len(s.Name) < 3 || len(s.Name) > 63 || !validName(s.Name):
		return nil, pluginapi.Invalid("/name", "name %q must be 3-63 lowercase letters, digits and hyphens, starting with a letter", s.Name)
	case s.Image == "":
		return nil, pluginapi.Invalid("/image", "image is required")
	case *s.Instances < 0 || *s.Instances > 20:
		return nil, pluginapi.Invalid("/instances", "instances must be between 0 and 20")
	case !slices.Contains([]int{256, 512, 1024, 2048}, s.Memory):
		return nil, pluginapi.Invalid("/memory", "memory must be 256, 512, 1024 or 2048 (MiB), not %d", s.Memory)
	}
	for i, p := range s.Ports {
		if p.Port < 1 || p.Port > 65535 {
			return nil, pluginapi.Invalid(fmt.Sprintf("/ports/%d/port", i), "port must be between 1 and 65535")
		}
		if p.Protocol != "TCP" && p.Protocol != "UDP" {
			return nil, pluginapi.Invalid(fmt.Sprintf("/ports/%d/protocol", i), "protocol must be TCP or UDP")
		}
	}
	for i, v := range s.Volumes {
		if v.DiskName == "" {
			return nil, pluginapi.Invalid(fmt.Sprintf("/volumes/%d/disk_name", i), "disk_name is required")
		}
		if !strings.HasPrefix(v.MountPath, "/") {
			return nil, pluginapi.Invalid(fmt.Sprintf("/volumes/%d/mount_path", i), "mount_path must be an absolute path")
		}
	}
	return s, nil
}

func validName(n string) bool {
	for i, r := range n {
		ok := r >= 'a' && r <= 'z' || (i > 0 && (r >= '0' && r <= '9' || r == '-'))
		if !ok {
			return false
		}
	}
	return !strings.HasSuffix(n, "-")
}

// defaults fills what the schema defaults, so that specs compare equal.
func (s *spec) defaults() {
	if s.Instances == nil {
		one := 1
		s.Instances = &one
	}
	if s.Memory == 0 {
		s.Memory = 512
	}
	for i := range s.Ports {
		if s.Ports[i].Protocol == "" {
			s.Ports[i].Protocol = "TCP"
		}
		if s.Ports[i].Public == nil {
			yes := true
			s.Ports[i].Public = &yes
		}
	}
}

type envVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// createBody is the documented body of POST .../services/{name}.
func (s *spec) createBody() map[string]any {
	ctr := map[string]any{
		"image":     s.Image,
		"resources": map[string]any{"limits": map[string]any{"memory": fmt.Sprintf("%dMi", s.Memory)}},
	}
	if len(s.Command) > 0 {
		ctr["command"] = s.Command
	}
	if len(s.Env) > 0 {
		var env []envVar
		for _, k := range slices.Sorted(maps.Keys(s.Env)) {
			env = append(env, envVar{k, s.Env[k]})
		}
		ctr["env"] = env
	}
	var ports, mappings []map[string]any
	for _, p := range s.Ports {
		ports = append(ports, map[string]any{"port": p.Port, "protocol": p.Protocol})
		if *p.Public {
			mappings = append(mappings, map[string]any{"container_port": p.Port, "protocol": strings.ToLower(p.Protocol)})
		}
	}
	if ports != nil {
		ctr["ports"] = ports
	}
	var volumes, mounts []map[string]any
	for _, v := range s.Volumes {
		volumes = append(volumes, map[string]any{"name": v.DiskName, "disk_name": v.DiskName, "is_read_only": v.ReadOnly})
		mounts = append(mounts, map[string]any{"name": v.DiskName, "mountPath": v.MountPath})
	}
	if mounts != nil {
		ctr["volumeMounts"] = mounts
	}
	b := map[string]any{"target_instance_size": *s.Instances, "containers": []any{ctr}}
	if mappings != nil {
		b["port_mappings"] = mappings
	}
	if volumes != nil {
		b["volumes"] = volumes
	}
	if s.SyncTimezone {
		b["sync_timezone"] = true
	}
	if len(s.Domains) > 0 {
		b["binding_domain_name"] = s.Domains
	}
	return b
}

// tenxService is TenxCloud's service object.
type tenxService struct {
	Region             string `json:"region"`
	UID                string `json:"uid"`
	Name               string `json:"name"`
	CreatedAt          string `json:"created_at"`
	Status             string `json:"status"`
	TargetInstanceSize int    `json:"target_instance_size"`
	Containers         []struct {
		Name    string   `json:"name"`
		Image   string   `json:"image"`
		Command []string `json:"command"`
		Env     []envVar `json:"env"`
		Ports   []struct {
			Port          int    `json:"port"`
			ContainerPort int    `json:"container_port"`
			Protocol      string `json:"protocol"`
		} `json:"ports"`
		Resources struct {
			Limits struct {
				Memory string `json:"memory"`
			} `json:"limits"`
		} `json:"resources"`
		VolumeMounts []struct {
			Name      string `json:"name"`
			MountPath string `json:"mountPath"`
		} `json:"volumeMounts"`
	} `json:"containers"`
	PortMappings []struct {
		ServiceURL    string `json:"service_url"`
		ContainerPort int    `json:"container_port"`
		Protocol      string `json:"protocol"`
	} `json:"port_mappings"`
	Volumes []struct {
		Name       string `json:"name"`
		DiskName   string `json:"disk_name"`
		IsReadOnly bool   `json:"is_read_only"`
	} `json:"volumes"`
	DefaultDomainName string   `json:"default_domain_name"`
	BindingDomainName []string `json:"binding_domain_name"`

	raw json.RawMessage
}

func (t *tenxService) spec() *spec {
	size := t.TargetInstanceSize
	s := &spec{Name: t.Name, Instances: &size}
	if len(t.Containers) > 0 {
		c := t.Containers[0]
		s.Image, s.Command = c.Image, c.Command
		if len(c.Env) > 0 {
			s.Env = map[string]string{}
			for _, e := range c.Env {
				s.Env[e.Name] = e.Value
			}
		}
		for _, p := range c.Ports {
			n := p.ContainerPort
			if n == 0 {
				n = p.Port
			}
			public := slices.ContainsFunc(t.PortMappings, func(m struct {
				ServiceURL    string `json:"service_url"`
				ContainerPort int    `json:"container_port"`
				Protocol      string `json:"protocol"`
			}) bool {
				return m.ContainerPort == n
			})
			s.Ports = append(s.Ports, portSpec{Port: n, Protocol: strings.ToUpper(p.Protocol), Public: &public})
		}
		s.Memory, _ = strconv.Atoi(strings.TrimSuffix(c.Resources.Limits.Memory, "Mi"))
		for _, m := range c.VolumeMounts {
			for _, v := range t.Volumes {
				if v.Name == m.Name {
					s.Volumes = append(s.Volumes, volumeSpec{DiskName: v.DiskName, MountPath: m.MountPath, ReadOnly: v.IsReadOnly})
				}
			}
		}
	}
	if len(t.BindingDomainName) > 0 {
		s.Domains = t.BindingDomainName
	}
	s.defaults()
	return s
}

// normalize maps TenxCloud's status; only "Running" is documented, the
// others are what the emulator (and, plausibly, the platform) says.
func normalize(status string) pluginapi.Status {
	switch strings.ToLower(status) {
	case "running":
		return pluginapi.StatusRunning
	case "pending", "starting", "deploying":
		return pluginapi.StatusPending
	case "stopped", "stopping":
		return pluginapi.StatusStopped
	case "failed", "error", "crashloopbackoff":
		return pluginapi.StatusFailed
	case "deleting", "terminating":
		return pluginapi.StatusDeleting
	}
	return pluginapi.StatusUnknown
}

func (t *tenxService) service() *pluginapi.Service {
	sv := &pluginapi.Service{
		ID: t.Name, Name: t.Name,
		Status: normalize(t.Status), NativeStatus: t.Status,
		Desired: pluginapi.Int(t.TargetInstanceSize),
		Spec:    rest.MustJSON(t.spec()),
		Raw:     t.raw,
	}
	switch sv.Status {
	case pluginapi.StatusRunning:
		sv.Running = pluginapi.Int(t.TargetInstanceSize)
	case pluginapi.StatusStopped, pluginapi.StatusPending, pluginapi.StatusFailed:
		sv.Running = pluginapi.Int(0)
	}
	if len(t.Containers) > 0 {
		sv.Image = t.Containers[0].Image
	}
	if t.Region != "" {
		sv.Labels = map[string]string{"region": t.Region}
	}
	if ts, err := time.Parse(time.RFC3339, t.CreatedAt); err == nil {
		sv.CreatedAt = &ts
	}
	for _, m := range t.PortMappings {
		sv.Endpoints = append(sv.Endpoints, pluginapi.Endpoint{URL: m.ServiceURL, Protocol: m.Protocol, Port: m.ContainerPort})
	}
	for _, d := range t.BindingDomainName {
		sv.Endpoints = append(sv.Endpoints, pluginapi.Endpoint{URL: d})
	}
	return sv
}

func decodeService(raw json.RawMessage) (*tenxService, error) {
	t := &tenxService{raw: raw}
	if err := json.Unmarshal(raw, t); err != nil {
		return nil, pluginapi.Errorf(pluginapi.CodeInternal, "decode TenxCloud service: %v", err)
	}
	return t, nil
}

func (c *conn) get(ctx context.Context, name string) (*tenxService, error) {
	if name == "" {
		return nil, pluginapi.Invalid("/id", "the service name is required")
	}
	var raw json.RawMessage
	if err := c.client.Do(ctx, rest.Request{Method: "GET", Path: c.path(name)}, &raw); err != nil {
		return nil, err
	}
	return decodeService(raw)
}

func (c *conn) answer(ctx context.Context, name string) (*pluginapi.ServiceResponse, error) {
	t, err := c.get(ctx, name)
	if err != nil {
		return nil, err
	}
	return &pluginapi.ServiceResponse{Service: t.service()}, nil
}

// Create creates the service; the name goes in the path.
func (provider) Create(ctx context.Context, req *pluginapi.CreateRequest) (*pluginapi.ServiceResponse, error) {
	c, err := connect(req.Config)
	if err != nil {
		return nil, err
	}
	s, err := parseSpec(req.Spec)
	if err != nil {
		return nil, err
	}
	var raw json.RawMessage
	err = c.client.Do(ctx, rest.Request{Method: "POST", Path: c.path(s.Name), JSON: s.createBody()}, &raw)
	if code := pluginapi.CodeOf(err); code == pluginapi.CodeInvalid || code == pluginapi.CodeConflict {
		// TenxCloud documents no status for a taken name: look before blaming the spec.
		if _, gerr := c.get(ctx, s.Name); gerr == nil {
			return nil, &pluginapi.Error{Code: pluginapi.CodeConflict, Field: "/name",
				Message: fmt.Sprintf("a service named %s already exists", s.Name), Detail: pluginapi.AsError(err).Detail}
		}
	}
	if err != nil {
		return nil, err
	}
	return c.answer(ctx, s.Name)
}

// Get fetches a service by name.
func (provider) Get(ctx context.Context, req *pluginapi.GetRequest) (*pluginapi.ServiceResponse, error) {
	c, err := connect(req.Config)
	if err != nil {
		return nil, err
	}
	return c.answer(ctx, req.ID)
}

// Update changes what TenxCloud lets change: the instance count, the
// memory limit and the bound domains.
func (provider) Update(ctx context.Context, req *pluginapi.UpdateRequest) (*pluginapi.ServiceResponse, error) {
	c, err := connect(req.Config)
	if err != nil {
		return nil, err
	}
	s, err := parseSpec(req.Spec)
	if err != nil {
		return nil, err
	}
	if s.Name != req.ID {
		return nil, pluginapi.Invalid("/name", "the name cannot be changed (the service is %q)", req.ID)
	}
	cur, err := c.get(ctx, req.ID)
	if err != nil {
		return nil, err
	}
	old := cur.spec()
	for _, f := range []struct {
		field string
		same  bool
	}{
		{"/image", s.Image == old.Image},
		{"/command", slices.Equal(s.Command, old.Command)},
		{"/env", maps.Equal(s.Env, old.Env)},
		{"/ports", equalJSON(s.Ports, old.Ports)},
		{"/volumes", equalJSON(s.Volumes, old.Volumes)},
	} {
		if !f.same {
			return nil, pluginapi.Invalid(f.field, "%s cannot be changed on TenxCloud: only instances, memory and domains can (delete and re-create the service instead)", strings.TrimPrefix(f.field, "/"))
		}
	}
	// The PUT changes only the members it is sent: send those that differ
	// (nothing at all when none does), so that a no-op restarts nothing.
	body := map[string]any{}
	if *s.Instances != *old.Instances {
		body["target_instance_size"] = *s.Instances
	}
	if s.Memory != old.Memory {
		limits := map[string]any{"limits": map[string]any{"memory": fmt.Sprintf("%dMi", s.Memory)}}
		// The API text names the key "resources", its example "resource": send both, same value.
		body["containers"] = []any{map[string]any{"resources": limits, "resource": limits}}
		body["target_instance_size"] = *s.Instances // a new memory limit restarts the instances at this count
	}
	if !slices.Equal(s.Domains, old.Domains) {
		domains := s.Domains
		if domains == nil {
			domains = []string{}
		}
		body["binding_domain_name"] = domains
	}
	var resp *pluginapi.ServiceResponse
	if len(body) == 0 {
		resp = &pluginapi.ServiceResponse{Service: cur.service()}
	} else {
		if err := c.client.Do(ctx, rest.Request{Method: "PUT", Path: c.path(req.ID), JSON: body}, nil); err != nil {
			return nil, err
		}
		if resp, err = c.answer(ctx, req.ID); err != nil {
			return nil, err
		}
	}
	// TenxCloud neither returns nor updates sync_timezone: say so rather than drop it silently.
	if s.SyncTimezone {
		resp.Warnings = append(resp.Warnings, "sync_timezone only applies when a service is created; it was left as it is")
	}
	return resp, nil
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// Delete removes the service; TenxCloud deletes at once.
func (provider) Delete(ctx context.Context, req *pluginapi.DeleteRequest) (*pluginapi.ServiceResponse, error) {
	c, err := connect(req.Config)
	if err != nil {
		return nil, err
	}
	t, err := c.get(ctx, req.ID)
	if err != nil {
		return nil, err
	}
	if err := c.client.Do(ctx, rest.Request{Method: "DELETE", Path: c.path(req.ID)}, nil); err != nil {
		return nil, err
	}
	sv := t.service()
	sv.Status = pluginapi.StatusDeleting
	return &pluginapi.ServiceResponse{Service: sv}, nil
}

// List answers one page of the region's services. TenxCloud answers them
// all at once; the plugin filters (name: substring; status: normalized or
// TenxCloud's word) and pages by offset over the name order.
func (provider) List(ctx context.Context, req *pluginapi.ListRequest) (*pluginapi.ListResponse, error) {
	c, err := connect(req.Config)
	if err != nil {
		return nil, err
	}
	if err := rest.CheckFilters(req.Filters, "name", "status"); err != nil {
		return nil, err
	}
	var out struct {
		Region   string            `json:"region"`
		Services []json.RawMessage `json:"services"`
	}
	if err := c.client.Do(ctx, rest.Request{Method: "GET", Path: c.base}, &out); err != nil {
		return nil, err
	}
	var all []pluginapi.Service
	for _, raw := range out.Services {
		t, err := decodeService(raw)
		if err != nil {
			return nil, err
		}
		if t.Region == "" {
			t.Region = out.Region
		}
		sv := t.service()
		if names := req.Filters["name"]; len(names) > 0 && !slices.ContainsFunc(names, func(n string) bool { return strings.Contains(sv.Name, n) }) {
			continue
		}
		if st := req.Filters["status"]; len(st) > 0 && !rest.Contains(st, string(sv.Status)) && !rest.Contains(st, sv.NativeStatus) {
			continue
		}
		all = append(all, *sv)
	}
	slices.SortFunc(all, func(a, b pluginapi.Service) int { return strings.Compare(a.Name, b.Name) })
	page, next, err := rest.Page(all, req.PageSize, 50, req.PageToken)
	if err != nil {
		return nil, err
	}
	return &pluginapi.ListResponse{Services: page, NextPageToken: next}, nil
}

// Lifecycle runs start, stop, restart or scale.
func (provider) Lifecycle(ctx context.Context, req *pluginapi.LifecycleRequest) (*pluginapi.ServiceResponse, error) {
	c, err := connect(req.Config)
	if err != nil {
		return nil, err
	}
	switch req.Action {
	case pluginapi.ActionStart, pluginapi.ActionStop, pluginapi.ActionRestart:
		if err := c.client.Do(ctx, rest.Request{Method: "PUT", Path: c.path(req.ID, req.Action)}, nil); err != nil {
			return nil, err
		}
	case pluginapi.ActionScale:
		var p pluginapi.ScaleParams
		if err := json.Unmarshal(req.Params, &p); err != nil || p.Replicas < 0 || p.Replicas > 20 {
			return nil, pluginapi.Invalid("/params/replicas", "scale takes {\"replicas\": N} with N between 0 and 20")
		}
		cur, err := c.get(ctx, req.ID)
		if err != nil {
			return nil, err
		}
		if cur.TargetInstanceSize == p.Replicas {
			// Nothing to change: no update, the service as it is.
			return &pluginapi.ServiceResponse{Service: cur.service()}, nil
		}
		body := map[string]any{"target_instance_size": p.Replicas}
		if err := c.client.Do(ctx, rest.Request{Method: "PUT", Path: c.path(req.ID), JSON: body}, nil); err != nil {
			return nil, err
		}
	default:
		return nil, pluginapi.Unsupported("TenxCloud has no %q action: use start, stop, restart or scale", req.Action)
	}
	return c.answer(ctx, req.ID)
}

// Instances lists the service's instances (undocumented answer shape:
// {"instances": [...]} or a bare list are both read).
func (provider) Instances(ctx context.Context, req *pluginapi.InstancesRequest) (*pluginapi.InstancesResponse, error) {
	c, err := connect(req.Config)
	if err != nil {
		return nil, err
	}
	if len(req.Filters) > 0 {
		return nil, pluginapi.Invalid("/filters", "TenxCloud instances take no filters")
	}
	var raw json.RawMessage
	if err := c.client.Do(ctx, rest.Request{Method: "GET", Path: c.path(req.ID, "instances")}, &raw); err != nil {
		return nil, err
	}
	var wrapped struct {
		Instances []json.RawMessage `json:"instances"`
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &wrapped) == nil {
		items = wrapped.Instances
	} else if err := json.Unmarshal(raw, &items); err != nil {
		return nil, pluginapi.Errorf(pluginapi.CodeInternal, "decode TenxCloud instances: %v", err)
	}
	resp := &pluginapi.InstancesResponse{Instances: []pluginapi.Instance{}}
	for _, it := range items {
		var in struct {
			Name      string `json:"name"`
			Status    string `json:"status"`
			CreatedAt string `json:"created_at"`
			Image     string `json:"image"`
			HostIP    string `json:"host_ip"`
		}
		if err := json.Unmarshal(it, &in); err != nil {
			return nil, pluginapi.Errorf(pluginapi.CodeInternal, "decode TenxCloud instance: %v", err)
		}
		if req.InstanceID != "" && in.Name != req.InstanceID {
			continue
		}
		inst := pluginapi.Instance{ID: in.Name, Name: in.Name, Status: normalize(in.Status), NativeStatus: in.Status,
			Image: in.Image, Node: in.HostIP, Raw: it}
		if ts, err := time.Parse(time.RFC3339, in.CreatedAt); err == nil {
			inst.CreatedAt = &ts
		}
		resp.Instances = append(resp.Instances, inst)
	}
	if req.InstanceID != "" && len(resp.Instances) == 0 {
		return nil, pluginapi.NotFound("service %s has no instance %s", req.ID, req.InstanceID)
	}
	return resp, nil
}
