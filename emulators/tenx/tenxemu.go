// Package tenxemu is an in-process emulator of TenxCloud's REST API v1 for
// services (https://api.tenxcloud.com/v1/regions/{region}/services): list,
// get, create (name in the path), update (PUT), delete, start, stop,
// restart, logs by day with from/size paging, and instances. Every call
// must carry the "username" header and "Authorization: token <api token>".
//
// Statuses move over time, computed lazily from timestamps: a created,
// started, restarted or re-sized (memory) service is Pending for a while,
// then Running; a stopped one is Stopped. Running instances write one log
// line per interval ("<service> <instance> line N").
//
// Undocumented by TenxCloud and chosen here: status words besides
// "Running" (Pending, Stopped, Failed — an image whose tag is "fail" ends
// Failed, to let clients see it); error bodies {"code": N, "message": "..."};
// 409 for a duplicate name; start of a running or stop of a stopped
// service is a no-op answering 200; log days are UTC; log entries carry
// only instance_name and log, as documented; the instances answer is
// {"region": ..., "instances": [{name, status, created_at, ...}]}; the
// update body's container resources are read from "resources" or, as in
// the documented example, "resource", with memory as "512Mi" or 512.
package tenxemu

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure the emulator. Zero values take the defaults noted.
type Options struct {
	// Username and Token are the only credentials accepted; defaults "demo" and "tenx-demo-token".
	Username, Token string
	// Regions the account can use; default ["beijing1"].
	Regions []string
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Pending is how long a (re)started service stays Pending; default 3s.
	Pending time.Duration
	// LogInterval is how often each running instance writes a line; default 2s.
	LogInterval time.Duration
}

// Server is the emulator; it is an http.Handler.
type Server struct {
	opts Options
	mux  *http.ServeMux

	mu       sync.Mutex
	services map[string]*service // by region + "/" + name
	nextPort int
}

type container struct {
	Name      string   `json:"name"`
	Image     string   `json:"image"`
	Command   []string `json:"command"`
	Env       []envVar `json:"env"`
	Ports     []port   `json:"ports"`
	Resources struct {
		Limits struct {
			Memory string `json:"memory"`
		} `json:"limits"`
	} `json:"resources"`
	VolumeMounts    []volumeMount `json:"volumeMounts"`
	ImagePullPolicy string        `json:"imagePullPolicy"`
}

type envVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type port struct {
	Port          int    `json:"port,omitempty"`
	ContainerPort int    `json:"container_port,omitempty"`
	Protocol      string `json:"protocol"`
}

type volumeMount struct {
	Name      string `json:"name"`
	MountPath string `json:"mountPath"`
}

type portMapping struct {
	ServiceURL    string `json:"service_url,omitempty"`
	ContainerPort int    `json:"container_port"`
	Protocol      string `json:"protocol"`
}

type volume struct {
	Name       string `json:"name"`
	DiskName   string `json:"disk_name"`
	FsType     string `json:"fsType,omitempty"`
	IsReadOnly bool   `json:"is_read_only"`
}

// run is a stretch of time during which one generation of instances ran
// with a given count; end is zero while it lasts.
type run struct {
	gen        int
	start, end time.Time
	count      int
}

type service struct {
	region, uid, name string
	createdAt         time.Time
	size              int
	containers        []container
	portMappings      []portMapping
	volumes           []volume
	syncTimezone      bool
	domains           []string
	defaultDomain     string

	runs    []run
	genFrom map[int]time.Time // when each generation was started (Pending from then)
}

// New returns an emulator with no services.
func New(opts Options) *Server {
	if opts.Username == "" {
		opts.Username = "demo"
	}
	if opts.Token == "" {
		opts.Token = "tenx-demo-token"
	}
	if len(opts.Regions) == 0 {
		opts.Regions = []string{"beijing1"}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Pending == 0 {
		opts.Pending = 3 * time.Second
	}
	if opts.LogInterval == 0 {
		opts.LogInterval = 2 * time.Second
	}
	s := &Server{opts: opts, mux: http.NewServeMux(), services: map[string]*service{}, nextPort: 30001}
	const base = "/v1/regions/{region}/services"
	s.mux.HandleFunc("GET "+base, s.list)
	s.mux.HandleFunc("GET "+base+"/{name}", s.get)
	s.mux.HandleFunc("POST "+base+"/{name}", s.create)
	s.mux.HandleFunc("PUT "+base+"/{name}", s.update)
	s.mux.HandleFunc("DELETE "+base+"/{name}", s.delete)
	s.mux.HandleFunc("PUT "+base+"/{name}/{action}", s.action)
	s.mux.HandleFunc("GET "+base+"/{name}/logs", s.logs)
	s.mux.HandleFunc("GET "+base+"/{name}/instances", s.instances)
	return s
}

// DemoConfig returns a connection config for the TenxCloud plugin against
// this emulator at baseURL.
func (s *Server) DemoConfig(baseURL string) map[string]any {
	return map[string]any{"endpoint": baseURL, "username": s.opts.Username, "token": s.opts.Token, "region": s.opts.Regions[0]}
}

// SeedDemo adds a few running services in the first region.
func (s *Server) SeedDemo() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := s.opts.Now().Add(-10 * time.Minute)
	for _, d := range []struct {
		name, image string
		port, size  int
	}{
		{"myblog-mysql", "index.tenxcloud.com/tenxcloud/mysql:latest", 3306, 1},
		{"myblog-web", "index.tenxcloud.com/tenxcloud/wordpress:latest", 80, 2},
	} {
		// Empty lists are [], as for services created through the API.
		c := container{Name: d.name, Image: d.image, Command: []string{}, Env: []envVar{{"TZ", "Asia/Shanghai"}},
			Ports: []port{{Port: d.port, Protocol: "TCP"}}, VolumeMounts: []volumeMount{}, ImagePullPolicy: "IfNotPresent"}
		c.Resources.Limits.Memory = "512Mi"
		sv := &service{region: s.opts.Regions[0], uid: newUID(), name: d.name, createdAt: past, size: d.size,
			containers: []container{c}, domains: []string{}, genFrom: map[int]time.Time{0: past}}
		sv.portMappings = []portMapping{{ContainerPort: d.port, Protocol: "tcp"}}
		s.assignURLs(sv)
		sv.runs = []run{{gen: 0, start: past, count: d.size}}
		s.services[sv.region+"/"+sv.name] = sv
	}
}

// ServeHTTP checks the credentials and the region, then serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("username") != s.opts.Username || r.Header.Get("Authorization") != "token "+s.opts.Token {
		writeError(w, http.StatusUnauthorized, "Unauthorized: the username or API token is wrong or has expired")
		return
	}
	if parts := strings.Split(r.URL.Path, "/"); len(parts) > 3 && parts[1] == "v1" && parts[2] == "regions" && !slices.Contains(s.opts.Regions, parts[3]) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("region %s not found", parts[3]))
		return
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) lookup(w http.ResponseWriter, r *http.Request) *service {
	sv := s.services[r.PathValue("region")+"/"+r.PathValue("name")]
	if sv == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("service %s not found", r.PathValue("name")))
	}
	return sv
}

func (sv *service) current() *run {
	if len(sv.runs) == 0 || !sv.runs[len(sv.runs)-1].end.IsZero() {
		return nil
	}
	return &sv.runs[len(sv.runs)-1]
}

func (sv *service) failing() bool {
	return len(sv.containers) > 0 && strings.HasSuffix(sv.containers[0].Image, ":fail")
}

func (s *Server) status(sv *service, now time.Time) string {
	cur := sv.current()
	switch {
	case cur == nil:
		return "Stopped"
	case now.Before(sv.genFrom[cur.gen].Add(s.opts.Pending)):
		return "Pending"
	case sv.failing():
		return "Failed"
	}
	return "Running"
}

// startGen closes the current run and starts a new generation of instances.
func (s *Server) startGen(sv *service, now time.Time) {
	s.stopRun(sv, now)
	gen := len(sv.genFrom)
	sv.genFrom[gen] = now
	sv.runs = append(sv.runs, run{gen: gen, start: now, count: sv.size})
}

func (s *Server) stopRun(sv *service, now time.Time) {
	if cur := sv.current(); cur != nil {
		cur.end = now
	}
}

func (s *Server) assignURLs(sv *service) {
	sv.defaultDomain = ""
	for i := range sv.portMappings {
		url := fmt.Sprintf("%s-%s.tenxapp.com:%d", sv.name, s.opts.Username, s.nextPort)
		s.nextPort++
		sv.portMappings[i].ServiceURL = url
		if sv.defaultDomain == "" {
			sv.defaultDomain = url
		}
	}
}

func (s *Server) view(sv *service, now time.Time, withRegion bool) map[string]any {
	cs := slices.Clone(sv.containers)
	for i := range cs {
		// Read back, ports use container_port, as in the documented get answer.
		cs[i].Ports = nil
		for _, p := range sv.containers[i].Ports {
			cs[i].Ports = append(cs[i].Ports, port{ContainerPort: p.Port, Protocol: p.Protocol})
		}
	}
	v := map[string]any{
		"uid": sv.uid, "name": sv.name, "created_at": sv.createdAt.UTC().Format(time.RFC3339),
		"status": s.status(sv, now), "target_instance_size": sv.size, "containers": cs,
		"port_mappings": orEmpty(sv.portMappings), "volumes": orEmpty(sv.volumes),
		"default_domain_name": sv.defaultDomain, "binding_domain_name": orEmpty(sv.domains),
	}
	if withRegion {
		v["region"] = sv.region
	}
	return v
}

func orEmpty[T any](l []T) []T {
	if l == nil {
		return []T{}
	}
	return l
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	out := []map[string]any{}
	var all []*service
	for _, sv := range s.services {
		if sv.region == r.PathValue("region") {
			all = append(all, sv)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].name < all[j].name })
	for _, sv := range all {
		out = append(out, s.view(sv, now, false))
	}
	writeJSON(w, 200, map[string]any{"region": r.PathValue("region"), "services": out})
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sv := s.lookup(w, r); sv != nil {
		writeJSON(w, 200, s.view(sv, s.opts.Now(), true))
	}
}

var (
	nameRE   = regexp.MustCompile(`^[a-z][a-z0-9-]{1,61}[a-z0-9]$`)
	memories = []int{256, 512, 1024, 2048}
)

// parseMemory reads a container memory limit given as "512Mi" or 512.
func parseMemory(raw json.RawMessage) (string, error) {
	var n int
	if json.Unmarshal(raw, &n) != nil {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", fmt.Errorf("memory must be a number of Mi or a string like 512Mi")
		}
		v, err := strconv.Atoi(strings.TrimSuffix(s, "Mi"))
		if err != nil {
			return "", fmt.Errorf("memory %q must look like 512Mi", s)
		}
		n = v
	}
	if !slices.Contains(memories, n) {
		return "", fmt.Errorf("memory must be one of 256, 512, 1024, 2048 (Mi), not %d", n)
	}
	return fmt.Sprintf("%dMi", n), nil
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	var in struct {
		TargetInstanceSize *int `json:"target_instance_size"`
		Containers         []struct {
			Name      string   `json:"name"`
			Image     string   `json:"image"`
			Command   []string `json:"command"`
			Env       []envVar `json:"env"`
			Ports     []port   `json:"ports"`
			Resources struct {
				Limits struct {
					Memory json.RawMessage `json:"memory"`
				} `json:"limits"`
			} `json:"resources"`
			VolumeMounts []volumeMount `json:"volumeMounts"`
		} `json:"containers"`
		PortMappings []portMapping `json:"port_mappings"`
		Volumes      []volume      `json:"volumes"`
		SyncTimezone bool          `json:"sync_timezone"`
		Domains      []string      `json:"binding_domain_name"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		writeError(w, 400, "invalid request body: "+err.Error())
		return
	}
	name := r.PathValue("name")
	size := 1
	if in.TargetInstanceSize != nil {
		size = *in.TargetInstanceSize
	}
	switch {
	case !nameRE.MatchString(name):
		writeError(w, 400, "service name must be 3-63 lowercase letters, digits and hyphens, starting with a letter")
		return
	case size < 0 || size > 20:
		writeError(w, 400, "target_instance_size must be between 0 and 20")
		return
	case len(in.Containers) == 0:
		writeError(w, 400, "containers must hold at least one container")
		return
	}
	sv := &service{region: r.PathValue("region"), uid: newUID(), name: name, size: size,
		volumes: in.Volumes, syncTimezone: in.SyncTimezone, domains: in.Domains, genFrom: map[int]time.Time{}}
	for i, c := range in.Containers {
		if c.Image == "" {
			writeError(w, 400, fmt.Sprintf("containers[%d].image is required", i))
			return
		}
		out := container{Name: c.Name, Image: c.Image, Command: orEmpty(c.Command), Env: orEmpty(c.Env),
			VolumeMounts: orEmpty(c.VolumeMounts), ImagePullPolicy: "IfNotPresent"}
		if out.Name == "" {
			out.Name = name
			if i > 0 {
				out.Name = fmt.Sprintf("%s-%d", name, i)
			}
		}
		for _, p := range c.Ports {
			if p.Port == 0 {
				p.Port = p.ContainerPort
			}
			p.ContainerPort = 0
			if p.Port < 1 || p.Port > 65535 || (p.Protocol != "TCP" && p.Protocol != "UDP") {
				writeError(w, 400, fmt.Sprintf("containers[%d].ports: port must be 1-65535 and protocol TCP or UDP", i))
				return
			}
			out.Ports = append(out.Ports, p)
		}
		out.Resources.Limits.Memory = "512Mi"
		if len(c.Resources.Limits.Memory) > 0 {
			m, err := parseMemory(c.Resources.Limits.Memory)
			if err != nil {
				writeError(w, 400, fmt.Sprintf("containers[%d].resources.limits.%v", i, err))
				return
			}
			out.Resources.Limits.Memory = m
		}
		sv.containers = append(sv.containers, out)
	}
	for i := range sv.volumes {
		if sv.volumes[i].FsType == "" {
			sv.volumes[i].FsType = "ext4"
		}
	}
	for _, pm := range in.PortMappings {
		pm.Protocol = strings.ToLower(pm.Protocol)
		if pm.Protocol != "tcp" && pm.Protocol != "udp" && pm.Protocol != "http" {
			writeError(w, 400, "port_mappings protocol must be tcp, udp or http")
			return
		}
		sv.portMappings = append(sv.portMappings, portMapping{ContainerPort: pm.ContainerPort, Protocol: pm.Protocol})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.services[sv.region+"/"+name] != nil {
		writeError(w, 409, fmt.Sprintf("service %s already exists", name))
		return
	}
	now := s.opts.Now()
	sv.createdAt = now
	s.assignURLs(sv)
	s.startGen(sv, now)
	s.services[sv.region+"/"+name] = sv
	writeJSON(w, 200, s.view(sv, now, false))
}

func (s *Server) update(w http.ResponseWriter, r *http.Request) {
	var in map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, 400, "invalid request body: "+err.Error())
		return
	}
	var size *int
	var memory string
	var domains []string
	for k, v := range in {
		switch k {
		case "target_instance_size":
			var n int
			if json.Unmarshal(v, &n) != nil || n < 0 || n > 20 {
				writeError(w, 400, "target_instance_size must be a number between 0 and 20")
				return
			}
			size = &n
		case "binding_domain_name":
			if json.Unmarshal(v, &domains) != nil {
				writeError(w, 400, "binding_domain_name must be a list of domain names")
				return
			}
			domains = orEmpty(domains)
		case "containers":
			m, err := updateMemory(v)
			if err != nil {
				writeError(w, 400, err.Error())
				return
			}
			memory = m
		default:
			writeError(w, 400, fmt.Sprintf("%s cannot be updated: only target_instance_size, containers resources memory and binding_domain_name can", k))
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sv := s.lookup(w, r)
	if sv == nil {
		return
	}
	now := s.opts.Now()
	if domains != nil {
		sv.domains = domains
	}
	if memory != "" && memory != sv.containers[0].Resources.Limits.Memory {
		for i := range sv.containers {
			sv.containers[i].Resources.Limits.Memory = memory
		}
		if size != nil {
			sv.size = *size
		}
		if sv.current() != nil {
			s.startGen(sv, now) // new limits mean new instances
		}
	} else if size != nil && *size != sv.size {
		sv.size = *size
		if cur := sv.current(); cur != nil {
			// Scaling keeps the generation: existing instances go on.
			cur.end = now
			sv.runs = append(sv.runs, run{gen: cur.gen, start: now, count: sv.size})
		}
	}
	writeJSON(w, 200, map[string]any{"code": 200, "message": "service " + sv.name + " updated"})
}

// updateMemory reads [{"resources" or "resource": {"limits": {"memory": ...}}}].
func updateMemory(raw json.RawMessage) (string, error) {
	var cs []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &cs); err != nil {
		return "", fmt.Errorf("containers must be a list of objects")
	}
	memory := ""
	for i, c := range cs {
		for k, v := range c {
			if k != "resources" && k != "resource" {
				return "", fmt.Errorf("containers[%d].%s cannot be updated: only the memory limit can", i, k)
			}
			var res struct {
				Limits map[string]json.RawMessage `json:"limits"`
			}
			if json.Unmarshal(v, &res) != nil || res.Limits == nil || len(res.Limits["memory"]) == 0 {
				return "", fmt.Errorf("containers[%d].%s must be {\"limits\": {\"memory\": \"512Mi\"}}", i, k)
			}
			m, err := parseMemory(res.Limits["memory"])
			if err != nil {
				return "", fmt.Errorf("containers[%d].%s.limits.%v", i, k, err)
			}
			if memory != "" && m != memory {
				return "", fmt.Errorf("containers[%d]: conflicting memory limits %s and %s", i, memory, m)
			}
			memory = m
		}
	}
	return memory, nil
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sv := s.lookup(w, r); sv != nil {
		delete(s.services, sv.region+"/"+sv.name)
		writeJSON(w, 200, map[string]any{"code": 200, "message": "Service was deleted successfully"})
	}
}

func (s *Server) action(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	act := r.PathValue("action")
	if act != "start" && act != "stop" && act != "restart" {
		writeError(w, 404, "no such action "+act)
		return
	}
	sv := s.lookup(w, r)
	if sv == nil {
		return
	}
	now := s.opts.Now()
	switch act {
	case "start":
		if sv.current() == nil {
			s.startGen(sv, now)
		}
	case "stop":
		s.stopRun(sv, now)
	case "restart":
		s.startGen(sv, now)
	}
	writeJSON(w, 200, map[string]any{"code": 200, "message": "service " + sv.name + " " + act + " accepted"})
}

// line is one log line of one instance.
type line struct {
	at       time.Time
	instance string
	n        int
}

func instanceName(sv *service, gen, i int) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s/%s/%d", sv.uid, sv.name, gen)
	const letters = "bcdfghjklmnpqrstvwxz2456789"
	suffix := []byte{letters[(i*7+3)%len(letters)], letters[(i*11+5)%len(letters)], letters[(i*13+1)%len(letters)],
		letters[(i*17+2)%len(letters)], letters[i%len(letters)]}
	return fmt.Sprintf("%s-%08x-%s", sv.name, h.Sum32(), suffix)
}

// lines returns the lines written in [from, to), oldest first.
func (s *Server) lines(sv *service, from, to time.Time) []line {
	if sv.failing() {
		return nil
	}
	iv := s.opts.LogInterval
	var out []line
	for _, r := range sv.runs {
		ready := sv.genFrom[r.gen].Add(s.opts.Pending)
		lo, hi := maxTime(r.start, ready, from), to
		if !r.end.IsZero() && r.end.Before(hi) {
			hi = r.end
		}
		if !lo.Before(hi) {
			continue
		}
		// Line k (k ≥ 1) of an instance is written at ready + k*interval.
		k0 := max(1, int((lo.Sub(ready)+iv-1)/iv))
		for i := 0; i < r.count; i++ {
			name := instanceName(sv, r.gen, i)
			for k := k0; ; k++ {
				at := ready.Add(time.Duration(k) * iv)
				if !at.Before(hi) {
					break
				}
				if !at.Before(lo) {
					out = append(out, line{at, name, k})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].at.Equal(out[j].at) {
			return out[i].at.Before(out[j].at)
		}
		return out[i].instance < out[j].instance
	})
	return out
}

func maxTime(ts ...time.Time) time.Time {
	m := ts[0]
	for _, t := range ts[1:] {
		if t.After(m) {
			m = t
		}
	}
	return m
}

func (s *Server) logs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	sv := s.lookup(w, r)
	if sv == nil {
		return
	}
	now := s.opts.Now()
	day := now.UTC().Truncate(24 * time.Hour)
	if d := q.Get("date"); d != "" {
		t, err := time.Parse("2006.01.02", d)
		if err != nil {
			writeError(w, 400, "date must look like 2015.12.29")
			return
		}
		day = t
	}
	from, size := 0, 100
	for name, dst := range map[string]*int{"from": &from, "size": &size} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || (name == "size" && (n < 1 || n > 1000)) {
				writeError(w, 400, name+" must be a number (size 1-1000)")
				return
			}
			*dst = n
		}
	}
	end := day.Add(24 * time.Hour)
	if now.Before(end) {
		end = now.Add(time.Nanosecond) // lines written at now are visible
	}
	all := s.lines(sv, day, end)
	out := []map[string]string{}
	for i := from; i < len(all) && i < from+size; i++ {
		l := all[i]
		out = append(out, map[string]string{"instance_name": l.instance, "log": fmt.Sprintf("%s %s line %d", sv.name, l.instance, l.n)})
	}
	writeJSON(w, 200, out)
}

func (s *Server) instances(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sv := s.lookup(w, r)
	if sv == nil {
		return
	}
	now := s.opts.Now()
	out := []map[string]any{}
	if cur := sv.current(); cur != nil {
		st := s.status(sv, now)
		for i := 0; i < cur.count; i++ {
			out = append(out, map[string]any{
				"name": instanceName(sv, cur.gen, i), "status": st,
				"created_at": sv.genFrom[cur.gen].UTC().Format(time.RFC3339),
				"image":      sv.containers[0].Image, "restart_count": 0,
				"host_ip": fmt.Sprintf("10.0.0.%d", 10+i), "pod_ip": fmt.Sprintf("172.16.%d.%d", cur.gen%250, 2+i),
			})
		}
	}
	writeJSON(w, 200, map[string]any{"region": sv.region, "instances": out})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"code": status, "message": msg})
}

func newUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
