package audit

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/wharfhq/wharf/pluginapi"
)

// A Visibility keeps exactly the entries of the named connections (and,
// if asked, those of no connection), in queries, pages and exports.
func TestVisibility(t *testing.T) {
	forEachEngine(t, func(t *testing.T) {
		l, _ := newLog(t)
		ctx := context.Background()
		want := map[string]int{}
		for i := range 60 {
			conn := []string{"pay", "search", "", "pay-dev"}[i%4]
			if _, err := l.Record(ctx, Event{Actor: "a", Connection: conn, Operation: fmt.Sprint("op", i)}, Outcome{}); err != nil {
				t.Fatal(err)
			}
			want[conn]++
		}
		count := func(f Filter) map[string]int {
			t.Helper()
			got := map[string]int{}
			f.Limit = 7 // pages must be full while enough visible entries remain
			for {
				page, err := l.Query(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range page {
					got[e.Connection]++
				}
				if len(page) < f.Limit {
					return got
				}
				f.BeforeID = page[len(page)-1].ID
			}
		}
		if got := count(Filter{Visible: &Visibility{Connections: []string{"pay"}}}); len(got) != 1 || got["pay"] != want["pay"] {
			t.Errorf("pay only: %v", got)
		}
		if got := count(Filter{Visible: &Visibility{Connections: []string{"pay", "search"}, Connectionless: true}}); len(got) != 3 ||
			got["pay"] != want["pay"] || got["search"] != want["search"] || got[""] != want[""] {
			t.Errorf("pay, search and none: %v", got)
		}
		if got := count(Filter{Visible: &Visibility{}}); len(got) != 0 {
			t.Errorf("nothing visible, yet %v", got)
		}
		// A filter naming an invisible connection finds nothing.
		if got := count(Filter{Connection: "search", Visible: &Visibility{Connections: []string{"pay"}}}); len(got) != 0 {
			t.Errorf("search through a pay-only view: %v", got)
		}
		var buf bytes.Buffer
		if err := l.Export(ctx, Filter{Visible: &Visibility{Connections: []string{"pay-dev"}}}, FormatJSONL, &buf); err != nil {
			t.Fatal(err)
		}
		if n := bytes.Count(buf.Bytes(), []byte("\n")); n != want["pay-dev"] || bytes.Contains(buf.Bytes(), []byte(`"connection":"pay"`)) {
			t.Errorf("export of pay-dev: %d lines\n%s", n, buf.Bytes())
		}
		// The chain cannot be cut to what one caller sees: it would not verify.
		err := l.Export(ctx, Filter{Visible: &Visibility{Connections: []string{"pay"}}}, FormatChain, &buf)
		if pluginapi.CodeOf(err) != pluginapi.CodeInvalid {
			t.Errorf("chain export with a visibility: %v", err)
		}
		_, err = l.Query(ctx, Filter{Visible: &Visibility{Connections: make([]string, MaxVisibleConnections+1)}})
		if pe := pluginapi.AsError(err); pe.Code != pluginapi.CodeInvalid || pe.Field != "/visible" {
			t.Errorf("too many names: %v", err)
		}
	})
}
