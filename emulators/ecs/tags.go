package ecsemu

import (
	"strings"
	"time"
)

// Tags: TagResource, UntagResource, ListTagsForResource.

type tagResourceInput struct {
	ResourceArn string   `json:"resourceArn"`
	Tags        []tag    `json:"tags"`
	TagKeys     []string `json:"tagKeys"`
}

// tagsOf finds the tag list of a service, task definition or cluster ARN.
func (s *Server) tagsOf(arn string) (*[]tag, *apiError) {
	if !strings.HasPrefix(arn, "arn:aws:ecs:") {
		return nil, invalidParam("Invalid resource ARN: %s", arn)
	}
	if _, rest, ok := strings.Cut(arn, ":service/"); ok {
		parts := strings.Split(rest, "/")
		if len(parts) != 2 {
			return nil, invalidParam("Long arn format must be used for tagging operations.")
		}
		svc := s.services[parts[0]+"/"+parts[1]]
		if svc == nil || svc.status == "INACTIVE" || svc.arn != arn {
			return nil, errf("ResourceNotFoundException", "The specified resource could not be found.")
		}
		return &svc.tags, nil
	}
	if _, name, ok := strings.Cut(arn, ":cluster/"); ok {
		if c := s.clusters[name]; c != nil && c.status == "ACTIVE" && s.clusterArn(name) == arn {
			return &c.tags, nil
		}
		return nil, errf("ResourceNotFoundException", "The specified resource could not be found.")
	}
	if strings.Contains(arn, ":task-definition/") {
		if td := s.taskDef(arn); td != nil {
			return &td.tags, nil
		}
	}
	return nil, errf("ResourceNotFoundException", "The specified resource could not be found.")
}

func (s *Server) opTagResource(in *tagResourceInput, now time.Time) (any, *apiError) {
	tags, err := s.tagsOf(in.ResourceArn)
	if err != nil {
		return nil, err
	}
	if len(in.Tags) == 0 {
		return nil, invalidParam("tags can not be empty.")
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	for _, t := range in.Tags {
		replaced := false
		for i := range *tags {
			if (*tags)[i].Key == t.Key {
				(*tags)[i].Value, replaced = t.Value, true
			}
		}
		if !replaced {
			*tags = append(*tags, t)
		}
	}
	return map[string]any{}, nil
}

func (s *Server) opUntagResource(in *tagResourceInput, now time.Time) (any, *apiError) {
	tags, err := s.tagsOf(in.ResourceArn)
	if err != nil {
		return nil, err
	}
	kept := []tag{}
	for _, t := range *tags {
		if !contains(in.TagKeys, t.Key) {
			kept = append(kept, t)
		}
	}
	*tags = kept
	return map[string]any{}, nil
}

func (s *Server) opListTagsForResource(in *tagResourceInput, now time.Time) (any, *apiError) {
	tags, err := s.tagsOf(in.ResourceArn)
	if err != nil {
		return nil, err
	}
	return map[string]any{"tags": append([]tag{}, *tags...)}, nil
}
