package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin/rest"
)

// provider implements plugin.Provider and plugin.InvokeProvider for Peak.
type provider struct{}

const basePath = "/webapps/api/v1/webapps"

// client sends requests to Peak; the host adds "Authorization: <API key>".
var client = &rest.Client{
	Endpoint: "endpoint",
	Auth:     &pluginapi.Auth{Scheme: pluginapi.AuthHeader, Header: "Authorization", Secret: "api_key"},
}

// spec is the plugin's flat view of a Peak service body.
type spec struct {
	Name              string            `json:"name"`
	Title             string            `json:"title,omitempty"`
	Description       string            `json:"description,omitempty"`
	ServiceType       string            `json:"serviceType,omitempty"`
	ImageID           int64             `json:"imageId"`
	VersionID         int64             `json:"versionId,omitempty"`
	InstanceTypeID    int64             `json:"instanceTypeId,omitempty"`
	Env               map[string]string `json:"env,omitempty"`
	Secrets           []string          `json:"secrets,omitempty"`
	SessionStickiness bool              `json:"sessionStickiness,omitempty"`
	ScaleToZero       bool              `json:"scaleToZero,omitempty"`
	MinInstances      *int              `json:"minInstances,omitempty"`
	Entrypoint        string            `json:"entrypoint,omitempty"`
	HealthCheckURL    string            `json:"healthCheckURL,omitempty"`
	Upsert            bool              `json:"upsert,omitempty"`
}

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$`)

func parseSpec(raw json.RawMessage) (*spec, error) {
	s := new(spec)
	if err := rest.DecodeSpec(raw, s); err != nil {
		return nil, err
	}
	if s.ServiceType == "" {
		s.ServiceType = "api"
	}
	switch {
	case s.Name == "":
		return nil, pluginapi.Invalid("/name", "name is required")
	case !nameRE.MatchString(s.Name):
		return nil, pluginapi.Invalid("/name", "name %q must be 1-64 lowercase letters, digits and hyphens, starting and ending with a letter or digit", s.Name)
	case !slices.Contains([]string{"api", "web-app", "shiny"}, s.ServiceType):
		return nil, pluginapi.Invalid("/serviceType", "serviceType %q must be api, web-app or shiny", s.ServiceType)
	case s.ImageID <= 0:
		return nil, pluginapi.Invalid("/imageId", "imageId is required and must be a positive image ID")
	case s.VersionID < 0:
		return nil, pluginapi.Invalid("/versionId", "versionId must be a positive version ID")
	case s.InstanceTypeID < 0:
		return nil, pluginapi.Invalid("/instanceTypeId", "instanceTypeId must be a positive instance type ID")
	case s.MinInstances != nil && (*s.MinInstances < 0 || *s.MinInstances > 10):
		return nil, pluginapi.Invalid("/minInstances", "minInstances must be between 0 and 10")
	}
	return s, nil
}

// body is the create payload of POST /webapps/api/v1/webapps/; update
// sends the same without name and serviceType. Strings and parameters are
// always sent on update so that clearing them in the spec clears them on Peak.
func (s *spec) body(create bool) map[string]any {
	b := map[string]any{
		"title":             s.Title,
		"description":       s.Description,
		"imageDetails":      map[string]any{"imageId": s.ImageID},
		"parameters":        map[string]any{"env": orEmpty(s.Env), "secrets": orEmptyList(s.Secrets)},
		"sessionStickiness": s.SessionStickiness,
		"scaleToZero":       s.ScaleToZero,
		"entrypoint":        s.Entrypoint,
		"healthCheckURL":    s.HealthCheckURL,
	}
	if s.Title == "" {
		b["title"] = s.Name
	}
	if s.VersionID > 0 {
		b["imageDetails"].(map[string]any)["versionId"] = s.VersionID
	}
	if s.InstanceTypeID > 0 {
		b["resources"] = map[string]any{"instanceTypeId": s.InstanceTypeID}
	}
	if s.MinInstances != nil {
		b["minInstances"] = *s.MinInstances
	}
	if create {
		b["name"] = s.Name
		b["serviceType"] = s.ServiceType
	}
	return b
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func orEmptyList(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// peakService is Peak's describe answer.
type peakService struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Title        string `json:"title"`
	Description  string `json:"description"`
	Status       string `json:"status"`
	ServiceType  string `json:"serviceType"`
	ImageDetails struct {
		ImageID   int64 `json:"imageId"`
		VersionID int64 `json:"versionId"`
	} `json:"imageDetails"`
	Resources struct {
		InstanceTypeID int64 `json:"instanceTypeId"`
	} `json:"resources"`
	Parameters struct {
		Env     map[string]string `json:"env"`
		Secrets []string          `json:"secrets"`
	} `json:"parameters"`
	SessionStickiness bool   `json:"sessionStickiness"`
	ScaleToZero       bool   `json:"scaleToZero"`
	MinInstances      *int   `json:"minInstances"`
	Entrypoint        string `json:"entrypoint"`
	HealthCheckURL    string `json:"healthCheckURL"`
	CreatedAt         string `json:"createdAt"`
	UpdatedAt         string `json:"updatedAt"`

	raw json.RawMessage
}

func (p *peakService) spec() *spec {
	s := &spec{Name: p.Name, Title: p.Title, Description: p.Description, ServiceType: p.ServiceType,
		ImageID: p.ImageDetails.ImageID, VersionID: p.ImageDetails.VersionID,
		InstanceTypeID: p.Resources.InstanceTypeID, SessionStickiness: p.SessionStickiness,
		ScaleToZero: p.ScaleToZero, MinInstances: p.MinInstances, Entrypoint: p.Entrypoint,
		HealthCheckURL: p.HealthCheckURL}
	if len(p.Parameters.Env) > 0 {
		s.Env = p.Parameters.Env
	}
	if len(p.Parameters.Secrets) > 0 {
		s.Secrets = p.Parameters.Secrets
	}
	return s
}

// normalize maps Peak's status to Wharf's. DEPLOYING after an update (the
// service was changed after it was created) is a redeploy: "updating".
func normalize(status string, updated bool) pluginapi.Status {
	switch status {
	case "CREATING":
		return pluginapi.StatusPending
	case "DEPLOYING":
		if updated {
			return pluginapi.StatusUpdating
		}
		return pluginapi.StatusDeploying
	case "AVAILABLE":
		return pluginapi.StatusRunning
	case "DELETING":
		return pluginapi.StatusDeleting
	case "CREATE_FAILED", "DELETE_FAILED":
		return pluginapi.StatusFailed
	}
	return pluginapi.StatusUnknown
}

func parseTime(s string) *time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil
	}
	return &t
}

func (p *peakService) service() *pluginapi.Service {
	created, updated := parseTime(p.CreatedAt), parseTime(p.UpdatedAt)
	wasUpdated := created != nil && updated != nil && updated.After(*created)
	sv := &pluginapi.Service{
		ID: p.ID, Name: p.Name,
		Status:       normalize(p.Status, wasUpdated),
		NativeStatus: p.Status,
		Image:        imageText(p.ImageDetails.ImageID, p.ImageDetails.VersionID),
		Labels:       map[string]string{"serviceType": p.ServiceType},
		CreatedAt:    created, UpdatedAt: updated,
		Version: p.UpdatedAt,
		Spec:    rest.MustJSON(p.spec()),
		Raw:     p.raw,
	}
	if p.Title != "" && p.Title != p.Name {
		sv.Labels["title"] = p.Title
	}
	switch p.Status {
	case "CREATE_FAILED":
		sv.StatusMessage = "Peak could not create the service"
	case "DELETE_FAILED":
		sv.StatusMessage = "Peak could not delete the service"
	}
	return sv
}

func describe(ctx context.Context, id string) (*peakService, error) {
	if id == "" {
		return nil, pluginapi.Invalid("/id", "the service id is required")
	}
	var raw json.RawMessage
	if err := client.Do(ctx, rest.Request{Method: "GET", Path: basePath + "/" + url.PathEscape(id)}, &raw); err != nil {
		return nil, err
	}
	p := &peakService{raw: raw}
	if err := json.Unmarshal(raw, p); err != nil {
		return nil, pluginapi.Errorf(pluginapi.CodeInternal, "decode Peak service: %v", err)
	}
	return p, nil
}

// Create creates a service, or updates the one with the same name when the
// spec asks for upsert.
func (provider) Create(ctx context.Context, req *pluginapi.CreateRequest) (*pluginapi.ServiceResponse, error) {
	s, err := parseSpec(req.Spec)
	if err != nil {
		return nil, err
	}
	if s.Upsert {
		id, err := findByName(ctx, s.Name)
		if err != nil {
			return nil, err
		}
		if id != "" {
			// peak-sdk's create_or_update_service sends the body as a PATCH,
			// which keeps what it leaves out: merge it onto the service.
			cur, err := describe(ctx, id)
			if err != nil {
				return nil, err
			}
			merged, err := overlay(rest.MustJSON(cur.spec()), req.Spec)
			if err != nil {
				return nil, err
			}
			if s, err = parseSpec(merged); err != nil {
				return nil, err
			}
			return update(ctx, id, s, "")
		}
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := client.Do(ctx, rest.Request{Method: "POST", Path: basePath + "/", JSON: s.body(true)}, &out); err != nil {
		return nil, err
	}
	p, err := describe(ctx, out.ID)
	if err != nil {
		return nil, err
	}
	return &pluginapi.ServiceResponse{Service: p.service()}, nil
}

// findByName does what create_or_update_service does: a search by name
// (100 a page) and an exact match among the results.
func findByName(ctx context.Context, name string) (string, error) {
	for page := 1; ; page++ {
		l, err := listPage(ctx, url.Values{"searchTerm": {name}}, 100, page)
		if err != nil {
			return "", err
		}
		for _, p := range l.Services {
			if p.Name == name {
				return p.ID, nil
			}
		}
		if page >= l.PageCount {
			return "", nil
		}
	}
}

// Get describes a service.
func (provider) Get(ctx context.Context, req *pluginapi.GetRequest) (*pluginapi.ServiceResponse, error) {
	p, err := describe(ctx, req.ID)
	if err != nil {
		return nil, err
	}
	return &pluginapi.ServiceResponse{Service: p.service()}, nil
}

// Update patches a service. Name and serviceType cannot change on Peak.
func (provider) Update(ctx context.Context, req *pluginapi.UpdateRequest) (*pluginapi.ServiceResponse, error) {
	s, err := parseSpec(req.Spec)
	if err != nil {
		return nil, err
	}
	return update(ctx, req.ID, s, req.Version)
}

func update(ctx context.Context, id string, s *spec, version string) (*pluginapi.ServiceResponse, error) {
	cur, err := describe(ctx, id)
	if err != nil {
		return nil, err
	}
	if s.Name != cur.Name {
		return nil, pluginapi.Invalid("/name", "name cannot be changed on Peak (it is %q)", cur.Name)
	}
	if s.ServiceType != cur.ServiceType {
		return nil, pluginapi.Invalid("/serviceType", "serviceType cannot be changed on Peak (it is %q)", cur.ServiceType)
	}
	if version != "" && version != cur.UpdatedAt {
		return nil, &pluginapi.Error{Code: pluginapi.CodeConflict,
			Message: fmt.Sprintf("service %s changed since version %s (now %s): fetch it again", cur.Name, version, cur.UpdatedAt)}
	}
	patch := rest.Changes(cur.spec().body(false), s.body(false))
	if len(patch) == 0 {
		return &pluginapi.ServiceResponse{Service: cur.service()}, nil // nothing changes: no PATCH, no new updatedAt
	}
	if err := client.Do(ctx, rest.Request{Method: "PATCH", Path: basePath + "/" + url.PathEscape(id), JSON: patch}, nil); err != nil {
		return nil, err
	}
	p, err := describe(ctx, id)
	if err != nil {
		return nil, err
	}
	return &pluginapi.ServiceResponse{Service: p.service()}, nil
}

// overlay puts the top-level members of patch onto base (both JSON objects).
func overlay(base, patch json.RawMessage) (json.RawMessage, error) {
	var b, p map[string]json.RawMessage
	if err := json.Unmarshal(base, &b); err != nil {
		return nil, pluginapi.Errorf(pluginapi.CodeInternal, "current spec: %v", err)
	}
	if err := json.Unmarshal(patch, &p); err != nil {
		return nil, pluginapi.Invalid("", "the spec must be a JSON object")
	}
	for k, v := range p {
		b[k] = v
	}
	return json.Marshal(b)
}

// Delete starts the removal; Peak answers 409 while the service is in a
// state that forbids it.
func (provider) Delete(ctx context.Context, req *pluginapi.DeleteRequest) (*pluginapi.ServiceResponse, error) {
	p, err := describe(ctx, req.ID)
	if err != nil {
		return nil, err
	}
	if err := client.Do(ctx, rest.Request{Method: "DELETE", Path: basePath + "/" + url.PathEscape(req.ID)}, nil); err != nil {
		return nil, err
	}
	sv := p.service()
	sv.Status, sv.NativeStatus = pluginapi.StatusDeleting, "DELETING"
	return &pluginapi.ServiceResponse{Service: sv}, nil
}

type listAnswer struct {
	ServicesCount int               `json:"servicesCount"`
	Services      []json.RawMessage `json:"services"`
	PageCount     int               `json:"pageCount"`
	PageNumber    int               `json:"pageNumber"`
	PageSize      int               `json:"pageSize"`
}

type listPageResult struct {
	Services  []*peakService
	PageCount int
}

func listPage(ctx context.Context, q url.Values, size, number int) (*listPageResult, error) {
	q.Set("featureType", "services")
	q.Set("pageSize", strconv.Itoa(size))
	q.Set("pageNumber", strconv.Itoa(number))
	var a listAnswer
	if err := client.Do(ctx, rest.Request{Method: "GET", Path: basePath + "/", Query: q}, &a); err != nil {
		return nil, err
	}
	out := &listPageResult{PageCount: a.PageCount}
	for _, raw := range a.Services {
		p := &peakService{raw: raw}
		if err := json.Unmarshal(raw, p); err != nil {
			return nil, pluginapi.Errorf(pluginapi.CodeInternal, "decode Peak service: %v", err)
		}
		out.Services = append(out.Services, p)
	}
	return out, nil
}

// nativeStatuses are Peak's words for each normalized status.
var nativeStatuses = map[string][]string{
	"pending":   {"CREATING"},
	"deploying": {"DEPLOYING"},
	"updating":  {"DEPLOYING"},
	"running":   {"AVAILABLE"},
	"deleting":  {"DELETING"},
	"failed":    {"CREATE_FAILED", "DELETE_FAILED"},
	"stopped":   {},
}

// List answers one page of services. Filters: status (normalized or
// Peak's own word, repeatable), name (Peak's search term: a substring of
// the name or title; one value), serviceType (repeatable). The page token
// is Peak's page number.
func (provider) List(ctx context.Context, req *pluginapi.ListRequest) (*pluginapi.ListResponse, error) {
	if err := rest.CheckFilters(req.Filters, "status", "name", "serviceType"); err != nil {
		return nil, err
	}
	q := url.Values{}
	var wantStatus []string // what the answer must match, normalized or native
	native := map[string]bool{}
	for _, st := range req.Filters["status"] {
		if words, ok := nativeStatuses[strings.ToLower(st)]; ok {
			wantStatus = append(wantStatus, strings.ToLower(st))
			for _, w := range words {
				native[w] = true
			}
		} else if slices.Contains([]string{"CREATING", "DEPLOYING", "AVAILABLE", "DELETING", "CREATE_FAILED", "DELETE_FAILED"}, strings.ToUpper(st)) {
			wantStatus = append(wantStatus, strings.ToUpper(st))
			native[strings.ToUpper(st)] = true
		} else {
			return nil, pluginapi.Invalid("/filters/status", "unknown status %q", st)
		}
	}
	if len(req.Filters["status"]) > 0 && len(native) == 0 {
		return &pluginapi.ListResponse{Services: []pluginapi.Service{}}, nil // "stopped": Peak services never are
	}
	for st := range native {
		q.Add("status", st)
	}
	slices.Sort(q["status"])
	switch names := req.Filters["name"]; len(names) {
	case 0:
	case 1:
		q.Set("searchTerm", names[0])
	default:
		return nil, pluginapi.Invalid("/filters/name", "Peak searches one name at a time")
	}
	for _, t := range req.Filters["serviceType"] {
		if !slices.Contains([]string{"api", "web-app", "shiny"}, t) {
			return nil, pluginapi.Invalid("/filters/serviceType", "serviceType %q must be api, web-app or shiny", t)
		}
		q.Add("serviceType", t)
	}
	size := req.PageSize
	if size <= 0 {
		size = 25
	}
	size = min(size, 100)
	number := 1
	if req.PageToken != "" {
		n, err := strconv.Atoi(req.PageToken)
		if err != nil || n < 1 {
			return nil, pluginapi.Invalid("/page_token", "page token %q was not made by this plugin", req.PageToken)
		}
		number = n
	}
	l, err := listPage(ctx, q, size, number)
	if err != nil {
		return nil, err
	}
	resp := &pluginapi.ListResponse{Services: []pluginapi.Service{}}
	for _, p := range l.Services {
		sv := p.service()
		// DEPLOYING covers both deploying and updating: keep only what was asked.
		if len(wantStatus) > 0 && !slices.Contains(wantStatus, string(sv.Status)) && !slices.Contains(wantStatus, sv.NativeStatus) {
			continue
		}
		resp.Services = append(resp.Services, *sv)
	}
	if number < l.PageCount {
		resp.NextPageToken = strconv.Itoa(number + 1)
	}
	return resp, nil
}

// Logs is unsupported: Peak offers no logs API for services.
func (provider) Logs(context.Context, *pluginapi.LogsRequest) (*pluginapi.LogsResponse, error) {
	return nil, pluginapi.Unsupported("Peak has no logs API for services: see the service's logs in the Peak console")
}

// Lifecycle is unsupported: Peak services cannot be started, stopped or scaled through the API.
func (provider) Lifecycle(_ context.Context, req *pluginapi.LifecycleRequest) (*pluginapi.ServiceResponse, error) {
	return nil, pluginapi.Unsupported("Peak has no %q action: services cannot be started, stopped, restarted or scaled through its API (use minInstances or scaleToZero in the spec)", req.Action)
}

// Invoke calls Peak's test endpoint, which takes the service's name: it
// sends one request to an API service and reports its answer.
func (provider) Invoke(ctx context.Context, req *pluginapi.InvokeRequest) (*pluginapi.InvokeResponse, error) {
	method := strings.ToLower(req.Method)
	if method == "" {
		method = "get"
	}
	if !slices.Contains([]string{"get", "post", "put", "patch", "delete"}, method) {
		return nil, pluginapi.Invalid("/method", "Peak can test with get, post, put, patch or delete, not %q", req.Method)
	}
	if len(req.Headers) > 0 {
		return nil, pluginapi.Invalid("/headers", "Peak's test endpoint cannot send headers")
	}
	if ct := req.ContentType; ct != "" && !strings.HasPrefix(ct, "application/json") {
		return nil, pluginapi.Invalid("/content_type", "Peak's test endpoint sends JSON only, not %s", ct)
	}
	in := map[string]any{"httpMethod": method, "path": req.Path}
	if req.Path == "" {
		in["path"] = "/"
	}
	if len(req.Body) > 0 {
		if !json.Valid(req.Body) {
			return nil, pluginapi.Invalid("/body", "Peak's test endpoint takes a JSON payload")
		}
		in["payload"] = json.RawMessage(req.Body)
	}
	p, err := describe(ctx, req.ID)
	if err != nil {
		return nil, err
	}
	var out struct {
		ResponseBody   json.RawMessage `json:"responseBody"`
		ResponseStatus int             `json:"responseStatus"`
		ReqStartTime   json.RawMessage `json:"reqStartTime"`
		ReqEndTime     json.RawMessage `json:"reqEndTime"`
	}
	if err := client.Do(ctx, rest.Request{Method: "POST", Path: basePath + "/" + url.PathEscape(p.Name) + "/test", JSON: in}, &out); err != nil {
		return nil, err
	}
	resp := &pluginapi.InvokeResponse{Status: out.ResponseStatus, Body: out.ResponseBody}
	// The body comes as a JSON string holding the service's answer, or as JSON itself.
	var text string
	if json.Unmarshal(out.ResponseBody, &text) == nil {
		resp.Body = []byte(text)
	}
	if json.Valid(resp.Body) && len(resp.Body) > 0 {
		resp.ContentType = "application/json"
	}
	if start, end := stamp(out.ReqStartTime), stamp(out.ReqEndTime); start != nil && end != nil {
		resp.DurationMS = end.Sub(*start).Milliseconds()
	}
	return resp, nil
}

// stamp reads a time given as an RFC 3339 string or as epoch milliseconds.
func stamp(raw json.RawMessage) *time.Time {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return parseTime(s)
	}
	var ms float64
	if json.Unmarshal(raw, &ms) == nil && ms > 0 {
		t := time.UnixMilli(int64(ms))
		return &t
	}
	return nil
}

// imageText names a Peak image as its API does, by ids (it gives no
// names): "image ID 12, version ID 3"; without a version, Peak runs the
// image's latest.
func imageText(image, version int64) string {
	if version > 0 {
		return fmt.Sprintf("image ID %d, version ID %d", image, version)
	}
	return fmt.Sprintf("image ID %d, latest version", image)
}
