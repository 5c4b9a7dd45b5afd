package ecsemu

import (
	"regexp"
	"sort"
	"strings"
	"time"
)

// Clusters: CreateCluster, DescribeClusters, ListClusters, DeleteCluster.

// cluster is one ECS cluster. Options.Clusters are created by New; a
// deleted cluster stays describable as INACTIVE, as ECS keeps it.
type cluster struct {
	name     string
	status   string // ACTIVE, INACTIVE
	tags     []tag
	settings []clusterSetting
}

// clusterSetting is a cluster setting; ECS knows only containerInsights.
type clusterSetting struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

var clusterNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

func (s *Server) clusterArn(cluster string) string { return s.arn("cluster/" + cluster) }

// clusterName is the name a cluster name or ARN refers to; "" is "default".
func clusterName(ref string) string {
	if ref == "" {
		return "default"
	}
	if strings.HasPrefix(ref, "arn:") {
		_, name, _ := strings.Cut(ref, ":cluster/")
		return name
	}
	return ref
}

// cluster resolves a cluster name or ARN to an ACTIVE cluster's name.
func (s *Server) cluster(ref string) (string, *apiError) {
	c := s.clusters[clusterName(ref)]
	if c == nil || c.status != "ACTIVE" {
		return "", errf("ClusterNotFoundException", "Cluster not found.")
	}
	return c.name, nil
}

// newCluster adds an ACTIVE cluster with Container Insights off.
func (s *Server) newCluster(name string) *cluster {
	c := &cluster{name: name, status: "ACTIVE", settings: []clusterSetting{{Name: "containerInsights", Value: "disabled"}}}
	s.clusters[name] = c
	return c
}

type createClusterInput struct {
	ClusterName string           `json:"clusterName"`
	Tags        []tag            `json:"tags"`
	Settings    []clusterSetting `json:"settings"`
}

// opCreateCluster creates a cluster, or answers the existing ACTIVE one of
// that name unchanged: CreateCluster is idempotent in ECS.
func (s *Server) opCreateCluster(in *createClusterInput, now time.Time) (any, *apiError) {
	name := in.ClusterName
	if name == "" {
		name = "default"
	}
	if !clusterNameRE.MatchString(name) {
		return nil, invalidParam("clusterName must be 1-255 letters, numbers, underscores and hyphens.")
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	for _, st := range in.Settings {
		if st.Name != "containerInsights" {
			return nil, invalidParam("settings.name must be containerInsights.")
		}
		if st.Value != "enabled" && st.Value != "disabled" && st.Value != "enhanced" {
			return nil, invalidParam("settings.value must be one of enabled, disabled, enhanced.")
		}
	}
	c := s.clusters[name]
	if c == nil || c.status != "ACTIVE" {
		c = s.newCluster(name)
		c.tags = append([]tag{}, in.Tags...)
		if len(in.Settings) > 0 {
			c.settings = append([]clusterSetting{}, in.Settings...)
		}
	}
	return map[string]any{"cluster": s.clusterOut(c, now, allClusterFields)}, nil
}

// clusterFields are DescribeClusters' include values.
var clusterFields = map[string]bool{"ATTACHMENTS": true, "CONFIGURATIONS": true, "SETTINGS": true, "STATISTICS": true, "TAGS": true}

// allClusterFields is what CreateCluster and DeleteCluster answer with.
var allClusterFields = []string{"SETTINGS", "STATISTICS", "TAGS"}

// clusterOut is the Cluster shape. Members that only an include asks for
// are left out without it, and the container instance count is the one
// DAEMON services are placed on.
func (s *Server) clusterOut(c *cluster, now time.Time, include []string) map[string]any {
	running, pending, active := 0, 0, 0
	for _, svc := range s.services {
		if svc.cluster != c.name {
			continue
		}
		r, p := svc.counts(nil, now)
		running, pending = running+r, pending+p
		if svc.status == "ACTIVE" {
			active++
		}
	}
	instances := daemonInstances
	if c.status != "ACTIVE" {
		instances = 0
	}
	o := map[string]any{
		"clusterArn": s.clusterArn(c.name), "clusterName": c.name, "status": c.status,
		"registeredContainerInstancesCount": instances, "runningTasksCount": running, "pendingTasksCount": pending,
		"activeServicesCount": active, "capacityProviders": []string{}, "defaultCapacityProviderStrategy": []any{},
	}
	if contains(include, "STATISTICS") {
		o["statistics"] = []any{}
	}
	if contains(include, "SETTINGS") {
		o["settings"] = append([]clusterSetting{}, c.settings...)
	}
	if contains(include, "TAGS") {
		o["tags"] = append([]tag{}, c.tags...)
	}
	return o
}

type describeClustersInput struct {
	Clusters []string `json:"clusters"`
	Include  []string `json:"include"`
}

// opDescribeClusters answers the named clusters (default: "default"); a
// name that is not a cluster is a failure with reason MISSING.
func (s *Server) opDescribeClusters(in *describeClustersInput, now time.Time) (any, *apiError) {
	if len(in.Clusters) > 100 {
		return nil, invalidParam("clusters can have at most 100 items.")
	}
	for _, f := range in.Include {
		if !clusterFields[f] {
			return nil, invalidParam("include must be one of ATTACHMENTS, CONFIGURATIONS, SETTINGS, STATISTICS, TAGS.")
		}
	}
	refs := in.Clusters
	if len(refs) == 0 {
		refs = []string{"default"}
	}
	clusters, failures := []map[string]any{}, []failure{}
	for _, ref := range refs {
		c := s.clusters[clusterName(ref)]
		if c == nil {
			arn := ref
			if !strings.HasPrefix(ref, "arn:") {
				arn = s.clusterArn(ref)
			}
			failures = append(failures, failure{Arn: arn, Reason: "MISSING"})
			continue
		}
		clusters = append(clusters, s.clusterOut(c, now, in.Include))
	}
	return map[string]any{"clusters": clusters, "failures": failures}, nil
}

type listClustersInput struct {
	NextToken  string `json:"nextToken"`
	MaxResults *int   `json:"maxResults"`
}

// opListClusters lists the ARNs of the ACTIVE clusters, sorted.
func (s *Server) opListClusters(in *listClustersInput, now time.Time) (any, *apiError) {
	limit, err := maxResults(in.MaxResults, 100, 100)
	if err != nil {
		return nil, err
	}
	var arns []string
	for _, c := range s.clusters {
		if c.status == "ACTIVE" {
			arns = append(arns, s.clusterArn(c.name))
		}
	}
	sort.Strings(arns)
	page, next, err := pageAfter(arns, in.NextToken, limit)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"clusterArns": append([]string{}, page...)}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

type deleteClusterInput struct {
	Cluster string `json:"cluster"`
}

// opDeleteCluster makes an empty cluster INACTIVE; one that still has
// services (even draining ones) is refused, as ECS refuses it.
func (s *Server) opDeleteCluster(in *deleteClusterInput, now time.Time) (any, *apiError) {
	if in.Cluster == "" {
		return nil, invalidParam("cluster can not be blank.")
	}
	name, err := s.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	for _, svc := range s.services {
		if svc.cluster == name && svc.status != "INACTIVE" {
			return nil, errf("ClusterContainsServicesException", "The Cluster cannot be deleted while Services are active.")
		}
	}
	c := s.clusters[name]
	c.status = "INACTIVE"
	return map[string]any{"cluster": s.clusterOut(c, now, allClusterFields)}, nil
}
