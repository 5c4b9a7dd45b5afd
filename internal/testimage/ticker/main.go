// Command ticker is the program inside the test image used against a real
// Docker engine: it prints one numbered line per second (and the GREETING
// environment variable, so that an update of the env shows in the logs), on
// stdout, and every fifth line on stderr.
package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	greeting := os.Getenv("GREETING")
	for i := 0; ; i++ {
		out := os.Stdout
		if i%5 == 4 {
			out = os.Stderr
		}
		fmt.Fprintf(out, "tick %d %s\n", i, greeting)
		time.Sleep(time.Second)
	}
}
