package main

import (
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin/rest"
)

// config is the connection config as the plugin sees it: secrets removed by the host.
type config struct {
	Region         string `json:"region"`
	Cluster        string `json:"cluster"`
	Endpoint       string `json:"endpoint"`
	LogsEndpoint   string `json:"logs_endpoint"`
	LogGroupPrefix string `json:"log_group_prefix"`
}

var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)

func parseConfig(raw json.RawMessage) (*config, error) {
	c := &config{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, c); err != nil {
			return nil, pluginapi.Invalid("", "connection config: %v", err)
		}
	}
	if c.Region == "" {
		return nil, pluginapi.Invalid("/region", "region is required (for example us-east-1)")
	}
	if !regionRE.MatchString(c.Region) {
		return nil, pluginapi.Invalid("/region", "region %q is not an AWS region name such as us-east-1", c.Region)
	}
	if c.Cluster == "" {
		c.Cluster = "default"
	}
	return c, nil
}

// client sends ECS and CloudWatch Logs calls through the host, which signs
// them with SigV4 from the connection's secrets.
type client struct {
	ctx context.Context
	cfg *config
}

func newClient(ctx context.Context, raw json.RawMessage) (*client, error) {
	cfg, err := parseConfig(raw)
	if err != nil {
		return nil, err
	}
	return &client{ctx: ctx, cfg: cfg}, nil
}

const (
	ecsTarget  = "AmazonEC2ContainerServiceV20141113."
	logsTarget = "Logs_20140328."
)

func (c *client) ecs(op string, in, out any) error { return c.call("ecs", ecsTarget+op, op, in, out) }

func (c *client) logs(op string, in, out any) error {
	return c.call("logs", logsTarget+op, op, in, out)
}

// api sends the calls; the host signs them, and AWS's JSON errors are
// mapped by their type (awsError).
var api = &rest.Client{
	Timeout: 20 * time.Second,
	MapStatus: func(r rest.Request, resp *pluginapi.HTTPResponse) error {
		return awsError(r.Op, resp)
	},
}

func (c *client) call(service, target, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return pluginapi.Errorf(pluginapi.CodeInternal, "encode %s: %v", op, err)
	}
	// An empty endpoint follows the region: the host fills it from the
	// schema's x-endpoint-default (ABI 1.2), so the credentials only ever
	// go to an endpoint of the connection.
	r := rest.Request{
		Op:       op,
		Method:   "POST",
		Endpoint: "endpoint",
		Path:     "/",
		Headers: map[string]string{
			"Content-Type": "application/x-amz-json-1.1",
			"X-Amz-Target": target,
		},
		Body: body,
		Auth: &pluginapi.Auth{Scheme: pluginapi.AuthAWSSigV4, Service: service, Region: c.cfg.Region,
			AccessKey: "access_key_id", Secret: "secret_access_key", SessionToken: "session_token"},
	}
	if service == "logs" {
		r.Endpoint = "logs_endpoint"
	}
	resp, err := api.Fetch(c.ctx, r)
	if err != nil {
		return err
	}
	if out == nil || len(resp.Body) == 0 {
		return nil
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return pluginapi.Errorf(pluginapi.CodeInternal, "%s: unexpected answer: %v", op, err)
	}
	return nil
}

// awsError maps an AWS JSON protocol error to a pluginapi error.
func awsError(op string, resp *pluginapi.HTTPResponse) *pluginapi.Error {
	var body struct {
		Type     string `json:"__type"`
		Message  string `json:"message"`
		MessageU string `json:"Message"`
	}
	_ = json.Unmarshal(resp.Body, &body)
	typ := body.Type
	if typ == "" {
		typ = resp.Header("X-Amzn-ErrorType")
	}
	// Clients strip a "namespace#" prefix and a ":<url>" suffix.
	if i := strings.LastIndex(typ, "#"); i >= 0 {
		typ = typ[i+1:]
	}
	typ, _, _ = strings.Cut(typ, ":")
	msg := body.Message
	if msg == "" {
		msg = body.MessageU
	}
	if msg == "" {
		msg = typ
	}
	if msg == "" {
		msg = "HTTP " + strconv.Itoa(resp.Status)
	}
	e := &pluginapi.Error{Message: op + ": " + msg, Detail: map[string]any{"aws_error": typ, "http_status": resp.Status, "operation": op}}
	if id := resp.Header("X-Amzn-RequestId"); id != "" {
		e.Detail["request_id"] = id
	}
	switch typ {
	case "UnrecognizedClientException", "InvalidSignatureException", "MissingAuthenticationTokenException",
		"IncompleteSignatureException", "InvalidClientTokenId", "ExpiredTokenException", "SignatureDoesNotMatch":
		e.Code = pluginapi.CodeUnauthorized
	case "AccessDeniedException":
		e.Code = pluginapi.CodeForbidden
	case "ServiceNotFoundException", "ServiceNotActiveException", "ClusterNotFoundException",
		"ServiceDeploymentNotFoundException", "ResourceNotFoundException":
		e.Code = pluginapi.CodeNotFound
	case "ConflictException":
		e.Code = pluginapi.CodeConflict
	case "UnsupportedFeatureException", "PlatformUnknownException":
		e.Code = pluginapi.CodeUnsupported
	case "ThrottlingException", "ServerException", "ServiceUnavailableException", "LimitExceededException", "RequestLimitExceeded":
		e.Code, e.Retryable = pluginapi.CodeUnavailable, true
	case "InvalidParameterException", "ClientException", "SerializationException", "ValidationException", "PlatformTaskDefinitionIncompatibilityException":
		e.Code = pluginapi.CodeInvalid
		e.Field = fieldOf(msg)
		// These two are state conflicts even though ECS reports them as bad parameters.
		if strings.Contains(msg, "not idempotent") || strings.Contains(msg, "still Draining") {
			e.Code, e.Field = pluginapi.CodeConflict, ""
			e.Message = op + ": a service with this name already exists (or is still draining): " + msg
		}
	default:
		e.Code = pluginapi.CodeForStatus(resp.Status)
		e.Retryable = pluginapi.RetryableCode(e.Code)
	}
	return e
}

// fieldOf guesses the spec field an ECS validation message is about.
func fieldOf(msg string) string {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "taskdefinition") || strings.Contains(m, "task definition"):
		return "/task_definition"
	case strings.Contains(m, "network configuration") || strings.Contains(m, "subnets") || strings.Contains(m, "networkconfiguration"):
		return "/network_configuration"
	case strings.Contains(m, "desiredcount"):
		return "/desired_count"
	case strings.Contains(m, "servicename"):
		return "/service_name"
	case strings.Contains(m, "launchtype") || strings.Contains(m, "launch type"):
		return "/launch_type"
	case strings.Contains(m, "daemon") || strings.Contains(m, "schedulingstrategy"):
		return "/scheduling_strategy"
	case strings.Contains(m, "maximumpercent"):
		return "/deployment_configuration/maximum_percent"
	case strings.Contains(m, "minimumhealthypercent"):
		return "/deployment_configuration/minimum_healthy_percent"
	case strings.Contains(m, "tag"):
		return "/tags"
	}
	return ""
}

// epoch is an AWS JSON timestamp: epoch seconds as a number.
type epoch float64

func (e *epoch) time() *time.Time {
	if e == nil || *e == 0 {
		return nil
	}
	sec := float64(*e)
	t := time.Unix(0, int64(sec*1e9)).UTC().Truncate(time.Millisecond)
	return &t
}

func toEpoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// lastSegment returns what follows the last "/" of an ARN.
func lastSegment(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

// serviceName accepts a service name or ARN as the Wharf service id.
func serviceName(id string) (string, error) {
	if id == "" {
		return "", pluginapi.Invalid("/id", "service id is required")
	}
	if strings.HasPrefix(id, "arn:") {
		id = lastSegment(id)
	}
	if !serviceNameRE.MatchString(id) {
		return "", pluginapi.NotFound("no ECS service %q: names are 1-255 letters, digits, '-' and '_'", id)
	}
	return id, nil
}

func errorf(code pluginapi.Code, format string, args ...any) *pluginapi.Error {
	return pluginapi.Errorf(code, format, args...)
}
