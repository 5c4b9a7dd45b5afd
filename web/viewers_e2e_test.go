package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wharfhq/wharf/web/internal/webtest"
)

// TestOneClientCannotHoldEveryLogViewer performs the attack: one address
// opens live log viewers until it is refused. The 17th is refused with 429
// before the upgrade, and closing one lets the client open another.
func TestOneClientCannotHoldEveryLogViewer(t *testing.T) {
	env, _ := newEnv(t, webtest.Options{})
	id := createService(t, env, "watched")
	waitSettled(t, env, id)
	wsURL := "ws" + strings.TrimPrefix(env.URL, "http") + "/services/swarm/" + id + "/logs/ws?tail=1"

	var open []*websocket.Conn
	defer func() {
		for _, ws := range open {
			ws.Close()
		}
	}()
	for i := 0; i < 16; i++ {
		ws, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
		if err != nil {
			t.Fatalf("viewer %d: %v", i+1, err)
		}
		open = append(open, ws)
	}
	ws, resp, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err == nil {
		ws.Close()
		t.Fatal("a 17th viewer from one client was accepted")
	}
	if resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("17th viewer: %v %+v", err, resp)
	}

	// A closed viewer gives its place back (the server notices the close
	// when its next write or ping fails, or at once on the close frame).
	open[0].WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	open[0].Close()
	open = open[1:]
	deadline := time.Now().Add(15 * time.Second)
	for {
		ws, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
		if err == nil {
			open = append(open, ws)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after closing one, a new viewer is still refused: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
