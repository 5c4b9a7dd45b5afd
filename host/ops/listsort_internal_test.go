package ops

import (
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
)

func svcAt(conn, plugin, name string, st pluginapi.Status, updated int) ConnService {
	s := ConnService{Connection: conn, Plugin: plugin, Service: pluginapi.Service{ID: name + "-id", Name: name, Status: st}}
	if updated > 0 {
		at := time.Date(2026, 1, 1, 0, 0, updated, 0, time.UTC)
		s.UpdatedAt = &at
	}
	return s
}

func order(list []ConnService) string {
	var out []string
	for _, s := range list {
		out = append(out, s.Connection+"/"+s.Name)
	}
	return strings.Join(out, " ")
}

// Each order, both ways; ties fall back to name, connection, id
// ascending so that a page boundary never moves between two requests.
func TestSortServices(t *testing.T) {
	titles := map[string]string{"docker": "Docker Swarm", "ecs": "AWS ECS", "abeja": "ABEJA Platform"}
	title := func(p string) string { return titles[p] }
	base := []ConnService{
		svcAt("prod", "docker", "web", pluginapi.StatusRunning, 3),
		svcAt("aws", "ecs", "api", pluginapi.StatusFailed, 1),
		svcAt("dev", "docker", "web", pluginapi.StatusUpdating, 0),
		svcAt("ml", "abeja", "model", pluginapi.StatusStopped, 2),
		svcAt("aws", "ecs", "batch", pluginapi.Status("weird"), 4),
	}
	for _, tc := range []struct {
		key  string
		desc bool
		want string
	}{
		{"", false, "aws/api aws/batch ml/model dev/web prod/web"},
		{SortName, true, "dev/web prod/web ml/model aws/batch aws/api"},
		{SortStatus, false, "aws/api dev/web ml/model prod/web aws/batch"},
		{SortStatus, true, "aws/batch prod/web ml/model dev/web aws/api"},
		{SortPlatform, false, "ml/model aws/api aws/batch dev/web prod/web"},
		{SortPlatform, true, "dev/web prod/web aws/api aws/batch ml/model"},
		{SortConnection, false, "aws/api aws/batch dev/web ml/model prod/web"},
		{SortConnection, true, "prod/web ml/model dev/web aws/api aws/batch"},
		{SortUpdated, false, "aws/api ml/model prod/web aws/batch dev/web"},
		{SortUpdated, true, "aws/batch prod/web ml/model aws/api dev/web"},
	} {
		list := append([]ConnService{}, base...)
		sortServices(list, tc.key, tc.desc, title)
		if got := order(list); got != tc.want {
			t.Errorf("sort %q desc=%v:\n got %s\nwant %s", tc.key, tc.desc, got, tc.want)
		}
	}
}

func TestCheckSortNamesTheField(t *testing.T) {
	for _, k := range append([]string{""}, SortKeys...) {
		if err := checkSort(k); err != nil {
			t.Errorf("checkSort(%q) = %v", k, err)
		}
	}
	err := pluginapi.AsError(checkSort("colour"))
	if err == nil || err.Code != pluginapi.CodeInvalid || err.Field != "/sort" || !strings.Contains(err.Message, "updated") {
		t.Fatalf("checkSort(colour) = %+v", err)
	}
}

func TestSummarizeCountsByStatus(t *testing.T) {
	list := []ConnService{
		svcAt("a", "docker", "1", pluginapi.StatusRunning, 0),
		svcAt("a", "docker", "2", pluginapi.StatusPending, 0),
		svcAt("a", "docker", "3", pluginapi.StatusDeploying, 0),
		svcAt("a", "docker", "4", pluginapi.StatusFailed, 0),
		svcAt("a", "docker", "5", pluginapi.StatusStopped, 0),
		svcAt("b", "ecs", "6", pluginapi.StatusUpdating, 0),
		svcAt("gone", "ecs", "7", pluginapi.StatusRunning, 0), // not a listed connection
	}
	got := summarize([]ConnectionSummary{{Connection: "a"}, {Connection: "b"}, {Connection: "empty"}}, list)
	want := []ConnectionSummary{{Connection: "a", Total: 5, Running: 1, Updating: 2, Failed: 1},
		{Connection: "b", Total: 1, Updating: 1}, {Connection: "empty"}}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("summary %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}
