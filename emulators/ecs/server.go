// Package ecsemu is an in-process emulator of AWS ECS services and the
// CloudWatch Logs reads that follow them, speaking the real AWS JSON 1.1
// protocol with SigV4 verification. One Server answers both APIs: it
// dispatches on the X-Amz-Target header (AmazonEC2ContainerServiceV20141113.*
// and Logs_20140328.*), so a plugin's "endpoint" and "logs_endpoint" can both
// point at it.
//
// State moves with time and is computed from timestamps against an
// injectable clock: tasks start one TaskStart apart, a deployment completes
// when its last task runs, a deleted service drains for DrainTime, and every
// running task writes one log line per LogInterval into its awslogs stream
// "<prefix>/<container>/<task-id>". A container whose image tag is
// ":broken" never starts, which trips the deployment circuit breaker.
package ecsemu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Credential is one access key the emulator accepts.
type Credential struct {
	AccessKeyID     string
	SecretAccessKey string
	// SessionToken, when set, must come as X-Amz-Security-Token; when empty
	// a request carrying a token is refused, as AWS does for long-term keys.
	SessionToken string
	// ReadOnly credentials get AccessDeniedException on every change.
	ReadOnly bool
}

// Options configures a Server. Zero values get the defaults named.
type Options struct {
	Region      string       // "us-east-1"
	AccountID   string       // "123456789012"
	Credentials []Credential // one demo key: AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
	Clusters    []string     // clusters that exist at start (more come with CreateCluster); "default"
	Now         func() time.Time
	// TaskStart is the time between a deployment starting and each next task running (2s).
	TaskStart time.Duration
	// DrainTime is how long a deleted service stays DRAINING before INACTIVE (10s).
	DrainTime time.Duration
	// LogInterval is the time between two log lines of a running task (1s).
	LogInterval time.Duration
	// NoTaskDefinitions leaves the account without the demo task definitions
	// (web:1, web:2, worker:1, crashloop:1) that New registers otherwise.
	NoTaskDefinitions bool
	// Throttle, when it answers true for an operation name, makes that call
	// fail with ThrottlingException, for testing retries.
	Throttle func(operation string) bool
}

// DemoAccessKeyID and DemoSecretAccessKey are the default credentials.
const (
	DemoAccessKeyID     = "AKIDEXAMPLE"
	DemoSecretAccessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// Server is the emulator; it is an http.Handler.
type Server struct {
	opts Options

	mu       sync.Mutex
	rng      *rand.Rand
	services map[string]*service // key: cluster + "/" + name
	clusters map[string]*cluster // key: name
	taskDefs map[string][]*taskDef
}

// New returns an emulator with the given options.
func New(opts Options) *Server {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = "123456789012"
	}
	if len(opts.Credentials) == 0 {
		opts.Credentials = []Credential{{AccessKeyID: DemoAccessKeyID, SecretAccessKey: DemoSecretAccessKey}}
	}
	if len(opts.Clusters) == 0 {
		opts.Clusters = []string{"default"}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.TaskStart <= 0 {
		opts.TaskStart = 2 * time.Second
	}
	if opts.DrainTime <= 0 {
		opts.DrainTime = 10 * time.Second
	}
	if opts.LogInterval <= 0 {
		opts.LogInterval = time.Second
	}
	s := &Server{
		opts:     opts,
		rng:      rand.New(rand.NewPCG(7, 11)),
		services: map[string]*service{},
		taskDefs: map[string][]*taskDef{},
		clusters: map[string]*cluster{},
	}
	for _, name := range opts.Clusters {
		s.newCluster(name)
	}
	if !opts.NoTaskDefinitions {
		s.registerDemoTaskDefinitions()
	}
	return s
}

// DemoConfig returns a connection config for the ECS plugin against this
// emulator served at baseURL, credentials included.
func (s *Server) DemoConfig(baseURL string) map[string]any {
	c := s.opts.Credentials[0]
	cfg := map[string]any{
		"region":            s.opts.Region,
		"cluster":           s.opts.Clusters[0],
		"endpoint":          baseURL,
		"logs_endpoint":     baseURL,
		"access_key_id":     c.AccessKeyID,
		"secret_access_key": c.SecretAccessKey,
	}
	if c.SessionToken != "" {
		cfg["session_token"] = c.SessionToken
	}
	return cfg
}

// SeedDemo adds a few running services: web (2 Fargate tasks of web:1),
// worker (1 EC2 task of worker:1) and api (web:2, behind a load balancer).
func (s *Server) SeedDemo() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.taskDefs) == 0 {
		s.registerDemoTaskDefinitionsLocked()
	}
	now := s.opts.Now()
	netConf := &networkConfiguration{AwsvpcConfiguration: &awsvpcConfiguration{
		Subnets: []string{"subnet-0a1b2c3d"}, SecurityGroups: []string{"sg-0123abcd"}, AssignPublicIP: "ENABLED"}}
	seed := []createServiceInput{
		{ServiceName: "web", TaskDefinition: "web:1", DesiredCount: ptr(2), LaunchType: "FARGATE", NetworkConfiguration: netConf,
			Tags: []tag{{Key: "team", Value: "frontend"}}},
		{ServiceName: "worker", TaskDefinition: "worker:1", DesiredCount: ptr(1), LaunchType: "EC2"},
		{ServiceName: "api", TaskDefinition: "web:2", DesiredCount: ptr(1), LaunchType: "FARGATE", NetworkConfiguration: netConf,
			LoadBalancers: []loadBalancer{{TargetGroupArn: "arn:aws:elasticloadbalancing:" + s.opts.Region + ":" + s.opts.AccountID +
				":targetgroup/api/0123456789abcdef", ContainerName: "web", ContainerPort: ptr(80)}}},
	}
	for _, in := range seed {
		in.Cluster = s.opts.Clusters[0]
		if _, err := s.createService(&in, now); err != nil {
			panic("ecsemu: seed " + in.ServiceName + ": " + err.Message)
		}
	}
}

// apiError is an AWS JSON protocol error.
type apiError struct {
	Type    string
	Message string
	Status  int
}

func errf(typ, format string, args ...any) *apiError {
	return &apiError{Type: typ, Message: fmt.Sprintf(format, args...), Status: 400}
}

func invalidParam(format string, args ...any) *apiError {
	return errf("InvalidParameterException", format, args...)
}

const (
	ecsPrefix  = "AmazonEC2ContainerServiceV20141113."
	logsPrefix = "Logs_20140328."
)

// readOnlyOps are the operations a ReadOnly credential may call.
var readOnlyOps = map[string]bool{
	"DescribeServices": true, "ListServices": true, "ListServiceDeployments": true, "DescribeServiceDeployments": true,
	"DescribeTaskDefinition": true, "ListTasks": true, "DescribeTasks": true, "ListTagsForResource": true,
	"DescribeClusters": true, "ListClusters": true,
	"GetLogEvents": true, "FilterLogEvents": true, "DescribeLogStreams": true,
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Amzn-RequestId", s.requestID())
	body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err != nil {
		writeError(w, &apiError{Type: "SerializationException", Message: "could not read body", Status: 400})
		return
	}
	target := r.Header.Get("X-Amz-Target")
	var op, signingName string
	var handlers map[string]handler
	switch {
	case strings.HasPrefix(target, ecsPrefix):
		op, signingName, handlers = strings.TrimPrefix(target, ecsPrefix), "ecs", ecsHandlers
	case strings.HasPrefix(target, logsPrefix):
		op, signingName, handlers = strings.TrimPrefix(target, logsPrefix), "logs", logsHandlers
	}
	h, known := handlers[op]
	if r.Method != http.MethodPost || !known {
		writeError(w, &apiError{Type: "com.amazon.coral.service#UnknownOperationException", Message: "", Status: 400})
		return
	}
	cred, aerr := s.verify(r, body, signingName)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if cred.ReadOnly && !readOnlyOps[op] {
		writeError(w, errf("AccessDeniedException", "User: arn:aws:iam::%s:user/%s is not authorized to perform: %s:%s",
			s.opts.AccountID, cred.AccessKeyID, signingName, op))
		return
	}
	if s.opts.Throttle != nil && s.opts.Throttle(op) {
		writeError(w, errf("ThrottlingException", "Rate exceeded"))
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	s.mu.Lock()
	now := s.opts.Now()
	s.settleAll(now)
	out, aerr := h(s, body, now)
	s.mu.Unlock()
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		writeError(w, &apiError{Type: "ServerException", Message: "encode: " + err.Error(), Status: 500})
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// handler runs one operation under s.mu with the request body.
type handler func(s *Server, body []byte, now time.Time) (any, *apiError)

// op adapts a typed operation to a handler, decoding its input like AWS:
// a body that is not a JSON object of the right shape is a SerializationException.
func op[In any](fn func(s *Server, in *In, now time.Time) (any, *apiError)) handler {
	return func(s *Server, body []byte, now time.Time) (any, *apiError) {
		in := new(In)
		if err := json.Unmarshal(body, in); err != nil {
			return nil, &apiError{Type: "SerializationException", Message: "Start of structure or map found where not expected: " + err.Error(), Status: 400}
		}
		return fn(s, in, now)
	}
}

func writeError(w http.ResponseWriter, e *apiError) {
	b, _ := json.Marshal(map[string]any{"__type": e.Type, "message": e.Message})
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(e.Status)
	_, _ = w.Write(b)
}

func (s *Server) requestID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", s.rng.Uint32(), s.rng.Uint32()&0xffff, s.rng.Uint32()&0xffff,
		s.rng.Uint32()&0xffff, s.rng.Uint64()&0xffffffffffff)
}

func (s *Server) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[s.rng.IntN(16)]
	}
	return string(b)
}

func (s *Server) alnum(n int) string {
	const digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[s.rng.IntN(len(digits))]
	}
	return string(b)
}

func (s *Server) arn(resource string) string {
	return "arn:aws:ecs:" + s.opts.Region + ":" + s.opts.AccountID + ":" + resource
}

// epoch is a time that travels as epoch seconds, as the JSON 1.1 protocol wants.
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	t := time.Time(e)
	return []byte(strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)), nil
}

func (e *epoch) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("timestamp %s: want epoch seconds", b)
	}
	*e = epoch(time.UnixMilli(int64(f * 1000)))
	return nil
}

func ts(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	e := epoch(t)
	return &e
}

func ptr[T any](v T) *T { return &v }

// pageToken is the opaque nextToken of every list: the sort key of the last
// item returned, so that items created between pages never shift a page.
type pageToken struct {
	Key string `json:"k"`
}

func encodeToken(key string) string {
	b, _ := json.Marshal(pageToken{Key: key})
	return strings.TrimRight(base64url(b), "=")
}

func decodeToken(tok string) (string, *apiError) {
	b, err := unbase64url(tok)
	var p pageToken
	if err != nil || json.Unmarshal(b, &p) != nil || p.Key == "" {
		return "", invalidParam("Invalid nextToken.")
	}
	return p.Key, nil
}

// pageAfter returns the keys after the token's key (all when tok is empty),
// at most max of them, and the token for the rest. keys must be sorted.
func pageAfter(keys []string, tok string, max int) ([]string, string, *apiError) {
	start := 0
	if tok != "" {
		k, err := decodeToken(tok)
		if err != nil {
			return nil, "", err
		}
		start = sort.SearchStrings(keys, k)
		if start < len(keys) && keys[start] == k {
			start++
		}
	}
	end := min(start+max, len(keys))
	next := ""
	if end < len(keys) {
		next = encodeToken(keys[end-1])
	}
	return keys[start:end], next, nil
}

func maxResults(v *int, def, limit int) (int, *apiError) {
	if v == nil {
		return def, nil
	}
	if *v < 1 || *v > limit {
		return 0, invalidParam("maxResults must be between 1 and %d.", limit)
	}
	return *v, nil
}

func jsonMarshal(v any) ([]byte, error)   { return json.Marshal(v) }
func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
