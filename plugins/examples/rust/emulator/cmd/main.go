// Command emulator serves the runq emulator and prints a connection config
// for it, for `wharf plugin test`.
package main

import (
	"encoding/json"
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/wharfhq/wharf/plugins/examples/rust/emulator"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8089", "address to listen on")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	s := emulator.New()
	_ = json.NewEncoder(os.Stdout).Encode(s.DemoConfig("http://" + ln.Addr().String()))
	log.Fatal((&http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}).Serve(ln))
}
