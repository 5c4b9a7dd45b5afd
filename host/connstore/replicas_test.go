package connstore

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/wharfhq/wharf/pluginapi"
)

// Stores on one database (processes on the file, replicas on PostgreSQL)
// see each other's changes at once, and optimistic versions hold across
// them: of writers holding one version, one wins wherever they write.
func TestReplicasShareConnections(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		dsn := e.newDSN(t)
		a, _ := openStore(t, dsn, testKey(7))
		b, _ := openStore(t, dsn, testKey(7))
		c, err := a.Create(ctx, Connection{Name: "shared", Plugin: "docker", Config: json.RawMessage(secretConfig),
			Labels: map[string]string{"team": "payments"}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.Get(ctx, "shared")
		if err != nil || string(got.Config) != secretConfig || got.Labels["team"] != "payments" || got.Version != 1 {
			t.Fatalf("the other store's Get: %+v %v", got, err)
		}
		_, err = b.Create(ctx, Connection{Name: "shared", Plugin: "ecs"})
		wantCode(t, "a name taken through the other store", err, pluginapi.CodeConflict)

		stores := []*Store{a, b}
		const writers = 12
		results := make(chan error, writers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				u := c
				u.Config = json.RawMessage(fmt.Sprintf(`{"writer":%d}`, i))
				<-start
				_, err := stores[i%2].Update(ctx, u)
				results <- err
			}()
		}
		close(start)
		wg.Wait()
		close(results)
		wins := 0
		for err := range results {
			switch pluginapi.CodeOf(err) {
			case "":
				wins++
			case pluginapi.CodeConflict:
			default:
				t.Errorf("an update: %v", err)
			}
		}
		if got, _ := a.Get(ctx, "shared"); wins != 1 || got.Version != 2 {
			t.Errorf("%d winners, version %d; want 1 and 2", wins, got.Version)
		}

		if err := b.Delete(ctx, "shared"); err != nil {
			t.Fatal(err)
		}
		_, err = a.Get(ctx, "shared")
		wantCode(t, "a connection deleted through the other store", err, pluginapi.CodeNotFound)
	})
}

// Replicas starting at once apply the same config file: every Put
// succeeds, and the connection is made once (version 1).
func TestReplicasApplyOneConfigAtOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		dsn := e.newDSN(t)
		const replicas = 4
		var stores []*Store
		for range replicas {
			s, _ := openStore(t, dsn, testKey(7))
			stores = append(stores, s)
		}
		start := make(chan struct{})
		errs := make(chan error, replicas)
		var wg sync.WaitGroup
		for _, s := range stores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := s.Put(ctx, Connection{Name: "from-config", Plugin: "docker", Config: json.RawMessage(`{"a":1}`)})
				errs <- err
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("a replica's Put: %v", err)
			}
		}
		if c, err := stores[0].Get(ctx, "from-config"); err != nil || c.Version != 1 {
			t.Errorf("after the racing Puts: %+v %v; want version 1", c, err)
		}
	})
}
