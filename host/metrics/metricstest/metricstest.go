// Package metricstest reads a /metrics scrape for tests: Parse the text
// format, then look values up by name and labels.
package metricstest

import (
	"fmt"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Scrape is one parsed scrape.
type Scrape map[string]*dto.MetricFamily

// Parse parses body, in the Prometheus text format.
func Parse(body string) (Scrape, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return Scrape(fams), nil
}

// Value is the value of the sample of name whose labels include labels
// (name, value pairs): a counter's or gauge's value, a histogram's count.
// A missing sample is 0, as Prometheus treats a counter not yet created;
// more than one match is an error.
func (s Scrape) Value(name string, labels ...string) (float64, error) {
	ms, err := s.match(name, labels)
	if err != nil {
		return 0, err
	}
	switch len(ms) {
	case 0:
		return 0, nil
	case 1:
	default:
		return 0, fmt.Errorf("metrics: %d samples of %s match %v", len(ms), name, labels)
	}
	m := ms[0]
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue(), nil
	case m.Gauge != nil:
		return m.Gauge.GetValue(), nil
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount()), nil
	case m.Untyped != nil:
		return m.Untyped.GetValue(), nil
	}
	return 0, fmt.Errorf("metrics: %s has a type this package does not read", name)
}

// Sum adds the values of every sample of name whose labels include labels.
func (s Scrape) Sum(name string, labels ...string) (float64, error) {
	ms, err := s.match(name, labels)
	if err != nil {
		return 0, err
	}
	total := 0.0
	for _, m := range ms {
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Histogram != nil:
			total += float64(m.Histogram.GetSampleCount())
		}
	}
	return total, nil
}

// LabelValues lists the distinct values label takes in name's samples.
func (s Scrape) LabelValues(name, label string) []string {
	f := s[name]
	if f == nil {
		return nil
	}
	seen := map[string]bool{}
	for _, m := range f.GetMetric() {
		for _, lp := range m.GetLabel() {
			if lp.GetName() == label {
				seen[lp.GetValue()] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

func (s Scrape) match(name string, labels []string) ([]*dto.Metric, error) {
	if len(labels)%2 != 0 {
		return nil, fmt.Errorf("metrics: labels of %s must be name, value pairs", name)
	}
	f := s[name]
	if f == nil {
		return nil, nil
	}
	var out []*dto.Metric
	for _, m := range f.GetMetric() {
		if hasLabels(m, labels) {
			out = append(out, m)
		}
	}
	return out, nil
}

func hasLabels(m *dto.Metric, labels []string) bool {
	for i := 0; i < len(labels); i += 2 {
		found := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
