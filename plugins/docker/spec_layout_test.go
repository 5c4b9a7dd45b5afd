package main

import (
	"encoding/json"
	"testing"
)

// Every top-level spec property is placed: the basics ordered first, the
// rest in named sections; the properties keep their schema order and
// everything but the two annotations is unchanged.
func TestSpecLayout(t *testing.T) {
	var doc struct {
		Properties map[string]map[string]any `json:"properties"`
	}
	if err := json.Unmarshal([]byte(specSchema), &doc); err != nil {
		t.Fatal(err)
	}
	basics, placed := map[string]bool{}, map[string]bool{}
	for _, g := range specLayout {
		for _, p := range g.props {
			placed[p] = true
			if _, ok := doc.Properties[p]; !ok {
				t.Errorf("specLayout names %s, which the schema does not have", p)
			}
			if g.group == "" {
				basics[p] = true
			}
		}
	}
	for name, p := range doc.Properties {
		group, hasGroup := p["x-group"].(string)
		if _, ok := p["x-order"].(float64); !ok {
			t.Errorf("%s has no x-order", name)
		}
		if basics[name] == hasGroup {
			t.Errorf("%s: x-group %q, basic %v", name, group, basics[name])
		}
		if !placed[name] {
			t.Errorf("%s is not placed in specLayout (left to Advanced)", name)
		}
		if p["title"] == nil {
			t.Errorf("%s lost its title", name)
		}
	}
	if o := doc.Properties["replicas"]["x-order"].(float64); o != 30 {
		t.Errorf("replicas x-order %v, want third (30)", o)
	}
}
